// UTF-8 validity as PostgreSQL sees it, and the escapes used in reject output.
#include "common/utf8.h"

#include <gtest/gtest.h>

namespace cutover {
namespace {

TEST(Utf8, ValidityFollowsTheStandard) {
  struct Case {
    std::string text;
    bool valid;
  } cases[] = {
      {"plain ascii", true},
      {"caf\xc3\xa9", true},
      {"\xe2\x82\xac euro", true},
      {"\xf0\x9f\x98\x80", true},
      {"\xc3", false},              // truncated
      {"\xc0\xaf", false},          // overlong '/'
      {"\xed\xa0\x80", false},      // UTF-16 surrogate
      {"\xf4\x90\x80\x80", false},  // past U+10FFFF
      {"\xff", false},
  };
  for (const auto& c : cases) EXPECT_EQ(IsValidUtf8(c.text), c.valid) << c.text;
}

// ASCII is skipped eight bytes at a time: a bad byte just past, or straddling,
// such a word must still be found, and a sequence split across words kept.
TEST(Utf8, ValidityHoldsAcrossEightByteWords) {
  EXPECT_TRUE(IsValidUtf8("abcdefgh"));
  EXPECT_TRUE(IsValidUtf8("abcdefg\xc3\xa9hijklmnop"));
  EXPECT_TRUE(IsValidUtf8("abcdefgh\xf0\x9f\x98\x80ijklmnop"));
  EXPECT_FALSE(IsValidUtf8("abcdefgh\xff"));
  EXPECT_FALSE(IsValidUtf8("abcdefghijklmno\xc3"));
  EXPECT_FALSE(IsValidUtf8("abcdefghijklmnop\xed\xa0\x80qrstuvwx"));
  EXPECT_EQ(EscapeInvalidUtf8(std::string("abcdefghijkl\0m", 14)), "abcdefghijkl\\x00m");
  EXPECT_EQ(EscapeInvalidUtf8("abcdefghijklmnop"), "abcdefghijklmnop");
}

TEST(Utf8, EscapesInvalidBytesAndNul) {
  EXPECT_EQ(EscapeInvalidUtf8(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeInvalidUtf8("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \\xff");
}

TEST(Utf8, Base64MatchesRfc4648Vectors) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {{"", ""},
               {"f", "Zg=="},
               {"fo", "Zm8="},
               {"foo", "Zm9v"},
               {"foob", "Zm9vYg=="},
               {"fooba", "Zm9vYmE="},
               {"foobar", "Zm9vYmFy"}};
  for (const auto& c : cases) EXPECT_EQ(Base64(c.in), c.out);
}

}  // namespace
}  // namespace cutover
