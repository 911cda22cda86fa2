// JsonDocument and CanonicalJsonText: exact number text, the last of a repeated
// key, and one canonical text per jsonb value, checked against Python's json module.
#include "map/json_document.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace cutover::map {
namespace {

// Pairs that Python's json.loads(parse_float=Decimal, parse_int=Decimal), whose
// dict keeps the last of a repeated key, finds equal (first list) and unequal
// (second list); verify must agree, so their canonical texts must too.
const std::pair<const char*, const char*> kEqual[] = {
    {R"({"a":1.50})", R"({"a": 1.5})"},
    {"[1e2]", "[100]"},
    {"[-0.0]", "[0]"},
    {R"({"b":1,"a":2})", R"({"a":2,"b":1})"},
    {R"({"k":1,"k":2})", R"({"k":2})"},
    {R"("\u00e9")", "\"\xc3\xa9\""},
    {R"("\/")", R"("/")"},
    {"[1e40]", "[10000000000000000000000000000000000000000]"},
    {R"({"x":{"y":[1,{"z":"\n"}]}})", R"({ "x" : { "y" : [ 1 , { "z" : "\u000a" } ] } })"},
};

const std::pair<const char*, const char*> kUnequal[] = {
    {"[0.1000000000000000000001]", "[0.1]"}, {"[18446744073709551616]", "[18446744073709551617]"},
    {R"({"k":1,"k":2})", R"({"k":1})"},      {"[1,2]", "[2,1]"},
    {R"({"a":"1"})", R"({"a":1})"},
};

TEST(CanonicalJsonText, EqualValuesShareOneTextAndOthersDiffer) {
  for (const auto& [a, b] : kEqual) {
    EXPECT_EQ(CanonicalJsonText(a), CanonicalJsonText(b)) << a << " vs " << b;
  }
  for (const auto& [a, b] : kUnequal) {
    EXPECT_NE(CanonicalJsonText(a), CanonicalJsonText(b)) << a << " vs " << b;
  }
}

TEST(JsonDocument, KeepsNumberTextAndFindsTheLastOfARepeatedKey) {
  JsonDocument doc;
  const std::string text =
      R"({"n": 18446744073709551616, "f": 0.1000000000000000000001, "k": 1, "k": [2]})";
  ASSERT_TRUE(doc.Parse(text).ok());
  EXPECT_TRUE(doc.has_repeated_key());
  EXPECT_EQ(doc.Text(doc.Member(0, "n")), "18446744073709551616");
  EXPECT_EQ(doc.Text(doc.Member(0, "f")), "0.1000000000000000000001");
  EXPECT_EQ(doc.Text(doc.Member(0, "k")), "[2]");
  EXPECT_EQ(doc.Member(0, "absent"), JsonDocument::kNone);
  EXPECT_EQ(doc.Minified(0),
            R"({"n":18446744073709551616,"f":0.1000000000000000000001,"k":1,"k":[2]})");

  ASSERT_TRUE(doc.Parse(R"({"a": {"b": 1}, "c": [{"b": 1}, {"b": 2}]})").ok());
  EXPECT_FALSE(doc.has_repeated_key());
  // Beyond the small-object path: 17 distinct keys, then 17 with one repeat.
  std::string many = "{";
  for (int i = 0; i < 17; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  // The document keeps views into its text: the text must outlive it.
  const std::string distinct = many + "}";
  ASSERT_TRUE(doc.Parse(distinct).ok());
  EXPECT_FALSE(doc.has_repeated_key());
  const std::string repeated = many + ",\"k0\":2}";
  ASSERT_TRUE(doc.Parse(repeated).ok());
  EXPECT_TRUE(doc.has_repeated_key());
  EXPECT_EQ(doc.Text(doc.Member(0, "k0")), "2");
  // An escaped key is the same key.
  ASSERT_TRUE(doc.Parse(R"({"a": 1, "\u0061": 2})").ok());
  EXPECT_TRUE(doc.has_repeated_key());
  EXPECT_EQ(doc.Text(doc.Member(0, "a")), "2");
}

TEST(JsonDocument, RefusesWhatJsonAndJsonbRefuseWithTheByte) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "malformed JSON at byte 0: expected a value, found the end of the record"},
      {"{\"a\":1,}", "malformed JSON at byte 7: expected a quoted key"},
      {"[1,]", "malformed JSON at byte 3: expected a value"},
      {"[1 2]", "malformed JSON at byte 3: expected ',' or ']'"},
      {"{\"a\" 1}", "malformed JSON at byte 5: expected ':' after the key"},
      {"[1] 2", "malformed JSON at byte 4: more data after the value"},
      {"[-]", "malformed JSON at byte 2: a number needs digits after '-'"},
      {"[1e]", "malformed JSON at byte 3: a number needs digits in its exponent"},
      {"[NaN]", "malformed JSON at byte 1: expected a value"},
      {"[\"\\x\"]", "malformed JSON at byte 2: invalid escape '\\x'"},
      {"[\"abc", "malformed JSON at byte 1: the string never ends"},
      {"[\"\xff\"]", "invalid UTF-8 in record"},
  };
  JsonDocument doc;
  for (const auto& [text, want] : cases) {
    Status st = doc.Parse(text);
    EXPECT_EQ(st.message(), want) << text;
  }
  std::string deep(JsonDocument::kMaxDepth + 1, '[');
  deep += std::string(JsonDocument::kMaxDepth + 1, ']');
  EXPECT_EQ(doc.Parse(deep).message(),
            "malformed JSON at byte 1024: nested deeper than 1024 levels");
  deep = std::string(JsonDocument::kMaxDepth, '[') + std::string(JsonDocument::kMaxDepth, ']');
  EXPECT_TRUE(doc.Parse(deep).ok());
}

}  // namespace
}  // namespace cutover::map
