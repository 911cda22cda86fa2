// MetricsRegistry: counters, gauges and histograms in the Prometheus text format.
#include "server/metrics_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cutover::server {
namespace {

// Label values escape backslash, double quote and newline; HELP text escapes
// backslash and newline (exposition format 0.0.4).
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string LabelText(const std::vector<std::string>& names,
                      const std::vector<std::string>& values) {
  std::string labels;
  for (size_t i = 0; i < values.size(); ++i) {
    labels += fmt::format("{}{}=\"{}\"", i ? "," : "", names[i], Escape(values[i], true));
  }
  return labels;
}

}  // namespace

double HistogramSeries::UpperBoundOf(double q, const std::vector<double>& bounds) const {
  if (count == 0) return 0;
  // The rank of the quantile, rounded up: q = 0.99 of 100 observations is
  // the 99th, and of 1 observation the 1st.
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      return i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
    }
  }
  return std::numeric_limits<double>::infinity();
}

void MetricsRegistry::DeclareHistogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (families_.contains(name)) return;
  order_.push_back(name);
  Family& f = families_[name];
  f.type = MetricType::kHistogram;
  f.help = help;
  f.label_names = std::move(label_names);
  f.bounds = std::move(bounds);
}

void MetricsRegistry::Observe(const std::string& name, const std::vector<std::string>& label_values,
                              double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != MetricType::kHistogram ||
      label_values.size() != it->second.label_names.size() || std::isnan(value)) {
    return;
  }
  Family& f = it->second;
  HistogramSeries& h = f.histograms[label_values];
  if (h.counts.empty()) h.counts.assign(f.bounds.size() + 1, 0);
  const size_t bucket =
      std::lower_bound(f.bounds.begin(), f.bounds.end(), value) - f.bounds.begin();
  h.counts[bucket] += 1;
  h.sum += value;
  h.count += 1;
}

std::map<std::vector<std::string>, HistogramSeries> MetricsRegistry::Histogram(
    const std::string& name, std::vector<double>* bounds) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.type != MetricType::kHistogram) return {};
  *bounds = it->second.bounds;
  return it->second.histograms;
}

void MetricsRegistry::Declare(const std::string& name, MetricType type, const std::string& help,
                              std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (families_.contains(name)) return;
  order_.push_back(name);
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  f.label_names = std::move(label_names);
}

void MetricsRegistry::Add(const std::string& name, const std::vector<std::string>& label_values,
                          double delta) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || label_values.size() != it->second.label_names.size() || delta < 0) {
    return;
  }
  it->second.series[label_values] += delta;
}

void MetricsRegistry::Set(const std::string& name, const std::vector<std::string>& label_values,
                          double value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || label_values.size() != it->second.label_names.size()) return;
  it->second.series[label_values] = value;
}

std::string MetricsRegistry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const std::string& name : order_) {
    const Family& f = families_.at(name);
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, Escape(f.help, false), name,
                       f.type == MetricType::kCounter ? "counter"
                       : f.type == MetricType::kGauge ? "gauge"
                                                      : "histogram");
    for (const auto& [values, h] : f.histograms) {
      const std::string labels = LabelText(f.label_names, values);
      const std::string sep = labels.empty() ? "" : ",";
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= f.bounds.size(); ++i) {
        cumulative += h.counts[i];
        const std::string le = i < f.bounds.size() ? FormatValue(f.bounds[i]) : "+Inf";
        out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, le, cumulative);
      }
      const std::string braces = labels.empty() ? "" : "{" + labels + "}";
      out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, FormatValue(h.sum), name,
                         braces, h.count);
    }
    if (f.type == MetricType::kHistogram) continue;
    // A label-less family is shown at 0 before its first update, so that
    // dashboards and alerts see it exist.
    if (f.series.empty() && f.label_names.empty()) out += name + " 0\n";
    for (const auto& [values, v] : f.series) {
      const std::string labels = LabelText(f.label_names, values);
      out += labels.empty() ? fmt::format("{} {}\n", name, FormatValue(v))
                            : fmt::format("{}{{{}}} {}\n", name, labels, FormatValue(v));
    }
  }
  return out;
}

}  // namespace cutover::server
