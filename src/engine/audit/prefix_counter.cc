// Space-Saving counts of key prefixes, for the audit's unmatched keys.
#include "engine/audit/prefix_counter.h"

#include <algorithm>

namespace cutover::engine {

std::string_view KeyPrefix(std::string_view key) {
  const size_t first = key.find(':');
  if (first == std::string_view::npos) return key;
  const size_t second = key.find(':', first + 1);
  return key.substr(0, (second == std::string_view::npos ? first : second) + 1);
}

void PrefixCounter::Add(std::string_view prefix, int64_t n) {
  auto it = counts_.find(prefix);
  if (it == counts_.end()) {
    Entry entry;
    entry.prefix = std::string(prefix);
    if (counts_.size() >= capacity_ && !by_count_.empty()) {
      const auto smallest = by_count_.begin();
      entry.error = smallest->first;
      entry.count = smallest->first;
      counts_.erase(smallest->second);
      by_count_.erase(smallest);
      ++replaced_;
    }
    it = counts_.emplace(entry.prefix, std::move(entry)).first;
  } else {
    by_count_.erase({it->second.count, it->second.prefix});
  }
  it->second.count += n;
  by_count_.emplace(it->second.count, it->second.prefix);
}

std::vector<PrefixCounter::Entry> PrefixCounter::Top(size_t limit) const {
  std::vector<Entry> out;
  for (const auto& [prefix, entry] : counts_) out.push_back(entry);
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.prefix < b.prefix;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace cutover::engine
