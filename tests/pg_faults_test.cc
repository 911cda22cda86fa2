// Faults on the PostgreSQL side of a backfill: a server restart mid-load and mid-rebuild is
// survived within --retry-for; errors no retry can fix (no such database or role, a table whose
// types the load cannot write, an index that cannot be built) fail at once with their cause.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stores/postgres/scratch_cluster.h"
#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"
#include "support/restartable_cluster.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string DuckValue(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Polls `ready` every 10 ms; false if `finished` became true first or a minute went by.
bool WaitFor(const std::function<bool()>& ready, const std::atomic<bool>& finished) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !finished) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string Count(const std::string& url, const std::string& sql) {
  if (QueryValue(url, "SELECT to_regclass('cutover.backfill_partitions') IS NOT NULL") != "t") {
    return "-1";
  }
  return QueryValue(url, sql);
}

// 48,000 rows in 24 chunks (DuckDB writes row groups of 2,048 rows at least) for two workers;
// each claim pauses 200 ms (a failpoint) so the load lasts about 2.5 s and a restart lands
// inside it; each index build pauses 1.5 s, so the second restart lands inside the rebuild.
TEST(PgRestartTest, ParallelBackfillSurvivesRestartsDuringTheLoadAndTheIndexRebuild) {
  RestartableCluster pg;
  ASSERT_TRUE(pg.Start());
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  const std::string parquet = dir + "/data/sales.parquet";
  CommandResult gen = RunCommand(
      {DuckdbSqlTool(), "-c",
       "COPY (SELECT i AS id, 'g' || (i % 37) AS grp, CAST((i * 7919) % 100000 AS DECIMAL(12,2)) / "
       "100 AS amount FROM range(0, 48000) t(i)) TO '" +
           parquet + "' (FORMAT parquet, ROW_GROUP_SIZE 200)"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(
      dir + "/cutover.yaml",
      "migration: sales\n"
      "target: { url: \"${DATABASE_URL}\" }\n"
      "sources: { s: { type: parquet, path: data } }\n"
      "backfill: { batch_size: 500, chunk_rows: 2000 }\n"
      "entities:\n"
      "  sales:\n"
      "    source: { from: s, file: sales.parquet }\n"
      "    key: [id]\n"
      "    columns: { id: { type: bigint }, grp: { type: text }, amount: { type: numeric } }\n"
      "    indexes: [{ columns: [grp], name: ix_sales_grp }]\n");

  std::atomic<bool> finished{false};
  CommandResult run;
  std::thread runner([&] {
    run = RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables",
                      "--jobs", "2", "--retry-for", "60s"},
                     {{"DATABASE_URL", pg.url()},
                      {"CUTOVER_FAILPOINTS",
                       "backfill.after_claim=pause:200,deferred.before_build=pause:1500"}});
    finished = true;
  });
  const std::string done_sql =
      "SELECT count(*) FROM cutover.backfill_partitions WHERE state = 'done'";
  const bool in_load = WaitFor(
      [&] {
        const int64_t done = std::stoll(Count(pg.url(), done_sql));
        return done >= 4 && done <= 16;
      },
      finished);
  EXPECT_TRUE(in_load) << "the load ended before the first restart";
  if (in_load) {
    ASSERT_TRUE(pg.Restart(std::chrono::seconds(3)));
  }
  const bool in_rebuild = WaitFor(
      [&] {
        return Count(pg.url(),
                     "SELECT count(*) FROM cutover.backfill_partitions WHERE state <> "
                     "'done'") == "0" &&
               std::stoll(QueryValue(pg.url(), "SELECT count(*) FROM cutover.deferred_ddl")) > 0;
      },
      finished);
  EXPECT_TRUE(in_rebuild) << "the rebuild ended before the second restart";
  if (in_rebuild) {
    ASSERT_TRUE(pg.Restart(std::chrono::seconds(3)));
  }
  runner.join();

  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_NE(run.err.find("retrying"), std::string::npos) << run.err;
  // The table holds exactly what DuckDB reads from the file.
  const std::string oracle = DuckValue(
      "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || "
      "sum(id) || ' ' || CAST(sum(amount) * 100 AS BIGINT) FROM '" +
      parquet + "'");
  EXPECT_EQ(QueryValue(pg.url(),
                       "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || sum(id) "
                       "|| ' ' || (sum(amount) * 100)::bigint FROM public.sales"),
            oracle);
  // Its key and index are back, nothing is left set aside, and the ledger says done.
  EXPECT_EQ(QueryValue(pg.url(),
                       "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                       "conrelid = 'public.sales'::regclass"),
            "1");
  EXPECT_EQ(QueryValue(pg.url(),
                       "SELECT count(*) FROM pg_indexes WHERE tablename = 'sales' AND "
                       "indexname = 'ix_sales_grp'"),
            "1");
  EXPECT_EQ(QueryValue(pg.url(), "SELECT count(*) FROM cutover.deferred_ddl"), "0");
  EXPECT_EQ(QueryValue(pg.url(), "SELECT done FROM cutover.backfill_ledger WHERE entity = 'sales'"),
            "t");
}

// A small JSON migration for the connection errors below.
std::string WriteUsersSpec() {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/users.json", R"([{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}])");
  WriteFile(dir + "/cutover.yaml",
            "migration: users\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { files: { type: json, path: data } }\n"
            "entities:\n"
            "  users:\n"
            "    source: { from: files, file: users.json }\n"
            "    key: [id]\n"
            "    columns: { id: { type: bigint }, name: { type: text } }\n");
  return dir + "/cutover.yaml";
}

TEST(PgFaultsTest, AMissingDatabaseOrRoleFailsAtOnceWithItsCause) {
  const std::string spec = WriteUsersSpec();
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  const std::string no_db = url.substr(0, url.rfind('/')) + "/no_such_db";
  std::string no_role = url;
  no_role.replace(no_role.find("//cutover@"), 10, "//ghost_role@");
  struct Case {
    std::string url;
    std::string cause;
  };
  for (const Case& c : {Case{no_db, "\"no_such_db\" does not exist"},
                        Case{no_role, "\"ghost_role\" does not exist"}}) {
    SCOPED_TRACE(c.url);
    const auto started = Clock::now();
    CommandResult r = RunCommand({CutoverBinary(), "backfill", spec, "--create-tables"},
                                 {{"DATABASE_URL", c.url}, {"CUTOVER_FAILPOINTS", ""}});
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_EQ(r.exit_code, 3) << Describe(r);
    EXPECT_NE(r.err.find(c.cause), std::string::npos) << Describe(r);
    EXPECT_EQ(r.err.find("retrying"), std::string::npos) << Describe(r);
    EXPECT_LT(seconds, 3.0) << Describe(r);
  }
}

// A pre-created table whose column types differ from the spec's: the types the load can write
// exactly, or through PostgreSQL's cast without loss, load; the others are refused before any
// row is written, naming the column, and nothing is retried.
TEST(PgFaultsTest, ATableOfOtherTypesLoadsThroughACastOrIsRefusedUpFront) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  const std::string parquet = dir + "/data/m.parquet";
  CommandResult gen =
      RunCommand({DuckdbSqlTool(), "-c",
                  "COPY (SELECT CAST(i AS INTEGER) AS id, CAST(i * 1000 AS INTEGER) AS qty, "
                  "i / 8 AS ratio FROM range(1, 401) t(i)) TO '" +
                      parquet + "' (FORMAT parquet, ROW_GROUP_SIZE 100)"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(dir + "/cutover.yaml",
            "migration: m\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { s: { type: parquet, path: data } }\n"
            "backfill: { chunk_rows: 100 }\n"
            "entities:\n"
            "  m:\n"
            "    source: { from: s, file: m.parquet }\n"
            "    key: [id]\n"
            "    columns: { id: { type: integer }, qty: { type: integer }, ratio: { type: float8 } "
            "}\n");
  const std::string oracle = DuckValue(
      "SELECT count(*) || ' ' || sum(qty) || ' ' || CAST(sum(ratio) * 8 AS BIGINT) FROM '" +
      parquet + "'");
  struct Case {
    const char* ddl;
    bool loads;
    const char* named;  // in the refusal
  };
  const Case cases[] = {
      // int4 into bigint and numeric: PostgreSQL widens exactly.
      {"CREATE TABLE m (id bigint PRIMARY KEY, qty numeric, ratio float8)", true, ""},
      // float8 into numeric(6,2) would round; into real, lose digits.
      {"CREATE TABLE m (id integer PRIMARY KEY, qty integer, ratio numeric(6,2))", false,
       "column public.m.ratio is numeric(6,2)"},
      {"CREATE TABLE m (id integer PRIMARY KEY, qty integer, ratio real)", false,
       "column public.m.ratio is real"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ddl);
    const std::string url = FreshDatabase();
    ASSERT_FALSE(url.empty());
    Exec(url, c.ddl);
    const auto started = Clock::now();
    CommandResult r =
        RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml", "--jobs", "2"},
                   {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_EQ(r.err.find("retrying"), std::string::npos) << Describe(r);
    if (c.loads) {
      EXPECT_EQ(r.exit_code, 0) << Describe(r);
      EXPECT_EQ(
          QueryValue(
              url, "SELECT count(*) || ' ' || sum(qty) || ' ' || (sum(ratio) * 8)::bigint FROM m"),
          oracle);
      // The key is in place: nothing was set aside.
      EXPECT_EQ(QueryValue(url,
                           "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                           "conrelid = 'm'::regclass"),
                "1");
    } else {
      EXPECT_EQ(r.exit_code, 3) << Describe(r);
      EXPECT_NE(r.err.find(c.named), std::string::npos) << Describe(r);
      EXPECT_LT(seconds, 10.0) << Describe(r);
      EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM m"), "0");
      EXPECT_EQ(QueryValue(url,
                           "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                           "conrelid = 'm'::regclass"),
                "1");
    }
  }
}

// An index that cannot be built after an index-free load (a value too large for a B-tree
// entry): the backfill fails at once naming the index and the cause, the definition stays in
// cutover.deferred_ddl, and verify does not call the table clean while it is set aside.
TEST(PgFaultsTest, AnIndexThatCannotBeRebuiltFailsTheRunAndVerifyIsNotClean) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  // Row 7's note is 8000 hex characters (md5s, which do not compress): above the 2704-byte
  // B-tree entry limit.
  CommandResult gen = RunCommand(
      {DuckdbSqlTool(), "-c",
       "COPY (SELECT i AS id, CASE WHEN i = 7 THEN (SELECT string_agg(md5(CAST(j AS VARCHAR)), "
       "'') FROM range(0, 250) s(j)) ELSE 'n' || i END AS note FROM range(0, 300) t(i)) TO '" +
           dir + "/data/n.parquet' (FORMAT parquet, ROW_GROUP_SIZE 100)"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(dir + "/cutover.yaml",
            "migration: n\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { s: { type: parquet, path: data } }\n"
            "backfill: { chunk_rows: 100 }\n"
            "entities:\n"
            "  notes:\n"
            "    source: { from: s, file: n.parquet }\n"
            "    key: [id]\n"
            "    columns: { id: { type: bigint }, note: { type: text } }\n"
            "    indexes: [{ columns: [note], name: ix_notes_note }]\n");
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  const auto started = Clock::now();
  CommandResult r = RunCommand(
      {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables", "--jobs", "2"},
      {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("ix_notes_note"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("54000"), std::string::npos) << Describe(r);
  EXPECT_EQ(r.err.find("retrying"), std::string::npos) << Describe(r);
  EXPECT_LT(seconds, 20.0) << Describe(r);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM public.notes"), "300");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(name, ',' ORDER BY name) FROM cutover.deferred_ddl"
                       " WHERE entity = 'notes' AND name = 'ix_notes_note'"),
            "ix_notes_note");

  CommandResult v = RunCommand({CutoverBinary(), "verify", dir + "/cutover.yaml"},
                               {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  EXPECT_EQ(v.exit_code, 1) << Describe(v);
  EXPECT_NE((v.out + v.err).find("ix_notes_note"), std::string::npos) << Describe(v);
  EXPECT_NE((v.out + v.err).find("cutover.deferred_ddl"), std::string::npos) << Describe(v);
  EXPECT_EQ(QueryValue(url, "SELECT clean FROM cutover.verify_runs ORDER BY id DESC LIMIT 1"), "f");

  // The README's recovery: a definition that can be built (a hash index has no entry size
  // limit), in the ledger and in the spec, then backfill again.
  Exec(url,
       "UPDATE cutover.deferred_ddl SET ddl = replace(ddl, 'USING btree', 'USING hash') "
       "WHERE name = 'ix_notes_note'");
  WriteFile(dir + "/cutover.yaml",
            "migration: n\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources: { s: { type: parquet, path: data } }\n"
            "backfill: { chunk_rows: 100 }\n"
            "entities:\n"
            "  notes:\n"
            "    source: { from: s, file: n.parquet }\n"
            "    key: [id]\n"
            "    columns: { id: { type: bigint }, note: { type: text } }\n"
            "    indexes: [{ columns: [note], name: ix_notes_note, method: hash }]\n");
  CommandResult again = RunCommand({CutoverBinary(), "backfill", dir + "/cutover.yaml"},
                                   {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.deferred_ddl"), "0");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND "
                       "conrelid = 'public.notes'::regclass"),
            "1");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_notes_note' "
                       "AND indexdef LIKE '%USING hash%'"),
            "1");
  CommandResult clean = RunCommand({CutoverBinary(), "verify", dir + "/cutover.yaml"},
                                   {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  EXPECT_EQ(clean.exit_code, 0) << Describe(clean);
}

}  // namespace
}  // namespace cutover::testing
