// SeriesPattern: IoTDB path patterns matched node by node, values by hand.
#include "spec/series_pattern.h"

#include <gtest/gtest.h>

namespace cutover::spec {
namespace {

using Captures = std::optional<std::vector<std::string>>;

SeriesPattern P(std::string_view text) {
  Result<SeriesPattern> p = SeriesPattern::Parse(text);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return *p;
}

TEST(SeriesPatternTest, CapturesTakeOneNodeEach) {
  const SeriesPattern p = P("root.plant.{device}.{measurement}");
  EXPECT_EQ(p.captures(), (std::vector<std::string>{"device", "measurement"}));
  EXPECT_EQ(p.measurement_capture(), "measurement");
  EXPECT_EQ(p.Match("root.plant.d1.temp"), Captures({"d1", "temp"}));
  EXPECT_EQ(p.Match("root.plant.d1.x.temp"), std::nullopt);  // one node each, never two
  EXPECT_EQ(p.Match("root.other.d1.temp"), std::nullopt);
  EXPECT_EQ(p.ShowPattern(), "root.plant.*.*");
}

TEST(SeriesPatternTest, BackquotedNodesAreOneNodeCapturedWithoutTheirQuotes) {
  const SeriesPattern p = P("root.plant.{device}.{m}");
  EXPECT_EQ(p.Match("root.plant.`line-2`.temp"), Captures({"line-2", "temp"}));
  EXPECT_EQ(p.Match("root.plant.`a.b`.temp"), Captures({"a.b", "temp"}));
  EXPECT_EQ(p.Match("root.plant.`17`.temp"), Captures({"17", "temp"}));
  EXPECT_EQ(p.Match("root.plant.`x``y`.temp"), Captures({"x`y", "temp"}));
  EXPECT_EQ(QuoteSeriesNode("17"), "`17`");
  EXPECT_EQ(QuoteSeriesNode("line-2"), "`line-2`");
  EXPECT_EQ(QuoteSeriesNode("x`y"), "`x``y`");
  EXPECT_EQ(QuoteSeriesNode("d_1"), "d_1");
  EXPECT_EQ(P("root.`my plant`.{d}.t").ShowPattern(), "root.`my plant`.*.t");
}

TEST(SeriesPatternTest, StarIsOneNodeAndDoubleStarOneOrMore) {
  const SeriesPattern one = P("root.*.{device}.temp");
  EXPECT_EQ(one.Match("root.a.d1.temp"), Captures({"d1"}));
  EXPECT_EQ(one.Match("root.a.b.d1.temp"), std::nullopt);
  const SeriesPattern many = P("root.**.{device}.temp");
  EXPECT_EQ(many.Match("root.a.d1.temp"), Captures({"d1"}));
  EXPECT_EQ(many.Match("root.a.b.c.d1.temp"), Captures({"d1"}));
  EXPECT_EQ(many.Match("root.d1.temp"), std::nullopt);  // ** takes at least one node
  EXPECT_EQ(many.ShowPattern(), "root.**.*.temp");
}

TEST(SeriesPatternTest, MalformedPatternsAreRefused) {
  for (const char* bad : {"plant.{d}.t", "root.{d}", "root..a.b", "root.`a.b", "root.{1x}.t",
                          "root.{d}.{d}", "root.{d.t"}) {
    EXPECT_FALSE(SeriesPattern::Parse(bad).ok()) << bad;
  }
}

TEST(SeriesPatternTest, FillIsMatchBackwardsAndRefusesWildcards) {
  const SeriesPattern p = P("root.plant.{device}.`a.b`.{m}");
  const auto nodes = p.Fill({"line-1", "temp"});
  ASSERT_TRUE(nodes.has_value());
  EXPECT_EQ(JoinSeriesPath(*nodes), "root.plant.`line-1`.`a.b`.temp");
  EXPECT_EQ(p.Match(JoinSeriesPath(*nodes)), Captures({"line-1", "temp"}));
  EXPECT_EQ(p.Fill({"", "temp"}), std::nullopt);
  EXPECT_EQ(P("root.*.{device}.temp").Fill({"d1"}), std::nullopt);
}

TEST(SeriesPatternTest, CjkNodesNeedNoBackquotesAsInIotdb) {
  EXPECT_EQ(QuoteSeriesNode("\xe6\xb8\xa9\xe5\xba\xa6"), "\xe6\xb8\xa9\xe5\xba\xa6");  // 温度
  EXPECT_EQ(QuoteSeriesNode("\xc3\xbc"), "`\xc3\xbc`");  // ü is no CJK
  EXPECT_EQ(QuoteSeriesNode("a-b"), "`a-b`");
  EXPECT_EQ(QuoteSeriesNode("007"), "`007`");
}

TEST(SeriesPatternTest, PointKeysNameOnePathHoweverItIsQuoted) {
  // IoTDB may write a plain node in backquotes or not: one key either way.
  EXPECT_EQ(SeriesPointKey(*SplitSeriesPath("root.d.`s1`"), 7), "root.d.s1@7");
  EXPECT_EQ(SeriesPointKey(*SplitSeriesPath("root.`x@y`.`7`"), -5), "root.`x@y`.`7`@-5");
  const auto point = ParseSeriesPointKey("root.`x@y`.`7`@-5");
  ASSERT_TRUE(point.has_value());
  EXPECT_EQ(point->nodes, (std::vector<std::string>{"root", "x@y", "7"}));
  EXPECT_EQ(point->epoch, -5);
  for (const char* bad : {"root.d.s", "root.d.s@", "root.d.s@1x", "@5", "root..s@1"}) {
    EXPECT_FALSE(ParseSeriesPointKey(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace cutover::spec
