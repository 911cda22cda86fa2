// Unit tests of RepeatedKeys: which row of a repeated key pass 1 folds, and
// what it counts as superseded, against cases worked out by hand.
#include "engine/verify/repeated_keys.h"

#include <gtest/gtest.h>

namespace cutover::engine::verify {
namespace {

int64_t FoldedRows(const SideTable& side) {
  int64_t n = 0;
  for (const auto& b : side.buckets) n += b.count;
  return n;
}

TEST(RepeatedKeysTest, OnlyListedHashesHaveSlots) {
  RepeatedKeys keys({-5, 3, 70000, int64_t{1} << 40});
  EXPECT_EQ(keys.SlotOf(-5), 0);
  EXPECT_EQ(keys.SlotOf(3), 1);
  EXPECT_EQ(keys.SlotOf(70000), 2);
  EXPECT_EQ(keys.SlotOf(int64_t{1} << 40), 3);
  // 70000 and 4464 share their low 16 bits: the filter lets it through, the
  // sorted list says no.
  EXPECT_EQ(keys.SlotOf(70000 - 65536), -1);
  EXPECT_EQ(keys.SlotOf(4), -1);
  EXPECT_EQ(keys.SlotOf(0), -1);
}

TEST(RepeatedKeysTest, GreatestRankWinsThenTheLaterRowWhateverTheOfferOrder) {
  // Key A (slot 0): ranks "b"@1, "c"@2, "c"@9, "a"@10 -> "c"@9 kept (hash 93).
  // Key B (slot 1): ranks "x"@5, "x"@3 -> "x"@5 kept (hash 55), offered second.
  RepeatedKeys keys({100, 200});
  keys.Offer(0, RowRank{"c", 9}, 93, 7);
  keys.Offer(1, RowRank{"x", 3}, 33, 8);
  keys.Offer(0, RowRank{"b", 1}, 91, 7);
  keys.Offer(0, RowRank{"a", 10}, 910, 7);
  keys.Offer(1, RowRank{"x", 5}, 55, 8);
  keys.Offer(0, RowRank{"c", 2}, 92, 7);
  SideTable side;
  DimensionNames names;
  const RepeatedKeys::Folded folded = keys.FoldKeptRows(&side, &names);
  EXPECT_EQ(folded.superseded, 3 + 1);
  EXPECT_EQ(folded.superseded_rejects, 0);
  EXPECT_EQ(side.rows, 2);
  EXPECT_EQ(FoldedRows(side), 2);
  EXPECT_EQ(side.buckets[7].count, 1);
  EXPECT_EQ(side.buckets[7].sum, 93u);
  EXPECT_EQ(side.buckets[8].count, 1);
  EXPECT_EQ(side.buckets[8].sum, 55u);
}

TEST(RepeatedKeysTest, AKeptRejectStoresNothingAndLosingRejectsAreSuperseded) {
  // Key A (slot 0): a reject ranks first ("z"@4): nothing is folded for A;
  //   the other two rows (one of them a reject too) are superseded, and of
  //   them one reject.
  // Key B (slot 1): a reject loses ("a"@1) to a row ("b"@0): B's row is
  //   folded; the losing reject counts as superseded, not as a reject.
  RepeatedKeys keys({11, 22});
  keys.Offer(0, RowRank{"m", 1}, 5, 3);
  keys.Offer(0, RowRank{"z", 4}, std::nullopt, 0);
  keys.Offer(0, RowRank{"n", 2}, std::nullopt, 0);
  keys.Offer(1, RowRank{"a", 1}, std::nullopt, 0);
  keys.Offer(1, RowRank{"b", 0}, 77, 9);
  SideTable side;
  DimensionNames names;
  const RepeatedKeys::Folded folded = keys.FoldKeptRows(&side, &names);
  EXPECT_EQ(folded.superseded, 2 + 1);
  EXPECT_EQ(folded.superseded_rejects, 1 + 1);
  EXPECT_EQ(side.rows, 1);
  EXPECT_EQ(FoldedRows(side), 1);
  EXPECT_EQ(side.buckets[9].count, 1);
  EXPECT_EQ(side.buckets[9].sum, 77u);
}

TEST(RepeatedKeysTest, OnlyTheKeptRowsLookupNamesReachTheDimensions) {
  RepeatedKeys keys({1, 2});
  keys.Offer(0, RowRank{"1", 0}, 10, 1, {{"commodities", "wheat"}});
  keys.Offer(0, RowRank{"2", 0}, 20, 2, {{"commodities", "rice"}, {"markets", "pune"}});
  keys.Offer(1, RowRank{"9", 0}, std::nullopt, 0);
  keys.Offer(1, RowRank{"1", 0}, 30, 3, {{"commodities", "maize"}});  // loses to a reject
  SideTable side;
  DimensionNames names;
  keys.FoldKeptRows(&side, &names);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names["commodities"].size(), 1u);
  EXPECT_TRUE(names["commodities"].contains("rice"));
  EXPECT_TRUE(names["markets"].contains("pune"));
  EXPECT_EQ(side.rows, 1);
}

TEST(RepeatedKeysTest, ASlotNeverOfferedFoldsNothing) {
  RepeatedKeys keys({5, 6, 7});
  keys.Offer(1, RowRank{"", 3}, 8, 4);
  SideTable side;
  DimensionNames names;
  const RepeatedKeys::Folded folded = keys.FoldKeptRows(&side, &names);
  EXPECT_EQ(folded.superseded, 0);
  EXPECT_EQ(side.rows, 1);
}

}  // namespace
}  // namespace cutover::engine::verify
