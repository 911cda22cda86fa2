// Tests for the metrics registry's Prometheus text: HELP/TYPE lines, label
// escaping, and that unknown names or wrong label counts are ignored.
#include "server/metrics_registry.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cutover::server {
namespace {

TEST(MetricsRegistryTest, RendersTheExpositionFormat) {
  MetricsRegistry m;
  m.Declare("cutover_requests_total", MetricType::kCounter, "Requests.", {"route", "code"});
  m.Declare("cutover_up", MetricType::kGauge, "Line one\nline two.");
  m.Add("cutover_requests_total", {"/b", "200"});
  m.Add("cutover_requests_total", {"/a\"x\\", "500"}, 2);
  m.Add("cutover_requests_total", {"/b", "200"}, 0.5);
  m.Add("cutover_requests_total", {"only-one-label"});  // ignored
  m.Add("cutover_nope_total", {});                      // ignored
  m.Add("cutover_requests_total", {"/b", "200"}, -1);   // counters never go down
  // Written by hand from the format's rules, not from the output.
  EXPECT_EQ(m.Render(),
            "# HELP cutover_requests_total Requests.\n"
            "# TYPE cutover_requests_total counter\n"
            "cutover_requests_total{route=\"/a\\\"x\\\\\",code=\"500\"} 2\n"
            "cutover_requests_total{route=\"/b\",code=\"200\"} 1.5\n"
            "# HELP cutover_up Line one\\nline two.\n"
            "# TYPE cutover_up gauge\n"
            "cutover_up 0\n");
  m.Set("cutover_up", {}, 1);
  EXPECT_NE(m.Render().find("cutover_up 1\n"), std::string::npos);
}

TEST(MetricsRegistryTest, HistogramsRenderCumulativeBucketsSumAndCount) {
  MetricsRegistry m;
  m.DeclareHistogram("cutover_latency_seconds", "Latency.", {"store"}, {0.001, 0.01});
  m.Observe("cutover_latency_seconds", {"redis"}, 0.0005);
  m.Observe("cutover_latency_seconds", {"redis"}, 0.001);  // a bound is inside its bucket
  m.Observe("cutover_latency_seconds", {"redis"}, 0.5);
  m.Observe("cutover_latency_seconds", {}, 1);  // wrong label count: ignored
  // Written by hand: two observations at or below 1 ms, none more up to
  // 10 ms, one above; the sum is 0.5015.
  EXPECT_EQ(m.Render(),
            "# HELP cutover_latency_seconds Latency.\n"
            "# TYPE cutover_latency_seconds histogram\n"
            "cutover_latency_seconds_bucket{store=\"redis\",le=\"0.001\"} 2\n"
            "cutover_latency_seconds_bucket{store=\"redis\",le=\"0.01\"} 2\n"
            "cutover_latency_seconds_bucket{store=\"redis\",le=\"+Inf\"} 3\n"
            "cutover_latency_seconds_sum{store=\"redis\"} 0.5015\n"
            "cutover_latency_seconds_count{store=\"redis\"} 3\n");
  std::vector<double> bounds;
  const auto series = m.Histogram("cutover_latency_seconds", &bounds);
  const HistogramSeries& h = series.at({"redis"});
  EXPECT_EQ(h.UpperBoundOf(0.5, bounds), 0.001);          // the 2nd of 3
  EXPECT_EQ(h.UpperBoundOf(0.66, bounds), 0.001);         // rank ceil(1.98) = 2
  EXPECT_TRUE(std::isinf(h.UpperBoundOf(0.99, bounds)));  // the 3rd lies past every bound
  EXPECT_EQ(HistogramSeries{}.UpperBoundOf(0.5, bounds), 0);
}

}  // namespace
}  // namespace cutover::server
