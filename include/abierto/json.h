// JSON text for everything Abierto writes: API responses, stored reports, exports.
//
// Boost.JSON (1.81) writes every double in exponent form ("2.2830653E5" for 228306.53, "3E0"
// for 3.0): valid JSON, but not what an open-data portal's users, or a CKAN client comparing
// with CKAN, expect to read. JsonText writes the same document with each double in the
// shortest digits that read back exactly, laid out as JavaScript does (plainly from 1e-6 to
// 1e21: 228306.53, 32000000.0; in exponent form outside: 1e+21), with ".0" on integral values
// so that a reader still sees a float, and null for NaN and infinities (which JSON cannot
// hold). Strings, keys, integers and the layout (no whitespace) are exactly Boost's.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace abierto {

std::string JsonText(const boost::json::value& v);
// Appends v's JSON text to *out.
void AppendJson(const boost::json::value& v, std::string* out);

// What page handlers read out of an action's result: a string as it is, an integer in decimal
// and anything else as ""; a number as a double (an integer converted) and anything else as 0.
std::string JsonStr(const boost::json::value& v);
double JsonNum(const boost::json::value& v);

}  // namespace abierto
