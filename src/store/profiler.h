// Profiler: a store that describes its contents for `cutover inspect`: files,
// row counts, per-column statistics and sample rows.
#pragma once

#include "common/status.h"
#include "store/source_profile.h"

namespace cutover::store {

// An optional capability (Store::profiler() is null without it).
// Thread-safe; a profile costs one full scan unless options say otherwise.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual Result<SourceProfile> Profile(const ProfileOptions& options) = 0;
};

}  // namespace cutover::store
