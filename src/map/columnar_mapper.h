// Maps typed columnar batches (Parquet/CSV columns named as in the file) to
// an entity's typed columns: rename, convert, default, geometry, lookup names.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "map/record_mapper.h"
#include "spec/spec.h"

namespace cutover::map {

// One top-level entity without children (columnar files hold no nested
// arrays). Column `c` of the output is:
//   - the source column `c.from` converted to c.type (text -> uuid, date,
//     timestamptz, numeric by map/value_parsers.h; integers range-checked;
//     integers -> float; dates <-> timestamps; ...);
//   - for `geometry:`, NDR EWKB with the SRID from lon/lat, WKT or WKB
//     (map/geometry_codec.h);
//   - for `lookup:`, the source name as TEXT: the column still has to be
//     resolved to the dimension's id (engine::LookupResolver), which needs
//     PostgreSQL and is therefore not the mapper's business.
// A missing value takes the default, or rejects the row when the column is
// required, part of the key, or a dedup keep_last_by column (rows cannot be
// ordered without it). Rejects carry record_index = the row in its file and
// the row rendered as JSON. Not thread-safe; one mapper per worker.
class ColumnarMapper : public RecordMapper {
 public:
  ~ColumnarMapper() override;
  // Fails (with the spec location) on children or a default that does not convert.
  static Result<std::unique_ptr<ColumnarMapper>> Create(const spec::EntitySpec& entity);

  // Checks the source's columns (as SnapshotReader::Describe reports them)
  // against the spec before any row is read: every `from`, lon/lat/wkt/wkb
  // column exists (else a "did you mean") and its type converts to the
  // column's. Without this, a spec mistake would reject every row.
  Status CheckSource(const std::vector<std::pair<std::string, ValueType>>& columns) const;

  // The source columns the spec reads (from, lon/lat, wkt, wkb), once each.
  std::vector<std::string> SourceColumns() const;

  const std::vector<const spec::EntitySpec*>& tables() const override;
  int ParentOf(size_t) const override { return -1; }
  void Map(const store::StoreBatch& in, MappedBatch* out) override;
  // The row as a JSON object of its source columns.
  std::string RecordText(const store::StoreBatch& in, size_t record) const override;

 private:
  struct Impl;
  explicit ColumnarMapper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether a source column of type `from` can feed a column of type `to`.
bool Convertible(ValueType from, ValueType to);

// Row `row` of `batch` as a JSON object (bytes as "\\x..." hex, dates and
// timestamps in ISO 8601, uuids in 8-4-4-4-12), for reject reports.
std::string RowAsJson(const RowBatch& batch, size_t row);

}  // namespace cutover::map
