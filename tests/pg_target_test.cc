// Proves the PostgreSQL target layer against a real server: MergeWriter's last-wins, idempotent
// merge, exact COPY round trips of every type, quoted identifiers, catalog::CheckTable and
// catalog::CreateTable.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/table_ddl.h"
#include "common/row_batch.h"
#include "spec/spec.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/row_deleter.h"
#include "stores/postgres/table_reader.h"
#include "stores/postgres/table_shape.h"
#include "support/pg_harness.h"

namespace cutover::pg_store {
namespace {

using ::cutover::testing::Exec;
using ::cutover::testing::FreshDatabase;
using ::cutover::testing::Query;
using ::cutover::testing::QueryValue;
using Rows = std::vector<std::vector<std::string>>;

struct Col {
  std::string name;
  ValueType type;
  bool required = false;
};

spec::EntitySpec Entity(const std::string& name, std::vector<std::string> key,
                        const std::vector<Col>& columns, const std::string& schema = "public") {
  spec::EntitySpec e;
  e.name = name;
  e.table = name;
  e.schema = schema;
  e.key = std::move(key);
  for (const auto& c : columns) {
    spec::ColumnSpec cs;
    cs.name = c.name;
    cs.from = c.name;
    cs.type = c.type;
    cs.required = c.required;
    e.columns.push_back(cs);
  }
  return e;
}

std::unique_ptr<PgConnection> Connect(const std::string& url) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) {
    ADD_FAILURE() << conn.status().ToString();
    return nullptr;
  }
  return std::move(conn).value();
}

RowBatch EmptyBatch(const TableShape& shape) {
  RowBatch batch;
  for (const auto& c : shape.columns) batch.AddColumn(c.name, c.type);
  return batch;
}

std::vector<uint32_t> AllRows(const RowBatch& batch) {
  std::vector<uint32_t> rows(batch.num_rows());
  for (uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

// Merges `rows` of `batch` in one transaction, as the backfill does; returns the merged count.
int64_t MergeInTransaction(PgConnection* conn, MergeWriter* writer, const RowBatch& batch,
                           const std::vector<uint32_t>& rows) {
  EXPECT_TRUE(conn->Exec("BEGIN").ok());
  auto merged = writer->Merge(conn, batch, rows);
  EXPECT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_TRUE(conn->Exec("COMMIT").ok());
  return merged.ok() ? *merged : -1;
}

// Every row of the table, in one batch, via ScanTable (small batches, to cross boundaries).
RowBatch ScanAll(PgConnection* conn, const TableShape& shape) {
  RowBatch all = EmptyBatch(shape);
  Status st = ScanTable(conn, shape, 2, [&](const RowBatch& batch) {
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        all.columns[c].AppendFrom(batch.columns[c], r);
      }
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return all;
}

std::string Uuid(const char (&hex16)[17]) {
  return std::string(hex16, 16);
}

// ---------------------------------------------------------------------------
// MergeWriter

TEST(MergeWriterTest, SameKeyThreeTimesInOneBatchLandsOnceWithTheLastValues) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  const TableShape shape = ShapeOf(
      Entity("items", {"id"},
             {{"id", ValueType::kInt64}, {"label", ValueType::kText}, {"qty", ValueType::kInt32}}),
      nullptr);
  ASSERT_TRUE(catalog::CreateTable(conn.get(), shape).ok());
  MergeWriter writer(shape);
  ASSERT_TRUE(writer.PrepareStaging(conn.get()).ok());

  RowBatch batch = EmptyBatch(shape);
  auto add = [&](int64_t id, const std::string& label, int64_t qty) {
    batch.columns[0].AppendInt(id);
    batch.columns[1].AppendBytes(label);
    batch.columns[2].AppendInt(qty);
  };
  add(1, "first", 1);
  add(2, "other", 5);
  add(1, "second", 2);
  add(1, "third", 3);

  // A repeated key would make a naive INSERT ... ON CONFLICT fail with SQLSTATE 21000.
  EXPECT_EQ(MergeInTransaction(conn.get(), &writer, batch, AllRows(batch)), 2);
  EXPECT_EQ(Query(url, "SELECT id, label, qty FROM items ORDER BY id"),
            (Rows{{"1", "third", "3"}, {"2", "other", "5"}}));

  // The same batch again changes nothing, and says so.
  EXPECT_EQ(MergeInTransaction(conn.get(), &writer, batch, AllRows(batch)), 0);
  EXPECT_EQ(Query(url, "SELECT id, label, qty FROM items ORDER BY id"),
            (Rows{{"1", "third", "3"}, {"2", "other", "5"}}));

  // Only the selected rows are merged; among them the last occurrence of key 1 wins.
  EXPECT_EQ(MergeInTransaction(conn.get(), &writer, batch, {0, 2}), 1);
  EXPECT_EQ(Query(url, "SELECT id, label, qty FROM items ORDER BY id"),
            (Rows{{"1", "second", "2"}, {"2", "other", "5"}}));
}

TEST(MergeWriterTest, EveryTypeRoundTripsExactlyThroughCopyAndScanTable) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  const TableShape shape = ShapeOf(Entity("everything", {"id"},
                                          {{"id", ValueType::kInt64},
                                           {"i32", ValueType::kInt32},
                                           {"i64", ValueType::kInt64},
                                           {"f", ValueType::kFloat64},
                                           {"n", ValueType::kNumeric},
                                           {"b", ValueType::kBool},
                                           {"u", ValueType::kUuid},
                                           {"d", ValueType::kDate},
                                           {"ts", ValueType::kTimestamptz},
                                           {"j", ValueType::kJsonb},
                                           {"t", ValueType::kText}}),
                                   nullptr);
  ASSERT_TRUE(catalog::CreateTable(conn.get(), shape).ok());
  MergeWriter writer(shape);
  ASSERT_TRUE(writer.PrepareStaging(conn.get()).ok());

  constexpr double kInf = std::numeric_limits<double>::infinity();
  const std::string kText = "It's \"quoted\" \\ back\tslash; ünïcødé 日本語 🎉 'x'";
  RowBatch in = EmptyBatch(shape);
  auto add = [&](int64_t id, int64_t i32, int64_t i64, double f, const char* n, bool b,
                 const std::string& u, int64_t d, int64_t ts, const char* j, const std::string& t) {
    in.columns[0].AppendInt(id);
    in.columns[1].AppendInt(i32);
    in.columns[2].AppendInt(i64);
    in.columns[3].AppendFloat(f);
    in.columns[4].AppendBytes(n);
    in.columns[5].AppendBool(b);
    in.columns[6].AppendBytes(u);
    in.columns[7].AppendInt(d);
    in.columns[8].AppendInt(ts);
    in.columns[9].AppendBytes(j);
    in.columns[10].AppendBytes(t);
  };
  // Dates are days and timestamps microseconds since 2000-01-01 (UTC).
  add(1, INT32_MIN, INT64_MIN, std::numeric_limits<double>::quiet_NaN(),
      "123456789012345678901234567890.123456789", true,
      Uuid("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"), 8825, 86401500000,
      R"({"a": [1, "x"], "b": {"c": null}})", kText);
  add(2, INT32_MAX, INT64_MAX, kInf, "-0.000001", false,
      Uuid("\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44\x33\x22\x11\x00"), -1, -1, R"([])",
      "");
  add(3, 0, 0, -kInf, "1.50", true,
      Uuid("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"), 0, 0,
      R"("just a string")", "plain");
  add(4, -1, -1, -0.0, "NaN", false,
      Uuid("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), 0, 0, "0", "x");
  add(5, 7, 9007199254740993, 0.1, "0", true,
      Uuid("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), 0, 0, "true", "y");
  in.columns[0].AppendInt(6);  // every other column NULL
  for (size_t c = 1; c < in.columns.size(); ++c) in.columns[c].AppendNull();

  EXPECT_EQ(MergeInTransaction(conn.get(), &writer, in, AllRows(in)), 6);

  // What PostgreSQL holds, in its own text, written out by hand.
  const Rows expected_text = {
      {"1", "-2147483648", "-9223372036854775808", "NaN",
       "123456789012345678901234567890.123456789", "true", "00112233-4455-6677-8899-aabbccddeeff",
       "2024-02-29", "2000-01-02 00:00:01.5", R"({"a": [1, "x"], "b": {"c": null}})", kText},
      {"2", "2147483647", "9223372036854775807", "Infinity", "-0.000001", "false",
       "ffeeddcc-bbaa-9988-7766-554433221100", "1999-12-31", "1999-12-31 23:59:59.999999", "[]",
       ""},
      {"3", "0", "0", "-Infinity", "1.50", "true", "01020304-0506-0708-090a-0b0c0d0e0f10",
       "2000-01-01", "2000-01-01 00:00:00", R"("just a string")", "plain"},
      {"4", "-1", "-1", "-0", "NaN", "false", "00000000-0000-0000-0000-000000000000", "2000-01-01",
       "2000-01-01 00:00:00", "0", "x"},
      {"5", "7", "9007199254740993", "0.1", "0", "true", "00000000-0000-0000-0000-000000000001",
       "2000-01-01", "2000-01-01 00:00:00", "true", "y"},
      {"6", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N"},
  };
  EXPECT_EQ(Query(url,
                  "SET extra_float_digits = 1; SELECT id, i32, i64, f, n, b::text, u, d, "
                  "(ts AT TIME ZONE 'UTC')::text, j, t FROM everything ORDER BY id"),
            expected_text);

  // ScanTable hands back the very values that went in: same bits, same bytes.
  RowBatch out = ScanAll(conn.get(), shape);
  ASSERT_EQ(out.num_rows(), in.num_rows());
  std::map<int64_t, size_t> out_row;
  for (size_t r = 0; r < out.num_rows(); ++r) out_row[out.columns[0].IntAt(r)] = r;
  for (size_t r = 0; r < in.num_rows(); ++r) {
    const int64_t id = in.columns[0].IntAt(r);
    ASSERT_TRUE(out_row.contains(id)) << "id " << id;
    const size_t o = out_row[id];
    for (size_t c = 0; c < in.columns.size(); ++c) {
      SCOPED_TRACE("id " + std::to_string(id) + ", column " + shape.columns[c].name);
      ASSERT_EQ(out.columns[c].IsNull(o), in.columns[c].IsNull(r));
      if (in.columns[c].IsNull(r)) continue;
      if (IsFixedWidth(shape.columns[c].type)) {
        EXPECT_EQ(out.columns[c].IntAt(o), in.columns[c].IntAt(r));  // bit pattern for floats
      } else {
        EXPECT_EQ(out.columns[c].BytesAt(o), in.columns[c].BytesAt(r));
      }
    }
  }
  const size_t neg_zero = out_row[4];
  EXPECT_TRUE(std::signbit(out.columns[3].FloatAt(neg_zero)));
  EXPECT_TRUE(std::isnan(out.columns[3].FloatAt(out_row[1])));

  // NaN = NaN and the other special values compare equal in PostgreSQL: nothing to rewrite.
  EXPECT_EQ(MergeInTransaction(conn.get(), &writer, in, AllRows(in)), 0);
}

TEST(MergeWriterTest, QuotedIdentifiersWithQuotesSpacesAndUppercaseWork) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  const spec::EntitySpec parent_spec =
      Entity(R"(Order "Heads")", {"Id"}, {{"Id", ValueType::kInt64}, {"Note", ValueType::kText}},
             R"(My "Odd" Schema)");
  spec::EntitySpec child_spec = Entity(R"(Order Lines "v2")", {"Order Id", "Line No"},
                                       {{"Order Id", ValueType::kInt64},
                                        {"Line No", ValueType::kInt32},
                                        {R"(Sku "code")", ValueType::kText},
                                        {"UPPER", ValueType::kNumeric}},
                                       R"(My "Odd" Schema)");
  child_spec.parent_columns = {{"Order Id", "Id"}};
  const TableShape parent = ShapeOf(parent_spec, nullptr);
  const TableShape child = ShapeOf(child_spec, &parent_spec);
  ASSERT_TRUE(catalog::CreateTable(conn.get(), parent).ok());
  ASSERT_TRUE(catalog::CreateTable(conn.get(), child).ok());
  Status checked = catalog::CheckTable(conn.get(), child).status();
  EXPECT_TRUE(checked.ok()) << checked.ToString();

  MergeWriter parent_writer(parent);
  MergeWriter child_writer(child);
  ASSERT_TRUE(parent_writer.PrepareStaging(conn.get()).ok());
  ASSERT_TRUE(child_writer.PrepareStaging(conn.get()).ok());
  RowBatch heads = EmptyBatch(parent);
  heads.columns[0].AppendInt(10);
  heads.columns[1].AppendBytes("ten");
  RowBatch lines = EmptyBatch(child);
  auto add = [&](int64_t line, const char* sku, const char* upper) {
    lines.columns[0].AppendInt(10);
    lines.columns[1].AppendInt(line);
    lines.columns[2].AppendBytes(sku);
    lines.columns[3].AppendBytes(upper);
  };
  add(1, "A-1", "1.5");
  add(2, "B-2", "2");
  add(1, "A-1b", "3.25");
  EXPECT_EQ(MergeInTransaction(conn.get(), &parent_writer, heads, AllRows(heads)), 1);
  EXPECT_EQ(MergeInTransaction(conn.get(), &child_writer, lines, AllRows(lines)), 2);
  EXPECT_EQ(MergeInTransaction(conn.get(), &child_writer, lines, AllRows(lines)), 0);

  EXPECT_EQ(Query(url,
                  R"sql(SELECT "Order Id", "Line No", "Sku ""code""", "UPPER"
                        FROM "My ""Odd"" Schema"."Order Lines ""v2"""
                        ORDER BY "Line No")sql"),
            (Rows{{"10", "1", "A-1b", "3.25"}, {"10", "2", "B-2", "2"}}));
  RowBatch scanned = ScanAll(conn.get(), child);
  EXPECT_EQ(scanned.num_rows(), 2u);
  EXPECT_EQ(QueryValue(url,
                       R"sql(SELECT count(*) FROM pg_constraint WHERE contype = 'f'
                             AND conrelid = '"My ""Odd"" Schema"."Order Lines ""v2"""'::regclass
                             AND confrelid = '"My ""Odd"" Schema"."Order ""Heads"""'::regclass)sql"),
            "1");
}

// ---------------------------------------------------------------------------
// catalog::CheckTable and catalog::CreateTable

Status CheckTableStatus(PgConnection* conn, const TableShape& shape) {
  return catalog::CheckTable(conn, shape).status();
}

void ExpectFailedPrecondition(const Status& st, const std::vector<std::string>& must_name) {
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  for (const auto& word : must_name) {
    EXPECT_NE(st.message().find(word), std::string::npos)
        << "message does not name \"" << word << "\": " << st.message();
  }
}

TEST(CheckTableTest, RefusesWhatTheMergeCannotUseAndNamesTheTableAndColumn) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  Exec(url,
       "CREATE TABLE widgets (id bigint PRIMARY KEY, name text);"
       "CREATE TABLE gadgets (id bigint PRIMARY KEY, made date);"
       "CREATE TABLE loose (id bigint, name text);"
       "CREATE TABLE wide_key (id bigint, name text, UNIQUE (id, name));"
       "CREATE TABLE partial (id bigint, name text);"
       "CREATE UNIQUE INDEX partial_id ON partial (id) WHERE id > 0;");

  ExpectFailedPrecondition(
      CheckTableStatus(conn.get(),
                       ShapeOf(Entity("ghost", {"id"}, {{"id", ValueType::kInt64}}), nullptr)),
      {"public.ghost", "does not exist"});
  ExpectFailedPrecondition(
      CheckTableStatus(conn.get(), ShapeOf(Entity("widgets", {"id"},
                                                  {{"id", ValueType::kInt64},
                                                   {"name", ValueType::kText},
                                                   {"weight", ValueType::kFloat64}}),
                                           nullptr)),
      {"public.widgets", "\"weight\""});
  ExpectFailedPrecondition(
      CheckTableStatus(conn.get(), ShapeOf(Entity("gadgets", {"id"},
                                                  {{"id", ValueType::kInt64},
                                                   {"made", ValueType::kTimestamptz}}),
                                           nullptr)),
      {"public.gadgets", "made", "date"});
  ExpectFailedPrecondition(
      CheckTableStatus(conn.get(),
                       ShapeOf(Entity("widgets", {"id"},
                                      {{"id", ValueType::kInt64}, {"name", ValueType::kInt32}}),
                               nullptr)),
      {"public.widgets", "name", "text"});
  for (const char* table : {"loose", "wide_key", "partial"}) {
    SCOPED_TRACE(table);
    ExpectFailedPrecondition(
        CheckTableStatus(
            conn.get(),
            ShapeOf(Entity(table, {"id"}, {{"id", ValueType::kInt64}, {"name", ValueType::kText}}),
                    nullptr)),
        {std::string("public.") + table, "(id)"});
  }
}

TEST(CheckTableTest, AcceptsCompatibleTablesTheSpecDidNotCreate) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  Exec(url,
       "CREATE TABLE notes (id bigint PRIMARY KEY, body varchar(200), extra_col int);"
       "CREATE TABLE pairs (a int, b text, v text);"
       "CREATE UNIQUE INDEX pairs_ba ON pairs (b, a);");
  Status notes = CheckTableStatus(
      conn.get(),
      ShapeOf(Entity("notes", {"id"}, {{"id", ValueType::kInt64}, {"body", ValueType::kText}}),
              nullptr));
  EXPECT_TRUE(notes.ok()) << notes.ToString();
  // A unique index on the key columns in another order serves ON CONFLICT just as well.
  Status pairs = CheckTableStatus(
      conn.get(),
      ShapeOf(Entity("pairs", {"a", "b"},
                     {{"a", ValueType::kInt32}, {"b", ValueType::kText}, {"v", ValueType::kText}}),
              nullptr));
  EXPECT_TRUE(pairs.ok()) << pairs.ToString();
}

// Regression: a float8 column of the spec over numeric(6,2) passed the check, then every binary
// COPY failed deep inside PostgreSQL ("insufficient data left in message").
TEST(CheckTableTest, NamesColumnsPostgresMustCastAndRefusesLossyOnes) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  Exec(url,
       "CREATE TABLE widened (id bigint PRIMARY KEY, n numeric, doc json, t timestamp);"
       "CREATE TABLE money (id integer PRIMARY KEY, price numeric(6,2));"
       "CREATE TABLE approx (id integer PRIMARY KEY, price real);");
  auto widened = catalog::CheckTable(conn.get(), ShapeOf(Entity("widened", {"id"},
                                                                {{"id", ValueType::kInt32},
                                                                 {"n", ValueType::kInt64},
                                                                 {"doc", ValueType::kJsonb},
                                                                 {"t", ValueType::kTimestamptz}}),
                                                         nullptr));
  ASSERT_TRUE(widened.ok()) << widened.status().ToString();
  EXPECT_EQ(widened->cast_columns, (std::vector<std::string>{"id", "n", "doc"}));
  for (const char* table : {"money", "approx"}) {
    SCOPED_TRACE(table);
    ExpectFailedPrecondition(
        CheckTableStatus(
            conn.get(), ShapeOf(Entity(table, {"id"},
                                       {{"id", ValueType::kInt32}, {"price", ValueType::kFloat64}}),
                                nullptr)),
        {std::string("public.") + table + ".price", "float8", "double precision"});
  }
}

TEST(CreateTableTest, CreatesPrimaryKeyNotNullAndTheChildsForeignKey) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  const spec::EntitySpec projects =
      Entity("projects", {"id"}, {{"id", ValueType::kUuid}, {"name", ValueType::kText, true}});
  spec::EntitySpec tasks = Entity(
      "tasks", {"id"},
      {{"id", ValueType::kUuid}, {"project_id", ValueType::kUuid}, {"title", ValueType::kText}});
  tasks.parent_columns = {{"project_id", "id"}};
  const TableShape parent = ShapeOf(projects, nullptr);
  const TableShape child = ShapeOf(tasks, &projects);
  ASSERT_TRUE(catalog::CreateTable(conn.get(), parent).ok());
  ASSERT_TRUE(catalog::CreateTable(conn.get(), child).ok());
  ASSERT_TRUE(catalog::CreateTable(conn.get(), child).ok())
      << "a second catalog::CreateTable is a no-op";

  EXPECT_EQ(Query(url,
                  "SELECT conrelid::regclass::text, contype::text, pg_get_constraintdef(oid) "
                  "FROM pg_constraint WHERE conrelid IN ('projects'::regclass, 'tasks'::regclass) "
                  "AND contype IN ('p', 'f') ORDER BY 1, 2"),
            (Rows{{"projects", "p", "PRIMARY KEY (id)"},
                  {"tasks", "f", "FOREIGN KEY (project_id) REFERENCES projects(id)"},
                  {"tasks", "p", "PRIMARY KEY (id)"}}));
  EXPECT_EQ(Query(url,
                  "SELECT attrelid::regclass::text, attname, format_type(atttypid, NULL), "
                  "attnotnull::text FROM pg_attribute WHERE attrelid IN ('projects'::regclass, "
                  "'tasks'::regclass) AND attnum > 0 ORDER BY 1, attnum"),
            (Rows{{"projects", "id", "uuid", "true"},
                  {"projects", "name", "text", "true"},
                  {"tasks", "id", "uuid", "true"},
                  {"tasks", "project_id", "uuid", "false"},
                  {"tasks", "title", "text", "false"}}));
  Status checked = catalog::CheckTable(conn.get(), child).status();
  EXPECT_TRUE(checked.ok()) << checked.ToString();

  // The foreign key is enforced: a task of an unknown project is refused.
  auto refused = conn->Exec(
      "INSERT INTO tasks (id, project_id) VALUES ('00000000-0000-0000-0000-000000000001', "
      "'00000000-0000-0000-0000-0000000000aa')");
  EXPECT_EQ(refused.sqlstate(), "23503") << refused.ToString();
}

// ---------------------------------------------------------------------------
// RowDeleter

// A few rows deleted from a big table by their link column find them through
// the index: PostgreSQL's own count of sequential scans on the table (flushed
// at once by pg_stat_force_next_flush) stays where it was. Before the staging
// table was analyzed, each delete hash-joined the whole table.
TEST(RowDeleterTest, FewLinkedRowsAreFoundByIndexNotByScanningTheTable) {
  const std::string url = FreshDatabase();
  auto conn = Connect(url);
  ASSERT_NE(conn, nullptr);
  const TableShape shape = ShapeOf(
      Entity(
          "tweets", {"thread_id", "n"},
          {{"thread_id", ValueType::kText}, {"n", ValueType::kInt32}, {"body", ValueType::kText}}),
      nullptr);
  ASSERT_TRUE(catalog::CreateTable(conn.get(), shape).ok());
  Exec(url,
       "INSERT INTO tweets SELECT 't' || (i / 3), i % 3, 'x' FROM generate_series(0, 59999) i; "
       "ANALYZE tweets");
  RowDeleter deleter(shape, {"thread_id"});
  ASSERT_TRUE(deleter.PrepareStaging(conn.get()).ok());
  auto seq_scans = [&] {
    return QueryValue(url, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tweets'");
  };
  // What this connection counted so far (CreateTable looks at the table).
  ASSERT_TRUE(conn->Exec("SELECT pg_stat_force_next_flush()").ok());
  const std::string before = seq_scans();
  for (int round = 0; round < 3; ++round) {
    RowBatch batch;
    batch.AddColumn("thread_id", ValueType::kText);
    for (int t = 0; t < 2; ++t) batch.columns[0].AppendBytes("t" + std::to_string(round * 10 + t));
    ASSERT_TRUE(conn->Exec("BEGIN").ok());
    auto deleted = deleter.Delete(conn.get(), batch, AllRows(batch));
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, 6);  // 2 threads x 3 tweets
    ASSERT_TRUE(conn->Exec("SELECT pg_stat_force_next_flush()").ok());
    ASSERT_TRUE(conn->Exec("COMMIT").ok());
  }
  EXPECT_EQ(seq_scans(), before);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM tweets"), "59982");
}

}  // namespace
}  // namespace cutover::pg_store
