#include "target/schema_manager.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace cutover::target {
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
bool Compatible(ValueType type, std::string_view pg_type) {
  auto base = pg_type.substr(0, pg_type.find('('));
  auto any_of = [&](std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), base) != names.end();
  };
  switch (type) {
    case ValueType::kText:
      return any_of({"text", "character varying", "character", "citext"});
    case ValueType::kInt32:
    case ValueType::kInt64:
      return any_of({"integer", "bigint", "numeric"});
    case ValueType::kNumeric:
      return any_of({"numeric"});
    case ValueType::kFloat64:
      return any_of({"double precision", "real", "numeric"});
    case ValueType::kBool:
      return any_of({"boolean"});
    case ValueType::kUuid:
      return any_of({"uuid"});
    case ValueType::kDate:
      return any_of({"date"});
    case ValueType::kTimestamptz:
      return any_of({"timestamp with time zone", "timestamp without time zone"});
    case ValueType::kJsonb:
      return any_of({"jsonb", "json"});
    case ValueType::kBytes:
      return any_of({"bytea"});
    case ValueType::kGeometry:
      return any_of({"geometry"});
  }
  return false;
}

}  // namespace

Status EnsureControlSchema(PgConnection* conn) {
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  Status st = conn->Exec("SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'))");
  if (st.ok()) st = conn->Exec(kControlSchemaDdl);
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext("creating the cutover control schema");
  }
  return conn->Exec("COMMIT");
}

Status CreateTable(PgConnection* conn, const TableShape& shape) {
  std::string body;
  for (const auto& c : shape.columns) {
    if (!body.empty()) body += ",\n  ";
    body += fmt::format("{} {}{}", QuoteIdent(c.name), PostgresTypeName(c.type),
                        c.not_null ? " NOT NULL" : "");
  }
  std::string key;
  for (const auto& k : shape.key) key += (key.empty() ? "" : ", ") + QuoteIdent(k);
  body += fmt::format(",\n  PRIMARY KEY ({})", key);
  for (const auto& fk : shape.foreign_keys) {
    std::string cols, refs;
    for (size_t i = 0; i < fk.columns.size(); ++i) {
      cols += (i ? ", " : "") + QuoteIdent(fk.columns[i]);
      refs += (i ? ", " : "") + QuoteIdent(fk.ref_columns[i]);
    }
    body += fmt::format(",\n  FOREIGN KEY ({}) REFERENCES {} ({})", cols,
                        QualifiedName(fk.ref_schema, fk.ref_table), refs);
  }
  std::string sql = fmt::format(
      "BEGIN; SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'));"
      "CREATE SCHEMA IF NOT EXISTS {}; CREATE TABLE IF NOT EXISTS {} (\n  {}\n); COMMIT",
      QuoteIdent(shape.schema), shape.QualifiedName(), body);
  Status st = conn->Exec(sql);
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext("creating table " + shape.QualifiedName());
  }
  return st;
}

Status CheckTable(PgConnection* conn, const TableShape& shape) {
  const std::string name = shape.schema + "." + shape.table;
  auto columns = conn->Query(
      "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
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
    if (!Compatible(want.type, *(*it)[1])) {
      return FailedPrecondition(
          fmt::format("column {}.{} is {} in PostgreSQL, which cannot hold the spec's {}", name,
                      want.name, *(*it)[1], ValueTypeName(want.type)));
    }
  }
  // ON CONFLICT (key) needs a unique index on exactly the key columns.
  auto indexes = conn->Query(
      "SELECT array_to_string(array(SELECT a.attname FROM unnest(i.indkey) k "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname), ',') "
      "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indpred IS NULL",
      {shape.schema, shape.table});
  if (!indexes.ok()) return indexes.status().WithContext("reading the indexes of " + name);
  std::vector<std::string> key = shape.key;
  std::sort(key.begin(), key.end());
  std::string want_key;
  for (const auto& k : key) want_key += (want_key.empty() ? "" : ",") + k;
  for (const auto& row : indexes->rows) {
    if (row[0] && *row[0] == want_key) return Status::Ok();
  }
  return FailedPrecondition(
      fmt::format("table {} has no primary key or unique index on ({}), which the spec's key "
                  "needs for an idempotent merge",
                  name, want_key));
}

}  // namespace cutover::target
