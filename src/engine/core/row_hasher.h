// Canonical row digests: a row mapped from the source and the same row read
// back from PostgreSQL hash alike, so verification compares 8-byte digests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/value_text.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// Canonical forms, so equal values hash equal whichever store they came from:
// numeric with its scale ("1.50" is not "1.5": applications read the scale
// back), taken at the target column's declared scale when it has one, since
// PostgreSQL stores every value there at that scale; jsonb by
// map::CanonicalJsonText (exact numbers, the last of a repeated key) with
// sorted keys (PostgreSQL reorders keys), float -0.0 as 0.0 and one NaN.
// Stateless after construction; safe to share between threads.
class RowHasher {
 public:
  explicit RowHasher(const pg_store::TableShape& shape);

  // `column` is the column's index in the shape (-1: none), for its scale.
  uint64_t ColumnHash(const Column& col, size_t row, int column = -1) const;
  // Hash of every column's hash: the row digest compared between stores.
  uint64_t RowHash(const RowBatch& batch, size_t row, std::vector<uint64_t>* column_hashes) const;
  uint64_t KeyHash(const RowBatch& batch, size_t row) const;
  // The same, from the column hashes RowHash filled in for the row.
  uint64_t KeyHash(const std::vector<uint64_t>& column_hashes) const;
  // "id=4f1c..." or "project_id=...,id=..." for reports.
  std::string KeyText(const RowBatch& batch, size_t row) const;

 private:
  std::vector<int> numeric_scales_;  // per shape column, TableColumn::numeric_scale
  std::vector<int> key_columns_;
  std::vector<std::string> key_names_;
};

}  // namespace cutover::engine
