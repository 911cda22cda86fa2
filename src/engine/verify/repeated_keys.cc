// RepeatedKeys: a bit filter in front of the sorted hashes of repeated keys,
// and striped locks over their slots, for the reader threads of pass 1.
#include "engine/verify/repeated_keys.h"

#include <algorithm>

namespace cutover::engine::verify {

RepeatedKeys::RepeatedKeys(std::vector<int64_t> hashes)
    : hashes_(std::move(hashes)), slots_(hashes_.size()) {
  // A bit per hash value's low bits, 16 bits per repeated key or more: most
  // rows' keys do not repeat, and one probe of this (it fits a core's
  // cache) tells them apart without searching the sorted hashes.
  size_t bits = size_t{1} << 16;
  while (bits < 16 * hashes_.size()) bits <<= 1;
  filter_mask_ = bits - 1;
  filter_.assign(bits / 64, 0);
  for (int64_t h : hashes_) {
    const size_t bit = static_cast<uint64_t>(h) & filter_mask_;
    filter_[bit / 64] |= uint64_t{1} << (bit % 64);
  }
}

int64_t RepeatedKeys::SlotOf(int64_t source_hash) const {
  const size_t bit = static_cast<uint64_t>(source_hash) & filter_mask_;
  if ((filter_[bit / 64] >> (bit % 64) & 1) == 0) return -1;
  auto it = std::lower_bound(hashes_.begin(), hashes_.end(), source_hash);
  return it != hashes_.end() && *it == source_hash ? it - hashes_.begin() : -1;
}

void RepeatedKeys::Offer(int64_t slot, RowRank ranked, std::optional<uint64_t> row_hash,
                         size_t bucket, LookupNames names) {
  std::lock_guard<std::mutex> lock(locks_[static_cast<size_t>(slot) % locks_.size()]);
  Slot& s = slots_[static_cast<size_t>(slot)];
  if (!row_hash) s.rejected++;
  if (++s.rows > 1 && !ranked.Outranks(s.ranked)) return;
  s.ranked = std::move(ranked);
  s.row_hash = row_hash;
  s.bucket = bucket;
  s.names = std::move(names);
}

RepeatedKeys::Folded RepeatedKeys::FoldKeptRows(SideTable* side, DimensionNames* names) const {
  Folded folded;
  for (const Slot& s : slots_) {
    if (s.rows == 0) continue;
    folded.superseded += s.rows - 1;
    folded.superseded_rejects += s.rejected - (s.row_hash ? 0 : 1);
    if (!s.row_hash) continue;
    side->Fold(s.bucket, *s.row_hash);
    for (const auto& [dimension, name] : s.names) (*names)[dimension].emplace(name);
  }
  return folded;
}

}  // namespace cutover::engine::verify
