// MetricsRegistry: counters, gauges and histograms with fixed label names,
// rendered in the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace cutover::server {

enum class MetricType { kCounter, kGauge, kHistogram };

// Upper bounds in seconds for latency histograms: 0.25 ms to 10 s, dense
// where a loopback store answers (a millisecond or two).
inline const std::vector<double> kLatencyBuckets = {
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// One histogram series: counts per bucket (not cumulative), the sum and the
// number of observations.
struct HistogramSeries {
  std::vector<uint64_t> counts;  // counts[i]: observations in (bounds[i-1], bounds[i]]; last: +Inf
  double sum = 0;
  uint64_t count = 0;

  // The upper bound of the bucket holding quantile q (0..1) of the
  // observations: the value is at most this. +Inf past the last bound; 0
  // when there is no observation.
  double UpperBoundOf(double q, const std::vector<double>& bounds) const;
};

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
  // A histogram with these bucket upper bounds (ascending).
  void DeclareHistogram(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names, std::vector<double> bounds);

  // Adds `delta` (>= 0) to a counter series. Unknown names are ignored, so a
  // typo loses a metric rather than a request.
  void Add(const std::string& name, const std::vector<std::string>& label_values, double delta = 1);
  // Sets a gauge series.
  void Set(const std::string& name, const std::vector<std::string>& label_values, double value);

  // Counts `value` in a histogram series.
  void Observe(const std::string& name, const std::vector<std::string>& label_values, double value);
  // A histogram's series by label values, and its bounds; empty for an
  // unknown name.
  std::map<std::vector<std::string>, HistogramSeries> Histogram(const std::string& name,
                                                                std::vector<double>* bounds) const;

  // Every family in declaration order, series sorted by label values.
  std::string Render() const;

 private:
  struct Family {
    MetricType type = MetricType::kCounter;
    std::string help;
    std::vector<std::string> label_names;
    std::map<std::vector<std::string>, double> series;
    std::vector<double> bounds;  // histograms only
    std::map<std::vector<std::string>, HistogramSeries> histograms;
  };

  mutable std::mutex mu_;
  // Protected by mu_.
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
};

}  // namespace cutover::server
