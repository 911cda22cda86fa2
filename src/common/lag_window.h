// LagWindow: the last lag samples of a long-running process, for its p50 and
// p99, in memory that stays bounded however long it runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/percentile.h"

namespace cutover {

class LagWindow {
 public:
  static constexpr size_t kSamples = 100000;

  void Add(double ms) {
    if (samples_.size() < kSamples) {
      samples_.push_back(ms);
    } else {
      samples_[next_++ % kSamples] = ms;
    }
  }
  // Samples the percentiles are taken over (at most kSamples, the latest).
  int64_t size() const { return static_cast<int64_t>(samples_.size()); }
  bool empty() const { return samples_.empty(); }
  double Percentile(double p) const { return cutover::Percentile(samples_, p); }

 private:
  std::vector<double> samples_;
  size_t next_ = 0;
};

}  // namespace cutover
