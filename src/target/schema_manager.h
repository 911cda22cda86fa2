// DDL: the `cutover` control schema (ledger, rejects, verify runs), and the
// entity tables, created from the spec or checked against it.
#pragma once

#include "common/status.h"
#include "target/pg_connection.h"
#include "target/table_shape.h"

namespace cutover::target {

// Creates schema `cutover` and its tables if absent. Safe to run from several
// processes at once (serialized by an advisory lock).
Status EnsureControlSchema(PgConnection* conn);

// CREATE TABLE IF NOT EXISTS with primary key and foreign keys.
Status CreateTable(PgConnection* conn, const TableShape& shape);

// Fails with a message naming the table and column when the table is absent,
// lacks a column, holds a column of an incompatible type, or has no unique
// index on exactly the key columns (which ON CONFLICT needs). A table whose
// indexes a bulk load set aside (deferred_ddl.h) is checked without them.
Status CheckTable(PgConnection* conn, const TableShape& shape, bool indexes_deferred = false);

// Fills each numeric column's numeric_scale from the table as it exists (a
// missing table or column leaves -1), so that verify compares a source value
// at the scale the column gives it.
Status ReadNumericScales(PgConnection* conn, TableShape* shape);

}  // namespace cutover::target
