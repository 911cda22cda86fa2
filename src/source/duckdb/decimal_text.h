// Canonical numeric text of scaled integers (DECIMAL values, HUGEINT and
// unsigned 64/128-bit integers), the form kNumeric columns carry.
#pragma once

#include <string>

namespace cutover::source {

// GCC/Clang 128-bit integers, for DECIMAL(38) and HUGEINT values.
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// Appends `value` / 10^scale: no leading zeros, no trailing fractional zeros,
// no '.' when the fraction is zero ("-12.5", "0.001", "7"), never "-0".
// `scale` is 0..38.
void AppendDecimalText(Int128 value, int scale, std::string* out);

// Appends `value` in decimal digits.
void AppendUnsignedText(UInt128 value, std::string* out);

}  // namespace cutover::source
