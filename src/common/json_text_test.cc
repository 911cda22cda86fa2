// JSON text as cutover writes it: floats spelled as Python's repr spells them
// (the expected strings are what Python 3 prints), jsonb made compact.
#include "common/json_text.h"

#include <gtest/gtest.h>

#include <limits>

namespace cutover {
namespace {

std::string Double(double d) {
  std::string out;
  AppendJsonDouble(d, &out);
  return out;
}

TEST(JsonText, DoublesReadLikePythonRepr) {
  EXPECT_EQ(Double(0.1), "0.1");
  EXPECT_EQ(Double(0.0), "0.0");
  EXPECT_EQ(Double(-0.0), "-0.0");
  EXPECT_EQ(Double(-2.5), "-2.5");
  EXPECT_EQ(Double(100.0), "100.0");
  EXPECT_EQ(Double(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(Double(0.0001), "0.0001");
  EXPECT_EQ(Double(0.00001), "1e-05");
  EXPECT_EQ(Double(1.5e-7), "1.5e-07");
  EXPECT_EQ(Double(1e15), "1000000000000000.0");
  EXPECT_EQ(Double(1e16), "1e+16");
  EXPECT_EQ(Double(12345678901234567.0), "1.2345678901234568e+16");
  EXPECT_EQ(Double(123456789.125), "123456789.125");
  EXPECT_EQ(Double(5e-324), "5e-324");
  EXPECT_EQ(Double(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
}

TEST(JsonText, StringsUseTheShortEscapes) {
  std::string out;
  AppendJsonString("a\"b\\c\nd\te\x01\x7f\xc3\xa9", &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\te\\u0001\x7f\xc3\xa9\"");
}

TEST(JsonText, CompactJsonKeepsStringsAndNumbersExact) {
  std::string out;
  AppendCompactJson(R"({"a b": 1.50, "c": [1, "x \" y\\", {"d": null}]})", &out);
  EXPECT_EQ(out, R"({"a b":1.50,"c":[1,"x \" y\\",{"d":null}]})");
}

}  // namespace
}  // namespace cutover
