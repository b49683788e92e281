// Status and Result<T>: errors as values.
//
// Every fallible operation in Abierto returns a Status (no value) or a Result<T> (a value or a
// Status). Exceptions never cross a module or an asynchronous boundary. A Status carries a code,
// a human message (Spanish first, shown to the user), and optionally field-level errors for
// forms. The one table that maps a code to an HTTP status lives in HttpStatus().
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace abierto {

enum class StatusCode {
  kOk,
  kInvalidArgument,   // 400: bad input; fields() says which
  kUnauthenticated,   // 401: an account is needed
  kPermissionDenied,  // 403: the account may not do this
  kNotFound,          // 404
  kConflict,          // 409: duplicate, stale state, wrong phase
  kTooLarge,          // 413
  kTooManyRequests,   // 429: throttled
  kUnavailable,       // 503: shutting down, database unreachable
  kInternal,          // 500: a bug, never caused by user input
};

struct FieldError {
  std::string field;
  std::string message;
};

class Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string message, std::vector<FieldError> fields = {});
  static Status Unauthenticated(std::string message);
  static Status PermissionDenied(std::string message);
  static Status NotFound(std::string message);
  static Status Conflict(std::string message);
  static Status TooLarge(std::string message);
  static Status TooManyRequests(std::string message);
  static Status Unavailable(std::string message);
  static Status Internal(std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<FieldError>& fields() const { return fields_; }

  // The HTTP status for this code (200 for OK).
  int HttpStatus() const;
  // A stable machine name: "invalid_argument", "not_found", ...
  const char* CodeName() const;
  // "not_found: El compromiso no existe" — for logs and CLI output.
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string message, std::vector<FieldError> fields = {})
      : code_(code), message_(std::move(message)), fields_(std::move(fields)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<FieldError> fields_;
};

// A value of T or a non-OK Status. Constructing from an OK Status is a programming error and
// becomes an Internal status.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // Anything convertible to T (a json::object for a Result<json::value>, say).
  template <class U, class = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                              !std::is_same_v<std::decay_t<U>, T> &&
                                              !std::is_same_v<std::decay_t<U>, Status>>>
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT
  Result(Status status)                                                         // NOLINT
      : v_(status.ok() ? Status::Internal("Result built from an OK status") : std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace abierto

#define ABIERTO_CONCAT_INNER_(a, b) a##b
#define ABIERTO_CONCAT_(a, b) ABIERTO_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::abierto::Status abierto_status_ = (expr);        \
    if (!abierto_status_.ok()) return abierto_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` binds the value or returns the Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(ABIERTO_CONCAT_(abierto_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
