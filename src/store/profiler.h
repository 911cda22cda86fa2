// Profiler: a store that describes its contents for `cutover inspect`: files,
// row counts, per-column statistics and sample rows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/source_profile.h"

namespace cutover::store {

// The reference system that a file's GeoParquet metadata (its `geo` key)
// gives one of its geometry columns.
struct GeometryCrs {
  std::string file;
  std::string column;
  // The EPSG code (OGC:CRS84, GeoParquet's default when `crs` is absent, is
  // 4326); nullopt for a CRS without one, or an undefined one (`crs: null`).
  std::optional<int> srid;
  std::string label;  // "EPSG:3857", "OGC:CRS84", "an undefined CRS (crs: null)", ...
};

// An optional capability (Store::profiler() is null without it).
// Thread-safe; a profile costs one full scan unless options say otherwise.
class Profiler {
 public:
  virtual ~Profiler() = default;
  virtual Result<SourceProfile> Profile(const ProfileOptions& options) = 0;
  // What the files' metadata says of their geometry columns' reference
  // systems, one entry per file and column it describes; empty for a store
  // that keeps none.
  virtual Result<std::vector<GeometryCrs>> GeometryReferenceSystems() {
    return std::vector<GeometryCrs>{};
  }
};

}  // namespace cutover::store
