// Unit tests of the audit's bounded counters and verdicts: key prefixes,
// Space-Saving counts, TTL buckets, floored percentages, stop conditions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/audit/audit.h"
#include "engine/audit/prefix_counter.h"

namespace cutover::engine {
namespace {

TEST(KeyPrefixTest, TwoSegmentsAtMost) {
  EXPECT_EQ(KeyPrefix("threadr:legacy:42:x"), "threadr:legacy:");
  EXPECT_EQ(KeyPrefix("user:42:cart"), "user:42:");
  EXPECT_EQ(KeyPrefix("session:9"), "session:");
  EXPECT_EQ(KeyPrefix("plain"), "plain");
  EXPECT_EQ(KeyPrefix("a::b"), "a::");
  EXPECT_EQ(KeyPrefix(":x"), ":");
}

TEST(PrefixCounterTest, ExactWhileThePrefixesFit) {
  PrefixCounter c(4);
  for (int i = 0; i < 5; ++i) c.Add("a:");
  for (int i = 0; i < 3; ++i) c.Add("b:");
  c.Add("c:");
  c.Add("d:");
  EXPECT_TRUE(c.exact());
  const auto top = c.Top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].prefix, "a:");
  EXPECT_EQ(top[0].count, 5);
  EXPECT_EQ(top[1].prefix, "b:");
  EXPECT_EQ(top[1].count, 3);
  EXPECT_EQ(top[2].prefix, "c:");  // ties by prefix
  EXPECT_EQ(top[2].count, 1);
}

TEST(PrefixCounterTest, BoundedAndKeepsTheHeavyHitterBeyondCapacity) {
  PrefixCounter c(8);
  // 1000 distinct one-off prefixes interleaved with 500 of one prefix: the
  // heavy one is more than N / capacity and must survive with its count.
  for (int i = 0; i < 1000; ++i) {
    c.Add("once" + std::to_string(i));
    if (i % 2 == 0) c.Add("heavy:");
  }
  EXPECT_FALSE(c.exact());
  EXPECT_LE(c.size(), 8u);
  const auto top = c.Top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].prefix, "heavy:");
  EXPECT_GE(top[0].count, 500);
  EXPECT_LE(top[0].count - top[0].error, 500);
}

TEST(TtlHistogramTest, BucketEdges) {
  TtlHistogram h;
  const int64_t minute = 60'000, hour = 60 * minute, day = 24 * hour;
  for (int64_t ttl : {int64_t{-1}, int64_t{0}, minute - 1, minute, hour - 1, hour, day - 1, day,
                      7 * day - 1, 7 * day, 30 * day - 1, 30 * day, 400 * day}) {
    h.Add(ttl);
  }
  // none | <1m: 0, 59999 | <1h: 1m, 1h-1 | <1d: 1h, 1d-1 | <7d: 1d, 7d-1 |
  // <30d: 7d, 30d-1 | >=30d: 30d, 400d
  const std::array<int64_t, 7> expected = {1, 2, 2, 2, 2, 2, 2};
  EXPECT_EQ(h.counts, expected);
  EXPECT_STREQ(TtlHistogram::Name(6), "at_least_30d");
}

TEST(FlooredPercentTest, NeverRoundsAPartToAWhole) {
  EXPECT_EQ(FlooredPercent(99999, 100000), "99.99%");
  EXPECT_EQ(FlooredPercent(100000, 100000), "100.00%");
  EXPECT_EQ(FlooredPercent(6, 21), "28.57%");
  EXPECT_EQ(FlooredPercent(0, 5), "0.00%");
  EXPECT_EQ(FlooredPercent(0, 0), "-");
  EXPECT_EQ(Thousands(1234567), "1,234,567");
  EXPECT_EQ(Thousands(999), "999");
}

TEST(MemoryEstimateTest, MeanTimesKeysExactOnlyWhenAllMeasured) {
  MemoryEstimate m{10, 4, 400};
  EXPECT_EQ(m.EstimatedBytes(), 1000);
  EXPECT_FALSE(m.exact());
  MemoryEstimate none{3, 0, 0};
  EXPECT_FALSE(none.EstimatedBytes().has_value());
  MemoryEstimate all{2, 2, 130};
  EXPECT_EQ(all.EstimatedBytes(), 130);
  EXPECT_TRUE(all.exact());
  EXPECT_EQ(MemoryEstimate{}.EstimatedBytes(), 0);
}

TEST(StopConditionsTest, EachConditionItsLimitAndMeasure) {
  AuditReport report;
  report.matched_keys = 60001;
  report.estimated_bytes = 3LL << 30;
  report.memory = MemoryEstimate{70000, 1000, 1};
  PatternAudit subs;
  subs.entity = "subscriptions";
  subs.pattern = "threadr:premium:email:{email}";
  subs.keys = 60000;
  PatternAudit threads;
  threads.entity = "threads";
  threads.pattern = "threadr:cache:thread:{id}";
  threads.keys = 0;
  report.patterns = {subs, threads};

  spec::AuditSpec audit;
  audit.max_keys = spec::AuditLimit{60001, "60001", {"s.yaml", 2, 13}};
  audit.max_memory = spec::AuditLimit{2LL << 30, "2GB", {"s.yaml", 3, 15}};
  audit.not_empty = {{"threads", {"s.yaml", 4, 15}}, {"subscriptions", {"s.yaml", 4, 24}}};
  audit.entities = {{"subscriptions", spec::AuditLimit{50000, "50000", {"s.yaml", 6, 32}}, {}}};
  const std::vector<StopCheck> checks = EvaluateStopConditions(audit, report);
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_FALSE(checks[0].hit);  // 60001 is not more than 60001
  EXPECT_EQ(checks[0].message,
            "max_keys (s.yaml:2:13): 60,001 keys match the spec's patterns, "
            "limit 60,001");
  EXPECT_TRUE(checks[1].hit);
  EXPECT_EQ(checks[1].message,
            "max_memory (s.yaml:3:15): an estimated 3,221,225,472 bytes in all 70,000 keys "
            "(1,000 of them measured), limit 2GB (2,147,483,648 bytes)");
  EXPECT_TRUE(checks[2].hit);
  EXPECT_EQ(checks[2].message,
            "not_empty (s.yaml:4:15): entity 'threads' (threadr:cache:thread:{id}) matches 0 keys");
  EXPECT_FALSE(checks[3].hit);
  EXPECT_TRUE(checks[4].hit);
  EXPECT_EQ(checks[4].message,
            "max_keys of entity 'subscriptions' (s.yaml:6:32): 60,000 keys match "
            "threadr:premium:email:{email}, limit 50,000");

  // Nothing measured: max_memory cannot be evaluated, and that stops too.
  report.estimated_bytes.reset();
  spec::AuditSpec memory_only;
  memory_only.max_memory = audit.max_memory;
  const auto unmeasured = EvaluateStopConditions(memory_only, report);
  ASSERT_EQ(unmeasured.size(), 1u);
  EXPECT_TRUE(unmeasured[0].hit);
  EXPECT_FALSE(unmeasured[0].measured.has_value());
}

}  // namespace
}  // namespace cutover::engine
