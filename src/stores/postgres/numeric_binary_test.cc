// Binary numerics as PostgreSQL's numeric_send writes them, built by hand,
// printed back to the text numeric_out gives for the same values.
#include "stores/postgres/numeric_binary.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace cutover::pg_store {
namespace {

// ndigits, weight, sign, dscale, then the base-10,000 digit groups, each big-endian.
std::string Numeric(int16_t weight, uint16_t sign, int16_t dscale,
                    std::initializer_list<uint16_t> groups) {
  std::string out;
  auto put = [&](uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
  };
  put(static_cast<uint16_t>(groups.size()));
  put(static_cast<uint16_t>(weight));
  put(sign);
  put(static_cast<uint16_t>(dscale));
  for (uint16_t g : groups) put(g);
  return out;
}

std::string Text(const std::string& binary) {
  std::string out;
  const Status st = AppendNumericText(binary.data(), static_cast<uint32_t>(binary.size()), &out);
  return st.ok() ? out : "error: " + st.message();
}

TEST(NumericBinaryTest, PrintsAsPostgresDoes) {
  EXPECT_EQ(Text(Numeric(0, 0x0000, 0, {})), "0");
  EXPECT_EQ(Text(Numeric(0, 0x0000, 2, {})), "0.00");
  EXPECT_EQ(Text(Numeric(0, 0x0000, 0, {7})), "7");
  // 1234.50: groups 1234 | 5000, scale 2 keeps one trailing zero.
  EXPECT_EQ(Text(Numeric(0, 0x0000, 2, {1234, 5000})), "1234.50");
  EXPECT_EQ(Text(Numeric(0, 0x4000, 2, {1234, 5000})), "-1234.50");
  // 10000 is one group 1 of weight 1; the zero group below it is not stored.
  EXPECT_EQ(Text(Numeric(1, 0x0000, 0, {1})), "10000");
  // 120003.04: 12 | 0003 | 0400.
  EXPECT_EQ(Text(Numeric(1, 0x0000, 2, {12, 3, 400})), "120003.04");
  // 0.00001234: weight -2, the 0000 group after the point is implied.
  EXPECT_EQ(Text(Numeric(-2, 0x0000, 8, {1234})), "0.00001234");
}

TEST(NumericBinaryTest, SpecialValues) {
  EXPECT_EQ(Text(Numeric(0, 0xC000, 0, {})), "NaN");
  EXPECT_EQ(Text(Numeric(0, 0xD000, 0, {})), "Infinity");
  EXPECT_EQ(Text(Numeric(0, 0xF000, 0, {})), "-Infinity");
}

TEST(NumericBinaryTest, MalformedInputIsAnError) {
  std::string out;
  EXPECT_FALSE(AppendNumericText("\0\1", 2, &out).ok());
  std::string two_groups_declared = Numeric(0, 0x0000, 0, {1, 2});
  two_groups_declared.resize(two_groups_declared.size() - 2);
  EXPECT_FALSE(AppendNumericText(two_groups_declared.data(),
                                 static_cast<uint32_t>(two_groups_declared.size()), &out)
                   .ok());
  EXPECT_EQ(Text(Numeric(0, 0x0000, 0, {10000})).rfind("error", 0), 0u);
  EXPECT_EQ(Text(Numeric(0, 0x1234, 0, {1})).rfind("error", 0), 0u);
}

}  // namespace
}  // namespace cutover::pg_store
