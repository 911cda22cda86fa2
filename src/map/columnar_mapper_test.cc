// Tests that ColumnarMapper turns typed file columns into exactly the typed
// rows the spec asks for, and rejects only what cannot be stored, with where and why.
#include "map/columnar_mapper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spec/spec_loader.h"

namespace cutover::map {
namespace {

spec::MigrationSpec MustParse(const std::string& entities_yaml) {
  const std::string yaml =
      "migration: t\n"
      "sources:\n"
      "  files: { type: parquet, path: data/ }\n"
      "entities:\n" +
      entities_yaml;
  auto spec = spec::ParseSpec(yaml, "t.yaml", "/tmp");
  EXPECT_TRUE(spec.ok()) << spec.status().message() << "\n" << yaml;
  return spec.ok() ? std::move(spec).value() : spec::MigrationSpec();
}

// Positions as a chunk reader reports them: record_index = row in the file.
store::StoreBatch Batch(RowBatch rows, int64_t first_row) {
  store::StoreBatch b;
  b.origin = "prices.parquet";
  b.rows = std::move(rows);
  for (size_t i = 0; i < b.rows.num_rows(); ++i) {
    b.positions.push_back({-1, -1, first_row + static_cast<int64_t>(i)});
  }
  return b;
}

// 2024-01-02: 8767 days after 2000-01-01 (24 years of 365 days + 6 leap days
// 2000..2020, + 1 day); midnight of it in microseconds.
constexpr int64_t kDay20240102 = 8767;
constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

TEST(ColumnarMapperTest, RenamesConvertsAndRejectsWithPosition) {
  const auto spec = MustParse(R"(  t:
    source: { from: files }
    key: [id]
    columns:
      id:     { from: ID, type: uuid }
      small:  { from: big, type: integer }
      ratio:  { from: n, type: float8 }
      day:    { from: ts, type: date }
      amount: { from: amount, type: numeric }
      note:   { type: text, default: none }
)");
  auto mapper = ColumnarMapper::Create(spec.entities[0]);
  ASSERT_TRUE(mapper.ok()) << mapper.status().message();

  RowBatch rows;
  rows.AddColumn("ID", ValueType::kText);
  rows.AddColumn("big", ValueType::kInt64);
  rows.AddColumn("n", ValueType::kInt64);
  rows.AddColumn("ts", ValueType::kTimestamptz);
  rows.AddColumn("amount", ValueType::kNumeric);
  rows.AddColumn("note", ValueType::kText);
  // Row 0: all fine. Row 1: 2^31 does not fit in integer. Row 2: a time of
  // day cannot become a date. Row 3: not a uuid. Row 4: fine, note NULL.
  const char* ids[] = {
      "4f1c2a3b-0000-4000-8000-000000000001", "4f1c2a3b-0000-4000-8000-000000000002",
      "4f1c2a3b-0000-4000-8000-000000000003", "nope", "4F1C2A3B000040008000000000000005"};
  const int64_t bigs[] = {-5, 2147483648LL, 1, 1, 2147483647LL};
  for (int r = 0; r < 5; ++r) {
    rows.columns[0].AppendBytes(ids[r]);
    rows.columns[1].AppendInt(bigs[r]);
    rows.columns[2].AppendInt(r * 10);
    rows.columns[3].AppendInt(kDay20240102 * kMicrosPerDay + (r == 2 ? 3'600'000'000LL : 0));
    rows.columns[4].AppendBytes("12.50");
    if (r == 4) {
      rows.columns[5].AppendNull();
    } else {
      rows.columns[5].AppendBytes("n" + std::to_string(r));
    }
  }
  const store::StoreBatch in = Batch(std::move(rows), 1000);
  MappedBatch out;
  (*mapper)->Map(in, &out);

  ASSERT_EQ(out.tables.size(), 1u);
  const RowBatch& t = out.tables[0];
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(out.counts[0].read, 5);
  EXPECT_EQ(out.counts[0].rejected, 3);
  EXPECT_EQ(out.origins[0][0].record, 0u);
  EXPECT_EQ(out.origins[0][1].record, 4u);
  EXPECT_EQ(t.columns[0].BytesAt(1), std::string("\x4f\x1c\x2a\x3b\x00\x00\x40\x00\x80\x00\x00\x00"
                                                 "\x00\x00\x00\x05",
                                                 16));
  EXPECT_EQ(t.columns[1].IntAt(0), -5);
  EXPECT_EQ(t.columns[1].IntAt(1), 2147483647);
  EXPECT_EQ(t.columns[2].FloatAt(1), 40.0);
  EXPECT_EQ(t.columns[3].IntAt(0), kDay20240102);
  EXPECT_EQ(t.columns[4].BytesAt(0), "12.50");  // the scale is kept
  EXPECT_EQ(t.columns[5].BytesAt(0), "n0");
  EXPECT_EQ(t.columns[5].BytesAt(1), "none");  // the default for a NULL

  ASSERT_EQ(out.rejects.size(), 3u);
  EXPECT_EQ(out.rejects[0].record_index, 1001);
  EXPECT_EQ(out.rejects[0].source, "prices.parquet");
  EXPECT_EQ(out.rejects[0].entity, "t");
  EXPECT_EQ(out.rejects[0].field, "big");
  EXPECT_EQ(out.rejects[0].reason, "2147483648 is out of range for integer (int4)");
  EXPECT_EQ(out.rejects[1].record_index, 1002);
  EXPECT_EQ(out.rejects[1].field, "ts");
  EXPECT_EQ(out.rejects[1].reason,
            "2024-01-02T01:00:00Z has a time of day; a date column cannot hold it");
  EXPECT_EQ(out.rejects[2].record_index, 1003);
  EXPECT_EQ(out.rejects[2].field, "ID");
  EXPECT_NE(out.rejects[2].reason.find("nope"), std::string::npos) << out.rejects[2].reason;
  EXPECT_EQ(out.rejects[2].record,
            "{\"ID\":\"nope\",\"big\":1,\"n\":30,\"ts\":\"2024-01-02T00:00:00Z\","
            "\"amount\":\"12.50\",\"note\":\"n3\"}");
}

TEST(ColumnarMapperTest, GeometryLookupsAndRequiredColumns) {
  const auto spec = MustParse(R"(  markets:
    key: [id]
    columns: { id: { type: integer }, name: { type: text } }
  spots:
    source: { from: files }
    key: [id]
    columns:
      id:     { type: bigint }
      where:  { type: geometry, geometry: { lon: lon, lat: lat, srid: 4326 } }
      market: { from: market_name, type: integer,
                lookup: { entity: markets, match: name } }
      at:     { type: timestamptz }
    dedup: { keep_last_by: [at] }
)");
  const spec::EntitySpec* spots = spec.FindEntity("spots");
  ASSERT_NE(spots, nullptr);
  auto mapper = ColumnarMapper::Create(*spots);
  ASSERT_TRUE(mapper.ok()) << mapper.status().message();

  RowBatch rows;
  rows.AddColumn("id", ValueType::kInt32);
  rows.AddColumn("lon", ValueType::kFloat64);
  rows.AddColumn("lat", ValueType::kNumeric);
  rows.AddColumn("market_name", ValueType::kText);
  rows.AddColumn("at", ValueType::kTimestamptz);
  // Row 0 fine; row 1 lacks `at` (a keep_last_by column is required); row 2
  // has no lat (geometry NULL) and no market (lookup NULL).
  for (int r = 0; r < 3; ++r) {
    rows.columns[0].AppendInt(r);
    rows.columns[1].AppendFloat(1.0);
    if (r == 2) {
      rows.columns[2].AppendNull();
      rows.columns[3].AppendNull();
    } else {
      rows.columns[2].AppendBytes("2");
      rows.columns[3].AppendBytes("Mandi 7");
    }
    if (r == 1) {
      rows.columns[4].AppendNull();
    } else {
      rows.columns[4].AppendInt(0);
    }
  }
  MappedBatch out;
  (*mapper)->Map(Batch(std::move(rows), 0), &out);
  const RowBatch& t = out.tables[0];
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.columns[1].type(), ValueType::kGeometry);
  // SRID=4326;POINT(1 2) as EWKB (see geometry_codec_test.cc).
  EXPECT_EQ(t.columns[1].BytesAt(0), std::string("\x01\x01\x00\x00\x20\xE6\x10\x00\x00"
                                                 "\x00\x00\x00\x00\x00\x00\xF0\x3F"
                                                 "\x00\x00\x00\x00\x00\x00\x00\x40",
                                                 25));
  EXPECT_TRUE(t.columns[1].IsNull(1));
  // The lookup column still holds the name; the engine resolves it.
  EXPECT_EQ(t.columns[2].type(), ValueType::kText);
  EXPECT_EQ(t.columns[2].BytesAt(0), "Mandi 7");
  EXPECT_TRUE(t.columns[2].IsNull(1));
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects[0].record_index, 1);
  EXPECT_EQ(out.rejects[0].reason, "missing required value 'at'");
}

TEST(ColumnarMapperTest, CheckSourceNamesMissingAndUnconvertibleColumns) {
  const auto spec = MustParse(R"(  t:
    source: { from: files }
    key: [id]
    columns:
      id:  { type: integer }
      day: { from: d, type: date }
)");
  auto mapper = ColumnarMapper::Create(spec.entities[0]);
  ASSERT_TRUE(mapper.ok());
  EXPECT_TRUE((*mapper)->CheckSource({{"id", ValueType::kInt64}, {"d", ValueType::kText}}).ok());
  EXPECT_EQ(
      (*mapper)->CheckSource({{"ident", ValueType::kInt64}, {"d", ValueType::kDate}}).message(),
      "t.yaml:9:7: column 'id' of entity 't' reads 'id', which the source does not have; "
      "it has: ident, d");
  EXPECT_EQ((*mapper)->CheckSource({{"id", ValueType::kInt64}, {"d", ValueType::kBool}}).message(),
            "t.yaml:10:7: column 'day' of entity 't' reads 'd', which is bool in the source and "
            "cannot become date");
}

// A batch comes back to the mapper after the lookup resolver replaced its
// column of names by one of ids (the pipeline recycles batches). Mapping
// into it again, with a reject in the middle, must keep every row's name
// on that row: before, the reject's name stayed behind and every later row
// took its neighbour's.
TEST(ColumnarMapperTest, RecycledBatchKeepsRowsInPlaceAfterAReject) {
  const auto spec = MustParse(R"(  dim:
    key: [id]
    columns:
      id:   { type: integer }
      name: { type: text }
  facts:
    source: { from: files }
    key: [id]
    columns:
      id:     { type: integer }
      dim_id: { from: name, type: integer, lookup: { entity: dim, match: name, returns: id } }
      price:  { type: numeric, required: true }
)");
  auto mapper = ColumnarMapper::Create(spec.entities[1]);
  ASSERT_TRUE(mapper.ok()) << mapper.status().message();
  auto batch_of = [](int first, const std::vector<bool>& null_price) {
    RowBatch rows;
    rows.AddColumn("id", ValueType::kInt64);
    rows.AddColumn("name", ValueType::kText);
    rows.AddColumn("price", ValueType::kNumeric);
    for (size_t r = 0; r < null_price.size(); ++r) {
      rows.columns[0].AppendInt(first + static_cast<int>(r));
      rows.columns[1].AppendBytes("name" + std::to_string(first + r));
      if (null_price[r]) {
        rows.columns[2].AppendNull();
      } else {
        rows.columns[2].AppendBytes("1.5");
      }
    }
    return Batch(std::move(rows), first);
  };
  MappedBatch out;
  (*mapper)->Map(batch_of(0, {false, false}), &out);
  ASSERT_EQ(out.tables[0].num_rows(), 2u);
  // What LookupResolver::Resolve does: names become ids.
  Column ids(ValueType::kInt32);
  ids.AppendInt(7);
  ids.AppendInt(8);
  out.tables[0].columns[1] = std::move(ids);

  (*mapper)->Map(batch_of(10, {false, true, false, false}), &out);
  const RowBatch& t = out.tables[0];
  ASSERT_EQ(t.num_rows(), 3u);
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects[0].record_index, 11);
  ASSERT_EQ(t.columns[1].type(), ValueType::kText);
  const int expected_ids[] = {10, 12, 13};
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(t.columns[0].IntAt(r), expected_ids[r]);
    EXPECT_EQ(t.columns[1].BytesAt(r), "name" + std::to_string(expected_ids[r])) << "row " << r;
  }
}

}  // namespace
}  // namespace cutover::map
