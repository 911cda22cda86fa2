// The repeated values of a relation are found alike whether they are sorted
// in one part or spilled to temporary files in several.
#include "stores/duckdb/repeated_hashes.h"

#include <gtest/gtest.h>

#include <vector>

namespace cutover::duckdb_store {
namespace {

// range(1000) taken modulo 700: 0..299 occur twice, 300..699 once.
constexpr char kRelation[] = "(SELECT (i % 700)::UBIGINT AS v FROM range(1000) t(i))";

std::vector<uint64_t> Expected() {
  std::vector<uint64_t> out;
  for (uint64_t v = 0; v < 300; ++v) out.push_back(v);
  return out;
}

TEST(RepeatedHashesTest, OnePartAndSpilledPartsFindTheSameRepeats) {
  auto session = DuckSession::Open();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  // 1,000 rows: one part; 7 parts of about 150 (spilled); one part per row.
  for (int64_t rows_per_part : {kRepeatedHashesPerPart, int64_t{150}, int64_t{1}}) {
    auto found = CollectRepeatedHashes(session->get(), kRelation, "v", 1000, "test", rows_per_part);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(*found, Expected()) << rows_per_part << " rows per part";
  }
}

TEST(RepeatedHashesTest, TheTableHoldsEachRepeatOnce) {
  auto session = DuckSession::Open();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto count = FindRepeatedHashes(session->get(), kRelation, "v", 1000, "repeats", "test", 150);
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 300);
  auto rows = (*session)->QueryText(
      "SELECT count(*), count(DISTINCT h), min(h), max(h) FROM repeats", "test");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ((*rows)[0][0], "300");
  EXPECT_EQ((*rows)[0][1], "300");
  EXPECT_EQ((*rows)[0][2], "0");
  EXPECT_EQ((*rows)[0][3], "299");
}

TEST(RepeatedHashesTest, AQueryErrorCarriesItsContext) {
  auto session = DuckSession::Open();
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto found = CollectRepeatedHashes(session->get(), kRelation, "no_such_column", 1000,
                                     "hashing the keys", 150);
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.status().message().find("hashing the keys"), std::string::npos);
}

}  // namespace
}  // namespace cutover::duckdb_store
