// Binary numeric encoding: base-10000 groups, weight, sign and scale as
// PostgreSQL's numeric_send writes them (expected bytes worked out by hand).
#include "stores/postgres/copy_encoder.h"

#include <gtest/gtest.h>

#include <vector>

namespace cutover::pg_store {
namespace {

std::vector<uint16_t> Words(const std::string& bytes) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    out.push_back(static_cast<uint16_t>((static_cast<uint8_t>(bytes[i]) << 8) |
                                        static_cast<uint8_t>(bytes[i + 1])));
  }
  return out;
}

TEST(EncodeNumeric, MatchesPostgresWireFormat) {
  struct Case {
    const char* text;
    std::vector<uint16_t> words;  // ndigits, weight, sign, dscale, digits...
  } cases[] = {
      {"0", {0, 0, 0, 0}},
      {"1", {1, 0, 0, 0, 1}},
      {"-1", {1, 0, 0x4000, 0, 1}},
      {"12345", {2, 1, 0, 0, 1, 2345}},
      {"10000", {1, 1, 0, 0, 1}},
      {"0.5", {1, 0xFFFF, 0, 1, 5000}},
      {"0.0001", {1, 0xFFFF, 0, 4, 1}},
      {"0.00001", {1, 0xFFFE, 0, 5, 1000}},
      {"1234.5678", {2, 0, 0, 4, 1234, 5678}},
      {"-235644.92", {3, 1, 0x4000, 2, 23, 5644, 9200}},
      {"NaN", {0, 0, 0xC000, 0}},
  };
  for (const auto& c : cases) {
    std::string out;
    EncodeNumeric(c.text, &out);
    EXPECT_EQ(Words(out), c.words) << c.text;
  }
}

}  // namespace
}  // namespace cutover::pg_store
