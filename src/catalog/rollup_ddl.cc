// Rollups: the DDL of the aggregate table and its triggers, creating them
// (filled from the table's rows) and comparing them with a fresh GROUP BY.
#include "catalog/rollup_ddl.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace cutover::catalog {
namespace {

using pg_store::QuoteIdent;
using pg_store::QuoteLiteral;

// The triggers' and their functions' names, <rollup table>_on_<event>.
constexpr const char* kEvents[] = {"insert", "update", "delete", "truncate"};
constexpr int64_t kTriggers = std::size(kEvents);

std::string TriggerName(const spec::RollupSpec& rollup, std::string_view event) {
  return fmt::format("{}_on_{}", rollup.table, event);
}

std::string RollupName(const pg_store::TableShape& shape, const spec::RollupSpec& rollup) {
  return pg_store::QualifiedName(shape.schema, rollup.table);
}

const pg_store::TableColumn& ColumnOf(const pg_store::TableShape& shape, const std::string& name) {
  return shape.columns[shape.IndexOf(name)];
}

bool IsFloat(const pg_store::TableShape& shape, const std::string& value) {
  return ColumnOf(shape, value).type == ValueType::kFloat64;
}

std::string SumType(const pg_store::TableShape& shape, const std::string& value) {
  return IsFloat(shape, value) ? "double precision" : "numeric";
}

std::string Interval(const spec::RollupSpec& rollup) {
  return fmt::format("interval '{} seconds'", rollup.every_seconds);
}

// The bucket that `alias`'s time falls in.
std::string BucketOf(const spec::RollupSpec& rollup, std::string_view alias) {
  return fmt::format("date_bin({}, {}.{}, timestamptz '2000-01-03 00:00:00+00')", Interval(rollup),
                     alias, QuoteIdent(rollup.time_column));
}

// A column's value as text that no session setting changes (DateStyle,
// TimeZone, bytea_output, extra_float_digits), for the lock slot's hash.
std::string StableText(const pg_store::TableColumn& column, std::string_view alias) {
  const std::string x = fmt::format("{}.{}", alias, QuoteIdent(column.name));
  switch (column.type) {
    case ValueType::kDate:
      return fmt::format("({} - date '2000-01-01')::text", x);
    case ValueType::kTimestamptz:
      return fmt::format("extract(epoch FROM {})::text", x);
    case ValueType::kFloat64:
      return fmt::format("encode(float8send({}), 'hex')", x);
    case ValueType::kBytes:
      return fmt::format("encode({}, 'hex')", x);
    default:
      return x + "::text";
  }
}

// Takes the advisory lock slot of every bucket that `touched` (a subquery
// over the transition tables with alias t) holds, in slot order.
std::string LockSlots(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                      const std::string& rows) {
  std::string parts;
  for (const std::string& c : rollup.by) parts += StableText(ColumnOf(shape, c), "t") + ", ";
  parts += fmt::format("extract(epoch FROM {})::text", BucketOf(rollup, "t"));
  return fmt::format(
      "PERFORM pg_advisory_xact_lock(hashtext({}), slot) FROM (SELECT DISTINCT "
      "(hashtextextended(concat_ws(E'\\x1f', {}), 0) & 255)::integer AS slot FROM {} AS t "
      "ORDER BY 1 OFFSET 0) AS slots",
      QuoteLiteral("cutover.rollup:" + RollupName(shape, rollup)), parts, rows);
}

std::string GroupColumns(const spec::RollupSpec& rollup, std::string_view alias) {
  std::string out;
  for (const std::string& c : rollup.by) out += fmt::format("{}.{}, ", alias, QuoteIdent(c));
  return out;
}

// The rollup's columns in table order.
std::string RollupColumns(const spec::RollupSpec& rollup) {
  std::string out;
  for (const std::string& c : rollup.by) out += QuoteIdent(c) + ", ";
  out += "bucket_start, row_count";
  for (const std::string& v : rollup.values) {
    for (const char* suffix : {"_count", "_sum", "_min", "_max"}) {
      out += ", " + QuoteIdent(v + suffix);
    }
  }
  return out;
}

// SELECT of the rollup's columns aggregated from `from` (aliased a), grouped
// by group and bucket; `with_abs` adds <value>_abs, the sum of |value| that
// bounds a float sum's rounding.
std::string AggregateSelect(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                            const std::string& from, bool with_abs = false) {
  std::string select = "SELECT " + GroupColumns(rollup, "a") + BucketOf(rollup, "a") +
                       " AS bucket_start, count(*) AS row_count";
  for (const std::string& v : rollup.values) {
    const std::string x = "a." + QuoteIdent(v);
    select += fmt::format(
        ", count({0}) AS {1}, sum({0})::{2} AS {3}, min({0}) AS {4}, "
        "max({0}) AS {5}",
        x, QuoteIdent(v + "_count"), SumType(shape, v), QuoteIdent(v + "_sum"),
        QuoteIdent(v + "_min"), QuoteIdent(v + "_max"));
    if (with_abs) {
      select +=
          fmt::format(", sum(abs({}))::{} AS {}", x, SumType(shape, v), QuoteIdent(v + "_abs"));
    }
  }
  std::string group;
  for (size_t i = 1; i <= rollup.by.size() + 1; ++i) {
    group += (i > 1 ? ", " : "") + std::to_string(i);
  }
  return fmt::format("{} FROM {} AS a GROUP BY {}", select, from, group);
}

// The group and bucket columns equal between aliases l and r.
std::string SameBucket(const spec::RollupSpec& rollup, std::string_view l, std::string_view r) {
  std::string out;
  for (const std::string& c : rollup.by) {
    out += fmt::format("{0}.{2} = {1}.{2} AND ", l, r, QuoteIdent(c));
  }
  return out + fmt::format("{}.bucket_start = {}.bucket_start", l, r);
}

std::string Function(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                     std::string_view event, const std::string& body) {
  return fmt::format(
      "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS $cutover$\n"
      "BEGIN\n{}\n  RETURN NULL;\nEND\n$cutover$",
      pg_store::QualifiedName(shape.schema, TriggerName(rollup, event)), body);
}

// Insert: the inserted rows' aggregates added to their buckets.
std::string InsertBody(const pg_store::TableShape& shape, const spec::RollupSpec& rollup) {
  std::string set = "row_count = r.row_count + excluded.row_count";
  for (const std::string& v : rollup.values) {
    const std::string count = QuoteIdent(v + "_count"), sum = QuoteIdent(v + "_sum"),
                      min = QuoteIdent(v + "_min"), max = QuoteIdent(v + "_max");
    // A sum is NULL until a value is not; LEAST and GREATEST skip NULLs.
    set += fmt::format(
        ", {0} = r.{0} + excluded.{0}, {1} = CASE WHEN r.{1} IS NULL THEN excluded.{1} "
        "WHEN excluded.{1} IS NULL THEN r.{1} ELSE r.{1} + excluded.{1} END, "
        "{2} = LEAST(r.{2}, excluded.{2}), {3} = GREATEST(r.{3}, excluded.{3})",
        count, sum, min, max);
  }
  std::string conflict;
  for (const std::string& c : rollup.by) conflict += QuoteIdent(c) + ", ";
  return fmt::format(
      "  {};\n  INSERT INTO {} AS r ({}) {}\n  ON CONFLICT ({}bucket_start) DO UPDATE SET {};",
      LockSlots(shape, rollup, "new_rows"), RollupName(shape, rollup), RollupColumns(rollup),
      AggregateSelect(shape, rollup, "new_rows"), conflict, set);
}

// Update, delete: every bucket the old (and new) rows fall in, recomputed
// from the table after the lock (a new statement, so a new snapshot).
std::string RecomputeBody(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                          const std::string& rows) {
  const std::string touched = fmt::format("(SELECT DISTINCT {}{} AS bucket_start FROM {} AS a)",
                                          GroupColumns(rollup, "a"), BucketOf(rollup, "a"), rows);
  std::string in_bucket;
  for (const std::string& c : rollup.by) {
    in_bucket += fmt::format("s.{0} = t.{0} AND ", QuoteIdent(c));
  }
  const std::string time = "s." + QuoteIdent(rollup.time_column);
  in_bucket +=
      fmt::format("{0} >= t.bucket_start AND {0} < t.bucket_start + {1}", time, Interval(rollup));
  const std::string rows_of_touched = fmt::format("(SELECT s.* FROM {} AS s JOIN {} AS t ON {})",
                                                  shape.QualifiedName(), touched, in_bucket);
  return fmt::format(
      "  {};\n  DELETE FROM {} AS r USING {} AS t WHERE {};\n  INSERT INTO {} ({}) {};",
      LockSlots(shape, rollup, rows), RollupName(shape, rollup), touched,
      SameBucket(rollup, "r", "t"), RollupName(shape, rollup), RollupColumns(rollup),
      AggregateSelect(shape, rollup, rows_of_touched));
}

std::string CreateRollupTable(const pg_store::TableShape& shape, const spec::RollupSpec& rollup) {
  std::string columns;
  for (const std::string& c : rollup.by) {
    columns += fmt::format("  {} {} NOT NULL,\n", QuoteIdent(c),
                           pg_store::ColumnTypeDdl(ColumnOf(shape, c)));
  }
  columns += "  bucket_start timestamptz NOT NULL,\n  row_count bigint NOT NULL,\n";
  for (const std::string& v : rollup.values) {
    const std::string type = pg_store::ColumnTypeDdl(ColumnOf(shape, v));
    columns += fmt::format("  {} bigint NOT NULL,\n  {} {},\n  {} {},\n  {} {},\n",
                           QuoteIdent(v + "_count"), QuoteIdent(v + "_sum"), SumType(shape, v),
                           QuoteIdent(v + "_min"), type, QuoteIdent(v + "_max"), type);
  }
  std::string key = "bucket_start";
  for (const std::string& c : rollup.by) key += ", " + QuoteIdent(c);
  // The bucket leads the key: "one day, every device" is one range of it.
  return fmt::format("CREATE TABLE IF NOT EXISTS {} (\n{}  PRIMARY KEY ({})\n)",
                     RollupName(shape, rollup), columns, key);
}

std::string CreateTrigger(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                          std::string_view event) {
  std::string referencing;
  if (event == "insert") referencing = "REFERENCING NEW TABLE AS new_rows ";
  if (event == "update") referencing = "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows ";
  if (event == "delete") referencing = "REFERENCING OLD TABLE AS old_rows ";
  std::string upper(event);
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  return fmt::format(
      "CREATE OR REPLACE TRIGGER {} AFTER {} ON {} {}FOR EACH STATEMENT EXECUTE FUNCTION {}()",
      QuoteIdent(TriggerName(rollup, event)), upper, shape.QualifiedName(), referencing,
      pg_store::QualifiedName(shape.schema, TriggerName(rollup, event)));
}

std::vector<std::string> FunctionDdl(const pg_store::TableShape& shape,
                                     const spec::RollupSpec& rollup) {
  return {
      Function(shape, rollup, "insert", InsertBody(shape, rollup)),
      Function(shape, rollup, "update",
               RecomputeBody(shape, rollup,
                             "(SELECT * FROM old_rows UNION ALL "
                             "SELECT * FROM new_rows)")),
      Function(shape, rollup, "delete", RecomputeBody(shape, rollup, "old_rows")),
      Function(shape, rollup, "truncate", "  DELETE FROM " + RollupName(shape, rollup) + ";"),
  };
}

// The rollup's triggers that exist on the table.
Result<int64_t> CountTriggers(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                              const spec::RollupSpec& rollup) {
  std::string list;
  for (const char* event : kEvents) {
    list += (list.empty() ? "" : ",") + QuoteLiteral(TriggerName(rollup, event));
  }
  ASSIGN_OR_RETURN(auto rows,
                   conn->Query(fmt::format("SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                                           "to_regclass($1) AND tgname IN ({})",
                                           list),
                               {shape.QualifiedName()}));
  return std::stoll(*rows.rows[0][0]);
}

Result<bool> TableExists(pg_store::PgConnection* conn, const std::string& qualified) {
  ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT to_regclass($1) IS NOT NULL", {qualified}));
  return rows.rows[0][0] && *rows.rows[0][0] == "t";
}

// Fails when the rollup's table (which exists) has other columns than the
// spec makes: its functions would fail on the first write, naming neither.
Status CheckRollupColumns(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                          const spec::RollupSpec& rollup) {
  std::string want;
  for (const std::string& c : rollup.by) want += c + ", ";
  want += "bucket_start, row_count";
  for (const std::string& v : rollup.values) {
    for (const char* suffix : {"_count", "_sum", "_min", "_max"}) want += ", " + v + suffix;
  }
  ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT string_agg(attname, ', ' ORDER BY attnum) FROM "
                                          "pg_attribute WHERE attrelid = to_regclass($1) AND "
                                          "attnum > 0 AND NOT attisdropped",
                                          {RollupName(shape, rollup)}));
  const std::string have = rows.rows[0][0].value_or("");
  if (have == want) return Status::Ok();
  return FailedPrecondition(fmt::format(
      "rollup {}.{} has the columns ({}), but the spec's rollup makes ({}); drop that table to "
      "have backfill --create-tables build it again from {}.{}",
      shape.schema, rollup.table, have, want, shape.schema, shape.table));
}

}  // namespace

std::vector<std::string> RollupDdl(const pg_store::TableShape& shape,
                                   const spec::RollupSpec& rollup) {
  std::vector<std::string> ddl = {CreateRollupTable(shape, rollup)};
  for (std::string& f : FunctionDdl(shape, rollup)) ddl.push_back(std::move(f));
  for (const char* event : kEvents) ddl.push_back(CreateTrigger(shape, rollup, event));
  return ddl;
}

Status CreateRollup(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                    const spec::RollupSpec& rollup) {
  const std::string name = RollupName(shape, rollup);
  auto run = [&]() -> Status {
    RETURN_IF_ERROR(conn->Exec("BEGIN; SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'))"));
    ASSIGN_OR_RETURN(const bool exists, TableExists(conn, name));
    if (exists) RETURN_IF_ERROR(CheckRollupColumns(conn, shape, rollup));
    ASSIGN_OR_RETURN(const int64_t triggers, CountTriggers(conn, shape, rollup));
    std::string sql;
    if (exists && triggers == kTriggers) {
      for (const std::string& f : FunctionDdl(shape, rollup)) sql += f + ";\n";
    } else {
      // Missing, or its triggers were: whatever it holds may be stale.
      sql = fmt::format("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;\n{};\nDELETE FROM {};\n",
                        shape.QualifiedName(), CreateRollupTable(shape, rollup), name);
      sql += fmt::format("INSERT INTO {} ({}) {};\n", name, RollupColumns(rollup),
                         AggregateSelect(shape, rollup, shape.QualifiedName()));
      for (const std::string& f : FunctionDdl(shape, rollup)) sql += f + ";\n";
      for (const char* event : kEvents) sql += CreateTrigger(shape, rollup, event) + ";\n";
    }
    RETURN_IF_ERROR(conn->Exec(sql));
    return conn->Exec("COMMIT");
  };
  Status st = run();
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext(fmt::format("creating rollup {}.{} of {}.{}", shape.schema, rollup.table,
                                      shape.schema, shape.table));
  }
  return st;
}

Status CheckRollup(pg_store::PgConnection* conn, const pg_store::TableShape& shape,
                   const spec::RollupSpec& rollup) {
  ASSIGN_OR_RETURN(const bool exists, TableExists(conn, RollupName(shape, rollup)));
  if (exists) RETURN_IF_ERROR(CheckRollupColumns(conn, shape, rollup));
  ASSIGN_OR_RETURN(const int64_t triggers, CountTriggers(conn, shape, rollup));
  if (exists && triggers == kTriggers) return Status::Ok();
  return FailedPrecondition(fmt::format(
      "rollup {} of {} {}; run with --create-tables to create it (filled from the table's "
      "rows), or create it as `cutover inspect` prints it",
      shape.schema + "." + rollup.table, shape.schema + "." + shape.table,
      exists ? fmt::format("has {} of its {} triggers", triggers, kTriggers) : "does not exist"));
}

Result<RollupComparison> CompareRollup(pg_store::PgConnection* conn,
                                       const pg_store::TableShape& shape,
                                       const spec::RollupSpec& rollup, int64_t max_listed) {
  RollupComparison out;
  const std::string name = RollupName(shape, rollup);
  ASSIGN_OR_RETURN(out.exists, TableExists(conn, name));
  if (!out.exists) return out;
  std::string differs = "f.row_count IS DISTINCT FROM k.row_count";
  for (const std::string& v : rollup.values) {
    const std::string count = QuoteIdent(v + "_count"), sum = QuoteIdent(v + "_sum"),
                      min = QuoteIdent(v + "_min"), max = QuoteIdent(v + "_max");
    differs += fmt::format(
        " OR f.{0} IS DISTINCT FROM k.{0} OR f.{1} IS DISTINCT FROM k.{1} OR "
        "f.{2} IS DISTINCT FROM k.{2}",
        count, min, max);
    if (IsFloat(shape, v)) {
      // NaN = NaN in PostgreSQL; an infinite sum is equal or not at all.
      differs += fmt::format(
          " OR NOT coalesce(f.{0} IS NOT DISTINCT FROM k.{0} OR abs(f.{0} - k.{0}) <= 1e-9 * "
          "f.{1}, "
          "false)",
          sum, QuoteIdent(v + "_abs"));
    } else {
      differs += fmt::format(" OR f.{0} IS DISTINCT FROM k.{0}", sum);
    }
  }
  std::string label;
  for (const std::string& c : rollup.by) {
    label += fmt::format("{} || '=' || coalesce(f.{}::text, k.{}::text) || ', ' || ",
                         QuoteLiteral(c), QuoteIdent(c), QuoteIdent(c));
  }
  label +=
      "'bucket ' || to_char(coalesce(f.bucket_start, k.bucket_start) AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
  const std::string sql = fmt::format(
      "WITH f AS ({}), cmp AS (SELECT f.bucket_start IS NOT NULL AS in_table, "
      "k.bucket_start IS NOT NULL AS in_rollup, ({}) AS differs, {} AS label "
      "FROM f FULL JOIN {} AS k ON {}) "
      "SELECT count(*) FILTER (WHERE in_table), count(*) FILTER (WHERE NOT in_rollup), "
      "count(*) FILTER (WHERE NOT in_table), count(*) FILTER (WHERE in_table AND in_rollup AND "
      "differs), (SELECT array_to_string(array(SELECT label FROM cmp WHERE NOT in_table OR NOT "
      "in_rollup OR differs ORDER BY label LIMIT {}), chr(10))) FROM cmp",
      AggregateSelect(shape, rollup, shape.QualifiedName(), /*with_abs=*/true), differs, label,
      name, SameBucket(rollup, "f", "k"), max_listed);
  auto rows = conn->Query(sql);
  if (!rows.ok()) {
    return rows.status().WithContext(fmt::format("comparing rollup {}.{} with {}.{}", shape.schema,
                                                 rollup.table, shape.schema, shape.table));
  }
  const auto& row = rows->rows[0];
  out.buckets = std::stoll(*row[0]);
  out.missing = std::stoll(*row[1]);
  out.extra = std::stoll(*row[2]);
  out.changed = std::stoll(*row[3]);
  if (row[4] && !row[4]->empty()) {
    std::string_view text = *row[4];
    while (!text.empty()) {
      const size_t nl = text.find('\n');
      out.listed.emplace_back(text.substr(0, nl));
      text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    }
  }
  return out;
}

}  // namespace cutover::catalog
