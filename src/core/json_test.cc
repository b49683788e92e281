#include "abierto/json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace abierto {
namespace {

namespace json = boost::json;

TEST(JsonText, DoublesInPlainDecimalForm) {
  EXPECT_EQ(JsonText(228306.53), "228306.53");
  EXPECT_EQ(JsonText(-101.718653), "-101.718653");
  EXPECT_EQ(JsonText(21.5), "21.5");
  EXPECT_EQ(JsonText(3.0), "3.0");
  EXPECT_EQ(JsonText(0.1), "0.1");
  EXPECT_EQ(JsonText(-0.0), "-0.0");
  EXPECT_EQ(JsonText(32000000.0), "32000000.0");
  EXPECT_EQ(JsonText(1e20), "100000000000000000000.0");
  EXPECT_EQ(JsonText(0.000001), "0.000001");
  EXPECT_EQ(JsonText(1e-7), "1e-07");
  EXPECT_EQ(JsonText(0.0), "0.0");
  EXPECT_EQ(JsonText(1e21), "1e+21");
  EXPECT_EQ(JsonText(5e-324), "5e-324");
  EXPECT_EQ(JsonText(std::nan("")), "null");
  EXPECT_EQ(JsonText(std::numeric_limits<double>::infinity()), "null");
}

TEST(JsonText, EverythingButDoublesIsBoostsText) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  json::value v = json::object{
      {"s", "a\"b\\c/é ñ \x7f" + controls},
      {"i", std::numeric_limits<int64_t>::min()},
      {"u", std::numeric_limits<uint64_t>::max()},
      {"n", nullptr},
      {"b", json::array{true, false, json::array{}, json::object{}}},
      {"clave \"rara\"\n", json::object{{"x", 1}, {"", "vacía"}}},
  };
  EXPECT_EQ(JsonText(v), json::serialize(v));
}

TEST(JsonText, DoublesRoundTripExactly) {
  // Each double's text reads back (with a correctly rounding reader: Boost 1.81's own parser is
  // not one) to the same value, and is valid JSON.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int i = 0; i < 20000; ++i) {
    double d = std::ldexp(mantissa(rng), exponent(rng));
    if (i % 3 == 0) d = std::round(d * 1000) / 1000;
    const std::string text = JsonText(d);
    double back = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
    EXPECT_EQ(back, d) << text;
    boost::system::error_code jec;
    json::value parsed = json::parse(text, jec);
    ASSERT_FALSE(jec) << text;
    EXPECT_TRUE(parsed.is_double()) << text;
  }
}

}  // namespace
}  // namespace abierto
