// ParquetSource against DuckDB itself: files DuckDB writes (every compression,
// every type, several row groups) read chunk by chunk, compared cell by cell.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "stores/duckdb/chunked_source.h"
#include "stores/duckdb/duckdb_chunk_reader.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/open_chunked_source.h"

namespace cutover::duckdb_store {
namespace {

namespace fs = std::filesystem;

constexpr int kRows = 10000;

// How a test turns one of our cells into the text DuckDB computed for it.
enum class Render { kInt, kText, kDouble, kBool, kUuid, kHex };

struct TypeCase {
  const char* name;
  const char* generate;  // DuckDB SQL over i = 0..kRows-1
  const char* expect;    // DuckDB SQL of the expected text, {c} = the column
  ValueType type;
  Render render;
};

// Every value is NULL where i % 13 = 5; see Generate().
const TypeCase kCases[] = {
    {"i8", "((i % 256) - 128)::TINYINT", "CAST({c} AS VARCHAR)", ValueType::kInt32, Render::kInt},
    {"i16", "((i * 7) % 65536 - 32768)::SMALLINT", "CAST({c} AS VARCHAR)", ValueType::kInt32,
     Render::kInt},
    {"i32", "((i * 104729) % 4294967296 - 2147483648)::INTEGER", "CAST({c} AS VARCHAR)",
     ValueType::kInt32, Render::kInt},
    {"i64",
     "CASE WHEN i = 1 THEN -9223372036854775808 WHEN i = 2 THEN 9223372036854775807 "
     "ELSE (hash(i) >> 1)::BIGINT * (CASE WHEN i % 2 = 0 THEN 1 ELSE -1 END) END",
     "CAST({c} AS VARCHAR)", ValueType::kInt64, Render::kInt},
    {"u8", "(i % 256)::UTINYINT", "CAST({c} AS VARCHAR)", ValueType::kInt32, Render::kInt},
    {"u32", "(hash(i) % 4294967296)::UINTEGER", "CAST({c} AS VARCHAR)", ValueType::kInt64,
     Render::kInt},
    {"u64", "hash(i)", "CAST({c} AS VARCHAR)", ValueType::kNumeric, Render::kText},
    {"f32", "(i / 7.0 - 300)::FLOAT", "CAST(CAST({c} AS DOUBLE) AS VARCHAR)", ValueType::kFloat64,
     Render::kDouble},
    {"f64",
     "CASE i % 50 WHEN 0 THEN 'NaN'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN '-inf'::DOUBLE "
     "WHEN 3 THEN -0.0 WHEN 4 THEN 5e-324 ELSE i * 1.1e-3 - 3.7 END",
     "CAST({c} AS VARCHAR)", ValueType::kFloat64, Render::kDouble},
    {"dec4_2", "CAST(((i % 19999) - 9999) / 100.0 AS DECIMAL(4,2))", nullptr, ValueType::kNumeric,
     Render::kText},
    {"dec9_4",
     "CAST(CASE WHEN i % 2 = 0 THEN '-' ELSE '' END || (i * 7919 % 99999)::VARCHAR || '.' || "
     "lpad((i % 10000)::VARCHAR, 4, '0') AS DECIMAL(9,4))",
     nullptr, ValueType::kNumeric, Render::kText},
    {"dec18_6",
     "CAST(CASE WHEN i % 3 = 0 THEN '-' ELSE '' END || (hash(i) % 999999999999)::VARCHAR || '.' "
     "|| lpad((hash(i + 1) % 1000000)::VARCHAR, 6, '0') AS DECIMAL(18,6))",
     nullptr, ValueType::kNumeric, Render::kText},
    {"dec38_10",
     "CAST(CASE WHEN i % 2 = 1 THEN '-' ELSE '' END || (hash(i) % 1000000000000000000)::VARCHAR "
     "|| lpad((hash(i + 7) % 10000000000)::VARCHAR, 10, '0') || '.' || "
     "lpad((hash(i + 3) % 10000000000)::VARCHAR, 10, '0') AS DECIMAL(38,10))",
     nullptr, ValueType::kNumeric, Render::kText},
    // HUGEINT is not listed: DuckDB writes it to Parquet as DOUBLE.
    {"dict", "['alpha', 'beta', 'gamma', 'delta', 'ünïcødé', ''][i % 6 + 1]", "{c}",
     ValueType::kText, Render::kText},
    {"long_text", "repeat('x', i % 40) || i::VARCHAR || '\"quote\" \\ tab	end'", "{c}",
     ValueType::kText, Render::kText},
    {"day",
     "CASE WHEN i = 3 THEN DATE '0001-01-01' WHEN i = 4 THEN DATE '9999-12-31' "
     "ELSE DATE '1970-01-01' + ((i * 13) % 40000 - 20000)::INTEGER END",
     "CAST(date_diff('day', DATE '2000-01-01', {c}) AS VARCHAR)", ValueType::kDate, Render::kInt},
    {"ts", "TIMESTAMP '1969-06-01 00:00:00' + to_microseconds((i * 1234567891) % 3000000000000000)",
     "CAST(date_diff('microsecond', TIMESTAMP '2000-01-01', {c}) AS VARCHAR)",
     ValueType::kTimestamptz, Render::kInt},
    {"tstz",
     "TIMESTAMPTZ '1999-12-31 23:59:59.999999+00' + to_microseconds(i * 987654321 - "
     "5000000000000)",
     "CAST(date_diff('microsecond', TIMESTAMPTZ '2000-01-01 00:00:00+00', {c}) AS VARCHAR)",
     ValueType::kTimestamptz, Render::kInt},
    {"ts_ms", "CAST(TIMESTAMP '2020-02-29 12:00:00' + to_milliseconds(i * 7777) AS TIMESTAMP_MS)",
     "CAST(date_diff('microsecond', TIMESTAMP '2000-01-01', CAST({c} AS TIMESTAMP)) AS VARCHAR)",
     ValueType::kTimestamptz, Render::kInt},
    {"ts_ns", "make_timestamp_ns(-315619200000000000 + i * 3333000 + i % 1000)",
     "CAST(date_diff('microsecond', TIMESTAMP '2000-01-01', CAST({c} AS TIMESTAMP)) AS VARCHAR)",
     ValueType::kTimestamptz, Render::kInt},
    {"id_uuid", "CAST(md5(i::VARCHAR) AS UUID)", "CAST({c} AS VARCHAR)", ValueType::kUuid,
     Render::kUuid},
    {"flag", "CASE WHEN i % 11 = 0 THEN NULL ELSE i % 3 = 0 END", "CAST({c} AS VARCHAR)",
     ValueType::kBool, Render::kBool},
    {"payload", "unhex(md5(i::VARCHAR)) || '\\x00\\xFF'::BLOB", "hex({c})", ValueType::kBytes,
     Render::kHex},
    {"tags", "[i, i + 1, NULL]::INTEGER[]", "CAST(to_json({c}) AS VARCHAR)", ValueType::kJsonb,
     Render::kText},
    {"attrs", "{'a': i, 'b': 'x' || i::VARCHAR, 'c': [1.5, NULL]}", "CAST(to_json({c}) AS VARCHAR)",
     ValueType::kJsonb, Render::kText},
    {"props", "MAP {'k': i, 'z': -i}", "CAST(to_json({c}) AS VARCHAR)", ValueType::kJsonb,
     Render::kText},
};

// DuckDB's text of a decimal, at the decimal's scale ("1.00" for
// DECIMAL(p,2)), as PostgreSQL prints a numeric of that scale.
const char* kDecimalText = "CAST({c} AS VARCHAR)";

std::string Substitute(std::string text, const std::string& column) {
  for (size_t at; (at = text.find("{c}")) != std::string::npos;) text.replace(at, 3, column);
  return text;
}

std::string Hex(std::string_view bytes, bool uuid) {
  const char* digits = uuid ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (uuid && (i == 4 || i == 6 || i == 8 || i == 10)) out += '-';
    const auto b = static_cast<unsigned char>(bytes[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

class ParquetSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cutover_parquet_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto session = DuckSession::Open();
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    session_ = std::move(*session);
    ASSERT_TRUE(session_->Execute("SET TimeZone = 'UTC'", "test").ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Generate() const {
    std::string select;
    for (const TypeCase& c : kCases) {
      select +=
          ", CASE WHEN i % 13 = 5 THEN NULL ELSE " + std::string(c.generate) + " END AS " + c.name;
    }
    return "SELECT i::BIGINT AS i" + select + " FROM range(" + std::to_string(kRows) + ") t(i)";
  }

  void Write(const std::string& file, const std::string& compression) {
    const Status st = session_->Execute("COPY (" + Generate() + ") TO " + SqlLiteral(file) +
                                            " (FORMAT parquet, COMPRESSION " + compression +
                                            ", ROW_GROUP_SIZE 2048)",
                                        "writing " + file);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  spec::SourceSpec ParquetSpec() const {
    spec::SourceSpec s;
    s.name = "prices";
    s.type = "parquet";
    s.path = dir_.string();
    return s;
  }

  fs::path dir_;
  std::unique_ptr<DuckSession> session_;
};

// Reads every chunk of `source` and returns, per file, the rows in ordinal
// order; fails the test on a row read twice or a gap.
std::map<std::string, std::vector<store::StoreBatch>> ReadAll(ChunkedSource* source,
                                                              const std::vector<ChunkRef>& chunks,
                                                              size_t batch_rows) {
  std::map<std::string, std::vector<store::StoreBatch>> out;
  std::map<std::string, std::set<int64_t>> seen;
  for (const ChunkRef& chunk : chunks) {
    auto reader = source->OpenChunk(chunk);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) continue;
    EXPECT_TRUE((*reader)->Open(0).ok());
    int64_t expect_next = chunk.first_row;
    while (true) {
      store::StoreBatch batch;
      auto more = (*reader)->Next(batch_rows, &batch);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      EXPECT_EQ(batch.origin, chunk.file);
      EXPECT_LE(batch.size(), batch_rows);
      for (const store::RecordPosition& p : batch.positions) {
        EXPECT_EQ(p.record_index, expect_next) << chunk.Id();
        expect_next = p.record_index + 1;
        EXPECT_TRUE(seen[chunk.file].insert(p.record_index).second) << "row read twice";
      }
      EXPECT_EQ((*reader)->next_row(), expect_next);
      out[chunk.file].push_back(std::move(batch));
    }
    EXPECT_EQ(expect_next, chunk.first_row + chunk.row_count) << chunk.Id();
  }
  return out;
}

TEST_F(ParquetSourceTest, EveryTypeAndCompressionMatchesDuckDbCellByCell) {
  const std::vector<std::string> compressions = {"snappy", "zstd", "gzip", "uncompressed"};
  for (const std::string& c : compressions) Write((dir_ / (c + ".parquet")).string(), c);

  // One chunk per row group, to read each on its own.
  auto source = OpenChunkedSource(ParquetSpec(), dir_.string(), {.parquet_chunk_rows = 1});
  ASSERT_TRUE(source.ok()) << source.status().ToString();

  // Describe: our type for every column.
  auto described = (*source)->Describe();
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_EQ(described->size(), std::size(kCases) + 1);
  EXPECT_EQ((*described)[0], std::make_pair(std::string("i"), ValueType::kInt64));
  for (size_t k = 0; k < std::size(kCases); ++k) {
    EXPECT_EQ((*described)[k + 1].first, kCases[k].name);
    EXPECT_EQ((*described)[k + 1].second, kCases[k].type) << kCases[k].name;
  }

  // Chunks: one per row group, contiguous, covering each file once.
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  for (const std::string& c : compressions) {
    const std::string file = (dir_ / (c + ".parquet")).string();
    auto groups = session_->QueryText(
        "SELECT count(DISTINCT row_group_id) FROM parquet_metadata(" + SqlLiteral(file) + ")",
        "test");
    ASSERT_TRUE(groups.ok());
    int64_t next = 0;
    int n = 0;
    for (const ChunkRef& chunk : *chunks) {
      if (chunk.file != file) continue;
      EXPECT_EQ(chunk.first_row, next);
      next += chunk.row_count;
      ++n;
    }
    EXPECT_EQ(next, kRows) << file;
    EXPECT_EQ(std::to_string(n), *(*groups)[0][0]) << file;
    EXPECT_GE(n, 3) << "want several row groups in " << file;
  }
  // Files in sorted order.
  for (size_t i = 1; i < chunks->size(); ++i) {
    EXPECT_LE((*chunks)[i - 1].file, (*chunks)[i].file);
  }

  const auto batches = ReadAll(source->get(), *chunks, 1000);
  ASSERT_EQ(batches.size(), compressions.size());

  for (const auto& [file, file_batches] : batches) {
    std::string select = "CAST(i AS VARCHAR)";
    for (const TypeCase& c : kCases) {
      select +=
          ", " + Substitute(c.expect != nullptr ? c.expect : kDecimalText, SqlIdentifier(c.name));
    }
    auto expected = session_->QueryText("SELECT file_row_number, " + select +
                                            " FROM read_parquet(" + SqlLiteral(file) +
                                            ", file_row_number = true) ORDER BY file_row_number",
                                        "expected values");
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    ASSERT_EQ(expected->size(), static_cast<size_t>(kRows));

    int64_t compared = 0;
    for (const store::StoreBatch& batch : file_batches) {
      ASSERT_EQ(batch.rows.columns.size(), std::size(kCases) + 1);
      for (size_t r = 0; r < batch.size(); ++r) {
        const int64_t ordinal = batch.positions[r].record_index;
        const auto& want = (*expected)[ordinal];
        ASSERT_EQ(*want[0], std::to_string(ordinal));
        EXPECT_EQ(std::to_string(batch.rows.columns[0].IntAt(r)), *want[1]);
        for (size_t k = 0; k < std::size(kCases); ++k) {
          const Column& col = batch.rows.columns[k + 1];
          const std::optional<std::string>& w = want[k + 2];
          const std::string where = file + " row " + std::to_string(ordinal) + " " + kCases[k].name;
          ASSERT_EQ(col.IsNull(r), !w.has_value()) << where;
          if (!w) continue;
          switch (kCases[k].render) {
            case Render::kInt:
              EXPECT_EQ(std::to_string(col.IntAt(r)), *w) << where;
              break;
            case Render::kText:
              EXPECT_EQ(std::string(col.BytesAt(r)), *w) << where;
              break;
            case Render::kBool:
              EXPECT_EQ(col.BoolAt(r) ? "true" : "false", *w) << where;
              break;
            case Render::kUuid:
              EXPECT_EQ(Hex(col.BytesAt(r), true), *w) << where;
              break;
            case Render::kHex:
              EXPECT_EQ(Hex(col.BytesAt(r), false), *w) << where;
              break;
            case Render::kDouble: {
              const double want_value = std::strtod(w->c_str(), nullptr);
              const double got = col.FloatAt(r);
              if (std::isnan(want_value)) {
                EXPECT_TRUE(std::isnan(got)) << where;
              } else {
                EXPECT_EQ(std::signbit(got), std::signbit(want_value)) << where;
                EXPECT_EQ(got, want_value) << where << " DuckDB says " << *w;
              }
              break;
            }
          }
        }
        ++compared;
      }
    }
    EXPECT_EQ(compared, kRows) << file;
  }
}

TEST_F(ParquetSourceTest, ResumesInsideAChunkAndRefusesAForeignFile) {
  const std::string file = (dir_ / "one.parquet").string();
  Write(file, "snappy");
  auto source = OpenChunkedSource(ParquetSpec(), file, {.parquet_chunk_rows = 1});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok());
  ASSERT_GE(chunks->size(), 2u);
  const ChunkRef chunk = (*chunks)[1];
  auto reader = (*source)->OpenChunk(chunk);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->Open(chunk.first_row + 100).ok());
  store::StoreBatch batch;
  auto more = (*reader)->Next(1000000, &batch);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  ASSERT_TRUE(*more);
  ASSERT_EQ(batch.size(), static_cast<size_t>(chunk.row_count - 100));
  // Column i holds the row ordinal by construction.
  EXPECT_EQ(batch.rows.columns[0].IntAt(0), chunk.first_row + 100);
  EXPECT_EQ(batch.positions.back().record_index, chunk.first_row + chunk.row_count - 1);
  EXPECT_EQ(batch.positions[0].line, -1);
  more = (*reader)->Next(10, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);

  ChunkRef foreign{"/nonexistent.parquet", 0, 10};
  EXPECT_FALSE((*source)->OpenChunk(foreign).ok());
}

TEST_F(ParquetSourceTest, FilesWithDifferentColumnsReadAsTheirUnion) {
  ASSERT_TRUE(session_
                  ->Execute("COPY (SELECT i::INTEGER AS id, 'a' || i AS x FROM range(5) t(i)) TO " +
                                SqlLiteral((dir_ / "a.parquet").string()) + " (FORMAT parquet);" +
                                "COPY (SELECT i::BIGINT AS id, i * 0.5 AS y FROM range(3) t(i)) "
                                "TO " +
                                SqlLiteral((dir_ / "b.parquet").string()) + " (FORMAT parquet)",
                            "writing")
                  .ok());
  auto source = OpenChunkedSource(ParquetSpec(), (dir_ / "*.parquet").string());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto described = (*source)->Describe();
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  const std::vector<std::pair<std::string, ValueType>> want = {
      {"id", ValueType::kInt64}, {"x", ValueType::kText}, {"y", ValueType::kNumeric}};
  EXPECT_EQ(*described, want);
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok());
  const auto batches = ReadAll(source->get(), *chunks, 100);
  const store::StoreBatch& b = batches.at((dir_ / "b.parquet").string()).at(0);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_TRUE(b.rows.columns[1].IsNull(2));        // b has no x
  EXPECT_EQ(b.rows.columns[2].BytesAt(2), "1.0");  // 2 * 0.5 as DECIMAL(p,1)
  const store::StoreBatch& a = batches.at((dir_ / "a.parquet").string()).at(0);
  EXPECT_EQ(a.rows.columns[1].BytesAt(4), "a4");
  EXPECT_TRUE(a.rows.columns[2].IsNull(4));  // a has no y
}

// Keys x, y and z repeated over a.parquet and b.parquet; v orders them.
void WriteRepeatedKeys(DuckSession* session, const fs::path& dir) {
  ASSERT_TRUE(session
                  ->Execute("COPY (SELECT * FROM (VALUES ('x', 1, 'a0'), ('x', 2, 'a1'), "
                            "('y', 5, 'a2'), ('z', NULL, 'a3'), ('z', 0, 'a4')) t(k, v, tag)) TO " +
                                SqlLiteral((dir / "a.parquet").string()) + " (FORMAT parquet);" +
                                "COPY (SELECT * FROM (VALUES ('x', 2, 'b0'), ('y', 5, 'b1'), "
                                "('y', 5, 'b2')) t(k, v, tag)) TO " +
                                SqlLiteral((dir / "b.parquet").string()) + " (FORMAT parquet)",
                            "writing")
                  .ok());
}

TEST_F(ParquetSourceTest, ChunksSkipTheSupersededRowsWhenAsked) {
  WriteRepeatedKeys(session_.get(), dir_);
  auto source = OpenChunkedSource(ParquetSpec(), (dir_ / "*.parquet").string());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  store::StoreBatch batch;
  // The chunks of a source told to skip superseded rows hold, per key, the
  // row with the greatest v (ties: the later file, then the later row), and
  // every row whose v is NULL.
  ASSERT_TRUE((*source)->SkipSupersededRows({"k"}, {"v"}).ok());
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(chunks->size(), 2u);
  std::set<std::string> tags;
  for (const ChunkRef& chunk : *chunks) {
    auto superseded = (*source)->SupersededRows(chunk);
    ASSERT_TRUE(superseded.ok()) << superseded.status().ToString();
    // a.parquet: a0..a2 lose to b0, b2 and a4 (a3, whose v is NULL, is not
    // ranked); b.parquet: b1 loses to b2.
    EXPECT_EQ(*superseded, chunk.file == (dir_ / "a.parquet").string() ? 3 : 1) << chunk.Id();
    auto chunk_reader = (*source)->OpenChunk(chunk);
    ASSERT_TRUE(chunk_reader.ok());
    ASSERT_TRUE((*chunk_reader)->Open(0).ok());
    for (;;) {
      auto more = (*chunk_reader)->Next(100, &batch);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      for (size_t r = 0; r < batch.size(); ++r) tags.emplace(batch.rows.columns[2].BytesAt(r));
    }
  }
  EXPECT_EQ(tags, (std::set<std::string>{"a3", "a4", "b0", "b2"}));
}

// Every row read after HashKeys carries its key's hash; the hashes of keys
// found in more than one row, across files, are the ones returned. Column v
// is INTEGER in a.parquet and b.parquet but BIGINT in c.parquet: a file's
// values are hashed as the union's type, or 1 would not match across files.
TEST_F(ParquetSourceTest, HashKeysMarksTheRowsOfRepeatedKeys) {
  WriteRepeatedKeys(session_.get(), dir_);
  ASSERT_TRUE(session_
                  ->Execute("COPY (SELECT 'w' AS k, 1::BIGINT AS v, 'c0' AS tag) TO " +
                                SqlLiteral((dir_ / "c.parquet").string()) + " (FORMAT parquet)",
                            "writing")
                  .ok());
  for (const std::string key : {"k", "v"}) {
    auto source = OpenChunkedSource(ParquetSpec(), (dir_ / "*.parquet").string());
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    EXPECT_EQ((*source)->HashKeys({"nope"}).status().code(), StatusCode::kInvalidArgument);
    auto repeated = (*source)->HashKeys({key});
    ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
    // k: x, y and z repeat, w does not. v: 1 (a0, c0), 2 (a1, b0) and 5
    // (a2, b1, b2) repeat; NULL (a3) and 0 (a4) do not.
    EXPECT_EQ(repeated->size(), 3u) << key;
    const std::set<std::string> want_repeated =
        key == "k" ? std::set<std::string>{"a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2"}
                   : std::set<std::string>{"a0", "a1", "a2", "b0", "b1", "b2", "c0"};
    std::set<std::string> got_repeated;
    std::map<std::string, int64_t> hash_of_key;
    auto chunks = (*source)->PlanChunks();
    ASSERT_TRUE(chunks.ok());
    store::StoreBatch batch;
    for (const ChunkRef& chunk : *chunks) {
      auto reader = (*source)->OpenChunk(chunk);
      ASSERT_TRUE(reader.ok());
      ASSERT_TRUE((*reader)->Open(0).ok());
      for (;;) {
        auto more = (*reader)->Next(100, &batch);
        ASSERT_TRUE(more.ok()) << more.status().ToString();
        if (!*more) break;
        const int at = batch.rows.IndexOf(kKeyHashColumn);
        ASSERT_EQ(at, static_cast<int>(batch.rows.columns.size()) - 1);
        const int key_at = batch.rows.IndexOf(key);
        for (size_t r = 0; r < batch.size(); ++r) {
          const int64_t h = batch.rows.columns[at].IntAt(r);
          const std::string tag(batch.rows.columns[2].BytesAt(r));
          const std::string value = batch.rows.columns[key_at].IsNull(r) ? "NULL"
                                    : key == "k"
                                        ? std::string(batch.rows.columns[key_at].BytesAt(r))
                                        : std::to_string(batch.rows.columns[key_at].IntAt(r));
          auto [it, first] = hash_of_key.emplace(value, h);
          EXPECT_EQ(it->second, h) << "key " << value << " hashed two ways";
          if (std::binary_search(repeated->begin(), repeated->end(), h)) got_repeated.insert(tag);
        }
      }
    }
    EXPECT_EQ(got_repeated, want_repeated) << key;
  }
}

// Small row groups are joined into chunks of at least parquet_chunk_rows, never
// split: every chunk but the last holds 5000 rows or more, and would hold
// fewer without its last row group.
TEST_F(ParquetSourceTest, SmallRowGroupsAreJoinedIntoChunks) {
  const std::string file = (dir_ / "small-groups.parquet").string();
  Write(file, "zstd");
  auto groups = session_->QueryText(
      "SELECT row_group_id, any_value(row_group_num_rows) FROM "
      "parquet_metadata(" +
          SqlLiteral(file) + ") GROUP BY ALL ORDER BY 1",
      "row groups");
  ASSERT_TRUE(groups.ok());
  std::map<int64_t, int64_t> group_at;  // first row -> rows, per row group
  int64_t start = 0;
  for (const auto& g : *groups) {
    const int64_t n = std::stoll(*g[1]);
    group_at[start] = n;
    start += n;
  }
  ASSERT_GE(group_at.size(), 4u) << "want small row groups";
  auto source = OpenChunkedSource(ParquetSpec(), file, {.parquet_chunk_rows = 5000});
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok());
  ASSERT_GE(chunks->size(), 2u);
  int64_t next = 0;
  for (size_t i = 0; i < chunks->size(); ++i) {
    const ChunkRef& c = (*chunks)[i];
    EXPECT_EQ(c.first_row, next);
    const int64_t end = c.first_row + c.row_count;
    ASSERT_TRUE(group_at.contains(c.first_row)) << c.Id() << " starts inside a row group";
    EXPECT_TRUE(end == start || group_at.contains(end)) << c.Id() << " ends inside a row group";
    if (i + 1 < chunks->size()) {
      EXPECT_GE(c.row_count, 5000) << c.Id();
      const int64_t last_group = std::prev(group_at.lower_bound(end))->second;
      EXPECT_LT(c.row_count - last_group, 5000) << c.Id() << " is larger than it needs to be";
    }
    next = end;
  }
  EXPECT_EQ(next, kRows);
  const auto batches = ReadAll(source->get(), *chunks, 1000);
  int64_t rows = 0;
  for (const auto& b : batches.at(file)) rows += static_cast<int64_t>(b.size());
  EXPECT_EQ(rows, kRows);
}

TEST_F(ParquetSourceTest, MissingPathIsNotFound) {
  auto source = OpenChunkedSource(ParquetSpec(), (dir_ / "nothing-*.parquet").string());
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), StatusCode::kNotFound);
  EXPECT_NE(source.status().message().find("source 'prices'"), std::string::npos)
      << source.status().message();
}

TEST_F(ParquetSourceTest, ProfileCountsNullsDistinctsAndExtremes) {
  const std::string file = (dir_ / "p.parquet").string();
  ASSERT_TRUE(session_
                  ->Execute("COPY (SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 10 END "
                            "AS v, 'n' || (i % 3) AS s FROM range(100) t(i)) TO " +
                                SqlLiteral(file) + " (FORMAT parquet)",
                            "writing")
                  .ok());
  auto source = OpenChunkedSource(ParquetSpec(), file);
  ASSERT_TRUE(source.ok());
  store::ProfileOptions options;
  options.sample_rows = 3;
  auto profile = (*source)->Profile(options);
  ASSERT_TRUE(profile.ok()) << profile.status().ToString();
  EXPECT_EQ(profile->row_count, 100);
  ASSERT_EQ(profile->files, std::vector<std::string>{file});
  EXPECT_EQ(profile->file_rows, std::vector<int64_t>{100});
  ASSERT_EQ(profile->columns.size(), 3u);
  EXPECT_EQ(profile->columns[0].null_count, 0);
  EXPECT_EQ(profile->columns[0].min, "0");
  EXPECT_EQ(profile->columns[0].max, "99");
  EXPECT_EQ(profile->columns[0].postgres_type, "bigint");
  EXPECT_EQ(profile->columns[1].null_count, 25);
  EXPECT_NEAR(profile->columns[1].distinct_estimate, 10, 1);  // i % 10 takes all ten values
  EXPECT_EQ(profile->columns[2].distinct_estimate, 3);
  EXPECT_EQ(profile->columns[2].native_type, "VARCHAR");
  ASSERT_EQ(profile->sample.size(), 3u);
  EXPECT_EQ(profile->sample[1][2], "n1");
  EXPECT_FALSE(profile->sample[0][1].has_value());
}

// Not a benchmark, a guard: reading the last row group must not cost a scan
// of the whole file (DuckDB prunes row groups on file_row_number).
TEST_F(ParquetSourceTest, ReadingOneRowGroupDoesNotScanTheFile) {
  const std::string file = (dir_ / "big.parquet").string();
  ASSERT_TRUE(session_
                  ->Execute("COPY (SELECT i, md5(i::VARCHAR) AS s, i * 0.5 AS d FROM "
                            "range(2000000) t(i)) TO " +
                                SqlLiteral(file) + " (FORMAT parquet, ROW_GROUP_SIZE 100000)",
                            "writing")
                  .ok());
  auto source = OpenChunkedSource(ParquetSpec(), file);
  ASSERT_TRUE(source.ok());
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok());
  ASSERT_GE(chunks->size(), 10u);
  auto time_chunk = [&](const ChunkRef& chunk) {
    const auto start = std::chrono::steady_clock::now();
    auto reader = (*source)->OpenChunk(chunk);
    EXPECT_TRUE(reader.ok());
    EXPECT_TRUE((*reader)->Open(0).ok());
    store::StoreBatch batch;
    int64_t rows = 0;
    while (true) {
      auto more = (*reader)->Next(10000, &batch);
      if (!more.ok() || !*more) break;
      rows += static_cast<int64_t>(batch.size());
    }
    EXPECT_EQ(rows, chunk.row_count);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  double whole = 0;
  for (const ChunkRef& chunk : *chunks) whole += time_chunk(chunk);
  const double last = time_chunk(chunks->back());
  // A rescan per chunk would make the last chunk cost about the whole file.
  EXPECT_LT(last, whole / 3) << "last chunk " << last << "s, all chunks " << whole << "s";
  std::printf(
      "parquet chunk scan: %zu chunks, 2,000,000 rows in %.3fs (%.0f rows/s); last "
      "chunk alone %.3fs\n",
      chunks->size(), whole, 2000000 / whole, last);
}

}  // namespace
}  // namespace cutover::duckdb_store
