// ResolveGeometrySrids: the GeoParquet CRS of each WKB geometry column
// checked against, or written into, the spec before anything is stored.
#include "engine/core/geometry_crs.h"

#include <optional>

#include <fmt/format.h>

#include "engine/core/source_factory.h"
#include "store/profiler.h"

namespace cutover::engine {

Status ResolveGeometrySrids(spec::MigrationSpec* migration) {
  for (spec::EntitySpec& entity : migration->entities) {
    const spec::SourceSpec* source = migration->FindSource(entity.source);
    if (source == nullptr || source->type != "parquet") continue;
    bool has_wkb = false;
    for (const auto& c : entity.columns)
      has_wkb = has_wkb || (c.geometry && !c.geometry->wkb.empty());
    if (!has_wkb) continue;
    ASSIGN_OR_RETURN(auto files, OpenEntityStore(*migration, entity, /*jobs=*/1));
    if (files->profiler() == nullptr) continue;  // a store that keeps no GeoParquet metadata
    ASSIGN_OR_RETURN(const std::vector<store::GeometryCrs> systems,
                     files->profiler()->GeometryReferenceSystems());
    for (spec::ColumnSpec& column : entity.columns) {
      if (!column.geometry || column.geometry->wkb.empty()) continue;
      spec::ColumnSpec::Geometry& g = *column.geometry;
      const store::GeometryCrs* first = nullptr;  // the first file's, which the rest must match
      for (const store::GeometryCrs& crs : systems) {
        if (crs.column != g.wkb) continue;
        if (g.srid_given && crs.srid && *crs.srid != g.srid) {
          return InvalidArgument(fmt::format(
              "{}: GeoParquet column '{}' is in {}, but column '{}' of entity '{}' says srid {} "
              "({}); remove 'srid' to take the file's, or convert the file",
              crs.file, crs.column, crs.label, column.name, entity.name, g.srid,
              column.where.ToString()));
        }
        if (!g.srid_given && !crs.srid) {
          return InvalidArgument(fmt::format(
              "{}: GeoParquet column '{}' is in {}; give column '{}' of entity '{}' the SRID its "
              "coordinates are in ({}: geometry: {{ wkb: {}, srid: N }})",
              crs.file, crs.column, crs.label, column.name, entity.name, column.where.ToString(),
              g.wkb));
        }
        if (first != nullptr && first->srid != crs.srid) {
          return InvalidArgument(fmt::format(
              "GeoParquet column '{}' is in {} in {} but in {} in {}; one column of entity '{}' "
              "holds one SRID",
              crs.column, first->label, first->file, crs.label, crs.file, entity.name));
        }
        if (first == nullptr) first = &crs;
      }
      if (first != nullptr && !g.srid_given) g.srid = *first->srid;
    }
  }
  return Status::Ok();
}

}  // namespace cutover::engine
