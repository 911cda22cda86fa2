// MetricsRegistry: counters and gauges rendered in the Prometheus text format.
#include "server/metrics_registry.h"

#include <fmt/format.h>

#include <cmath>

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

}  // namespace

void MetricsRegistry::Declare(const std::string& name, MetricType type, const std::string& help,
                              std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (families_.contains(name)) return;
  order_.push_back(name);
  families_[name] = Family{type, help, std::move(label_names), {}};
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
                       f.type == MetricType::kCounter ? "counter" : "gauge");
    // A label-less family is shown at 0 before its first update, so that
    // dashboards and alerts see it exist.
    if (f.series.empty() && f.label_names.empty()) out += name + " 0\n";
    for (const auto& [values, v] : f.series) {
      std::string labels;
      for (size_t i = 0; i < values.size(); ++i) {
        labels +=
            fmt::format("{}{}=\"{}\"", i ? "," : "", f.label_names[i], Escape(values[i], true));
      }
      out += labels.empty() ? fmt::format("{} {}\n", name, FormatValue(v))
                            : fmt::format("{}{{{}}} {}\n", name, labels, FormatValue(v));
    }
  }
  return out;
}

}  // namespace cutover::server
