// ColumnarBuilder: target columns copied back under their source names; a
// point geometry split into its lon and lat.
#include "map/columnar_builder.h"

#include <fmt/format.h>

#include "map/geometry_codec.h"

namespace cutover::map {

Result<std::unique_ptr<ColumnarBuilder>> ColumnarBuilder::Create(const spec::EntitySpec& entity) {
  if (!entity.write_back) {
    return FailedPrecondition(spec::NotWrittenBack(entity, "source rows"));
  }
  return std::unique_ptr<ColumnarBuilder>(new ColumnarBuilder(entity));
}

Status ColumnarBuilder::Build(const RowBatch& rows, RowBatch* out) const {
  *out = RowBatch();
  const size_t n = rows.num_rows();
  for (const spec::ColumnSpec& c : entity_.columns) {
    if (c.from == "$tag") continue;
    const int at = rows.IndexOf(c.name);
    if (at < 0)
      return Internal(fmt::format("{}: the row has no column '{}'", entity_.name, c.name));
    const Column& in = rows.columns[static_cast<size_t>(at)];
    if (c.geometry) {
      out->AddColumn(c.geometry->lon, ValueType::kFloat64);
      out->AddColumn(c.geometry->lat, ValueType::kFloat64);
      Column& lon = out->columns[out->columns.size() - 2];
      Column& lat = out->columns.back();
      for (size_t r = 0; r < n; ++r) {
        if (in.IsNull(r)) {
          lon.AppendNull();
          lat.AppendNull();
          continue;
        }
        Result<std::pair<double, double>> point = PointCoordinates(in.BytesAt(r));
        if (!point.ok()) return point.status().WithContext(entity_.name + "." + c.name);
        lon.AppendFloat(point->first);
        lat.AppendFloat(point->second);
      }
      continue;
    }
    out->AddColumn(c.from.empty() ? c.name : c.from, in.type());
    Column& to = out->columns.back();
    for (size_t r = 0; r < n; ++r) to.AppendFrom(in, r);
  }
  return Status::Ok();
}

}  // namespace cutover::map
