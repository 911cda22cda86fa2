// Proves a backfill SIGKILLed anywhere (each failpoint of a fresh load and of a reload, twice in a
// row, a kill -9 from outside) resumes to a target equal to the source: no duplicates or gaps.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// 3000 users (6 batches of 500) and 1500 projects (3 batches) with their tasks and milestones.
const Dataset& Small() {
  static const Dataset ds = MakeDataset(3000);
  return ds;
}

CommandResult Backfill(const Dataset& ds, const std::string& url, const std::string& failpoints,
                       const std::string& batch_size = "500") {
  return RunCommand(
      {CutoverBinary(), "backfill", ds.spec, "--create-tables", "--batch-size", batch_size},
      {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", failpoints}});
}

void ExpectKilledAt(const CommandResult& r, const std::string& failpoint) {
  EXPECT_EQ(r.term_signal, SIGKILL) << Describe(r);
  EXPECT_NE(r.err.find("failpoint " + failpoint + ": killing process"), std::string::npos)
      << Describe(r);
}

// The design's invariant after any crash: a batch's rows and the ledger position past it commit
// together, so every table holds exactly the rows its ledger counts as merged.
void ExpectTablesMatchLedger(const std::string& url) {
  for (const char* table : kFluxstudioTables) {
    SCOPED_TRACE(table);
    const std::string sql = std::string("SELECT (SELECT count(*) FROM public.") + table +
                            ") = coalesce((SELECT rows_merged FROM cutover.backfill_ledger "
                            "WHERE migration = 'fluxstudio' AND entity = '" +
                            table + "'), 0)";
    EXPECT_EQ(QueryValue(url, sql), "t");
  }
}

// Sorted, comma-separated entities of the ledger rows matching `where`.
std::string LedgerEntities(const std::string& url, const std::string& where) {
  return QueryValue(url,
                    "SELECT coalesce(string_agg(entity, ',' ORDER BY entity), '') "
                    "FROM cutover.backfill_ledger WHERE migration = 'fluxstudio' AND " +
                        where);
}

// record_index of the entity's ledger row, -1 when it has none.
int64_t LedgerPosition(const std::string& url, const std::string& entity) {
  return std::stoll(QueryValue(url,
                               "SELECT coalesce((SELECT record_index FROM cutover.backfill_ledger "
                               "WHERE migration = 'fluxstudio' AND entity = '" +
                                   entity + "'), -1)"));
}

// Where a failpoint kills the run, and the ledger it must leave behind: which entities have a
// row, which are done, and the committed position of users and projects (-1: no row). With 500
// records a batch, users take 6 batches and projects 3; each projects batch writes 3 tables,
// and every table write hits merge.after_copy and backfill.after_merge once.
struct KillCase {
  const char* failpoint;
  int hit;
  const char* ledger_rows;
  const char* done_rows;
  int64_t users_at;
  int64_t projects_at;
};

constexpr char kAll[] = "milestones,projects,tasks,users";

// Into an empty target, where each batch is COPYed straight into its table, so the merge (and
// merge.after_insert) is never reached; merge.after_copy is the rows-in-the-table crash point.
const KillCase kFreshLoadCases[] = {
    {"merge.after_copy", 3, "users", "", 1000, -1},       // users batch 3 copied
    {"backfill.after_merge", 5, "users", "", 2000, -1},   // users batch 5 written
    {"backfill.before_commit", 2, "users", "", 500, -1},  // users batch 2 uncommitted
    {"backfill.after_commit", 4, "users", "", 2000, -1},  // users batch 4 committed
    {"backfill.between_entities", 1, "users", "users", 3000, -1},
    {"backfill.entity_done", 1, "users", "users", 3000, -1},
    {"backfill.entity_done", 2, kAll, kAll, 3000, 1500},       // all done: the rerun restarts
    {"merge.after_copy", 8, kAll, "users", 3000, 0},           // projects batch 1, tasks copied
    {"backfill.after_merge", 9, kAll, "users", 3000, 0},       // batch 1, milestones written
    {"merge.after_copy", 12, kAll, "users", 3000, 500},        // batch 2, milestones copied
    {"backfill.before_commit", 9, kAll, "users", 3000, 1000},  // last projects batch
    {"backfill.after_commit", 8, kAll, "users", 3000, 1000},   // projects batch 2 committed
};

// Over a target already loaded and since drifted: every entity is done, so the run starts over
// and stages and merges each batch. An entity the interrupted pass had not reached yet must not
// count as done from the previous pass.
const KillCase kReloadCases[] = {
    {"merge.after_copy", 3, kAll, "", 1000, 0},       // users batch 3 staged
    {"merge.after_insert", 5, kAll, "", 2000, 0},     // users batch 5 merged
    {"backfill.before_commit", 2, kAll, "", 500, 0},  // users batch 2 uncommitted
    {"backfill.between_entities", 1, kAll, "users", 3000, 0},
    {"merge.after_insert", 8, kAll, "users", 3000, 0},         // projects batch 1, tasks merged
    {"merge.after_insert", 12, kAll, "users", 3000, 500},      // batch 2, milestones merged
    {"backfill.before_commit", 9, kAll, "users", 3000, 1000},  // last projects batch
};

// Loads the target completely, then changes every table behind cutover's back.
void LoadAndDrift(const Dataset& ds, const std::string& url) {
  CommandResult load = Backfill(ds, url, "");
  ASSERT_EQ(load.exit_code, 0) << Describe(load);
  Exec(url,
       "UPDATE public.users SET name = 'stale' WHERE role = 'admin';"
       "UPDATE public.projects SET budget = 0 WHERE priority = 3;"
       "DELETE FROM public.tasks WHERE status = 'blocked';"
       "DELETE FROM public.milestones WHERE completed");
}

void RunKillCases(const Dataset& ds, const KillCase* cases, size_t n, bool reload) {
  for (const KillCase* c = cases; c != cases + n; ++c) {
    const std::string failpoint = std::string(c->failpoint) + "=" + std::to_string(c->hit);
    SCOPED_TRACE(failpoint);
    const std::string url = FreshDatabase();
    ASSERT_FALSE(url.empty());
    if (reload) LoadAndDrift(ds, url);
    if (::testing::Test::HasFatalFailure()) return;

    CommandResult killed = Backfill(ds, url, failpoint);
    ExpectKilledAt(killed, c->failpoint);
    EXPECT_EQ(LedgerEntities(url, "true"), c->ledger_rows);
    EXPECT_EQ(LedgerEntities(url, "done"), c->done_rows);
    EXPECT_EQ(LedgerPosition(url, "users"), c->users_at);
    EXPECT_EQ(LedgerPosition(url, "projects"), c->projects_at);
    if (!reload) ExpectTablesMatchLedger(url);

    CommandResult rerun = Backfill(ds, url, "");
    EXPECT_EQ(rerun.exit_code, 0) << Describe(rerun);
    ExpectCompleteAndClean(ds, url);
  }
}

TEST(BackfillKillTest, ResumesCleanlyAfterAKillAtEveryCrashPointOfAFreshLoad) {
  const Dataset& ds = Small();
  ASSERT_FALSE(ds.spec.empty());
  RunKillCases(ds, kFreshLoadCases, std::size(kFreshLoadCases), /*reload=*/false);
}

TEST(BackfillKillTest, ResumesCleanlyAfterAKillAtEveryCrashPointOfAReload) {
  const Dataset& ds = Small();
  ASSERT_FALSE(ds.spec.empty());
  RunKillCases(ds, kReloadCases, std::size(kReloadCases), /*reload=*/true);
}

TEST(BackfillKillTest, ResumesAfterTwoKillsInARow) {
  const Dataset& ds = Small();
  ASSERT_FALSE(ds.spec.empty());
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());

  // Users batch 2 is copied, then lost.
  ExpectKilledAt(Backfill(ds, url, "merge.after_copy=2"), "merge.after_copy");
  EXPECT_EQ(LedgerPosition(url, "users"), 500);
  ExpectTablesMatchLedger(url);

  // The resumed run finishes users (batches 2-6) and dies inside projects batch 1, after writing
  // the tasks.
  ExpectKilledAt(Backfill(ds, url, "backfill.after_merge=7"), "backfill.after_merge");
  EXPECT_EQ(LedgerEntities(url, "done"), "users");
  EXPECT_EQ(LedgerPosition(url, "projects"), 0);
  ExpectTablesMatchLedger(url);

  CommandResult rerun = Backfill(ds, url, "");
  EXPECT_EQ(rerun.exit_code, 0) << Describe(rerun);
  ExpectCompleteAndClean(ds, url);
}

// A running child of this process executing the cutover binary, or -1.
pid_t FindCutoverChild() {
  std::error_code ec;
  const fs::path binary = fs::canonical(CutoverBinary(), ec);
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    long ppid = -1;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("PPid:", 0) == 0) ppid = std::stol(line.substr(5));
    }
    if (ppid != getpid()) continue;
    std::error_code exe_ec;
    if (fs::read_symlink(entry.path() / "exe", exe_ec) == binary) return std::stoi(name);
  }
  return -1;
}

TEST(BackfillKillTest, ResumesAfterAnOutsideKillNineAtARandomMoment) {
  static const Dataset ds = MakeDataset(20000);
  ASSERT_FALSE(ds.spec.empty());
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());

  std::random_device seed;
  const int delay_ms = std::uniform_int_distribution<int>(0, 400)(seed);
  SCOPED_TRACE("kill -9 " + std::to_string(delay_ms) + " ms after the first committed batch");

  CommandResult first;
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    first = Backfill(ds, url, "", "200");
    finished = true;
  });
  // The ledger table exists once the run has started; its first position past 0 is the first
  // committed batch.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool started = false;
  while (!started && !finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (QueryValue(url, "SELECT to_regclass('cutover.backfill_ledger') IS NOT NULL") != "t") {
      continue;
    }
    started = QueryValue(url,
                         "SELECT count(*) FROM cutover.backfill_ledger "
                         "WHERE record_index > 0") != "0";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  const pid_t pid = FindCutoverChild();
  if (pid > 0) kill(pid, SIGKILL);
  runner.join();
  ASSERT_TRUE(started) << "no batch committed within 60 s\n" << Describe(first);
  ASSERT_GT(pid, 0) << "the backfill was not running any more\n" << Describe(first);
  EXPECT_EQ(first.term_signal, SIGKILL) << Describe(first);
  ExpectTablesMatchLedger(url);

  CommandResult rerun = Backfill(ds, url, "", "200");
  EXPECT_EQ(rerun.exit_code, 0) << Describe(rerun);
  ExpectCompleteAndClean(ds, url);
}

}  // namespace
}  // namespace cutover::testing
