// KeyLocks: one mutex per stripe of (entity, key), so that the write path and
// the replayer never write one key's secondary copy at the same time.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <string_view>

#include <xxhash.h>

namespace cutover::gateway {

// Striped: two keys may share a lock (a little waiting, never a wrong
// order); memory stays fixed whatever the number of keys.
class KeyLocks {
 public:
  // Many, so that a batch request holding up to 1,000 keys' stripes at once
  // leaves most of them to other writers.
  static constexpr size_t kStripes = 8192;

  std::mutex& For(std::string_view entity, std::string_view key) {
    // Any stable hash of both parts spreads keys over the stripes.
    const uint64_t h =
        XXH3_64bits_withSeed(key.data(), key.size(), XXH3_64bits(entity.data(), entity.size()));
    return stripes_[h % kStripes];
  }

 private:
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace cutover::gateway
