// Parquet sources whose rows or files could make cutover store a wrong row
// silently: rejects among lookups, files whose columns drifted, NULL keys.
#include <algorithm>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;

std::string DuckValue(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// The stock agriprofit example with every 1000th row of prices_1.parquet
// given a NULL modal_price (required, so rejected).
std::string AgriprofitWithRejects(int rows) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  CommandResult gen =
      RunCommand({DuckdbSqlTool(), SourceDir() + "/examples/agriprofit/generate.sql", "--set",
                  "ROWS=" + std::to_string(rows), "--set", "OUT=" + dir + "/data"});
  EXPECT_EQ(gen.exit_code, 0) << Describe(gen);
  const std::string p1 = dir + "/data/prices_1.parquet";
  DuckValue(
      "COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () % 1000 = 14 THEN NULL ELSE "
      "modal_price END AS modal_price) FROM read_parquet('" +
      p1 + "')) TO '" + dir + "/p1.parquet' (FORMAT parquet, ROW_GROUP_SIZE 5000)");
  fs::rename(dir + "/p1.parquet", p1);
  fs::copy_file(SourceDir() + "/examples/agriprofit/cutover.yaml", dir + "/cutover.yaml");
  return dir;
}

// The rows PostgreSQL must hold, by DuckDB SQL over the files (never by
// cutover): rows with a modal_price, the latest update per key, names as
// text; one line per row, sorted.
std::string ExpectedPrices(const std::string& dir) {
  return DuckValue(
      "SELECT string_agg(commodity || '|' || market || '|' || arrival_date || '|' || "
      "CAST(modal_price AS DECIMAL(10, 2)), ';' ORDER BY commodity, market, arrival_date) FROM "
      "(SELECT *, row_number() "
      "OVER (PARTITION BY commodity, market, arrival_date ORDER BY updated_at DESC) AS rk FROM "
      "read_parquet('" +
      dir + "/data/*.parquet') WHERE modal_price IS NOT NULL) WHERE rk = 1");
}

std::string StoredPrices(const std::string& url) {
  return QueryValue(url,
                    "SELECT string_agg(c.name || '|' || m.name || '|' || p.date || '|' || "
                    "p.modal_price::numeric(10, 2), ';' ORDER BY c.name COLLATE \"C\", m.name "
                    "COLLATE \"C\", "
                    "p.date) FROM price_history p JOIN commodities c ON c.id = p.commodity_id "
                    "JOIN markets m ON m.id = p.market_id");
}

// Issue: every row after a rejected one in a batch took its neighbour's
// lookup id (a recycled batch's id column took the names), exit 0.
TEST(ColumnarTrustTest, RejectsAmongLookupsLeaveEveryOtherRowExact) {
  const std::string dir = AgriprofitWithRejects(20000);
  const std::string url = FreshDatabase();
  CommandResult backfill = RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml",
                                       "--create-tables", "--max-rejects", "-1"},
                                      {{"DATABASE_URL", url}});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.rejects"), "20");
  const std::string expected = ExpectedPrices(dir);
  ASSERT_FALSE(expected.empty());
  const std::string stored = StoredPrices(url);
  const size_t at =
      std::mismatch(stored.begin(), stored.end(), expected.begin(), expected.end()).first -
      stored.begin();
  EXPECT_TRUE(stored == expected) << "stored rows differ from DuckDB's at byte " << at << ": "
                                  << stored.substr(at, 80) << " vs " << expected.substr(at, 80);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM price_history"), "19980");

  CommandResult clean =
      RunCommand({CutoverBinary(), "verify", dir + "/cutover.yaml"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(clean.exit_code, 0) << Describe(clean);
  EXPECT_NE(clean.out.find("0 differences"), std::string::npos) << clean.out;

  // One planted difference is named, and nothing else.
  const std::string key = QueryValue(
      url,
      "UPDATE price_history SET modal_price = modal_price + 1 WHERE (commodity_id, market_id, "
      "date) = (SELECT commodity_id, market_id, date FROM price_history ORDER BY 1, 2, 3 OFFSET "
      "777 LIMIT 1) RETURNING 'commodity_id=' || commodity_id || ',market_id=' || market_id || "
      "',date=' || to_char(date, 'YYYY-MM-DD')");
  CommandResult changed =
      RunCommand({CutoverBinary(), "verify", dir + "/cutover.yaml"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
  EXPECT_NE(changed.out.find("price_history changed: " + key + "\n"), std::string::npos)
      << changed.out;
  EXPECT_NE(changed.out.find("1 differences"), std::string::npos) << changed.out;
}

// A glob's file that lacks a column the spec reads is an error naming the
// file and the column (before: NULLs loaded, exit 0, verify clean), unless
// the source says on_missing_column: null.
TEST(ColumnarTrustTest, AFileLackingAMappedColumnIsNamed) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  DuckValue("COPY (SELECT i AS id, 'n' || i AS name, i * 2 AS score FROM range(5) t(i)) TO '" +
            dir + "/data/a.parquet' (FORMAT parquet)");
  DuckValue("COPY (SELECT i AS id, 'n' || i AS name FROM range(5, 9) t(i)) TO '" + dir +
            "/data/b.parquet' (FORMAT parquet)");
  const std::string spec_head =
      "migration: drift\n"
      "target: { url: \"${DATABASE_URL}\" }\n"
      "sources:\n"
      "  files: { type: parquet, path: data/";
  const std::string spec_tail =
      " }\n"
      "entities:\n"
      "  people:\n"
      "    source: { from: files, file: \"*.parquet\" }\n"
      "    key: [id]\n"
      "    columns:\n"
      "      id:    { type: bigint }\n"
      "      name:  { type: text }\n"
      "      score: { type: bigint }\n";
  WriteFile(dir + "/strict.yaml", spec_head + spec_tail);
  WriteFile(dir + "/lenient.yaml", spec_head + ", on_missing_column: null" + spec_tail);
  const std::string url = FreshDatabase();
  CommandResult backfill =
      RunCommand({CutoverBinary(), "backfill", dir + "/strict.yaml", "--create-tables"},
                 {{"DATABASE_URL", url}});
  CommandResult verify =
      RunCommand({CutoverBinary(), "verify", dir + "/strict.yaml"}, {{"DATABASE_URL", url}});
  for (const CommandResult* r : {&backfill, &verify}) {
    EXPECT_EQ(r->exit_code, 2) << Describe(*r);
    EXPECT_NE(r->err.find("b.parquet lacks score"), std::string::npos) << Describe(*r);
    EXPECT_NE(r->err.find("on_missing_column"), std::string::npos) << Describe(*r);
  }
  EXPECT_EQ(QueryValue(url,
                       "SELECT to_regclass('people') IS NULL OR (SELECT count(*) = 0 FROM "
                       "people)"),
            "t");
  // inspect shows the difference file by file.
  CommandResult inspect =
      RunCommand({CutoverBinary(), "inspect", dir + "/strict.yaml"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(inspect.exit_code, 0) << Describe(inspect);
  EXPECT_NE(inspect.out.find("files differ in their columns"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("b.parquet lacks score\n"), std::string::npos) << inspect.out;
  CommandResult lenient =
      RunCommand({CutoverBinary(), "backfill", dir + "/lenient.yaml", "--create-tables"},
                 {{"DATABASE_URL", url}});
  ASSERT_EQ(lenient.exit_code, 0) << Describe(lenient);
  EXPECT_NE(lenient.err.find("b.parquet lacks score"), std::string::npos) << Describe(lenient);
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FILTER (WHERE score IS NULL) || '/' || count(*) "
                       "FROM people"),
            "4/9");
}

// Rows whose key is NULL are each a reject with its reason; before, all but
// one were counted as superseded (migrated) and stored nowhere.
TEST(ColumnarTrustTest, EveryNullKeyRowIsARejectWithItsReason) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  DuckValue(
      "COPY (SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE i END AS id, 'n' || i AS name "
      "FROM range(40) t(i)) TO '" +
      dir + "/data/a.parquet' (FORMAT parquet, ROW_GROUP_SIZE 7)");
  WriteFile(dir + "/cutover.yaml",
            "migration: nullkeys\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources:\n"
            "  files: { type: parquet, path: data/ }\n"
            "entities:\n"
            "  people:\n"
            "    source: { from: files, file: a.parquet }\n"
            "    key: [id]\n"
            "    columns:\n"
            "      id:   { type: bigint }\n"
            "      name: { type: text }\n");
  const std::string url = FreshDatabase();
  CommandResult r = RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml",
                                "--create-tables", "--max-rejects", "-1"},
                               {{"DATABASE_URL", url}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM people"), "30");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) || ' ' || min(reason) || ' ' || max(reason) FROM "
                       "cutover.rejects"),
            "10 missing required value 'id' missing required value 'id'");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(record_index::text, ',' ORDER BY record_index) "
                       "FROM cutover.rejects"),
            "0,4,8,12,16,20,24,28,32,36");
}

}  // namespace
}  // namespace cutover::testing
