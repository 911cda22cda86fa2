// DescribeRelation: prepares SELECT * over a relation to read its column
// names and logical types, and DESCRIBE for DuckDB's spelling of each type.
#include "stores/duckdb/relation_schema.h"

#include <duckdb.h>

namespace cutover::duckdb_store {

Result<std::vector<ColumnPlan>> DescribeRelation(DuckSession* session,
                                                 const std::string& relation_sql,
                                                 const std::string& what) {
  const std::string sql = "SELECT * FROM " + relation_sql;
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare(session->raw(), sql.c_str(), &prepared) == DuckDBError) {
    const char* error = duckdb_prepare_error(prepared);
    Status st = IoError(what + ": " + (error != nullptr ? error : "cannot read the schema"));
    duckdb_destroy_prepare(&prepared);
    return st;
  }
  std::vector<ColumnPlan> plans;
  const idx_t count = duckdb_prepared_statement_column_count(prepared);
  for (idx_t i = 0; i < count; ++i) {
    // The name is a copy the caller frees (duckdb.h), unlike a result's column names.
    const char* name = duckdb_prepared_statement_column_name(prepared, i);
    duckdb_logical_type type = duckdb_prepared_statement_column_logical_type(prepared, i);
    plans.push_back(PlanColumn(name != nullptr ? name : "", type));
    duckdb_destroy_logical_type(&type);
    duckdb_free(const_cast<char*>(name));
  }
  duckdb_destroy_prepare(&prepared);

  ASSIGN_OR_RETURN(const TextRows described,
                   session->QueryText("DESCRIBE " + sql, what + ": describing the columns"));
  for (size_t i = 0; i < described.size() && i < plans.size(); ++i) {
    if (described[i].size() > 1 && described[i][1]) plans[i].native_type = *described[i][1];
  }
  return plans;
}

std::string StoredValueFor(const ColumnPlan& wanted, const std::vector<ColumnPlan>& file_columns) {
  for (const ColumnPlan& f : file_columns) {
    if (f.name != wanted.name) continue;
    if (f.native_type != wanted.native_type) {
      return "CAST(" + SqlIdentifier(wanted.name) + " AS " + wanted.native_type + ")";
    }
    return SqlIdentifier(wanted.name);
  }
  return "CAST(NULL AS " + wanted.native_type + ")";
}

std::string SelectListFor(const std::vector<ColumnPlan>& wanted,
                          const std::vector<ColumnPlan>& file_columns) {
  std::string list;
  for (const ColumnPlan& w : wanted) {
    if (!list.empty()) list += ", ";
    list += w.SelectExpr(StoredValueFor(w, file_columns)) + " AS " + SqlIdentifier(w.name);
  }
  return list;
}

}  // namespace cutover::duckdb_store
