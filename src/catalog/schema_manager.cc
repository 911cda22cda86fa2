#include "catalog/schema_manager.h"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace cutover::catalog {
namespace {

constexpr std::string_view kControlSchemaDdl = R"sql(
CREATE SCHEMA IF NOT EXISTS cutover;
CREATE TABLE IF NOT EXISTS cutover.backfill_ledger (
  migration        text NOT NULL,
  entity           text NOT NULL,
  source           text NOT NULL DEFAULT '',
  byte_offset      bigint NOT NULL DEFAULT 0,
  record_index     bigint NOT NULL DEFAULT 0,
  line             bigint NOT NULL DEFAULT 1,
  records_read     bigint NOT NULL DEFAULT 0,
  rows_merged      bigint NOT NULL DEFAULT 0,
  records_rejected bigint NOT NULL DEFAULT 0,
  done             boolean NOT NULL DEFAULT false,
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity)
);
-- Records in which an object names a key twice (the last value is used).
ALTER TABLE cutover.backfill_ledger
  ADD COLUMN IF NOT EXISTS records_repeated_keys bigint NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS cutover.rejects (
  id           bigserial PRIMARY KEY,
  migration    text NOT NULL,
  entity       text NOT NULL,
  source       text NOT NULL,
  byte_offset  bigint,
  line         bigint,
  record_index bigint NOT NULL,
  item         text NOT NULL DEFAULT '',
  field        text,
  reason       text NOT NULL,
  record       bytea,
  rejected_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (migration, entity, source, record_index, item)
);
CREATE TABLE IF NOT EXISTS cutover.backfill_chunks (
  migration     text NOT NULL,
  entity        text NOT NULL,
  chunk_id      text NOT NULL,
  seq           integer NOT NULL,
  file          text NOT NULL,
  first_row     bigint NOT NULL,
  row_count     bigint NOT NULL,
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
  rows_read     bigint NOT NULL DEFAULT 0,
  rows_merged   bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  worker        text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity, chunk_id)
);
CREATE TABLE IF NOT EXISTS cutover.deferred_ddl (
  migration     text NOT NULL,
  entity        text NOT NULL,
  step          integer NOT NULL,
  name          text NOT NULL,
  ddl           text NOT NULL,
  entity_key    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (migration, entity, step, name)
);
CREATE TABLE IF NOT EXISTS cutover.verify_runs (
  id            bigserial PRIMARY KEY,
  migration     text NOT NULL,
  entity        text NOT NULL,
  source_rows   bigint NOT NULL,
  target_rows   bigint NOT NULL,
  missing       bigint NOT NULL,
  extra         bigint NOT NULL,
  changed       bigint NOT NULL,
  clean         boolean NOT NULL,
  finished_at   timestamptz NOT NULL DEFAULT now()
);
)sql";

// The PostgreSQL types (format_type output, without modifiers) that a spec
// type may land in; INSERT ... SELECT applies the assignment cast.
enum class Fit { kExact, kCast, kNone };

// How a column of PostgreSQL type `pg_type` (format_type with its modifier,
// e.g. "numeric(6,2)") takes values the spec types `type` (see TableFit).
Fit FitOf(ValueType type, std::string_view pg_type) {
  const std::string_view base = pg_type.substr(0, pg_type.find('('));
  auto any_of = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), base) != names.end();
  };
  switch (type) {
    case ValueType::kText:
      // The binary form of text is its bytes, which these all read.
      return any_of({"text", "character varying", "character", "citext"}) ? Fit::kExact
                                                                          : Fit::kNone;
    case ValueType::kInt32:
      if (pg_type == "integer") return Fit::kExact;
      return any_of({"bigint", "numeric"}) ? Fit::kCast : Fit::kNone;
    case ValueType::kInt64:
      if (pg_type == "bigint") return Fit::kExact;
      // Into integer a value out of its range is refused, row by row: a reject, never a change.
      return any_of({"integer", "numeric"}) ? Fit::kCast : Fit::kNone;
    case ValueType::kNumeric:
      return base == "numeric" ? Fit::kExact : Fit::kNone;
    case ValueType::kFloat64:
      // Not real (fewer digits) nor numeric (rounds to its scale, or to 15 digits).
      return pg_type == "double precision" ? Fit::kExact : Fit::kNone;
    case ValueType::kBool:
      return pg_type == "boolean" ? Fit::kExact : Fit::kNone;
    case ValueType::kUuid:
      return pg_type == "uuid" ? Fit::kExact : Fit::kNone;
    case ValueType::kDate:
      return pg_type == "date" ? Fit::kExact : Fit::kNone;
    case ValueType::kTimestamptz:
      // Both are microseconds since 2000 in binary; sessions run in UTC.
      return any_of({"timestamp with time zone", "timestamp without time zone"}) ? Fit::kExact
                                                                                 : Fit::kNone;
    case ValueType::kJsonb:
      if (pg_type == "jsonb") return Fit::kExact;
      return pg_type == "json" ? Fit::kCast : Fit::kNone;
    case ValueType::kBytes:
      return pg_type == "bytea" ? Fit::kExact : Fit::kNone;
    case ValueType::kGeometry:
      return base == "geometry" ? Fit::kExact : Fit::kNone;
  }
  return Fit::kNone;
}

}  // namespace

Status EnsureControlSchema(pg_store::PgConnection* conn) {
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  Status st = conn->Exec("SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'))");
  if (st.ok()) st = conn->Exec(kControlSchemaDdl);
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext("creating the cutover control schema");
  }
  return conn->Exec("COMMIT");
}

Status CreateTable(pg_store::PgConnection* conn, const pg_store::TableShape& shape) {
  std::string body;
  for (const auto& c : shape.columns) {
    if (!body.empty()) body += ",\n  ";
    std::string generated;
    if (c.generated) {
      generated = c.type == ValueType::kUuid ? " DEFAULT gen_random_uuid()"
                                             : " GENERATED BY DEFAULT AS IDENTITY";
    }
    body += fmt::format("{} {}{}{}", pg_store::QuoteIdent(c.name), pg_store::ColumnTypeDdl(c),
                        c.not_null ? " NOT NULL" : "", generated);
  }
  std::string key;
  for (const auto& k : shape.key) key += (key.empty() ? "" : ", ") + pg_store::QuoteIdent(k);
  body += fmt::format(",\n  PRIMARY KEY ({})", key);
  for (const auto& unique : shape.unique_keys) {
    std::string cols;
    for (const auto& u : unique) cols += (cols.empty() ? "" : ", ") + pg_store::QuoteIdent(u);
    body += fmt::format(",\n  UNIQUE ({})", cols);
  }
  for (const auto& fk : shape.foreign_keys) {
    std::string cols, refs;
    for (size_t i = 0; i < fk.columns.size(); ++i) {
      cols += (i ? ", " : "") + pg_store::QuoteIdent(fk.columns[i]);
      refs += (i ? ", " : "") + pg_store::QuoteIdent(fk.ref_columns[i]);
    }
    body += fmt::format(",\n  FOREIGN KEY ({}) REFERENCES {} ({})", cols,
                        pg_store::QualifiedName(fk.ref_schema, fk.ref_table), refs);
  }
  std::string sql = fmt::format(
      "BEGIN; SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'));{}"
      "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {} (\n  {}\n); COMMIT",
      pg_store::NeedsPostgis(shape) ? " CREATE EXTENSION IF NOT EXISTS postgis;" : "",
      pg_store::QuoteIdent(shape.schema), shape.QualifiedName(), body);
  Status st = conn->Exec(sql);
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext("creating table " + shape.QualifiedName());
  }
  return st;
}

Status ReadNumericScales(pg_store::PgConnection* conn, pg_store::TableShape* shape) {
  // numeric's typmod is ((precision << 16) | scale) + 4; -1 when unconstrained.
  auto scales = conn->Query(
      "SELECT a.attname, (a.atttypmod - 4) & 65535 FROM pg_attribute a "
      "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
      "AND a.atttypid = 'numeric'::regtype AND a.atttypmod >= 4",
      {shape->schema, shape->table});
  if (!scales.ok()) {
    return scales.status().WithContext("reading the numeric scales of " + shape->QualifiedName());
  }
  for (const auto& row : scales->rows) {
    const int at = shape->IndexOf(*row[0]);
    if (at >= 0 && shape->columns[at].type == ValueType::kNumeric) {
      shape->columns[at].numeric_scale = std::stoi(*row[1]);
    }
  }
  return Status::Ok();
}

Result<TableFit> CheckTable(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                            bool indexes_deferred) {
  const std::string name = shape.schema + "." + shape.table;
  TableFit fit;
  auto columns = conn->Query(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
      "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
      {shape.schema, shape.table});
  if (!columns.ok()) return columns.status().WithContext("reading the columns of " + name);
  if (columns->rows.empty()) {
    return FailedPrecondition(
        fmt::format("table {} does not exist; create it, or run with --create-tables", name));
  }
  for (const auto& want : shape.columns) {
    auto it = std::find_if(columns->rows.begin(), columns->rows.end(),
                           [&](const auto& row) { return *row[0] == want.name; });
    if (it == columns->rows.end()) {
      return FailedPrecondition(
          fmt::format("table {} has no column \"{}\" that the spec maps", name, want.name));
    }
    const Fit column_fit = FitOf(want.type, *(*it)[1]);
    if (column_fit == Fit::kNone) {
      return FailedPrecondition(fmt::format(
          "column {}.{} is {} in PostgreSQL, which cannot hold the spec's {} exactly; give the "
          "column the type {}, or change the spec's type to match it",
          name, want.name, *(*it)[1], ValueTypeName(want.type), pg_store::ColumnTypeDdl(want)));
    }
    if (column_fit == Fit::kCast) fit.cast_columns.push_back(want.name);
  }
  if (indexes_deferred) return fit;
  // ON CONFLICT (key) needs a unique index on exactly the key columns.
  auto indexes = conn->Query(
      "SELECT array_to_string(array(SELECT a.attname FROM unnest(i.indkey) k "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname), ',') "
      "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indpred IS NULL",
      {shape.schema, shape.table});
  if (!indexes.ok()) return indexes.status().WithContext("reading the indexes of " + name);
  auto unique_on = [&](std::vector<std::string> wanted) -> std::optional<std::string> {
    std::sort(wanted.begin(), wanted.end());
    std::string want;
    for (const auto& k : wanted) want += (want.empty() ? "" : ",") + k;
    for (const auto& row : indexes->rows) {
      if (row[0] && *row[0] == want) return std::nullopt;
    }
    return want;
  };
  if (auto missing = unique_on(shape.key)) {
    return FailedPrecondition(
        fmt::format("table {} has no primary key or unique index on ({}), which the spec's key "
                    "needs for an idempotent merge",
                    name, *missing));
  }
  for (const auto& unique : shape.unique_keys) {
    if (auto missing = unique_on(unique)) {
      return FailedPrecondition(
          fmt::format("table {} has no unique index on ({}), which lookups into it need so that "
                      "a name is inserted once",
                      name, *missing));
    }
  }
  return fit;
}

}  // namespace cutover::catalog
