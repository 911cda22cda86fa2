// DocumentBuilder: a row of a JSON-file entity (with its children's rows)
// turned back into the JSON record it was read from, for rollback into files.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "spec/spec.h"

namespace cutover::map {

// The rows of one child entity that belong to one parent row: rows
// [begin, end) of `rows`, whose columns are named as the child's.
struct ChildRows {
  const RowBatch* rows = nullptr;
  size_t begin = 0;
  size_t end = 0;
};

// DocumentBuilder design
//
// The inverse of DocumentMapper for entities of JSON sources that declare
// `write_back: true` (spec::InvertibilityProblem has checked that every
// column has a place of its own): each column's value goes to the dotted
// path it was read from, in the spec's column order, and each child's rows
// become the array at the child's `path` (a `$item` column's value alone
// when the array held scalars). A child's parent columns and cutover's
// `$tag` column go nowhere; a `$key` column is the member name of an
// object-keyed file (MemberName), not a field.
//
// The text is compact and deterministic, so a record PostgreSQL holds has
// exactly one spelling: NULL as null; integers and numerics as PostgreSQL
// prints them ("12.50" keeps its scale); floats as the shortest decimal that
// reads back to them (common/json_text.h), NaN and infinities as the
// strings the reader takes back; timestamps as "2024-01-02T03:04:05Z" in UTC
// (six fraction digits when the microseconds are not zero), or the epoch
// number their `format:` reads; dates "2024-01-02"; uuids lowercase; jsonb
// as PostgreSQL's text with the whitespace removed, so its numbers keep
// their exact digits. A value the reader would read back differently is an
// error, never a silently different record. Not thread-safe.
class DocumentBuilder {
 public:
  // FailedPrecondition naming the reason when `entity` is not invertible.
  static Result<std::unique_ptr<DocumentBuilder>> Create(const spec::EntitySpec& entity);

  // Appends the record of `rows`' row `row` to `out`; `children[i]` are the
  // rows of the entity's i-th child that belong to it.
  Status Append(const RowBatch& rows, size_t row, const std::vector<ChildRows>& children,
                std::string* out) const;

  // The row's member name in an object-keyed file: its `$key` column's text.
  Result<std::string> MemberName(const RowBatch& rows, size_t row) const;

 private:
  explicit DocumentBuilder(const spec::EntitySpec& entity) : entity_(entity) {}
  const spec::EntitySpec& entity_;
};

}  // namespace cutover::map
