// Text utilities used by every module: UTF-8 validation, accent-insensitive folding, slugs,
// HTML/XML escaping, ISO dates and number/money formatting for es-MX and English.
//
// All functions are pure (they depend only on their arguments) except TodayIso() and NowIso(),
// which read the clock and, for TodayIso(), the ABIERTO_TODAY environment variable. They are
// fast enough to be called many times per page render and are safe to call from any thread
// (as long as nobody calls setenv() concurrently, which Abierto never does after start-up).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace abierto::text {

// ---- UTF-8 -----------------------------------------------------------------------------------

// Returns true when `s` is well-formed UTF-8: no overlong encodings, no surrogates
// (U+D800-U+DFFF), nothing above U+10FFFF, no truncated or stray continuation bytes.
bool IsValidUtf8(std::string_view s);

// Returns `s` with every byte that is not part of a well-formed UTF-8 sequence dropped. Valid
// input is returned unchanged.
std::string SanitizeUtf8(std::string_view s);

// Returns the search key of `s`: lower case (Unicode case folding), compatibility-decomposed
// with every combining mark removed, so "León" → "leon", "ÁRBOL Ñandú" → "arbol nandu" (ñ
// folds to n: residents searching from a phone often type it without the tilde). Runs of
// whitespace (including no-break spaces) become one space; the result is trimmed. Control
// characters, default-ignorable characters (soft hyphen, zero-width joiners) and invalid UTF-8
// bytes are dropped. A few letters without a decomposition are transliterated (æ→ae, ø→o,
// ł→l, đ→d...). Fold(Fold(x)) == Fold(x).
std::string Fold(std::string_view s);

// Returns an ASCII URL slug: the folded text with every run of characters other than [a-z0-9]
// turned into one '-', no leading or trailing '-', at most kMaxSlugLength characters (cut at a
// word boundary when one is reasonably close). "Plan de Acción 2025-2027" →
// "plan-de-accion-2025-2027". Returns "" when nothing usable is left (e.g. only emoji); callers
// that need a slug must supply a fallback.
inline constexpr size_t kMaxSlugLength = 80;
std::string Slugify(std::string_view s);

// ---- Escaping --------------------------------------------------------------------------------

// Returns `s` with & < > " ' replaced by &amp; &lt; &gt; &quot; &#39; — safe inside HTML text
// and inside double- or single-quoted attribute values. Bytes are otherwise copied unchanged.
// Appends `s` to `out` with & < > " ' replaced by entities (the templates' escaping).
void AppendHtmlEscaped(std::string& out, std::string_view s);
std::string HtmlEscape(std::string_view s);

// Percent-encodes everything but unreserved characters (RFC 3986), for query string values.
std::string UrlEncode(std::string_view s);

// Returns `s` escaped as HtmlEscape does (but ' becomes &apos;) with everything XML 1.0 forbids
// removed: invalid UTF-8 bytes, C0 controls other than tab/LF/CR, U+FFFE and U+FFFF. The result
// is always legal XML character data and attribute content.
std::string XmlEscape(std::string_view s);

// Returns true when `s` holds a C0 control character (U+0000-U+001F) other than tab, or DEL
// (U+007F). With allow_newlines, CR and LF are accepted too (multi-line text areas).
bool HasControlChars(std::string_view s, bool allow_newlines);

// ---- Dates -----------------------------------------------------------------------------------

// Returns true when `s` is exactly "YYYY-MM-DD" (year 0001-9999) naming a real day of the
// proleptic Gregorian calendar (so 2024-02-29 is valid and 2023-02-29 is not). On success the
// outputs that are not null are set; on failure they are left untouched.
bool ParseIsoDate(std::string_view s, int* y, int* m, int* d);

// Returns the number of days from 1970-01-01 to the given civil date (negative before it).
// Month and day are not validated; use ParseIsoDate() for untrusted input.
int64_t DaysFromCivil(int y, int m, int d);

// The inverse of DaysFromCivil(): sets *y, *m, *d (none may be null) to the civil date that is
// `days` days after 1970-01-01.
void CivilFromDays(int64_t days, int* y, int* m, int* d);

// Returns the "YYYY-MM-DD" of `days` days after 1970-01-01.
std::string IsoFromDays(int64_t days);

// Returns true when `s` is a complete RFC 3339 timestamp: "YYYY-MM-DDThh:mm:ss", optional
// fraction, then "Z" or "±hh:mm" ("2024-03-22T10:00:00Z"), naming a real calendar day.
bool IsRfc3339Timestamp(std::string_view s);

// Returns a long human date. `value` is "2024-03-22" or an RFC 3339 timestamp such as
// "2024-03-22T10:00:00Z" (whose calendar date is shown as written, without time-zone
// conversion). lang "en" (or "en-…") gives "March 22, 2024"; anything else Spanish:
// "22 de marzo de 2024". Input that is neither is returned unchanged.
std::string FormatDate(std::string_view value, std::string_view lang);

// Returns a short date for chart axes and tables: "22 mar 2024" (es) or "Mar 22, 2024" (en).
// Accepts and rejects the same input as FormatDate().
std::string FormatDateShort(std::string_view value, std::string_view lang);

// Returns today's date in UTC as "YYYY-MM-DD".
//
// Test clock hook: when the environment variable ABIERTO_TODAY holds a valid "YYYY-MM-DD",
// that date is returned instead, so that anything computed from "today" (traffic lights,
// deadlines, open/closed voting phases) is deterministic in integration tests. An invalid value
// is ignored. Only TodayIso() honours the hook: code that decides something by date must call
// it rather than cut NowIso().
std::string TodayIso();

// Returns the current UTC time as "2026-11-21T22:40:19Z" (whole seconds). Not affected by
// ABIERTO_TODAY: it stamps records and audit entries with the real time.
std::string NowIso();

// ---- Numbers ---------------------------------------------------------------------------------

// Returns `value` with `decimals` digits after the point (clamped to 0..9), a dot as the decimal
// separator and commas between thousands, the convention of Mexico and of English:
// FormatNumber(1234567.891, 2) → "1,234,567.89". Rounding is that of printf on the binary
// value. Negative zero prints without a sign. NaN and infinities return "—".
std::string FormatNumber(double value, int decimals);

// Returns a peso amount with two decimals: "$1,234,567.50", "-$20.00". es-MX and English use
// the same separators, so `lang` currently changes nothing; it is taken so that callers need not
// change if a locale with other conventions is added.
std::string FormatMxn(double amount, std::string_view lang);

// Returns a percentage given in points (45 means 45 %) as "45%", without a space, which is the
// usage of the Mexican government. `decimals` as in FormatNumber().
std::string FormatPercent(double points, int decimals = 0);

}  // namespace abierto::text
