// The PostgreSQL store through the store protocol, against a real server: a
// table of every column type reads back as hand-written SQL says it holds,
// a read resumed at any cursor yields exactly the rest in key order, and the
// writer's upserts and deletes land in one transaction per Flush.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/row_batch.h"
#include "store/store.h"
#include "stores/postgres/table_shape.h"
#include "stores/registry.h"
#include "support/pg_harness.h"

namespace cutover {
namespace {

using ::cutover::testing::Exec;
using ::cutover::testing::FreshDatabase;
using ::cutover::testing::Query;
using Rows = std::vector<std::vector<std::string>>;

pg_store::TableShape Shape(const std::string& table, std::vector<std::string> key,
                           const std::vector<std::pair<std::string, ValueType>>& columns) {
  pg_store::TableShape shape;
  shape.schema = "public";
  shape.table = table;
  shape.key = std::move(key);
  for (const auto& [name, type] : columns) {
    pg_store::TableColumn c;
    c.name = name;
    c.type = type;
    shape.columns.push_back(c);
  }
  return shape;
}

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// A value as the oracle queries below spell it: integers, dates (days since
// 2000-01-01) and timestamps (microseconds since 2000-01-01 UTC) in decimal,
// a float's bits and binary values in hex, booleans 1/0, text as it is.
std::string Spell(const Column& column, size_t row) {
  if (column.IsNull(row)) return "\\N";
  switch (column.type()) {
    case ValueType::kFloat64: {
      const uint64_t bits = static_cast<uint64_t>(column.IntAt(row));
      std::string be(8, '\0');
      for (int i = 0; i < 8; ++i) be[i] = static_cast<char>(bits >> (56 - 8 * i));
      return Hex(be);
    }
    case ValueType::kBool:
      return column.BoolAt(row) ? "1" : "0";
    case ValueType::kUuid:
    case ValueType::kBytes:
    case ValueType::kGeometry:
      return Hex(column.BytesAt(row));
    default:
      return IsFixedWidth(column.type()) ? std::to_string(column.IntAt(row))
                                         : std::string(column.BytesAt(row));
  }
}

// Every row `reader` yields, spelled, and the cursor after each batch.
Rows ReadAll(store::BatchReader* reader, size_t batch, std::vector<store::Cursor>* cursors) {
  Rows rows;
  store::StoreBatch b;
  for (;;) {
    auto more = reader->Next(batch, &b);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    for (size_t r = 0; r < b.rows.num_rows(); ++r) {
      std::vector<std::string> row;
      for (const Column& c : b.rows.columns) row.push_back(Spell(c, r));
      rows.push_back(std::move(row));
    }
    if (cursors != nullptr) cursors->push_back(b.end);
  }
  return rows;
}

TEST(PgSnapshotReaderTest, EveryMappedTypeReadsBackAsHandWrittenSqlSays) {
  const std::string url = FreshDatabase();
  Exec(url, "CREATE EXTENSION IF NOT EXISTS postgis");
  Exec(url,
       "CREATE TABLE everything (id bigint PRIMARY KEY, i32 integer, i64 bigint, f float8, "
       "n numeric, b boolean, u uuid, d date, ts timestamptz, j jsonb, t text, by bytea, "
       "g geometry(Point, 4326))");
  Exec(url,
       "INSERT INTO everything VALUES "
       "(1, -2147483648, -9223372036854775808, 'NaN', 123456789012345678901234567890.123456789, "
       " true, '00112233-4455-6677-8899-aabbccddeeff', '2024-02-29', "
       " '2000-01-02 00:00:01.5+00', '{\"a\": [1, \"x\"], \"b\": {\"c\": null}}', "
       " 'It''s \"quoted\" ünïcødé 日本', '\\x00ff10', 'SRID=4326;POINT(13.4 52.5)'),"
       "(2, 2147483647, 9223372036854775807, '-Infinity', 1.50, false, "
       " 'ffeeddcc-bbaa-9988-7766-554433221100', '1999-12-31', '1999-12-31 23:59:59.999999+00', "
       " '[]', '', '\\x', 'SRID=4326;POINT(-0.5 0)'),"
       "(3, 0, 0, -0.0, 0, true, '00000000-0000-0000-0000-000000000001', '0044-03-15 BC', "
       " '294276-12-31 23:59:59.999999+00', '\"s\"', 'x', '\\xdeadbeef', NULL),"
       "(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  // The oracle: PostgreSQL's own functions, spelled as Spell() spells a batch
  // (a timestamp as whole days plus the time of day, both exact; extract(epoch)
  // rounds at the far end of the range).
  const Rows expected = Query(
      url,
      "SELECT id::text, i32::text, i64::text, encode(float8send(f), 'hex'), n::text, "
      "CASE WHEN b THEN '1' WHEN NOT b THEN '0' END, encode(uuid_send(u), 'hex'), "
      "(d - DATE '2000-01-01')::text, "
      "(((ts AT TIME ZONE 'UTC')::date - DATE '2000-01-01')::bigint * 86400000000 + "
      "(extract(epoch FROM (ts AT TIME ZONE 'UTC')::time) * 1000000)::bigint)::text, j::text, t, "
      "encode(by, 'hex'), encode(geometry_send(g), 'hex') FROM everything ORDER BY id");
  ASSERT_EQ(expected.size(), 4u);

  const pg_store::TableShape shape = Shape("everything", {"id"},
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
                                            {"t", ValueType::kText},
                                            {"by", ValueType::kBytes},
                                            {"g", ValueType::kGeometry}});
  auto store = stores::OpenTableStore(url, shape);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->Ping().ok());
  auto partitions = (*store)->snapshot().Plan();
  ASSERT_TRUE(partitions.ok());
  ASSERT_EQ(partitions->size(), 1u);
  EXPECT_EQ((*partitions)[0].id, "public.everything");
  auto reader = (*store)->snapshot().Open((*partitions)[0], {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(ReadAll(reader->get(), 3, nullptr), expected);
}

TEST(PgSnapshotReaderTest, AReadResumedAtAnyCursorYieldsExactlyTheRestInKeyOrder) {
  const std::string url = FreshDatabase();
  // A composite key of text and timestamptz, whose values need quoting and
  // lie on both sides of 2000-01-01 (the cursor's epoch) and far from it.
  Exec(url, "CREATE TABLE readings (name text, at timestamptz, v integer, PRIMARY KEY (name, at))");
  Exec(url,
       "INSERT INTO readings VALUES "
       "('a''b', '1999-12-31 23:59:59.999999+00', 1), ('a''b', '2000-01-01 00:00:00+00', 2), "
       "('a''b', '4713-01-01 00:00:00+00 BC', 3), ('b\\c', '2024-06-01 12:00:00.000001+00', 4), "
       "('b\\c', '294276-12-31 23:59:59.999999+00', 5), ('é', '1970-01-01 00:00:00+00', 6), "
       "('Z', '2000-01-01 00:00:00.000001+00', 7)");
  const Rows expected = Query(
      url,
      "SELECT name, (((at AT TIME ZONE 'UTC')::date - DATE '2000-01-01')::bigint * 86400000000 + "
      "(extract(epoch FROM (at AT TIME ZONE 'UTC')::time) * 1000000)::bigint)::text, v::text "
      "FROM readings ORDER BY name, at");
  ASSERT_EQ(expected.size(), 7u);

  const pg_store::TableShape shape = Shape(
      "readings", {"name", "at"},
      {{"name", ValueType::kText}, {"at", ValueType::kTimestamptz}, {"v", ValueType::kInt32}});
  auto store = stores::OpenTableStore(url, shape);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store::SnapshotReader& snapshot = (*store)->snapshot();
  const store::Partition table = (*snapshot.Plan())[0];

  std::vector<store::Cursor> cursors;
  auto whole = snapshot.Open(table, {});
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(ReadAll(whole->get(), 1, &cursors), expected);
  ASSERT_EQ(cursors.size(), expected.size());
  // A reader killed after k rows resumes, in a new reader, with rows k...
  for (size_t k = 0; k < cursors.size(); ++k) {
    SCOPED_TRACE("after " + std::to_string(k + 1) + " rows, cursor " + cursors[k].token);
    auto rest = snapshot.Open(table, cursors[k]);
    ASSERT_TRUE(rest.ok()) << rest.status().ToString();
    EXPECT_EQ(ReadAll(rest->get(), 2, nullptr),
              Rows(expected.begin() + static_cast<long>(k) + 1, expected.end()));
  }
  // ...and its batches carry the ordinals the whole read gave them.
  auto rest = snapshot.Open(table, cursors[2]);
  ASSERT_TRUE(rest.ok());
  store::StoreBatch b;
  ASSERT_TRUE((*rest)->Next(10, &b).ok());
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.positions[0].record_index, 3);
  EXPECT_EQ(b.positions[3].record_index, 6);
  EXPECT_EQ(snapshot.Open(table, {"not a cursor"}).status().code(), StatusCode::kInvalidArgument);
}

TEST(PgSnapshotReaderTest, TheWriterUpsertsAndDeletesByKeyOneTransactionPerFlush) {
  const std::string url = FreshDatabase();
  Exec(url, "CREATE TABLE items (id bigint PRIMARY KEY, label text)");
  Exec(url, "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  const pg_store::TableShape shape =
      Shape("items", {"id"}, {{"id", ValueType::kInt64}, {"label", ValueType::kText}});
  auto store = stores::OpenTableStore(url, shape);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store::Writer* writer = (*store)->writer();
  ASSERT_NE(writer, nullptr);
  RowBatch rows;
  rows.AddColumn("id", ValueType::kInt64);
  rows.AddColumn("label", ValueType::kText);
  auto add = [&](int64_t id, const std::string& label) {
    rows.columns[0].AppendInt(id);
    rows.columns[1].AppendBytes(label);
    return rows.num_rows() - 1;
  };
  auto apply = [&]() {
    ASSERT_TRUE(writer->Upsert({"2"}, rows, add(2, "TWO")).ok());
    ASSERT_TRUE(writer->Upsert({"4"}, rows, add(4, "four")).ok());
    ASSERT_TRUE(writer->Delete({"4"}).ok());  // the last write of a key counts
    ASSERT_TRUE(writer->Upsert({"5"}, rows, add(5, "gone")).ok());
    ASSERT_TRUE(writer->Delete({"5"}).ok());
    ASSERT_TRUE(writer->Upsert({"5"}, rows, add(5, "five")).ok());
    ASSERT_TRUE(writer->Delete({"3"}).ok());
    ASSERT_TRUE(writer->Delete({"99"}).ok());  // absent: not an error
    const Status st = writer->Flush();
    ASSERT_TRUE(st.ok()) << st.ToString();
  };
  apply();
  const Rows want = {{"1", "one"}, {"2", "TWO"}, {"5", "five"}};
  EXPECT_EQ(Query(url, "SELECT id, label FROM items ORDER BY id"), want);
  apply();  // replayed: the same table
  EXPECT_EQ(Query(url, "SELECT id, label FROM items ORDER BY id"), want);
  EXPECT_EQ(writer->Upsert({"1", "2"}, rows, 0).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cutover
