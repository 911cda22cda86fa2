// ProfileRelation: per-column statistics and sample rows of a DuckDB relation,
// computed by DuckDB in SQL (one scan for the statistics).
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "source/duckdb/duckdb_session.h"
#include "source/duckdb/vector_converter.h"
#include "source/source_profile.h"

namespace cutover::source {

// Fills `profile->columns` and `profile->sample` (files and row counts are
// the caller's). Null counts are exact; distinct counts are DuckDB's
// approx_count_distinct (HyperLogLog, capped at the
// non-null count); min/max are skipped for nested and
// binary columns.
Status ProfileRelation(DuckSession* session, const std::string& relation_sql,
                       const std::vector<ColumnPlan>& columns, const ProfileOptions& options,
                       SourceProfile* profile);

}  // namespace cutover::source
