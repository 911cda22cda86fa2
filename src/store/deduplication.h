// Deduplication: a store that can tell, itself, which of its rows a later row
// with the same key supersedes (spec `dedup:`), and hash its keys for verify.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/snapshot_reader.h"

namespace cutover::store {

// The column readers add after HashKeys.
inline constexpr char kKeyHashColumnName[] = "cutover_key_hash";

// An optional capability (Store::dedup() is null without it). Both calls
// change what the store's readers yield from then on, so call them before
// opening any reader, in this order. Thread-safe as the SnapshotReader is.
class Deduplication {
 public:
  virtual ~Deduplication() = default;

  // From now on readers skip every row that a later row with the same
  // `key_columns` supersedes: the one kept has the greatest `order_columns`
  // (as the store's types compare), ties going to the later row in source
  // order. Every process computes the same set from the same data, so
  // partitions stay stable across processes and reruns. A row with a NULL key
  // or order value is not ranked: it is yielded, for the mapper to reject.
  virtual Status SkipSupersededRows(const std::vector<std::string>& key_columns,
                                    const std::vector<std::string>& order_columns) = 0;

  // Rows of `partition` that SkipSupersededRows removed (0 before it).
  virtual Result<int64_t> SupersededRows(const Partition& partition) = 0;

  // From now on readers add a last column, kKeyHashColumnName (kInt64): a
  // 63-bit hash of `key_columns` as the store holds them, equal for equal
  // keys. Returns the hashes more than one row carries, sorted. Memory: 8
  // bytes per repeated key. InvalidArgument for an unknown column.
  virtual Result<std::vector<int64_t>> HashKeys(const std::vector<std::string>& key_columns) = 0;
};

}  // namespace cutover::store
