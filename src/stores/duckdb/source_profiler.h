// ProfileRelation: per-column statistics and sample rows of a DuckDB relation,
// computed by DuckDB in SQL (one scan for the statistics).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "store/source_profile.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/vector_converter.h"

namespace cutover::duckdb_store {

// Fills `profile->columns` and `profile->sample` (files and row counts are
// the caller's). Null counts are exact; distinct counts are DuckDB's
// approx_count_distinct (HyperLogLog, capped at the
// non-null count); min/max are skipped for nested and
// binary columns.
Status ProfileRelation(DuckSession* session, const std::string& relation_sql,
                       const std::vector<ColumnPlan>& columns, const store::ProfileOptions& options,
                       store::SourceProfile* profile);

}  // namespace cutover::duckdb_store
