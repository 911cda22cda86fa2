// Percentile: the p-th value (0 <= p <= 1) of a sample, by nearest rank, for
// the lag and latency figures cutover reports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace cutover {

// 0 for an empty sample; the callers report how many samples there were.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

}  // namespace cutover
