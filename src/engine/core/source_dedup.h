// Which source columns identify an entity's row and order its repeats, so that
// a source can keep one row per key the way the backfill's merge would.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/spec.h"

namespace cutover::engine {

struct SourceDedup {
  std::vector<std::string> key;    // source columns of the key
  std::vector<std::string> order;  // source columns of keep_last_by; greatest wins
};

// The source columns of the entity's dedup key and keep_last_by (or, with no
// `dedup:`, of its key, repeats resolving to the later row), when one row per
// source key is what the load keeps. Nullopt when a key or order column is
// not a plain source column (geometry, a default).
//
// SourceDedup design
//
// Per key, the source row with the greatest keep_last_by (then the later
// file, then the later row) is the record; the others are superseded before
// anything is mapped. A superseded row is never mapped, so it is neither a
// reject nor a name in a lookup dimension, and a winner that cannot be stored
// is a reject whose key is not stored: an older row never stands in for it.
// A row whose key or keep_last_by value is NULL is not ranked (it is a
// reject). Verify follows the same rule with its own ranking.
std::optional<SourceDedup> SourceDedupOf(const spec::EntitySpec& entity);

}  // namespace cutover::engine
