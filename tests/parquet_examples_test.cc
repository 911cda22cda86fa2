// The Parquet examples end to end: each rehearses verify-clean on a scratch
// PostgreSQL with PostGIS, and their geometry lands as PostGIS reads it.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;

// The example's spec and generated data in a fresh folder; the spec path.
std::string Generate(const std::string& example, int rows) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  CommandResult gen =
      RunCommand({DuckdbSqlTool(), SourceDir() + "/examples/" + example + "/generate.sql", "--set",
                  "ROWS=" + std::to_string(rows), "--set", "OUT=" + dir + "/data"});
  EXPECT_EQ(gen.exit_code, 0) << Describe(gen);
  fs::copy_file(SourceDir() + "/examples/" + example + "/cutover.yaml", dir + "/cutover.yaml");
  return dir + "/cutover.yaml";
}

void Backfill(const std::string& spec, const std::string& url) {
  CommandResult r =
      RunCommand({CutoverBinary(), "backfill", spec, "--create-tables"}, {{"DATABASE_URL", url}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

// The source and PostgreSQL row counts the rehearsal's verify printed for
// `entity` (the first two numbers of its line of the report), or "".
std::string ReportedCounts(const std::string& out, const std::string& entity) {
  const size_t report = out.find("== verify");
  if (report == std::string::npos) return "";
  std::istringstream lines(out.substr(report));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name, source, postgres;
    if (words >> name >> source >> postgres && name == entity) return source + " " + postgres;
  }
  return "";
}

// One number from DuckDB SQL over the example's generated files.
std::string DuckCount(const std::string& spec, const std::string& sql_with_dir) {
  std::string sql = sql_with_dir;
  const std::string dir = fs::path(spec).parent_path().string() + "/data/";
  for (size_t at; (at = sql.find("DATA/")) != std::string::npos;) sql.replace(at, 5, dir);
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// `expected`: per entity, DuckDB SQL counting the rows it must hold (DATA/
// is the generated data folder). The rehearsal's own verify is not the only
// oracle: the counts it reports for both sides must be DuckDB's.
void ExpectRehearsalPasses(const std::string& example,
                           const std::vector<std::pair<std::string, std::string>>& expected) {
  const std::string spec = Generate(example, 6000);
  CommandResult r = RunCommand({CutoverBinary(), "rehearse", spec}, {{"DATABASE_URL", ""}});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("0 differences"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rehearsal passed"), std::string::npos) << r.out;
  for (const auto& [entity, sql] : expected) {
    const std::string n = DuckCount(spec, sql);
    EXPECT_EQ(ReportedCounts(r.out, entity), n + " " + n) << entity << "\n" << r.out;
  }
}

TEST(ParquetExamplesTest, AgriprofitRehearsesVerifyClean) {
  ExpectRehearsalPasses(
      "agriprofit",
      {{"price_history",
        "SELECT count(*) FROM (SELECT DISTINCT commodity, market, arrival_date FROM "
        "read_parquet('DATA/*.parquet'))"},
       {"commodities", "SELECT count(DISTINCT commodity) FROM read_parquet('DATA/*.parquet')"},
       {"markets", "SELECT count(DISTINCT market) FROM read_parquet('DATA/*.parquet')"}});
}

// price_history repeats ~5% of its (commodity, market, date) keys in the
// source; verify reads them deduplicated as the backfill kept them, so equal
// stores match in pass 1, and a planted change is still named.
TEST(ParquetExamplesTest, AgriprofitVerifiesRepeatedKeysInOnePass) {
  const std::string spec = Generate("agriprofit", 6000);
  const std::string url = FreshDatabase();
  ASSERT_NO_FATAL_FAILURE(Backfill(spec, url));
  CommandResult clean = RunCommand({CutoverBinary(), "verify", spec}, {{"DATABASE_URL", url}});
  EXPECT_EQ(clean.exit_code, 0) << Describe(clean);
  EXPECT_EQ(clean.err.find("buckets differ"), std::string::npos) << Describe(clean);
  EXPECT_NE(clean.out.find("repeated keys in the source"), std::string::npos) << clean.out;

  const std::string key = QueryValue(
      url,
      "SELECT 'commodity_id=' || commodity_id || ',market_id=' || market_id || ',date=' || "
      "to_char(date, 'YYYY-MM-DD') FROM price_history ORDER BY commodity_id, market_id, date "
      "LIMIT 1");
  QueryValue(url,
             "WITH k AS (SELECT commodity_id, market_id, date FROM price_history ORDER BY "
             "commodity_id, market_id, date LIMIT 1) UPDATE price_history p SET modal_price = "
             "modal_price + 1 FROM k WHERE (p.commodity_id, p.market_id, p.date) = "
             "(k.commodity_id, k.market_id, k.date) RETURNING 1");
  CommandResult changed = RunCommand({CutoverBinary(), "verify", spec}, {{"DATABASE_URL", url}});
  EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
  // Only the planted change's bucket goes to pass 2 (and the log is read).
  EXPECT_NE(changed.err.find("price_history: 1 buckets differ"), std::string::npos)
      << Describe(changed);
  EXPECT_NE(changed.out.find("price_history changed: " + key), std::string::npos)
      << Describe(changed);
}

// Pass 2 reads PostgreSQL's rows of differing buckets by key when they are
// few; with every row changed it reads the table whole, and still names each.
TEST(ParquetExamplesTest, AgriprofitNamesEveryKeyWhenEveryRowChanged) {
  const std::string spec = Generate("agriprofit", 6000);
  const std::string url = FreshDatabase();
  ASSERT_NO_FATAL_FAILURE(Backfill(spec, url));
  const std::string rows =
      QueryValue(url,
                 "WITH u AS (UPDATE price_history SET modal_price = modal_price + 1 RETURNING 1) "
                 "SELECT count(*) FROM u");
  ASSERT_GT(std::stoi(rows), 4096);  // more keys than pass 2 lists in a query
  CommandResult changed =
      RunCommand({CutoverBinary(), "verify", spec, "--max-listed", "1"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
  EXPECT_NE(changed.out.find(std::to_string(std::stoi(rows) - 1) + " more differences not listed"),
            std::string::npos)
      << changed.out;
}

TEST(ParquetExamplesTest, TrafficSafetyRehearsesVerifyClean) {
  ExpectRehearsalPasses(
      "traffic-safety",
      {{"intersections",
        "SELECT count(DISTINCT intersection_id) FROM read_parquet('DATA/intersections.parquet')"},
       {"safety_indices_realtime",
        "SELECT count(*) FROM (SELECT DISTINCT intersection_id, timestamp FROM "
        "read_parquet('DATA/safety_indices.parquet'))"}});
}

TEST(ParquetExamplesTest, IntersectionsBecomePostgisPointsWithAGistIndex) {
  const std::string spec = Generate("traffic-safety", 1000);
  const std::string url = FreshDatabase();
  CommandResult r =
      RunCommand({CutoverBinary(), "backfill", spec, "--create-tables"}, {{"DATABASE_URL", url}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url,
                       "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = 'intersections'::regclass AND attname = 'geometry'"),
            "geometry(Point,4326)");
  // Every point is where DuckDB says its lon/lat are, to the bit.
  const std::string files = fs::path(spec).parent_path().string() + "/data/intersections.parquet";
  CommandResult expected =
      RunCommand({DuckdbSqlTool(), "-c",
                  "SELECT string_agg(CAST(intersection_id AS VARCHAR) || ':' || CAST(lon AS "
                  "VARCHAR) || ',' || "
                  "CAST(lat AS VARCHAR), ';' ORDER BY intersection_id) FROM read_parquet('" +
                      files + "')"});
  ASSERT_EQ(expected.exit_code, 0) << Describe(expected);
  std::string want = expected.out;
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(id || ':' || ST_X(geometry)::float8 || ',' || "
                       "ST_Y(geometry)::float8, ';' ORDER BY id) FROM intersections"),
            want);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM intersections WHERE ST_SRID(geometry) = 4326"),
            "50");
  EXPECT_EQ(QueryValue(url,
                       "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                       "WHERE c.relname = 'idx_intersections_geometry'"),
            "gist");
  // The spatial query of the runbook works on the migrated rows.
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) > 0 FROM intersections WHERE ST_DWithin(geometry, "
                       "ST_SetSRID(ST_MakePoint(-80.4139, 37.2296), 4326), 1)"),
            "t");
}

}  // namespace
}  // namespace cutover::testing
