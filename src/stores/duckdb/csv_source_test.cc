// CsvSource: dialects and encodings from the spec, row-range chunks that cover
// a file exactly once, and line numbers; expectations written by hand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stores/duckdb/chunked_source.h"
#include "stores/duckdb/duckdb_chunk_reader.h"
#include "stores/duckdb/open_chunked_source.h"

namespace cutover::duckdb_store {
namespace {

namespace fs = std::filesystem;

class CsvSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cutover_csv_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string WriteFile(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  fs::path dir_;
};

// Every row of every chunk, in chunk order; checks that the chunks tile the
// file and that ordinals run without a gap.
std::vector<store::StoreBatch> ReadChunks(ChunkedSource* source,
                                          const std::vector<ChunkRef>& chunks) {
  std::vector<store::StoreBatch> out;
  int64_t next = 0;
  for (const ChunkRef& chunk : chunks) {
    EXPECT_EQ(chunk.first_row, next) << chunk.Id();
    auto reader = source->OpenChunk(chunk);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    if (!reader.ok()) return out;
    EXPECT_TRUE((*reader)->Open(0).ok());
    while (true) {
      store::StoreBatch batch;
      auto more = (*reader)->Next(1000, &batch);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      for (const store::RecordPosition& p : batch.positions) EXPECT_EQ(p.record_index, next++);
      out.push_back(std::move(batch));
    }
    EXPECT_EQ(next, chunk.first_row + chunk.row_count) << chunk.Id();
  }
  return out;
}

TEST_F(CsvSourceTest, Latin1WithSemicolonsQuotesAndNullStringInSmallChunks) {
  // 0xE9 is 'é' in Latin-1.
  const std::string file = WriteFile("markets.csv",
                                     "id;name;price;day\n"
                                     "1;'caf\xe9';1.50;2024-01-02\n"
                                     "2;NA;NA;NA\n"
                                     "3;'a;b';-3.25;1999-12-31\n"
                                     "4;'it''s';0;2000-01-01\n"
                                     "5;plain;10;2024-02-29\n");
  spec::SourceSpec spec;
  spec.name = "markets";
  spec.type = "csv";
  spec.csv.delimiter = ";";
  spec.csv.quote = "'";
  spec.csv.escape = "'";
  spec.csv.encoding = "latin-1";
  spec.csv.null_string = "NA";
  ChunkedSourceOptions options;
  options.csv_chunk_rows = 2;
  auto source = OpenChunkedSource(spec, dir_.string(), options);
  ASSERT_TRUE(source.ok()) << source.status().ToString();

  auto described = (*source)->Describe();
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  const std::vector<std::pair<std::string, ValueType>> want_columns = {
      {"id", ValueType::kInt64},
      {"name", ValueType::kText},
      {"price", ValueType::kFloat64},
      {"day", ValueType::kDate}};
  EXPECT_EQ(*described, want_columns);

  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_EQ(chunks->size(), 3u);
  EXPECT_EQ((*chunks)[2].Id(), file + "#4+1");

  const std::vector<store::StoreBatch> batches = ReadChunks(source->get(), *chunks);
  struct Row {
    int64_t id;
    const char* name;  // null: NULL
    double price;
    bool price_null;
    int64_t day;  // days since 2000-01-01, counted by hand
    bool day_null;
  };
  const Row want[] = {
      {1, "caf\xc3\xa9", 1.5, false, 8767, false},  // 24 years with 6 leap days, + 1
      {2, nullptr, 0, true, 0, true},
      {3, "a;b", -3.25, false, -1, false},
      {4, "it's", 0.0, false, 0, false},
      {5, "plain", 10.0, false, 8825, false},  // 8766 + 31 + 28
  };
  size_t row = 0;
  for (const store::StoreBatch& b : batches) {
    EXPECT_EQ(b.origin, file);
    for (size_t r = 0; r < b.size(); ++r, ++row) {
      ASSERT_LT(row, std::size(want));
      const Row& w = want[row];
      EXPECT_EQ(b.positions[r].line, static_cast<int64_t>(row) + 2) << "header is line 1";
      EXPECT_EQ(b.rows.columns[0].IntAt(r), w.id);
      EXPECT_EQ(b.rows.columns[1].IsNull(r), w.name == nullptr);
      if (w.name != nullptr) {
        EXPECT_EQ(b.rows.columns[1].BytesAt(r), w.name);
      }
      EXPECT_EQ(b.rows.columns[2].IsNull(r), w.price_null);
      if (!w.price_null) {
        EXPECT_EQ(b.rows.columns[2].FloatAt(r), w.price);
      }
      EXPECT_EQ(b.rows.columns[3].IsNull(r), w.day_null);
      if (!w.day_null) {
        EXPECT_EQ(b.rows.columns[3].IntAt(r), w.day);
      }
    }
  }
  EXPECT_EQ(row, std::size(want));
}

TEST_F(CsvSourceTest, QuotedLineBreaksMakeLineNumbersUnknown) {
  WriteFile("notes.csv", "id,note\n1,\"two\nlines\"\n2,x\n");
  spec::SourceSpec spec;
  spec.name = "notes";
  spec.type = "csv";
  auto source = OpenChunkedSource(spec, (dir_ / "notes.csv").string());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  const std::vector<store::StoreBatch> batches = ReadChunks(source->get(), *chunks);
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].size(), 2u);
  EXPECT_EQ(batches[0].rows.columns[1].BytesAt(0), "two\nlines");
  EXPECT_EQ(batches[0].positions[0].line, -1);
  EXPECT_EQ(batches[0].positions[1].record_index, 1);
}

TEST_F(CsvSourceTest, ManyChunksKeepFileOrderAndCoverEveryRowOnce) {
  // No header, '|' delimiter: DuckDB names the columns column0, column1.
  std::string text;
  for (int i = 0; i < 1000; ++i) text += std::to_string(i * 3) + "|v" + std::to_string(i) + "\n";
  WriteFile("a.csv", text);
  WriteFile("b.csv", "7|w\n");
  WriteFile("ignored.txt", "not csv\n");
  spec::SourceSpec spec;
  spec.name = "numbers";
  spec.type = "csv";
  spec.csv.header = false;
  spec.csv.delimiter = "|";
  ChunkedSourceOptions options;
  options.csv_chunk_rows = 64;
  auto source = OpenChunkedSource(spec, dir_.string(), options);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto described = (*source)->Describe();
  ASSERT_TRUE(described.ok()) << described.status().ToString();
  ASSERT_EQ(described->size(), 2u);
  EXPECT_EQ((*described)[0].first, "column0");
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_EQ(chunks->size(), 16u + 1u);  // ceil(1000 / 64) + b.csv
  const std::vector<ChunkRef> a(chunks->begin(), chunks->end() - 1);
  const std::vector<store::StoreBatch> batches = ReadChunks(source->get(), a);
  int64_t seen = 0;
  for (const store::StoreBatch& b : batches) {
    for (size_t r = 0; r < b.size(); ++r, ++seen) {
      EXPECT_EQ(b.rows.columns[0].IntAt(r), seen * 3);
      EXPECT_EQ(b.rows.columns[1].BytesAt(r), "v" + std::to_string(seen));
      EXPECT_EQ(b.positions[r].line, seen + 1);  // no header
    }
  }
  EXPECT_EQ(seen, 1000);
  EXPECT_EQ(chunks->back().file, (dir_ / "b.csv").string());
}

TEST_F(CsvSourceTest, Utf16FileReadsAsText) {
  // "id,name\n1,Ω\n" in UTF-16LE with a byte order mark.
  const std::string utf16(
      "\xff\xfe"
      "i\0d\0,\0n\0a\0m\0e\0\n\0"
      "1\0,\0\xa9\x03\n\0",
      26);
  WriteFile("w.csv", utf16);
  spec::SourceSpec spec;
  spec.name = "wide";
  spec.type = "csv";
  spec.csv.encoding = "utf-16";
  auto source = OpenChunkedSource(spec, (dir_ / "w.csv").string());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto chunks = (*source)->PlanChunks();
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  const std::vector<store::StoreBatch> batches = ReadChunks(source->get(), *chunks);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].rows.names[1], "name");
  EXPECT_EQ(batches[0].rows.columns[1].BytesAt(0), "\xce\xa9");  // U+03A9 in UTF-8
  EXPECT_EQ(batches[0].positions[0].line, -1);
}

}  // namespace
}  // namespace cutover::duckdb_store
