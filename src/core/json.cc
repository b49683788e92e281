#include "abierto/json.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <string_view>

namespace abierto {

namespace json = boost::json;

namespace {

// As Boost writes strings: the quote, the backslash and control characters escaped (\b \f
// \n \r \t, else \u00xx in lower-case hex), everything else, UTF-8 included, as it is.
void AppendString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.substr(plain));
  out->push_back('"');
}

template <typename T>
void AppendInteger(T n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
}

// The shortest digits that read back as d, written as JavaScript writes numbers: plainly from
// 1e-6 up to 1e21 (32000000.0, not 3.2e+07), in exponent form outside that range.
void AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  const double a = std::fabs(d);
  const auto format = (a == 0 || (a >= 1e-6 && a < 1e21)) ? std::chars_format::fixed
                                                          : std::chars_format::scientific;
  char buf[48];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, format);
  std::string_view s(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
  out->append(s);
  if (s.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

}  // namespace

void AppendJson(const json::value& v, std::string* out) {
  switch (v.kind()) {
    case json::kind::null:
      out->append("null");
      return;
    case json::kind::bool_:
      out->append(v.get_bool() ? "true" : "false");
      return;
    case json::kind::int64:
      AppendInteger(v.get_int64(), out);
      return;
    case json::kind::uint64:
      AppendInteger(v.get_uint64(), out);
      return;
    case json::kind::string:
      AppendString(v.get_string(), out);
      return;
    case json::kind::double_:
      AppendDouble(v.get_double(), out);
      return;
    case json::kind::array: {
      out->push_back('[');
      bool first = true;
      for (const json::value& x : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJson(x, out);
      }
      out->push_back(']');
      return;
    }
    case json::kind::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendString(kv.key(), out);
        out->push_back(':');
        AppendJson(kv.value(), out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string JsonStr(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  return "";
}

double JsonNum(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  return 0;
}

std::string JsonText(const json::value& v) {
  std::string out;
  AppendJson(v, &out);
  return out;
}

}  // namespace abierto
