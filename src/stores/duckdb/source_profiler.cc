// ProfileRelation: builds one aggregate query over every column and one
// LIMIT query for the samples, and reads both back as text.
#include "stores/duckdb/source_profiler.h"

#include <algorithm>
#include <charconv>

namespace cutover::duckdb_store {
namespace {

int64_t ToInt(const std::optional<std::string>& text) {
  int64_t v = -1;
  if (text) std::from_chars(text->data(), text->data() + text->size(), v);
  return v;
}

}  // namespace

Status ProfileRelation(DuckSession* session, const std::string& relation_sql,
                       const std::vector<ColumnPlan>& columns, const store::ProfileOptions& options,
                       store::SourceProfile* profile) {
  profile->columns.clear();
  for (const ColumnPlan& plan : columns) {
    store::ColumnProfile c;
    c.name = plan.name;
    c.type = plan.type;
    c.native_type = plan.native_type;
    c.postgres_type = plan.postgres_type;
    profile->columns.push_back(std::move(c));
  }

  if (options.statistics) {
    std::string select = "count(*)";
    for (const ColumnPlan& plan : columns) {
      const std::string col = SqlIdentifier(plan.name);
      select += ", count(*) - count(" + col + "), approx_count_distinct(" + col + ")";
      if (plan.orderable) {
        select += ", CAST(min(" + col + ") AS VARCHAR), CAST(max(" + col + ") AS VARCHAR)";
      } else {
        select += ", NULL, NULL";
      }
    }
    ASSIGN_OR_RETURN(const TextRows rows,
                     session->QueryText("SELECT " + select + " FROM " + relation_sql,
                                        "computing column statistics"));
    if (rows.size() != 1 || rows[0].size() != 1 + 4 * columns.size()) {
      return Internal("computing column statistics: unexpected result shape");
    }
    const auto& row = rows[0];
    profile->row_count = ToInt(row[0]);
    for (size_t i = 0; i < columns.size(); ++i) {
      store::ColumnProfile& c = profile->columns[i];
      c.null_count = ToInt(row[1 + 4 * i]);
      // HyperLogLog can overshoot (by ~10% on a few thousand rows); more
      // distinct values than non-null rows would only confuse a reader.
      c.distinct_estimate = std::min(ToInt(row[2 + 4 * i]), profile->row_count - c.null_count);
      c.min = row[3 + 4 * i];
      c.max = row[4 + 4 * i];
    }
  }

  profile->sample.clear();
  if (options.sample_rows > 0) {
    std::string select;
    for (const ColumnPlan& plan : columns) {
      if (!select.empty()) select += ", ";
      const std::string col = SqlIdentifier(plan.name);
      select += plan.wrap == ColumnPlan::Wrap::kToJson ? plan.SelectExpr(col)
                                                       : "CAST(" + col + " AS VARCHAR)";
    }
    ASSIGN_OR_RETURN(profile->sample,
                     session->QueryText("SELECT " + select + " FROM " + relation_sql + " LIMIT " +
                                            std::to_string(options.sample_rows),
                                        "reading sample rows"));
  }
  return Status::Ok();
}

}  // namespace cutover::duckdb_store
