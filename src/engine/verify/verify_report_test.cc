// Unit tests of what the verify report states: accuracy is floored to hundredths, so it never
// reads 100.00% with a difference left, and a report that compared nothing is never clean.
#include <gtest/gtest.h>

#include "engine/verify/verify_command.h"

namespace cutover::engine {
namespace {

TEST(VerifyReportTest, AccuracyIsFlooredToHundredths) {
  struct Case {
    int64_t matched, missing, extra, changed;
    const char* text;
  } cases[] = {
      {40001, 0, 0, 0, "100.00%"},  // every key matches
      {39999, 0, 0, 2, "99.99%"},   // 99.995%: rounding would print 100.00%
      {999999, 1, 0, 0, "99.99%"},  // 99.9999%
      {498, 1, 1, 1, "99.40%"},     // 498 of 501 = 99.4011%
      {249, 0, 0, 1, "99.60%"},    {0, 3, 0, 0, "0.00%"},
      {1, 0, 0, 2, "33.33%"},      {2, 0, 0, 1, "66.66%"},  // 66.666...%, floored
      {0, 0, 0, 0, "-"},  // nothing on either side: no ratio to state
  };
  for (const auto& c : cases) {
    TableVerdict v;
    v.matched = c.matched;
    v.missing = c.missing;
    v.extra = c.extra;
    v.changed = c.changed;
    EXPECT_EQ(v.AccuracyText(), c.text) << c.matched << " matched";
    if (c.matched > 0 && c.missing + c.extra + c.changed > 0) {
      EXPECT_LT(*v.accuracy(), 100.0);
    }
  }
}

TEST(VerifyReportTest, NothingComparedIsNotClean) {
  VerifyReport report;
  EXPECT_FALSE(report.clean());
  EXPECT_FALSE(VerifyReportJson(report).value("clean", true));
  EXPECT_NE(FormatVerifyReport(report, false).find("nothing was compared"), std::string::npos);
  report.tables.push_back(TableVerdict{});
  report.tables.back().matched = 3;
  report.tables.back().source_rows = 3;
  report.tables.back().target_rows = 3;
  EXPECT_TRUE(report.clean());
}

}  // namespace
}  // namespace cutover::engine
