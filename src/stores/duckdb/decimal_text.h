// Canonical numeric text of scaled integers (DECIMAL values, HUGEINT and
// unsigned 64/128-bit integers), the form kNumeric columns carry.
#pragma once

#include <string>

namespace cutover::duckdb_store {

// GCC/Clang 128-bit integers, for DECIMAL(38) and HUGEINT values.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Appends `value` / 10^scale with exactly `scale` fraction digits, as
// PostgreSQL prints a numeric of that scale: no leading zeros, trailing
// fractional zeros kept ("1.00" is DECIMAL(p,2)'s one, and an application
// reading it back expects "1.00"), no '.' when the scale is 0. `scale` is 0..38.
void AppendDecimalText(Int128 value, int scale, std::string* out);

// Appends `value` in decimal digits.
void AppendUnsignedText(UInt128 value, std::string* out);

}  // namespace cutover::duckdb_store
