// The SRID of geometry columns read from GeoParquet: taken from the files'
// CRS, or the spec refused when its `srid` says otherwise.
#pragma once

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

// For every `geometry: { wkb: X }` column of an entity fed by a Parquet
// source whose files carry GeoParquet metadata for X: with no `srid` in the
// spec, sets the column's SRID to the files' (an EPSG code; OGC:CRS84, the
// default, is 4326); with one, checks the files agree. InvalidArgument,
// naming the file, the column and both reference systems, when they do not,
// when files disagree among themselves, or when the files' CRS has no EPSG
// code and the spec gives none. Other errors (unreadable files) as they come.
// Must run before tables are created or checked: the SRID is in their type.
Status ResolveGeometrySrids(spec::MigrationSpec* migration);

}  // namespace cutover::engine
