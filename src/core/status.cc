#include "abierto/status.h"

namespace abierto {

Status Status::InvalidArgument(std::string m, std::vector<FieldError> f) {
  return Status(StatusCode::kInvalidArgument, std::move(m), std::move(f));
}
Status Status::Unauthenticated(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
Status Status::PermissionDenied(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
Status Status::NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
Status Status::Conflict(std::string m) { return Status(StatusCode::kConflict, std::move(m)); }
Status Status::TooLarge(std::string m) { return Status(StatusCode::kTooLarge, std::move(m)); }
Status Status::TooManyRequests(std::string m) {
  return Status(StatusCode::kTooManyRequests, std::move(m));
}
Status Status::Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
Status Status::Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

namespace {
struct Row {
  StatusCode code;
  int http;
  const char* name;
};
// The one table from error codes to HTTP.
constexpr Row kTable[] = {
    {StatusCode::kOk, 200, "ok"},
    {StatusCode::kInvalidArgument, 400, "invalid_argument"},
    {StatusCode::kUnauthenticated, 401, "unauthenticated"},
    {StatusCode::kPermissionDenied, 403, "permission_denied"},
    {StatusCode::kNotFound, 404, "not_found"},
    {StatusCode::kConflict, 409, "conflict"},
    {StatusCode::kTooLarge, 413, "too_large"},
    {StatusCode::kTooManyRequests, 429, "too_many_requests"},
    {StatusCode::kUnavailable, 503, "unavailable"},
    {StatusCode::kInternal, 500, "internal"},
};
const Row& Lookup(StatusCode c) {
  for (const Row& r : kTable)
    if (r.code == c) return r;
  return kTable[sizeof(kTable) / sizeof(kTable[0]) - 1];
}
}  // namespace

int Status::HttpStatus() const { return Lookup(code_).http; }
const char* Status::CodeName() const { return Lookup(code_).name; }
std::string Status::ToString() const {
  std::string s = CodeName();
  if (!message_.empty()) s += ": " + message_;
  for (const FieldError& f : fields_) s += " [" + f.field + ": " + f.message + "]";
  return s;
}

}  // namespace abierto
