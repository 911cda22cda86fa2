// Parallel chunked backfill of the agriprofit Parquet files: two processes
// sharing one run, killed at random points, resume to an exact result.
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;

// The agriprofit example generated into a temp folder, and what its files
// hold according to DuckDB (not cutover): distinct names, distinct keys, and
// a checksum of the row each key must keep (greatest updated_at).
struct Agri {
  std::string dir;
  std::string spec;
  std::string commodities;
  std::string markets;
  std::string keys;
  std::string rows;      // in the files, repeated keys included
  std::string checksum;  // md5 over the winners, ordered by names and date
};

std::string DuckValue(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// The winners of each (commodity, market, date), as one md5 of ordered text;
// the same expression runs over PostgreSQL's tables joined to the dimensions.
constexpr char kWinnerText[] =
    "commodity || '|' || market || '|' || CAST(date AS VARCHAR) || '|' || "
    "CAST(CAST(modal_price * 100 AS BIGINT) AS VARCHAR) || '|' || "
    "CAST(CAST(epoch(updated_at) AS BIGINT) AS VARCHAR)";

Agri MakeAgri(int rows, const std::string& file_glob = "prices_*.parquet") {
  Agri a;
  a.dir = TempDir();
  fs::create_directories(a.dir + "/data");
  CommandResult gen =
      RunCommand({DuckdbSqlTool(), SourceDir() + "/examples/agriprofit/generate.sql", "--set",
                  "ROWS=" + std::to_string(rows), "--set", "OUT=" + a.dir + "/data"});
  EXPECT_EQ(gen.exit_code, 0) << Describe(gen);
  std::ifstream in(SourceDir() + "/examples/agriprofit/cutover.yaml");
  std::string spec((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string from = "\"prices_*.parquet\"";
  spec.replace(spec.find(from), from.size(), "\"" + file_glob + "\"");
  // One chunk per 5000-row group, so that small files still make several.
  const std::string options = "backfill: { batch_size: 20000 }";
  spec.replace(spec.find(options), options.size(),
               "backfill: { batch_size: 20000, chunk_rows: 5000 }");
  a.spec = a.dir + "/cutover.yaml";
  WriteFile(a.spec, spec);
  const std::string files = "read_parquet('" + a.dir + "/data/*.parquet')";
  a.commodities = DuckValue("SELECT count(DISTINCT commodity) FROM " + files);
  a.markets = DuckValue("SELECT count(DISTINCT market) FROM " + files);
  a.keys = DuckValue("SELECT count(*) FROM (SELECT DISTINCT commodity, market, arrival_date FROM " +
                     files + ")");
  a.checksum = DuckValue(
      "SELECT md5(string_agg(" + std::string(kWinnerText) +
      ", ',' ORDER BY commodity, market, date)) FROM (SELECT commodity, market, arrival_date AS "
      "date, modal_price, updated_at, row_number() OVER (PARTITION BY commodity, market, "
      "arrival_date ORDER BY updated_at DESC) AS rn FROM " +
      files + ") WHERE rn = 1");
  EXPECT_EQ(a.checksum.size(), 32u);
  a.rows = DuckValue("SELECT count(*) FROM " + files);
  EXPECT_NE(a.keys, a.rows) << "the data set must hold repeated keys for dedup to be tested";
  return a;
}

// A run over the agriprofit files. Their keys never collide after mapping,
// so a run that had to remove repeated keys when building the key loaded
// some chunk twice: that would be a bug the final counts cannot show.
CommandResult Backfill(const Agri& a, const std::string& url, const std::string& failpoints = "",
                       const std::string& jobs = "2") {
  CommandResult r = RunCommand({CutoverBinary(), "backfill", a.spec, "--create-tables", "--jobs",
                                jobs, "--batch-size", "1000"},
                               {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", failpoints}});
  EXPECT_EQ((r.out + r.err).find("repeated a key after mapping"), std::string::npos) << Describe(r);
  return r;
}

// The target holds exactly what DuckDB says the files hold: each name once,
// each key once, and per key the row with the greatest updated_at.
void ExpectExact(const Agri& a, const std::string& url) {
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM commodities"), a.commodities);
  EXPECT_EQ(QueryValue(url, "SELECT count(DISTINCT name) FROM commodities"), a.commodities);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM markets"), a.markets);
  EXPECT_EQ(QueryValue(url, "SELECT count(DISTINCT name) FROM markets"), a.markets);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM price_history"), a.keys);
  std::string pg_text = kWinnerText;
  for (auto [from, to] :
       {std::pair<std::string, std::string>{"CAST(date AS VARCHAR)", "date::text"},
        {"epoch(updated_at)", "extract(epoch FROM updated_at)"},
        {"AS VARCHAR", "AS text"}}) {
    for (size_t at = pg_text.find(from); at != std::string::npos; at = pg_text.find(from)) {
      pg_text.replace(at, from.size(), to);
    }
  }
  EXPECT_EQ(QueryValue(url, "SELECT md5(string_agg(" + pg_text +
                                ", ',' ORDER BY commodity COLLATE \"C\", market COLLATE \"C\", "
                                "date)) FROM (SELECT c.name AS commodity, m.name AS market, "
                                "p.date, p.modal_price, p.updated_at FROM price_history p "
                                "JOIN commodities c ON c.id = p.commodity_id "
                                "JOIN markets m ON m.id = p.market_id) x"),
            a.checksum);
  // The key and the indexes are back, nothing is left set aside, and no
  // repeated key had to be removed after the load.
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint "
                       "WHERE conrelid = 'price_history'::regclass AND contype IN ('p', 'u', 'f')"),
            "p");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'price_history'"),
            "5");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.deferred_ddl"), "0");
  // Every chunk done, and its counts add up: every row of the files read,
  // one merged per key, the rest superseded (none rejected).
  EXPECT_EQ(
      QueryValue(url, "SELECT count(*) FROM cutover.backfill_partitions WHERE state <> 'done'"),
      "0");
  EXPECT_EQ(QueryValue(url, "SELECT sum(rows_read) FROM cutover.backfill_partitions"), a.rows);
  EXPECT_EQ(QueryValue(url, "SELECT sum(rows_merged) FROM cutover.backfill_partitions"), a.keys);
  EXPECT_EQ(QueryValue(url, "SELECT sum(rows_rejected) FROM cutover.backfill_partitions"), "0");
}

TEST(ChunkBackfillTest, LoadsExactlyWithTwoWorkersAndBuildsTheIndexes) {
  const Agri a = MakeAgri(12000);
  const std::string url = FreshDatabase();
  CommandResult r = Backfill(a, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // An empty table at stage legacy is filled index-free, then indexed.
  EXPECT_NE((r.out + r.err).find("built after the load"), std::string::npos) << Describe(r);
  ExpectExact(a, url);
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
                       "WHERE tablename = 'price_history' AND indexname LIKE 'ix_%'"),
            "ix_price_history_commodity_date,ix_price_history_date,ix_price_history_market_date,"
            "ix_price_history_state");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_markets_name'"),
            "1");
  // A second run is a new run over the same files: same result, nothing duplicated.
  CommandResult again = Backfill(a, url);
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  ExpectExact(a, url);
}

TEST(ChunkBackfillTest, DedupKeepsTheNewestRowWhicheverChunkComesFirst) {
  // Renamed so that the file of repeats sorts first and is merged first.
  Agri a = MakeAgri(12000);
  fs::rename(a.dir + "/data/prices_2.parquet", a.dir + "/data/prices_0.parquet");
  const std::string url = FreshDatabase();
  CommandResult r = Backfill(a, url, "", "1");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectExact(a, url);
}

TEST(ChunkBackfillTest, FourWorkersCreateEachNameOnce) {
  const Agri a = MakeAgri(12000);
  const std::string url = FreshDatabase();
  CommandResult r = Backfill(a, url, "", "4");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectExact(a, url);
}

// Two processes, two workers each, share one run; each dies at a random
// crash point (or from outside); a third run resumes; the result is exact.
TEST(ChunkBackfillTest, TwoProcessesKilledAtRandomPointsResumeExactly) {
  const Agri a = MakeAgri(30000);  // 7 chunks: 6 of 5000 rows, 1 of 1500
  const char* kPoints[] = {"backfill.after_claim", "backfill.after_batch", "backfill.before_commit",
                           "backfill.after_commit", "deferred.before_commit"};
  std::random_device seed;
  const unsigned s = seed();
  std::mt19937 rng(s);
  SCOPED_TRACE("seed " + std::to_string(s));
  int total_killed = 0;
  for (int round = 0; round < 4; ++round) {
    const std::string url = FreshDatabase();
    std::string fp[2];
    for (auto& f : fp) {
      const char* point = kPoints[rng() % std::size(kPoints)];
      const int hit =
          1 + static_cast<int>(rng() % (std::string(point) == "backfill.after_batch" ? 8 : 3));
      f = std::string(point) + "=" + std::to_string(hit);
    }
    SCOPED_TRACE("round " + std::to_string(round) + ": " + fp[0] + " / " + fp[1]);
    CommandResult results[2];
    std::thread p0([&] { results[0] = Backfill(a, url, fp[0]); });
    std::thread p1([&] { results[1] = Backfill(a, url, fp[1]); });
    p0.join();
    p1.join();
    int killed = 0;
    for (const auto& r : results) {
      // Either the failpoint killed it, or the other process left it too
      // little work to reach it and it finished the run.
      EXPECT_TRUE(r.term_signal == SIGKILL || r.exit_code == 0) << Describe(r);
      killed += r.term_signal == SIGKILL;
    }
    // The chunks that are done hold exactly their rows: nothing half-merged
    // (each key lands once, so the table holds what done chunks merged).
    EXPECT_EQ(QueryValue(url,
                         "SELECT (SELECT count(*) FROM price_history) = "
                         "coalesce(sum(rows_merged), 0) "
                         "FROM cutover.backfill_partitions WHERE state = 'done'"),
              "t");
    CommandResult resumed = Backfill(a, url);
    ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
    if (killed == 2) {
      EXPECT_NE(resumed.out.find("price_history"), std::string::npos);
    }
    ExpectExact(a, url);
    total_killed += killed;
  }
  EXPECT_GT(total_killed, 0) << "no failpoint was reached: the test proved nothing";
}

TEST(ChunkBackfillTest, TwoProcessesKilledFromOutsideResumeExactly) {
  const Agri a = MakeAgri(30000);
  const std::string url = FreshDatabase();
  std::random_device seed;
  const int delay_ms = std::uniform_int_distribution<int>(50, 600)(seed);
  SCOPED_TRACE("kill -9 of both after " + std::to_string(delay_ms) + " ms");
  // Both children are found through /proc by their parent pid and binary.
  CommandResult results[2];
  std::thread p0([&] { results[0] = Backfill(a, url, "", "2"); });
  std::thread p1([&] { results[1] = Backfill(a, url, "", "2"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  std::error_code ec;
  const fs::path binary = fs::canonical(CutoverBinary(), ec);
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code exe_ec;
    if (fs::read_symlink(entry.path() / "exe", exe_ec) != binary) continue;
    std::ifstream status(entry.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) == 0 && std::stol(line.substr(5)) == getpid()) {
        kill(std::stoi(name), SIGKILL);
      }
    }
  }
  p0.join();
  p1.join();
  ASSERT_TRUE(results[0].term_signal == SIGKILL || results[1].term_signal == SIGKILL)
      << "both finished before the kill\n"
      << Describe(results[0]);
  CommandResult resumed = Backfill(a, url);
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  ExpectExact(a, url);
}

// Once applications may write to the target (stage dual_write), its key and
// indexes stay in place: the load merges into the table as it is.
TEST(ChunkBackfillTest, KeepsTheIndexesOnceApplicationsWriteToTheTarget) {
  const Agri a = MakeAgri(12000);
  const std::string url = FreshDatabase();
  CommandResult phase =
      RunCommand({CutoverBinary(), "phase", a.spec, "set", "dual_write"}, {{"DATABASE_URL", url}});
  ASSERT_EQ(phase.exit_code, 0) << Describe(phase);
  CommandResult r = Backfill(a, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ((r.out + r.err).find("built after the load"), std::string::npos) << Describe(r);
  EXPECT_NE((r.out + r.err).find("stage is dual_write"), std::string::npos) << Describe(r);
  ExpectExact(a, url);
}

// Distinct source keys ('7' and '07') that map to one target key (7) meet
// only in PostgreSQL; building the key after a bulk load removes the repeat,
// keeping the greatest keep_last_by, and says so.
TEST(ChunkBackfillTest, RepeatsThatOnlyMappingRevealsAreResolvedWhenTheKeyIsBuilt) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  CommandResult gen = RunCommand(
      {DuckdbSqlTool(), "-c",
       "COPY (SELECT * FROM (VALUES ('7', 2, 'newer'), ('8', 1, 'only'), ('07', 1, 'older')) "
       "t(code, version, label)) TO '" +
           dir + "/data/codes.parquet' (FORMAT parquet)"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(dir + "/cutover.yaml",
            "migration: codes\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { s: { type: parquet, path: data } }\n"
            "entities:\n"
            "  codes:\n"
            "    source: { from: s, file: codes.parquet }\n"
            "    key: [code]\n"
            "    columns: { code: { type: integer }, version: { type: integer }, "
            "label: { type: text } }\n"
            "    dedup: { key: [code], keep_last_by: [version] }\n");
  const std::string url = FreshDatabase();
  CommandResult r = RunCommand(
      {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables", "--jobs", "1"},
      {{"DATABASE_URL", url}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE((r.out + r.err)
                .find("1 rows repeated a key (distinct source keys that map to one target key"),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(
      QueryValue(url, "SELECT string_agg(code || ':' || label, ',' ORDER BY code) FROM codes"),
      "7:newer,8:only");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM pg_constraint WHERE conrelid = 'codes'::regclass "
                       "AND contype = 'p'"),
            "1");
  // Over the loaded table the same rows merge; the batch that repeats a key
  // after mapping is merged keeping one row per key, the same one.
  CommandResult again =
      RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml", "--jobs", "1", "--restart"},
                 {{"DATABASE_URL", url}});
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_EQ(
      QueryValue(url, "SELECT string_agg(code || ':' || label, ',' ORDER BY code) FROM codes"),
      "7:newer,8:only");
}

TEST(ChunkBackfillTest, RejectsCarryFileAndRowAndAddUp) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  // 1000 rows; rows 100, 200 and 300 hold 3e9, which an integer column refuses.
  CommandResult gen = RunCommand(
      {DuckdbSqlTool(), "-c",
       "COPY (SELECT i AS id, CASE WHEN i IN (100, 200, 300) THEN 3000000000 ELSE i END AS qty "
       "FROM range(0, 1000) t(i)) TO '" +
           dir + "/data/q.parquet' (FORMAT parquet, ROW_GROUP_SIZE 400)"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(dir + "/cutover.yaml",
            "migration: q\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { s: { type: parquet, path: data } }\n"
            "entities:\n"
            "  q:\n"
            "    source: { from: s, file: q.parquet }\n"
            "    key: [id]\n"
            "    columns: { id: { type: bigint }, qty: { type: integer } }\n");
  const std::string url = FreshDatabase();
  CommandResult r = RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml",
                                "--create-tables", "--jobs", "2", "--max-rejects", "-1"},
                               {{"DATABASE_URL", url}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM q"), "997");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(record_index::text || ':' || field, ',' ORDER BY "
                       "record_index) FROM cutover.rejects WHERE migration = 'q'"),
            "100:qty,200:qty,300:qty");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM cutover.rejects WHERE source NOT LIKE "
                       "'%q.parquet'"),
            "0");
  EXPECT_EQ(QueryValue(url,
                       "SELECT records_read || '=' || rows_merged || '+' || records_rejected "
                       "FROM cutover.backfill_ledger WHERE migration = 'q' AND entity = 'q'"),
            "1000=997+3");
  // Without --max-rejects the spec's 0 stops the run with exit 1.
  const std::string strict = FreshDatabase();
  CommandResult stopped = RunCommand(
      {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables", "--jobs", "1"},
      {{"DATABASE_URL", strict}});
  EXPECT_EQ(stopped.exit_code, 1) << Describe(stopped);
  // The stopped bulk load left the key set aside: applications must not
  // write into the table yet, so dual_write is refused until a run finishes.
  CommandResult refused =
      RunCommand({CutoverBinary(), "phase", dir + "/cutover.yaml", "set", "dual_write"},
                 {{"DATABASE_URL", strict}});
  EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
  EXPECT_NE((refused.out + refused.err).find("indexes_in_place"), std::string::npos)
      << Describe(refused);
  CommandResult finished = RunCommand(
      {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--jobs", "1", "--max-rejects", "-1"},
      {{"DATABASE_URL", strict}});
  ASSERT_EQ(finished.exit_code, 0) << Describe(finished);
  EXPECT_EQ(QueryValue(strict, "SELECT count(*) FROM q"), "997");
  EXPECT_EQ(QueryValue(strict,
                       "SELECT count(*) FROM pg_constraint WHERE conrelid = 'q'::regclass "
                       "AND contype = 'p'"),
            "1");
  CommandResult allowed =
      RunCommand({CutoverBinary(), "phase", dir + "/cutover.yaml", "set", "dual_write"},
                 {{"DATABASE_URL", strict}});
  EXPECT_EQ(allowed.exit_code, 0) << Describe(allowed);
}

}  // namespace
}  // namespace cutover::testing
