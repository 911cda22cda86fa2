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
// not a plain source column (geometry, a default), or when a lookup column's
// source is outside the key: then a superseded row could carry a name that
// its key's surviving row does not, and the dimension would differ.
std::optional<SourceDedup> SourceDedupOf(const spec::EntitySpec& entity);

}  // namespace cutover::engine
