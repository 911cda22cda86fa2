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

// double precision and numeric hold NaN and the infinities, which a sum
// cannot take back out by subtraction: they are counted apart.
bool HasNonFinite(const pg_store::TableShape& shape, const std::string& value) {
  const ValueType type = ColumnOf(shape, value).type;
  return type == ValueType::kFloat64 || type == ValueType::kNumeric;
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
// TimeZone, bytea_output, extra_float_digits) and that equal values share
// (numeric 1.0 and 1.00, double -0 and 0), for the lock slot's hash.
std::string StableText(const pg_store::TableColumn& column, std::string_view alias) {
  const std::string x = fmt::format("{}.{}", alias, QuoteIdent(column.name));
  switch (column.type) {
    case ValueType::kDate:
      return fmt::format("({} - date '2000-01-01')::text", x);
    case ValueType::kTimestamptz:
      return fmt::format("extract(epoch FROM {})::text", x);
    case ValueType::kFloat64:
      return fmt::format(
          "CASE WHEN {0} = 'NaN' THEN 'NaN' ELSE encode(float8send({0} + 0.0), "
          "'hex') END",
          x);
    case ValueType::kNumeric:
      return fmt::format("trim_scale({})::text", x);
    case ValueType::kBytes:
      return fmt::format("encode({}, 'hex')", x);
    default:
      return x + "::text";
  }
}

// Takes the advisory lock slot of every bucket that the rows of `rows` fall
// in, in slot order.
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

// The columns a value keeps up to date, after its <v>_count; <v>_sum is
// generated from them. With `with_min_max`, <v>_min and <v>_max first.
std::vector<std::string> KeptColumns(const pg_store::TableShape& shape, const std::string& v,
                                     bool with_min_max) {
  std::vector<std::string> out = {v + "_count"};
  if (with_min_max) out.insert(out.end(), {v + "_min", v + "_max"});
  out.push_back(v + "_finite_sum");
  if (HasNonFinite(shape, v))
    out.insert(out.end(), {v + "_nans", v + "_pos_infs", v + "_neg_infs"});
  return out;
}

// The rollup's columns that writes set (all but the generated sums), in
// table order.
std::string RollupColumns(const pg_store::TableShape& shape, const spec::RollupSpec& rollup) {
  std::string out;
  for (const std::string& c : rollup.by) out += QuoteIdent(c) + ", ";
  out += "bucket_start, row_count";
  for (const std::string& v : rollup.values) {
    for (const std::string& c : KeptColumns(shape, v, true)) out += ", " + QuoteIdent(c);
  }
  return out;
}

// SELECT of RollupColumns aggregated from `from` (aliased a), grouped by
// group and bucket.
std::string AggregateSelect(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                            const std::string& from) {
  std::string select = "SELECT " + GroupColumns(rollup, "a") + BucketOf(rollup, "a") +
                       " AS bucket_start, count(*) AS row_count";
  for (const std::string& v : rollup.values) {
    const std::string x = "a." + QuoteIdent(v);
    const std::string finite = HasNonFinite(shape, v)
                                   ? fmt::format(
                                         " FILTER (WHERE {} NOT IN ('NaN', 'Infinity', "
                                         "'-Infinity'))",
                                         x)
                                   : "";
    select += fmt::format(", count({0}), min({0}), max({0}), coalesce(sum({0}){1}, 0)::{2}", x,
                          finite, SumType(shape, v));
    if (HasNonFinite(shape, v)) {
      select += fmt::format(
          ", count(*) FILTER (WHERE {0} = 'NaN'), count(*) FILTER (WHERE {0} = 'Infinity'), "
          "count(*) FILTER (WHERE {0} = '-Infinity')",
          x);
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

// The rows of `rows` added to their buckets: counts and sums add, min and
// max widen (LEAST and GREATEST skip NULLs).
std::string AddRows(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                    const std::string& rows) {
  std::string set = "row_count = r.row_count + excluded.row_count";
  for (const std::string& v : rollup.values) {
    for (const std::string& c : KeptColumns(shape, v, false)) {
      set += fmt::format(", {0} = r.{0} + excluded.{0}", QuoteIdent(c));
    }
    set += fmt::format(", {0} = LEAST(r.{0}, excluded.{0}), {1} = GREATEST(r.{1}, excluded.{1})",
                       QuoteIdent(v + "_min"), QuoteIdent(v + "_max"));
  }
  std::string conflict;
  for (const std::string& c : rollup.by) conflict += QuoteIdent(c) + ", ";
  return fmt::format(
      "  INSERT INTO {} AS r ({}) {}\n  ON CONFLICT ({}bucket_start) DO UPDATE SET {};",
      RollupName(shape, rollup), RollupColumns(shape, rollup), AggregateSelect(shape, rollup, rows),
      conflict, set);
}

// The rows of `rows` taken out of their buckets: counts and sums subtract;
// a bucket whose min or max one of them was gets both again from the table
// (a new statement, so a new snapshot, after the subtraction waited on the
// rollup row for the bucket's other writers; idempotent, so rows this
// statement inserted count once whichever trigger runs first); a bucket left
// without rows goes.
std::string RemoveRows(const pg_store::TableShape& shape, const spec::RollupSpec& rollup,
                       const std::string& rows) {
  std::string set = "row_count = r.row_count - d.row_count";
  std::string at_edge, min_max, min_max_set;
  for (const std::string& v : rollup.values) {
    for (const std::string& c : KeptColumns(shape, v, false)) {
      set += fmt::format(", {0} = r.{0} - d.{0}", QuoteIdent(c));
    }
    const std::string x = QuoteIdent(v), lo = QuoteIdent(v + "_min"), hi = QuoteIdent(v + "_max");
    at_edge +=
        fmt::format("{}o.{} <= r.{} OR o.{} >= r.{}", at_edge.empty() ? "" : " OR ", x, lo, x, hi);
    min_max += fmt::format(", min(s.{0}) AS {1}, max(s.{0}) AS {2}", x, lo, hi);
    min_max_set +=
        fmt::format("{0}{1} = m.{1}, {2} = m.{2}", min_max_set.empty() ? "" : ", ", lo, hi);
  }
  // Every column AggregateSelect makes, named, for the subtraction.
  std::string names;
  for (const std::string& c : rollup.by) names += QuoteIdent(c) + ", ";
  names += "bucket_start, row_count";
  for (const std::string& v : rollup.values) {
    for (const std::string& c : KeptColumns(shape, v, true)) names += ", " + QuoteIdent(c);
  }
  const std::string time = "s." + QuoteIdent(rollup.time_column);
  std::string in_bucket;
  for (const std::string& c : rollup.by)
    in_bucket += fmt::format("s.{0} = t.{0} AND ", QuoteIdent(c));
  // An infinite time's bucket is itself, which no interval reaches.
  in_bucket += fmt::format(
      "{0} >= t.bucket_start AND ({0} < t.bucket_start + {1} OR {0} = "
      "t.bucket_start)",
      time, Interval(rollup));
  return fmt::format(
      "  UPDATE {0} AS r SET {1} FROM ({2}) AS d ({3}) WHERE {4};\n"
      "  UPDATE {0} AS r SET {5} FROM (SELECT {6}t.bucket_start{7} FROM (SELECT DISTINCT "
      "{8}{9} AS bucket_start FROM {10} AS o JOIN {0} AS r ON {11} WHERE {12}) AS t "
      "LEFT JOIN {13} AS s ON {14} GROUP BY {6}t.bucket_start) AS m WHERE {15};\n"
      "  DELETE FROM {0} AS r USING (SELECT DISTINCT {16}{17} AS bucket_start FROM {10} AS a) AS t "
      "WHERE {18} AND r.row_count = 0;",
      RollupName(shape, rollup), set, AggregateSelect(shape, rollup, rows), names,
      SameBucket(rollup, "r", "d"), min_max_set, GroupColumns(rollup, "t"), min_max,
      GroupColumns(rollup, "o"), BucketOf(rollup, "o"), rows,
      [&] {
        std::string on;
        for (const std::string& c : rollup.by)
          on += fmt::format("r.{0} = o.{0} AND ", QuoteIdent(c));
        return on + "r.bucket_start = " + BucketOf(rollup, "o");
      }(),
      at_edge, shape.QualifiedName(), in_bucket, SameBucket(rollup, "r", "m"),
      GroupColumns(rollup, "a"), BucketOf(rollup, "a"), SameBucket(rollup, "r", "t"));
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
    const std::string sum_type = SumType(shape, v);
    const auto q = [&](const char* suffix) { return QuoteIdent(v + suffix); };
    columns +=
        fmt::format("  {} bigint NOT NULL,\n  {} {},\n  {} {},\n  {} {} NOT NULL,\n", q("_count"),
                    q("_min"), type, q("_max"), type, q("_finite_sum"), sum_type);
    // The sum a fresh sum() gives: NaN with a NaN or both infinities, else
    // an infinity, else the finite sum; NULL without a value.
    std::string sum = fmt::format("CASE WHEN {} = 0 THEN NULL ", q("_count"));
    if (HasNonFinite(shape, v)) {
      columns +=
          fmt::format("  {} bigint NOT NULL,\n  {} bigint NOT NULL,\n  {} bigint NOT NULL,\n",
                      q("_nans"), q("_pos_infs"), q("_neg_infs"));
      sum += fmt::format(
          "WHEN {0} > 0 OR ({1} > 0 AND {2} > 0) THEN 'NaN' WHEN {1} > 0 THEN 'Infinity' "
          "WHEN {2} > 0 THEN '-Infinity' ",
          q("_nans"), q("_pos_infs"), q("_neg_infs"));
    }
    sum += fmt::format("ELSE {} END", q("_finite_sum"));
    columns += fmt::format("  {} {} GENERATED ALWAYS AS ({}) STORED,\n", q("_sum"), sum_type, sum);
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
  const std::string both = "(SELECT * FROM old_rows UNION ALL SELECT * FROM new_rows)";
  return {
      Function(
          shape, rollup, "insert",
          "  " + LockSlots(shape, rollup, "new_rows") + ";\n" + AddRows(shape, rollup, "new_rows")),
      Function(shape, rollup, "update",
               "  " + LockSlots(shape, rollup, both) + ";\n" + AddRows(shape, rollup, "new_rows") +
                   "\n" + RemoveRows(shape, rollup, "old_rows")),
      Function(shape, rollup, "delete",
               "  " + LockSlots(shape, rollup, "old_rows") + ";\n" +
                   RemoveRows(shape, rollup, "old_rows")),
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
  ASSIGN_OR_RETURN(
      auto rows, conn->Query(fmt::format("SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                                         "to_regclass($1) AND tgenabled <> 'D' AND tgname IN ({})",
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
    for (const std::string& c : KeptColumns(shape, v, true)) want += ", " + c;
    want += ", " + v + "_sum";
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
      sql += fmt::format("INSERT INTO {} ({}) {};\n", name, RollupColumns(shape, rollup),
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
      "rollup {} of {} {}; run with --create-tables to create it (filled from the table's rows "
      "under a lock)",
      shape.schema + "." + rollup.table, shape.schema + "." + shape.table,
      exists ? fmt::format("has {} of its {} triggers enabled", triggers, kTriggers)
             : "does not exist"));
}

Result<RollupComparison> CompareRollup(pg_store::PgConnection* conn,
                                       const pg_store::TableShape& shape,
                                       const spec::RollupSpec& rollup, int64_t max_listed) {
  RollupComparison out;
  const std::string name = RollupName(shape, rollup);
  ASSIGN_OR_RETURN(out.exists, TableExists(conn, name));
  if (!out.exists) return out;
  // A fresh GROUP BY, with each value's sum of |v| that bounds a double
  // sum's rounding.
  std::string fresh = "SELECT " + GroupColumns(rollup, "a") + BucketOf(rollup, "a") +
                      " AS bucket_start, count(*) AS row_count";
  std::string differs = "f.row_count IS DISTINCT FROM k.row_count";
  for (const std::string& v : rollup.values) {
    const std::string x = "a." + QuoteIdent(v);
    const std::string count = QuoteIdent(v + "_count"), sum = QuoteIdent(v + "_sum"),
                      min = QuoteIdent(v + "_min"), max = QuoteIdent(v + "_max"),
                      abs = QuoteIdent(v + "_abs");
    fresh += fmt::format(
        ", count({0}) AS {1}, sum({0})::{2} AS {3}, min({0}) AS {4}, max({0}) AS {5}, "
        "sum(abs({0}))::{2} AS {6}",
        x, count, SumType(shape, v), sum, min, max, abs);
    differs += fmt::format(
        " OR f.{0} IS DISTINCT FROM k.{0} OR f.{1} IS DISTINCT FROM k.{1} OR "
        "f.{2} IS DISTINCT FROM k.{2}",
        count, min, max);
    if (IsFloat(shape, v)) {
      // Equal (NaN = NaN in PostgreSQL), or both finite and within the
      // rounding bound; halves, so the difference cannot overflow.
      differs += fmt::format(
          " OR NOT coalesce(f.{0} IS NOT DISTINCT FROM k.{0} OR (f.{0} NOT IN ('NaN', "
          "'Infinity', '-Infinity') AND k.{0} NOT IN ('NaN', 'Infinity', '-Infinity') AND f.{1} "
          "< 'Infinity' AND abs(f.{0} / 2 - k.{0} / 2) <= 0.5e-9 * f.{1}), false)",
          sum, abs);
    } else {
      differs += fmt::format(" OR f.{0} IS DISTINCT FROM k.{0}", sum);
    }
  }
  std::string group;
  for (size_t i = 1; i <= rollup.by.size() + 1; ++i) {
    group += (i > 1 ? ", " : "") + std::to_string(i);
  }
  fresh += fmt::format(" FROM {} AS a GROUP BY {}", shape.QualifiedName(), group);
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
      fresh, differs, label, name, SameBucket(rollup, "f", "k"), max_listed);
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
