// Pass 1's bucket fold and pass 2's rows of differing buckets: what one side
// (the source or PostgreSQL) of one table is reduced to while it is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/row_batch.h"
#include "engine/core/row_hasher.h"

namespace cutover::engine::verify {

// Buckets per table: memory of pass 1 is O(kBuckets) whatever the row count,
// and a difference sends about 1/kBuckets of the rows to pass 2.
inline constexpr size_t kBuckets = size_t{1} << 16;

// The bucket of a row, from the hash of its key.
inline size_t BucketOf(uint64_t key_hash) {
  return key_hash & (kBuckets - 1);
}

// (count, wrapping sum of row digests): order-independent, so neither side
// is sorted and threads' buckets add up.
struct Bucket {
  int64_t count = 0;
  uint64_t sum = 0;
  bool operator==(const Bucket&) const = default;
};

// Which of two rows of one key the backfill kept: the greater keep_last_by
// (RankOf bytes), then the later in source order.
struct RowRank {
  std::string rank;    // keep_last_by values, order-preserving bytes (RankOf)
  int64_t order = -1;  // (chunk << 40) + row in file
  // True when a row ranked `other` loses to this one.
  bool Outranks(const RowRank& other) const {
    return rank != other.rank ? rank > other.rank : order > other.order;
  }
};

// The source order of a chunked source's row: chunk, then row in file.
inline int64_t SourceOrder(int64_t chunk_seq, int64_t record_index) {
  return (chunk_seq << 40) + record_index;
}

// Pass 2: one key's row.
struct RowInfo {
  uint64_t row_hash = 0;
  std::vector<uint64_t> column_hashes;
  std::vector<std::optional<double>> floats;  // per column; unset for NULL and non-floats
  int occurrences = 0;
  RowRank ranked;  // chunked sources: which of a repeated key's rows the backfill kept
};

// One side's view of one table.
struct SideTable {
  std::vector<Bucket> buckets = std::vector<Bucket>(kBuckets);
  int64_t rows = 0;
  int64_t unmappable = 0;
  std::unordered_map<std::string, RowInfo> rows_in_diff;  // pass 2 only

  // Pass 1: counts one row of digest `row_hash` into `bucket`.
  void Fold(size_t bucket, uint64_t row_hash) {
    buckets[bucket].count++;
    buckets[bucket].sum += row_hash;
    rows++;
  }
  // Pass 2: adds `info` (occurrences included) under `key`; of two rows of
  // one key, the one that outranks the other stays.
  void KeepRanked(const std::string& key, RowInfo info);
};

// Pass 2: the row `r` of `batch` hashed, with its float values kept for the
// tolerance (RowInfo::floats).
RowInfo DescribeRow(const RowHasher& hasher, const RowBatch& batch, size_t r);

// Folds every row of `batch` into `side`. Pass 1 (`diff_buckets` null): into
// its bucket. Pass 2: rows whose bucket is in `*diff_buckets` into
// rows_in_diff, a repeated key keeping the last row read.
void Absorb(const RowHasher& hasher, const RowBatch& batch,
            const std::unordered_set<size_t>* diff_buckets, SideTable* side);

// Adds one thread's side into `into`.
void MergeSide(SideTable&& from, SideTable* into);

}  // namespace cutover::engine::verify
