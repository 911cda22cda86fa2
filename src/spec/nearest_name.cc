// "Did you mean ...?" for misspelled names in the spec: picks the valid name
// closest to a given one by edit distance, or nothing when none is close.
#include "spec/nearest_name.h"

#include <algorithm>

namespace cutover::spec {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rolling rows suffice: a swap looks back two rows.
  const size_t n = b.size();
  std::vector<size_t> two_back(n + 1), prev(n + 1), cur(n + 1);
  for (size_t j = 0; j <= n; ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= n; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, prev);
    std::swap(prev, cur);
  }
  return prev[n];
}

std::string NearestName(std::string_view given, const std::vector<std::string_view>& valid) {
  const size_t limit = std::max<size_t>(2, given.size() / 2);
  std::string_view best;
  size_t best_distance = 0;
  bool found = false;
  for (std::string_view candidate : valid) {
    const size_t d = EditDistance(given, candidate);
    if (d > limit || d >= std::max<size_t>(candidate.size(), 1)) continue;
    if (!found || d < best_distance) {
      best = candidate;
      best_distance = d;
      found = true;
    }
  }
  return found ? std::string(best) : std::string();
}

}  // namespace cutover::spec
