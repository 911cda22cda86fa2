// MetricsRegistry: counters and gauges with fixed label names, rendered in the
// Prometheus text exposition format (version 0.0.4) for /metrics.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cutover::server {

enum class MetricType { kCounter, kGauge };

// Families are declared once with their label names; a series is created on
// first use of a label combination. Label values must come from small, known
// sets (entity names from the spec, store, origin, result), never from
// request data such as keys, so the number of series stays bounded.
//
// Naming follows Prometheus conventions: the `cutover_` prefix, base units
// (seconds, bytes), counters ending in `_total`.
//
// Thread-safe: every method takes the registry's mutex.
class MetricsRegistry {
 public:
  // Declaring an existing name again is a no-op.
  void Declare(const std::string& name, MetricType type, const std::string& help,
               std::vector<std::string> label_names = {});

  // Adds `delta` (>= 0) to a counter series. Unknown names are ignored, so a
  // typo loses a metric rather than a request.
  void Add(const std::string& name, const std::vector<std::string>& label_values, double delta = 1);
  // Sets a gauge series.
  void Set(const std::string& name, const std::vector<std::string>& label_values, double value);

  // Every family in declaration order, series sorted by label values.
  std::string Render() const;

 private:
  struct Family {
    MetricType type;
    std::string help;
    std::vector<std::string> label_names;
    std::map<std::vector<std::string>, double> series;
  };

  mutable std::mutex mu_;
  // Protected by mu_.
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

}  // namespace cutover::server
