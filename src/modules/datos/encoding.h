// Character encodings of tabular files that publishers upload: UTF-8 (with or without a
// byte-order mark) and Windows-1252, the "ANSI" code page in which Excel on Spanish Windows
// still saves CSV. Latin-1 (ISO-8859-1) is read as Windows-1252, its superset for every
// printable character.
//
// The ingest engine decides the encoding from the whole file (see ingest.h): a file with no
// invalid UTF-8 is UTF-8; one whose non-ASCII values are mostly not UTF-8 is Windows-1252; a
// UTF-8 file with a few broken sequences stays UTF-8 and each broken sequence becomes U+FFFD.
//
// Thread-safety: pure functions; safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace abierto::datos {

enum class Encoding { kUtf8, kUtf8Bom, kWindows1252 };

// "UTF-8", "UTF-8 con BOM", "Windows-1252 (Latin-1)" — as shown in the quality report.
const char* EncodingName(Encoding e);

// Returns true when every byte of `s` is below 0x80.
bool IsAscii(std::string_view s);

// Appends `s`, read as Windows-1252, to *out as UTF-8. The five bytes Windows-1252 leaves
// undefined (0x81 0x8D 0x8F 0x90 0x9D) map to the C1 code point of the same value, as
// browsers do.
void AppendWindows1252AsUtf8(std::string_view s, std::string* out);

// Appends `s` to *out with every ill-formed UTF-8 sequence replaced by U+FFFD (one per
// maximal ill-formed subpart, as Unicode recommends). Returns how many were replaced.
int AppendUtf8Repaired(std::string_view s, std::string* out);

}  // namespace abierto::datos
