// Tests for the metrics registry's Prometheus text: HELP/TYPE lines, label
// escaping, and that unknown names or wrong label counts are ignored.
#include "server/metrics_registry.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cutover::server
