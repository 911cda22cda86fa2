// KeysOnly: the key columns of a table shape, for the key-first reads of
// pass 2 on both sides.
#include "engine/verify/verify_plan.h"

#include <algorithm>

namespace cutover::engine::verify {

pg_store::TableShape KeysOnly(const pg_store::TableShape& shape) {
  pg_store::TableShape keys = shape;
  keys.columns.clear();
  for (const auto& c : shape.columns) {
    if (std::find(shape.key.begin(), shape.key.end(), c.name) != shape.key.end()) {
      keys.columns.push_back(c);
    }
  }
  return keys;
}

}  // namespace cutover::engine::verify
