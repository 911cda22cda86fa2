// Pass 1 of a dedup entity: per source key that repeats, the one row the
// backfill kept, so that the buckets hold one row per key (docs/verify.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/string_hash.h"
#include "engine/verify/bucket_fold.h"

namespace cutover::engine::verify {

// A row's non-NULL lookup names: (dimension entity, name).
using LookupNames = std::vector<std::pair<std::string, std::string>>;
// Names the facts' source rows carry, per dimension entity (lookups).
using DimensionNames = std::map<std::string, StringSet>;

// The key hashes that repeat in the source (store::Deduplication::HashKeys)
// and, per hash, the row kept among those offered so far: the greatest
// (rank, order) (RowRank::Outranks), as the backfill's source keeps it.
//
// Thread safety: SlotOf and Offer may be called concurrently (Offer locks a
// stripe of slots); FoldKeptRows must not run concurrently with Offer.
// Memory: about 60 bytes per repeated key.
class RepeatedKeys {
 public:
  // `hashes`: sorted, each once.
  explicit RepeatedKeys(std::vector<int64_t> hashes);

  // The slot of `source_hash`, or -1 when the source holds that key once.
  int64_t SlotOf(int64_t source_hash) const;

  // Offers one row of the slot's key; the one that outranks the others
  // stays. `row_hash` is empty for a row the mapper rejected: if it ranks
  // first, the backfill stored nothing for the key (its source skipped the
  // older rows before mapping), so neither does verify. `bucket` is the
  // row's bucket (ignored without a row hash). `names`: the row's lookup
  // names, which the dimensions hold only if the row is the one kept.
  // REQUIRES: slot >= 0, as returned by SlotOf.
  void Offer(int64_t slot, RowRank ranked, std::optional<uint64_t> row_hash, size_t bucket,
             LookupNames names = {});

  struct Folded {
    int64_t superseded = 0;  // rows that lost to another of their key
    // Of them, rows the mapper rejected: the backfill never mapped them, so
    // they are superseded, not rejects.
    int64_t superseded_rejects = 0;
  };

  // Folds every slot's kept row into `side` (SideTable::Fold), and its
  // lookup names into `names`.
  Folded FoldKeptRows(SideTable* side, DimensionNames* names) const;

 private:
  struct Slot {
    RowRank ranked;                    // of the kept row
    std::optional<uint64_t> row_hash;  // empty: the kept row is a reject
    size_t bucket = 0;
    int64_t rows = 0;      // offered
    int64_t rejected = 0;  // offered without a row hash
    LookupNames names;     // of the kept row
  };
  std::vector<int64_t> hashes_;  // sorted
  std::vector<Slot> slots_;      // parallel to hashes_
  std::vector<uint64_t> filter_;
  size_t filter_mask_ = 0;
  std::array<std::mutex, 64> locks_;
};

}  // namespace cutover::engine::verify
