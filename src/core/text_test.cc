#include "abierto/text.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace abierto::text {
namespace {

TEST(TextUtf8, AcceptsWellFormed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("León, Guanajuato"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x8C\xB3"));  // U+1F333
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

TEST(TextUtf8, RejectsMalformed) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800 surrogate
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("Le\xC3"));     // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));   // truncated 3-byte
  EXPECT_FALSE(IsValidUtf8("\xE2\x82x"));  // interrupted
  EXPECT_FALSE(IsValidUtf8("\x80"));       // stray continuation
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(TextUtf8, SanitizeDropsOnlyBadBytes) {
  EXPECT_EQ(SanitizeUtf8("León"), "León");
  EXPECT_EQ(SanitizeUtf8("Le\xC3\xB3n\xFF!"), "León!");
  EXPECT_EQ(SanitizeUtf8("a\xED\xA0\x80z"), "az");
  EXPECT_TRUE(IsValidUtf8(SanitizeUtf8("\xE2\x82\xF0\x9F\x8C")));
}

TEST(TextFold, LowersAndStripsAccents) {
  EXPECT_EQ(Fold("León"), "leon");
  EXPECT_EQ(Fold("ÁRBOL Ñandú"), "arbol nandu");
  EXPECT_EQ(Fold("PARTICIPACIÓN Ciudadana"), "participacion ciudadana");
  EXPECT_EQ(Fold("pingüino"), "pinguino");
  // Decomposed input (e + combining acute) folds like the precomposed one.
  EXPECT_EQ(Fold("Le\xCC\x81on"), "leon");
  EXPECT_EQ(Fold("Le\xCC\x81on"), Fold("León"));
}

TEST(TextFold, CollapsesAndTrimsWhitespace) {
  EXPECT_EQ(Fold("  Plan \t de\n\nAcción  "), "plan de accion");
  EXPECT_EQ(Fold("a\xC2\xA0\xC2\xA0"
                 "b"),
            "a b");  // no-break spaces
  EXPECT_EQ(Fold("   "), "");
  EXPECT_EQ(Fold(""), "");
}

TEST(TextFold, DropsInvalidBytesControlsAndIgnorables) {
  EXPECT_EQ(Fold("Le\xFFón"), "leon");
  EXPECT_EQ(Fold("a\x01"
                 "b"),
            "ab");
  EXPECT_EQ(Fold("co\xC2\xADope\xE2\x80\x8Brar"), "cooperar");  // soft hyphen, ZWSP
}

TEST(TextFold, CompatibilityAndTransliteration) {
  EXPECT_EQ(Fold("ﬁesta"), "fiesta");  // ligature
  EXPECT_EQ(Fold("ＬＥÓＮ"), "leon");  // full-width
  EXPECT_EQ(Fold("Straße"), "strasse");
  EXPECT_EQ(Fold("Łódź Ærø"), "lodz aero");
}

TEST(TextFold, IsIdempotent) {
  for (const char* s : {"León", "ÁRBOL Ñandú", "  x  y ", "Straße ﬁ", "Ærø"}) {
    EXPECT_EQ(Fold(Fold(s)), Fold(s)) << s;
  }
}

TEST(TextSlugify, MakesAsciiSlugs) {
  EXPECT_EQ(Slugify("Plan de Acción 2025-2027"), "plan-de-accion-2025-2027");
  EXPECT_EQ(Slugify("  ¿Qué es el Secretariado Técnico?  "), "que-es-el-secretariado-tecnico");
  EXPECT_EQ(Slugify("Año -- Ñu / Ü"), "ano-nu-u");
  EXPECT_EQ(Slugify("🌳🌳"), "");
  EXPECT_EQ(Slugify(""), "");
}

TEST(TextSlugify, CapsLengthAtWordBoundary) {
  std::string longtitle;
  for (int i = 0; i < 30; ++i) longtitle += "palabra ";
  const std::string slug = Slugify(longtitle);
  EXPECT_LE(slug.size(), kMaxSlugLength);
  EXPECT_GT(slug.size(), kMaxSlugLength / 2);
  EXPECT_NE(slug.back(), '-');
  EXPECT_EQ(slug.substr(slug.size() - 7), "palabra");  // no word cut in half

  // A single huge word is cut hard.
  const std::string word(200, 'a');
  EXPECT_EQ(Slugify(word), std::string(kMaxSlugLength, 'a'));
}

TEST(TextEscape, Html) {
  EXPECT_EQ(HtmlEscape("<script>alert('x&y')</script> \"q\""),
            "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt; &quot;q&quot;");
  EXPECT_EQ(HtmlEscape("León"), "León");
}

TEST(TextEscape, XmlDropsForbiddenCharacters) {
  EXPECT_EQ(XmlEscape("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
  EXPECT_EQ(XmlEscape(std::string("a\0b\x01\x08"
                                  "c",
                                  6)),
            "abc");
  EXPECT_EQ(XmlEscape("t\tn\nr\r"), "t\tn\nr\r");
  EXPECT_EQ(XmlEscape("x\xEF\xBF\xBEy\xEF\xBF\xBFz"), "xyz");  // U+FFFE, U+FFFF
  EXPECT_EQ(XmlEscape("Le\xC3\xB3n\xC3"), "León");             // truncated byte dropped
  EXPECT_EQ(XmlEscape("\xF0\x9F\x8C\xB3"), "\xF0\x9F\x8C\xB3");
}

TEST(TextControl, DetectsControls) {
  EXPECT_FALSE(HasControlChars("Hola\tmundo", false));
  EXPECT_TRUE(HasControlChars("Hola\nmundo", false));
  EXPECT_FALSE(HasControlChars("Hola\r\nmundo", true));
  EXPECT_TRUE(HasControlChars(std::string("a\0b", 3), true));
  EXPECT_TRUE(HasControlChars("a\x1b[31m", true));
  EXPECT_TRUE(HasControlChars("a\x7f", true));
  EXPECT_FALSE(HasControlChars("León ñ 🌳", false));
}

TEST(TextDate, ParsesStrictIsoDates) {
  int y = 0, m = 0, d = 0;
  EXPECT_TRUE(ParseIsoDate("2024-02-29", &y, &m, &d));
  EXPECT_EQ(y, 2024);
  EXPECT_EQ(m, 2);
  EXPECT_EQ(d, 29);
  EXPECT_TRUE(ParseIsoDate("2000-02-29", nullptr, nullptr, nullptr));   // /400 is leap
  EXPECT_FALSE(ParseIsoDate("1900-02-29", nullptr, nullptr, nullptr));  // /100 is not
  EXPECT_FALSE(ParseIsoDate("2023-02-29", &y, &m, &d));
  EXPECT_EQ(y, 2024);  // untouched on failure
  EXPECT_FALSE(ParseIsoDate("2024-04-31", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024-13-01", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024-00-10", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024-01-00", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("0000-01-01", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024-1-01", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024/01/01", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("2024-01-01 ", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("+024-01-01", nullptr, nullptr, nullptr));
  EXPECT_FALSE(ParseIsoDate("", nullptr, nullptr, nullptr));
}

TEST(TextDate, CivilDayArithmetic) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1970, 1, 2), 1);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2024, 3, 1) - DaysFromCivil(2024, 2, 28), 2);
  EXPECT_EQ(DaysFromCivil(2023, 3, 1) - DaysFromCivil(2023, 2, 28), 1);
  EXPECT_EQ(IsoFromDays(19804), "2024-03-22");
  // Round trip over four centuries on both sides of the epoch.
  for (int64_t day = DaysFromCivil(1800, 1, 1); day <= DaysFromCivil(2200, 12, 31); ++day) {
    int y, m, d;
    CivilFromDays(day, &y, &m, &d);
    ASSERT_EQ(DaysFromCivil(y, m, d), day);
    ASSERT_GE(m, 1);
    ASSERT_LE(m, 12);
    ASSERT_GE(d, 1);
    ASSERT_LE(d, 31);
  }
}

TEST(TextDate, FormatsInSpanishAndEnglish) {
  EXPECT_EQ(FormatDate("2024-03-22", "es"), "22 de marzo de 2024");
  EXPECT_EQ(FormatDate("2024-03-22", "es-MX"), "22 de marzo de 2024");
  EXPECT_EQ(FormatDate("2024-03-22", "en"), "March 22, 2024");
  EXPECT_EQ(FormatDate("2024-03-22T10:00:00Z", "es"), "22 de marzo de 2024");
  EXPECT_EQ(FormatDate("2024-03-22T10:00:00.123-06:00", "en-US"), "March 22, 2024");
  EXPECT_EQ(FormatDate("2025-01-01", "es"), "1 de enero de 2025");
  EXPECT_EQ(FormatDateShort("2025-09-05", "es"), "5 sep 2025");
  EXPECT_EQ(FormatDateShort("2025-09-05", "en"), "Sep 5, 2025");
}

TEST(TextDate, RecognizesRfc3339Timestamps) {
  EXPECT_TRUE(IsRfc3339Timestamp("2024-03-22T10:00:00Z"));
  EXPECT_TRUE(IsRfc3339Timestamp("2024-03-22T10:00:00.5-06:00"));
  EXPECT_FALSE(IsRfc3339Timestamp("2024-03-22"));
  EXPECT_FALSE(IsRfc3339Timestamp("2024-03-22T10:00Z"));     // no seconds
  EXPECT_FALSE(IsRfc3339Timestamp("2024-03-22T10:00:00"));   // no zone
  EXPECT_FALSE(IsRfc3339Timestamp("2024-03-22 10:00:00Z"));  // space
  EXPECT_FALSE(IsRfc3339Timestamp("2024-02-30T10:00:00Z"));
  EXPECT_FALSE(IsRfc3339Timestamp("2024-03-22T10:00:00+0600"));
}

TEST(TextDate, FormatReturnsBadInputUnchanged) {
  for (const char* bad : {"", "mañana", "2024-02-30", "2024-03-22T25:00:00Z",
                          "2024-03-22T10:00:00Q", "2024-03-22X", "2024-03-22T10"}) {
    EXPECT_EQ(FormatDate(bad, "es"), bad);
  }
  EXPECT_EQ(FormatDate("enero", "english"), "enero");
}

TEST(TextDate, TodayHonoursTestClock) {
  const char* saved = std::getenv("ABIERTO_TODAY");
  const std::string saved_value = saved ? saved : "";
  setenv("ABIERTO_TODAY", "2025-08-29", 1);
  EXPECT_EQ(TodayIso(), "2025-08-29");
  setenv("ABIERTO_TODAY", "2025-02-30", 1);  // invalid: ignored
  EXPECT_TRUE(ParseIsoDate(TodayIso(), nullptr, nullptr, nullptr));
  EXPECT_NE(TodayIso(), "2025-02-30");
  unsetenv("ABIERTO_TODAY");
  EXPECT_TRUE(ParseIsoDate(TodayIso(), nullptr, nullptr, nullptr));
  if (saved) setenv("ABIERTO_TODAY", saved_value.c_str(), 1);
}

TEST(TextDate, NowIsAUtcTimestamp) {
  const std::string now = NowIso();
  ASSERT_EQ(now.size(), 20u);
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
  EXPECT_NE(FormatDate(now, "es"), now);  // parses as a timestamp
}

TEST(TextNumber, FormatsWithThousands) {
  EXPECT_EQ(FormatNumber(0, 0), "0");
  EXPECT_EQ(FormatNumber(999, 0), "999");
  EXPECT_EQ(FormatNumber(1000, 0), "1,000");
  EXPECT_EQ(FormatNumber(1234567.891, 2), "1,234,567.89");
  EXPECT_EQ(FormatNumber(-1234.5, 1), "-1,234.5");
  EXPECT_EQ(FormatNumber(-0.001, 2), "0.00");  // no "-0.00"
  EXPECT_EQ(FormatNumber(12.5, -3), "12");     // decimals clamped; printf rounds half to even
  EXPECT_EQ(FormatNumber(1.0 / 0.0, 2), "—");
}

TEST(TextNumber, FormatsPesosAndPercent) {
  EXPECT_EQ(FormatMxn(1234567.5, "es"), "$1,234,567.50");
  EXPECT_EQ(FormatMxn(1234567.5, "en"), "$1,234,567.50");
  EXPECT_EQ(FormatMxn(-20, "es"), "-$20.00");
  EXPECT_EQ(FormatMxn(0.004, "es"), "$0.00");
  EXPECT_EQ(FormatMxn(-0.004, "es"), "$0.00");
  EXPECT_EQ(FormatPercent(45), "45%");
  EXPECT_EQ(FormatPercent(45.4), "45%");
  EXPECT_EQ(FormatPercent(99.95, 1), "100.0%");
  EXPECT_EQ(FormatPercent(12.25, 1), "12.2%");
}

}  // namespace
}  // namespace abierto::text
