#include "abierto/text.h"

#include <utf8proc.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace abierto::text {
namespace {

// Decodes one code point from the front of `s` following Table 3-7 of the Unicode standard.
// Returns the number of bytes used (1-4) and sets *cp, or 0 when the bytes at the front do not
// start a well-formed sequence (the caller then skips one byte).
size_t DecodeOne(std::string_view s, size_t i, char32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  const size_t n = s.size() - i;
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (n < 2 || !cont(p[1])) return 0;
    *cp = ((b0 & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (n < 3) return 0;
    // The second byte's range excludes overlongs (E0) and surrogates (ED).
    const unsigned char lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char hi = b0 == 0xED ? 0x9F : 0xBF;
    if (p[1] < lo || p[1] > hi || !cont(p[2])) return 0;
    *cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (n < 4) return 0;
    // F0 would allow overlongs below 0x90; F4 beyond 0x8F exceeds U+10FFFF.
    const unsigned char lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (p[1] < lo || p[1] > hi || !cont(p[2]) || !cont(p[3])) return 0;
    *cp = ((b0 & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    return 4;
  }
  return 0;  // C0, C1 (always overlong), F5-FF, or a stray continuation byte
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsSpaceCp(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  if (cp == 0x85) return true;  // NEL
  const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

// Letters that Unicode does not decompose into a base letter plus a mark, but that a person
// searching would type as plain ASCII. Applied after case folding, so lower case only.
const char* Transliterate(char32_t cp) {
  switch (cp) {
    case 0x00E6:
      return "ae";  // æ
    case 0x00F0:
      return "d";  // ð
    case 0x00F8:
      return "o";  // ø
    case 0x00FE:
      return "th";  // þ
    case 0x0111:
      return "d";  // đ
    case 0x0127:
      return "h";  // ħ
    case 0x0131:
      return "i";  // dotless ı
    case 0x0142:
      return "l";  // ł
    case 0x0153:
      return "oe";  // œ
    default:
      return nullptr;
  }
}

// Appends one already-folded code point, turning whitespace into a pending single space so that
// runs collapse and the ends stay trimmed.
void EmitFolded(char32_t cp, std::string* out, bool* pending_space) {
  if (IsSpaceCp(cp)) {
    *pending_space = true;
    return;
  }
  if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return;  // controls
  if (*pending_space && !out->empty()) out->push_back(' ');
  *pending_space = false;
  if (const char* t = Transliterate(cp)) {
    out->append(t);
  } else {
    AppendUtf8(cp, out);
  }
}

constexpr std::array<const char*, 12> kMonthsEs = {
    "enero", "febrero", "marzo",      "abril",   "mayo",      "junio",
    "julio", "agosto",  "septiembre", "octubre", "noviembre", "diciembre"};
constexpr std::array<const char*, 12> kMonthsEn = {"January",   "February", "March",    "April",
                                                   "May",       "June",     "July",     "August",
                                                   "September", "October",  "November", "December"};
constexpr std::array<const char*, 12> kMonthsEsShort = {"ene", "feb", "mar", "abr", "may", "jun",
                                                        "jul", "ago", "sep", "oct", "nov", "dic"};
constexpr std::array<const char*, 12> kMonthsEnShort = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool Digits(std::string_view s, size_t pos, size_t count, int* value) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

// Accepts "YYYY-MM-DD" or an RFC 3339 date-time ("T" or space, hh:mm[:ss[.frac]], optional
// "Z" or ±hh:mm) and extracts the calendar date.
bool ParseDateOrTimestamp(std::string_view s, int* y, int* m, int* d) {
  if (s.size() < 10 || !ParseIsoDate(s.substr(0, 10), y, m, d)) return false;
  if (s.size() == 10) return true;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  size_t i = 11;
  int hh, mm, ss;
  if (!Digits(s, i, 2, &hh) || hh > 23 || i + 2 >= s.size() || s[i + 2] != ':' ||
      !Digits(s, i + 3, 2, &mm) || mm > 59) {
    return false;
  }
  i += 5;
  if (i < s.size() && s[i] == ':') {
    if (!Digits(s, i + 1, 2, &ss) || ss > 60) return false;  // 60: leap second
    i += 3;
    if (i < s.size() && s[i] == '.') {
      size_t j = i + 1;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j == i + 1) return false;
      i = j;
    }
  }
  if (i == s.size()) return true;
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) return true;
  if (s[i] == '+' || s[i] == '-') {
    int oh, om;
    return s.size() == i + 6 && Digits(s, i + 1, 2, &oh) && oh <= 23 && s[i + 3] == ':' &&
           Digits(s, i + 4, 2, &om) && om <= 59;
  }
  return false;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t UnixSecondsNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsEnglish(std::string_view lang) {
  return lang.size() >= 2 && (lang[0] == 'e' || lang[0] == 'E') &&
         (lang[1] == 'n' || lang[1] == 'N') &&
         (lang.size() == 2 || lang[2] == '-' || lang[2] == '_');
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  char32_t cp;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = DecodeOne(s, i, &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t len = DecodeOne(s, i, &cp);
    if (len == 0) {
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  constexpr auto kOptions =
      static_cast<utf8proc_option_t>(UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
                                     UTF8PROC_STRIPMARK | UTF8PROC_IGNORE);
  std::array<utf8proc_int32_t, 32> buf;
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {  // ASCII needs no table lookups
      char c = static_cast<char>(b);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      EmitFolded(static_cast<unsigned char>(c), &out, &pending_space);
      ++i;
      continue;
    }
    const size_t len = DecodeOne(s, i, &cp);
    if (len == 0) {
      ++i;
      continue;
    }
    i += len;
    if (IsSpaceCp(cp)) {
      pending_space = true;
      continue;
    }
    int boundclass = 0;
    const utf8proc_ssize_t n = utf8proc_decompose_char(
        static_cast<utf8proc_int32_t>(cp), buf.data(), buf.size(), kOptions, &boundclass);
    // No compatibility decomposition is longer than 18 code points; a failure or an
    // unexpectedly long one leaves the character as it was.
    if (n < 0 || n > static_cast<utf8proc_ssize_t>(buf.size())) {
      EmitFolded(cp, &out, &pending_space);
      continue;
    }
    for (utf8proc_ssize_t k = 0; k < n; ++k) {
      EmitFolded(static_cast<char32_t>(buf[k]), &out, &pending_space);
    }
  }
  return out;
}

std::string Slugify(std::string_view s) {
  const std::string folded = Fold(s);
  std::string out;
  out.reserve(folded.size());
  bool pending_dash = false;
  for (char c : folded) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (pending_dash && !out.empty()) out.push_back('-');
      pending_dash = false;
      out.push_back(c);
    } else {
      pending_dash = true;
    }
  }
  if (out.size() > kMaxSlugLength) {
    // Prefer ending on a whole word unless that would throw away more than half the slug.
    const size_t dash = out.rfind('-', kMaxSlugLength);
    out.resize(dash != std::string::npos && dash >= kMaxSlugLength / 2 ? dash : kMaxSlugLength);
    while (!out.empty() && out.back() == '-') out.pop_back();
  }
  return out;
}

void AppendHtmlEscaped(std::string& out, std::string_view s) {
  // Copies runs of safe bytes at once; only the five special characters are replaced.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    std::string_view entity;
    switch (s[i]) {
      case '&':
        entity = "&amp;";
        break;
      case '<':
        entity = "&lt;";
        break;
      case '>':
        entity = "&gt;";
        break;
      case '"':
        entity = "&quot;";
        break;
      case '\'':
        entity = "&#39;";
        break;
      default:
        continue;
    }
    out.append(s.data() + run, i - run);
    out.append(entity);
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  AppendHtmlEscaped(out, s);
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      ++i;
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        case '\t':
        case '\n':
        case '\r':
          out.push_back(c);
          break;
        default:
          if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
      }
      continue;
    }
    const size_t len = DecodeOne(s, i, &cp);
    if (len == 0) {
      ++i;
      continue;
    }
    if (cp != 0xFFFE && cp != 0xFFFF) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

bool HasControlChars(std::string_view s, bool allow_newlines) {
  // In UTF-8 these code points are single bytes that never occur inside a multi-byte sequence,
  // so a byte scan is exact.
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0x7F) return true;
    if (c >= 0x20) continue;
    if (c == '\t') continue;
    if (allow_newlines && (c == '\n' || c == '\r')) continue;
    return true;
  }
  return false;
}

bool ParseIsoDate(std::string_view s, int* y, int* m, int* d) {
  int yy, mm, dd;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !Digits(s, 0, 4, &yy) ||
      !Digits(s, 5, 2, &mm) || !Digits(s, 8, 2, &dd)) {
    return false;
  }
  if (yy < 1 || mm < 1 || mm > 12 || dd < 1 || dd > DaysInMonth(yy, mm)) return false;
  if (y) *y = yy;
  if (m) *m = mm;
  if (d) *d = dd;
  return true;
}

// Counts in 400-year eras (146097 days each) from a year that starts on 1 March, so that the
// leap day is the last day of the counted year and month lengths follow a fixed 153-day
// pattern over five months.
int64_t DaysFromCivil(int y, int m, int d) {
  const int64_t yr = static_cast<int64_t>(y) - (m <= 2 ? 1 : 0);
  const int64_t era = FloorDiv(yr, 400);
  const int64_t yoe = yr - era * 400;                         // [0, 399]
  const int64_t mp = m > 2 ? m - 3 : m + 9;                   // March = 0
  const int64_t doy = (153 * mp + 2) / 5 + d - 1;             // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;  // 719468 = days from 0000-03-01 to 1970-01-01
}

void CivilFromDays(int64_t days, int* y, int* m, int* d) {
  const int64_t z = days + 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2 ? 1 : 0));
}

std::string IsoFromDays(int64_t days) {
  int y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

bool IsRfc3339Timestamp(std::string_view s) {
  // The lenient parser already checks every field; strictness is in the shape: a 'T', seconds
  // and a zone are all required.
  int y, m, d;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || s[16] != ':') return false;
  const char last = s.back();
  const bool zone = last == 'Z' || last == 'z' ||
                    (s.size() >= 25 && s[s.size() - 3] == ':' &&
                     (s[s.size() - 6] == '+' || s[s.size() - 6] == '-'));
  return zone && ParseDateOrTimestamp(s, &y, &m, &d);
}

std::string FormatDate(std::string_view value, std::string_view lang) {
  int y, m, d;
  if (!ParseDateOrTimestamp(value, &y, &m, &d)) return std::string(value);
  char buf[64];
  if (IsEnglish(lang)) {
    std::snprintf(buf, sizeof buf, "%s %d, %d", kMonthsEn[m - 1], d, y);
  } else {
    std::snprintf(buf, sizeof buf, "%d de %s de %d", d, kMonthsEs[m - 1], y);
  }
  return buf;
}

std::string FormatDateShort(std::string_view value, std::string_view lang) {
  int y, m, d;
  if (!ParseDateOrTimestamp(value, &y, &m, &d)) return std::string(value);
  char buf[64];
  if (IsEnglish(lang)) {
    std::snprintf(buf, sizeof buf, "%s %d, %d", kMonthsEnShort[m - 1], d, y);
  } else {
    std::snprintf(buf, sizeof buf, "%d %s %d", d, kMonthsEsShort[m - 1], y);
  }
  return buf;
}

std::string TodayIso() {
  if (const char* env = std::getenv("ABIERTO_TODAY")) {
    if (ParseIsoDate(env, nullptr, nullptr, nullptr)) return env;
  }
  return IsoFromDays(FloorDiv(UnixSecondsNow(), 86400));
}

std::string NowIso() {
  const int64_t now = UnixSecondsNow();
  const int64_t days = FloorDiv(now, 86400);
  const int64_t sod = now - days * 86400;
  char buf[32];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02dZ", static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  return IsoFromDays(days) + buf;
}

std::string FormatNumber(double value, int decimals) {
  if (!std::isfinite(value)) return "—";
  if (decimals < 0) decimals = 0;
  if (decimals > 9) decimals = 9;
  char buf[400];  // DBL_MAX has 309 integer digits
  const int len = std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(value));
  const std::string_view digits(buf, len > 0 ? static_cast<size_t>(len) : 0);
  const size_t point = digits.find('.');
  const size_t int_len = point == std::string_view::npos ? digits.size() : point;
  const bool nonzero = digits.find_first_of("123456789") != std::string_view::npos;
  std::string out;
  out.reserve(digits.size() + int_len / 3 + 1);
  if (value < 0 && nonzero) out.push_back('-');
  for (size_t i = 0; i < int_len; ++i) {
    if (i > 0 && (int_len - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  out.append(digits.substr(int_len));
  return out;
}

std::string FormatMxn(double amount, std::string_view lang) {
  if (!std::isfinite(amount)) return "—";
  std::string body = FormatNumber(amount, 2);
  if (!body.empty() && body[0] == '-') return "-$" + body.substr(1);
  return "$" + body;
}

std::string FormatPercent(double points, int decimals) {
  if (!std::isfinite(points)) return "—";
  return FormatNumber(points, decimals) + "%";
}

}  // namespace abierto::text
