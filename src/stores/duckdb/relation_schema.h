// The columns of a DuckDB relation (read_parquet(...), read_csv(...)) as
// ColumnPlans, learned by binding a query without running it.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/vector_converter.h"

namespace cutover::duckdb_store {

// `relation_sql` is a FROM-clause expression. Binding reads file metadata
// (Parquet footers, a CSV sample) but no data. `what` names it in errors.
Result<std::vector<ColumnPlan>> DescribeRelation(DuckSession* session,
                                                 const std::string& relation_sql,
                                                 const std::string& what);

// The select list that reads `file_columns` (one file's own columns) as
// `wanted` (the source's columns, e.g. the union over every file): a column
// the file lacks is NULL, one of another type is cast, so that every chunk of
// every file yields the same columns and types.
std::string SelectListFor(const std::vector<ColumnPlan>& wanted,
                          const std::vector<ColumnPlan>& file_columns);

// One column of that select list before any rendering: the stored value of
// `wanted` as the source's type (SelectListFor's base expression).
std::string StoredValueFor(const ColumnPlan& wanted, const std::vector<ColumnPlan>& file_columns);

}  // namespace cutover::duckdb_store
