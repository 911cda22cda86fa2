// ColumnarBuilder: rows of a Parquet entity's table turned back into rows of
// the source's columns (names and values as the file held them), for rollback.
#pragma once

#include <memory>

#include "common/row_batch.h"
#include "common/status.h"
#include "spec/spec.h"

namespace cutover::map {

// The inverse of ColumnarMapper for entities that declare `write_back: true`
// (spec::InvertibilityProblem has checked it): each column goes back to the
// source column it was read from, typed as the table holds it (the writer
// casts to the file's own types); a geometry built from lon/lat columns
// becomes those two doubles again; cutover's `$tag` column goes nowhere. A
// value that cannot go back (a geometry that is no 2D point) is a DataError.
class ColumnarBuilder {
 public:
  // FailedPrecondition naming the reason when `entity` is not invertible.
  static Result<std::unique_ptr<ColumnarBuilder>> Create(const spec::EntitySpec& entity);

  // `rows` (columns named as the entity's, any order) as source rows, row
  // for row, into `out` (replaced).
  Status Build(const RowBatch& rows, RowBatch* out) const;

 private:
  explicit ColumnarBuilder(const spec::EntitySpec& entity) : entity_(entity) {}
  const spec::EntitySpec& entity_;
};

}  // namespace cutover::map
