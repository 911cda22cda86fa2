// Decimal text of scaled integers at their scale, against hand-written cases
// (PostgreSQL's numeric_out of the same values).
#include "stores/duckdb/decimal_text.h"

#include <gtest/gtest.h>

namespace cutover::duckdb_store {
namespace {

Int128 Pow10(int n) {
  Int128 v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

TEST(DecimalTextTest, ScaledIntegersKeepTheirScale) {
  const Int128 max38 = Pow10(38) - 1;
  struct Case {
    Int128 value;
    int scale;
    const char* want;
  } cases[] = {
      {0, 0, "0"},
      {0, 4, "0.0000"},
      {150, 2, "1.50"},
      {-150, 2, "-1.50"},
      {100, 2, "1.00"},
      {1000, 0, "1000"},
      {1, 3, "0.001"},
      {-1, 3, "-0.001"},
      {-5, 1, "-0.5"},
      {1234567, 2, "12345.67"},
      {9999, 2, "99.99"},
      {-9223372036854775807LL - 1, 0, "-9223372036854775808"},
      {max38, 0, "99999999999999999999999999999999999999"},
      {-max38, 10, "-9999999999999999999999999999.9999999999"},
      {max38, 38, "0.99999999999999999999999999999999999999"},
      {Pow10(20), 10, "10000000000.0000000000"},
  };
  for (const Case& c : cases) {
    std::string out = "x";
    AppendDecimalText(c.value, c.scale, &out);
    EXPECT_EQ(out, std::string("x") + c.want) << c.want;
  }
  // The most negative 128-bit value (HUGEINT's minimum).
  const Int128 min128 = -static_cast<Int128>((UInt128{1} << 127) - 1) - 1;
  std::string out;
  AppendDecimalText(min128, 0, &out);
  EXPECT_EQ(out, "-170141183460469231731687303715884105728");
}

TEST(DecimalTextTest, UnsignedIntegers) {
  std::string out;
  AppendUnsignedText(0, &out);
  EXPECT_EQ(out, "0");
  out.clear();
  AppendUnsignedText(18446744073709551615ULL, &out);
  EXPECT_EQ(out, "18446744073709551615");
  out.clear();
  AppendUnsignedText(~UInt128{0}, &out);
  EXPECT_EQ(out, "340282366920938463463374607431768211455");
}

}  // namespace
}  // namespace cutover::duckdb_store
