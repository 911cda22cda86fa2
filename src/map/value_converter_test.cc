// Tests JsonQuoted, the JSON string literal a text value mapped to jsonb
// becomes, against spellings worked out by hand and an independent parser.
#include "map/value_converter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace cutover::map {
namespace {

TEST(JsonQuotedTest, EscapesQuoteBackslashAndControlCharactersAndKeepsTheRest) {
  struct Case {
    std::string text;
    std::string literal;  // written out by hand from RFC 8259 section 7
  };
  const Case cases[] = {
      {"", R"("")"},
      {"plain", R"("plain")"},
      {"say \"hi\"", R"("say \"hi\"")"},
      {"C:\\dir", R"("C:\\dir")"},
      {"a\nb\tc\rd\be\ff", R"("a\nb\tc\rd\be\ff")"},
      {std::string("\x01\x1f", 2), R"("\u0001\u001f")"},
      {std::string("nul\0end", 7), R"("nul\u0000end")"},
      {"/ stays, DEL \x7f stays", "\"/ stays, DEL \x7f stays\""},
      {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""},  // UTF-8 bytes pass through
  };
  for (const Case& c : cases) {
    EXPECT_EQ(JsonQuoted(c.text), c.literal) << "text: " << c.text;
  }
}

TEST(JsonQuotedTest, EveryAsciiByteReadsBackAsItselfThroughAnotherParser) {
  for (int b = 0; b < 0x80; ++b) {
    const std::string text = "<" + std::string(1, static_cast<char>(b)) + ">";
    const std::string literal = JsonQuoted(text);
    nlohmann::json parsed = nlohmann::json::parse(literal, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(parsed.is_string()) << "byte " << b << " gave " << literal;
    EXPECT_EQ(parsed.get<std::string>(), text) << "byte " << b;
  }
}

TEST(JsonQuotedTest, ANulByteBecomesTheEscapeJsonbRefuses) {
  Column column(ValueType::kJsonb);
  Status st = AppendJsonText(JsonQuoted(std::string("a\0b", 3)), &column);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.ToString().find("\\u0000"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace cutover::map
