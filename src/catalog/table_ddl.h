// DDL of the entity tables (the migration's own tables, outside `cutover`):
// the one CREATE TABLE and CREATE INDEX text, and the check of a table.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::catalog {

// How CreateTableSql and CreateIndexSql phrase their statement.
enum class IfNotExists { kNo, kYes };

// The CREATE TABLE statement of `shape` (no trailing semicolon): every column
// with its type, NOT NULL and generated default (identity or
// gen_random_uuid()), the primary key, each unique key lookups need, and the
// foreign keys. The one text both the backfill runs and inspect proposes.
std::string CreateTableSql(const pg_store::TableShape& shape, IfNotExists if_not_exists);

// CREATE [UNIQUE] INDEX of a spec index on `qualified_table` (no trailing
// semicolon); the index's name is the spec's (the loader gives every index
// one; an empty name gets the loader's default, <table>_<columns>_idx).
std::string CreateIndexSql(const spec::IndexSpec& index, const std::string& qualified_table,
                           IfNotExists if_not_exists);

// CreateTableSql(kYes) in a transaction under the DDL lock every cutover
// process takes, with the schema (and PostGIS, for a geometry column).
Status CreateTable(pg_store::PgConnection* conn, const pg_store::TableShape& shape);

// How an existing table's columns take the spec's values.
//
// A value is written as the binary form of the spec's type, straight into
// the table (direct COPY, bulk load) or into a staging table whose columns
// have the spec's types, from which one INSERT ... SELECT merges. The direct
// COPY needs each column to have exactly the spec's type: bigint cannot read
// an integer's 4 bytes ("insufficient data left in message"). The merge lets
// PostgreSQL cast, which is fine where the cast keeps every value (an
// integer into bigint or numeric) and wrong where it rounds (float8 into
// numeric(6,2) or real): such a column is refused before any row is written.
struct TableFit {
  // Columns that take the spec's values only through PostgreSQL's cast.
  std::vector<std::string> cast_columns;
  bool exact() const { return cast_columns.empty(); }
};

// Fails with a message naming the table and column when the table is absent,
// lacks a column, holds a column whose type cannot take the spec's values
// exactly (see TableFit), or has no unique index on exactly the key columns
// (which ON CONFLICT needs). A table whose indexes a bulk load set aside
// (deferred_ddl.h) is checked without them.
// True when a foreign key joins one of `tables` (which exist) to a table
// outside them, in either direction: loading them while that table loads
// could refuse rows whose parent is on its way.
Result<bool> LinkedBeyond(pg_store::PgConnection* conn,
                          const std::vector<pg_store::TableShape>& tables);

Result<TableFit> CheckTable(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                            bool indexes_deferred = false);

// Fills each numeric column's numeric_scale from the table as it exists (a
// missing table or column leaves -1), so that verify compares a source value
// at the scale the column gives it.
Status ReadNumericScales(pg_store::PgConnection* conn, pg_store::TableShape* shape);

}  // namespace cutover::catalog
