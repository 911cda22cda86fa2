// The bucket fold of pass 1 and the per-key rows of pass 2, for one side of
// one table (see docs/verify.md).
#include "engine/verify/bucket_fold.h"

#include <utility>

namespace cutover::engine::verify {

void SideTable::KeepRanked(const std::string& key, RowInfo info) {
  auto [it, inserted] = rows_in_diff.try_emplace(key, std::move(info));
  if (inserted) return;
  // `info` was not moved from when the key was already there.
  const int occurrences = it->second.occurrences + info.occurrences;
  if (info.ranked.Outranks(it->second.ranked)) it->second = std::move(info);
  it->second.occurrences = occurrences;
}

RowInfo DescribeRow(const RowHasher& hasher, const RowBatch& batch, size_t r) {
  RowInfo info;
  info.row_hash = hasher.RowHash(batch, r, &info.column_hashes);
  info.floats.assign(batch.columns.size(), std::nullopt);
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    if (batch.columns[c].type() == ValueType::kFloat64 && !batch.columns[c].IsNull(r)) {
      info.floats[c] = batch.columns[c].FloatAt(r);
    }
  }
  return info;
}

void Absorb(const RowHasher& hasher, const RowBatch& batch,
            const std::unordered_set<size_t>* diff_buckets, SideTable* side) {
  std::vector<uint64_t> column_hashes;
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    if (diff_buckets == nullptr) {
      const uint64_t h = hasher.RowHash(batch, r, &column_hashes);
      side->Fold(BucketOf(hasher.KeyHash(column_hashes)), h);
      continue;
    }
    if (!diff_buckets->contains(BucketOf(hasher.KeyHash(batch, r)))) continue;
    RowInfo& info = side->rows_in_diff[hasher.KeyText(batch, r)];
    const int occurrences = info.occurrences;
    info = DescribeRow(hasher, batch, r);
    info.occurrences = occurrences + 1;
  }
}

void MergeSide(SideTable&& from, SideTable* into) {
  for (size_t b = 0; b < kBuckets; ++b) {
    into->buckets[b].count += from.buckets[b].count;
    into->buckets[b].sum += from.buckets[b].sum;
  }
  into->rows += from.rows;
  into->unmappable += from.unmappable;
  for (auto& [key, info] : from.rows_in_diff) into->KeepRanked(key, std::move(info));
}

}  // namespace cutover::engine::verify
