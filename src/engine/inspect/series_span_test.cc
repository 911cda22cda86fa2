// The partition interval advice, with the expected figures worked out by hand.
#include "engine/inspect/series_span.h"

#include <gtest/gtest.h>

namespace cutover::engine {
namespace {

TEST(PartitionAdviceTest, TheRunbooksTwentyMillionPointsOverAQuarterGoByMonth) {
  // 20M / 91 days = 219,780 a day: 6.69M a month is nearest 5M (1.54M a
  // week is 3.2x off it, 6.69M only 1.34x).
  const PartitionAdvice a = AdvisePartitionInterval(20'000'000, 91);
  EXPECT_EQ(a.every, "1 month");
  EXPECT_NEAR(a.points_per_partition, 20e6 / 91 * 30.436875, 1);
  EXPECT_NE(a.reason.find("20000000 points over 91.0 days"), std::string::npos) << a.reason;
}

TEST(PartitionAdviceTest, DenseDataGoesByDayAndSparseByYear) {
  // 50M in a week: 7.1M a day.
  EXPECT_EQ(AdvisePartitionInterval(50'000'000, 7).every, "1 day");
  // 3M over ten years: 300k a year is nearest 5M of the four (a month: 25k).
  EXPECT_EQ(AdvisePartitionInterval(3'000'000, 3652.4).every, "1 year");
  // 5M in a week: 5M a week exactly.
  EXPECT_EQ(AdvisePartitionInterval(5'000'000, 7).every, "1 week");
}

TEST(PartitionAdviceTest, FewPointsOrNoSpanAreSaidPlainly) {
  const PartitionAdvice few = AdvisePartitionInterval(999'999, 365);
  EXPECT_EQ(few.every, "");
  EXPECT_NE(few.reason.find("too few"), std::string::npos) << few.reason;
  // Every point at one time: the span counts as a day, not as zero.
  EXPECT_EQ(AdvisePartitionInterval(4'000'000, 0).every, "1 day");
}

}  // namespace
}  // namespace cutover::engine
