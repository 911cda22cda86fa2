// PrefixCounter: the most frequent key prefixes of a stream of keys in a
// fixed number of counters, exact while the prefixes fit.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::engine {

// The group a key is counted under: the text up to and including its second
// ':' ("threadr:legacy:" of "threadr:legacy:42:x"), else up to its only ':'
// ("session:" of "session:9"), else the whole key. Two segments at most, so
// that ids further in ("user:42:cart") do not make every key a group.
std::string_view KeyPrefix(std::string_view key);

// PrefixCounter design
//
// Space-Saving (Metwally et al. 2005) over `capacity` counters: a prefix
// already counted adds one; a new one takes a free counter, or replaces the
// smallest, inheriting its count as its possible error. Memory is bounded by
// the capacity whatever the number of keys. Every prefix seen more than
// N / capacity times is among the counters, and while no counter was ever
// replaced (exact()) every count is the true one.
//
// Not thread-safe.
class PrefixCounter {
 public:
  explicit PrefixCounter(size_t capacity = 1024) : capacity_(capacity) {}

  void Add(std::string_view prefix, int64_t n = 1);

  struct Entry {
    std::string prefix;
    int64_t count = 0;
    int64_t error = 0;  // the count may exceed the truth by at most this
  };
  // The `limit` largest counts, largest first (ties by prefix).
  std::vector<Entry> Top(size_t limit) const;
  bool exact() const { return replaced_ == 0; }
  // Prefixes counted now (at most the capacity).
  size_t size() const { return counts_.size(); }

 private:
  size_t capacity_;
  int64_t replaced_ = 0;
  std::map<std::string, Entry, std::less<>> counts_;
  std::set<std::pair<int64_t, std::string>> by_count_;  // (count, prefix), smallest first
};

}  // namespace cutover::engine
