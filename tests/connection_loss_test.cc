// Proves a backfill survives its PostgreSQL connections being terminated mid-run (it reconnects,
// retries the batch, and the target ends equal to the source), and fails fast on a closed port.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stores/postgres/pg_connection.h"
#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// record_index of the entity's ledger row while that entity is in progress; -1 when it has no
// row, is done, or the ledger does not exist yet.
int64_t PositionInProgress(const std::string& url, const std::string& entity) {
  if (QueryValue(url, "SELECT to_regclass('cutover.backfill_ledger') IS NOT NULL") != "t") {
    return -1;
  }
  return std::stoll(QueryValue(url,
                               "SELECT coalesce((SELECT record_index FROM cutover.backfill_ledger "
                               "WHERE migration = 'fluxstudio' AND NOT done AND entity = '" +
                                   entity + "'), -1)"));
}

// Polls until `ready` holds; false if `finished` became true first or a minute went by.
bool WaitFor(const std::function<bool()>& ready, const std::atomic<bool>& finished) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline && !finished) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// Terminates the backfill's connections to the test database; how many it ended.
int TerminateCutoverBackends(const std::string& url) {
  return std::stoi(QueryValue(
      url,
      "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
      "WHERE application_name = 'cutover' AND datname = current_database() "
      "AND pid <> pg_backend_pid()) s WHERE ended"));
}

size_t CountOccurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Where to terminate the backfill's connections: once `entity` is in progress at or past
// record `at_least`. Each cut also proves the run recovered from the one before it.
struct Cut {
  const char* entity;
  int64_t at_least;
};

struct CutRun {
  CommandResult result;
  int terminated = 0;
};

// Runs `cutover backfill --batch-size 200` and terminates its connections at each cut.
CutRun BackfillWithCuts(const Dataset& ds, const std::string& url, const std::vector<Cut>& cuts) {
  CutRun out;
  std::atomic<bool> finished{false};
  std::thread runner([&] {
    out.result =
        RunCommand({CutoverBinary(), "backfill", ds.spec, "--create-tables", "--batch-size", "200"},
                   {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
    finished = true;
  });
  for (const Cut& cut : cuts) {
    SCOPED_TRACE(std::string("cut in ") + cut.entity + " at " + std::to_string(cut.at_least));
    const bool inside = WaitFor(
        [&] {
          return PositionInProgress(url, cut.entity) >= cut.at_least &&
                 TerminateCutoverBackends(url) > 0;
        },
        finished);
    EXPECT_TRUE(inside) << "the backfill ended (or stalled) before the cut";
    if (inside) ++out.terminated;
  }
  runner.join();
  return out;
}

// 40000 users and 20000 projects in batches of 200: 300 transactions, long enough to cut the
// connection twice inside users and once inside projects (with children).
const Dataset& Large() {
  static const Dataset ds = MakeDataset(40000);
  return ds;
}

TEST(ConnectionLossTest, BackfillReconnectsWhenItsBackendsAreTerminated) {
  const Dataset& ds = Large();
  ASSERT_FALSE(ds.spec.empty());
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());

  CutRun run = BackfillWithCuts(ds, url, {{"users", 2000}, {"users", 12000}, {"projects", 4000}});
  EXPECT_EQ(run.terminated, 3);
  EXPECT_EQ(run.result.exit_code, 0) << Describe(run.result);
  EXPECT_GE(CountOccurrences(run.result.err, "retrying"), static_cast<size_t>(run.terminated))
      << run.result.err;
  ExpectCompleteAndClean(ds, url);
}

// Regression: a reconnect recreated the staging tables of the entity in progress only, so once
// the tables held rows (a rerun merges instead of copying), the next entity's merge failed on
// its lost staging table.
TEST(ConnectionLossTest, ReconnectInOneEntityKeepsTheNextEntitysStaging) {
  const Dataset& ds = Large();
  ASSERT_FALSE(ds.spec.empty());
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  CommandResult load =
      RunCommand({CutoverBinary(), "backfill", ds.spec, "--create-tables", "--batch-size", "2000"},
                 {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  ASSERT_EQ(load.exit_code, 0) << Describe(load);
  // Changed behind the backfill's back, so the rerun has something to merge.
  Exec(url, "UPDATE public.projects SET name = 'stale' WHERE priority = 3");
  Exec(url, "DELETE FROM public.tasks WHERE status = 'blocked'");

  // Every entity is done, so this run starts over and merges.
  CutRun run = BackfillWithCuts(ds, url, {{"users", 2000}});
  EXPECT_EQ(run.terminated, 1);
  EXPECT_EQ(run.result.exit_code, 0) << Describe(run.result);
  EXPECT_GE(CountOccurrences(run.result.err, "retrying"), 1u) << run.result.err;
  ExpectCompleteAndClean(ds, url);
}

// A batch of a JSON source that PostgreSQL picks as the victim of a deadlock (40P01) is rolled
// back and run again, and its rows land once. The deadlock is made on purpose: while the batch
// stands paused after its merge (holding its new keys), another session locks the entity's
// ledger row and inserts one of those keys, so it waits for the batch; the batch then waits for
// the ledger row, and its deadlock check (sooner than the other session's) finds the cycle.
TEST(RetryTest, AJsonBatchThatLosesADeadlockIsRetriedAndLandsOnce) {
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  const std::string dir = TempDir() + "/deadlock";
  WriteFile(dir + "/cutover.yaml", R"(migration: retrytest
target: { url: "${DATABASE_URL:-}" }
sources:
  files: { type: json, path: data/ }
entities:
  people:
    source: { from: files, file: people.json }
    key: [id]
    columns:
      id: { type: integer }
      name: { type: text }
)");
  WriteFile(dir + "/data/people.json",
            R"([{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}, {"id": 3, "name": "cy"}])");
  // The backfill's sessions check for deadlocks after 100 ms; the other session after a minute.
  const std::string db = QueryValue(url, "SELECT current_database()");
  Exec(url, "ALTER DATABASE \"" + db + "\" SET deadlock_timeout = '100ms'");

  std::atomic<bool> finished{false};
  CommandResult result;
  std::thread runner([&] {
    result = RunCommand(
        {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables"},
        {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", "backfill.after_merge=pause:2000"}});
    finished = true;
  });
  auto other = pg_store::PgConnection::Connect(url);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  pg_store::PgConnection* blocker = other->get();
  const std::string blocker_pid = *blocker->QueryValue("SELECT pg_backend_pid()").value();
  const std::string batch_paused =
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> " +
      blocker_pid +
      " AND state = 'idle in transaction' AND query = 'RELEASE SAVEPOINT cutover_merge'";
  ASSERT_TRUE(WaitFor([&] { return QueryValue(url, batch_paused) == "1"; }, finished))
      << "the batch never paused after its merge";
  ASSERT_TRUE(blocker->Exec("BEGIN").ok());
  ASSERT_TRUE(blocker->Exec("SET LOCAL deadlock_timeout = '60s'").ok());
  ASSERT_TRUE(blocker
                  ->Exec("SELECT 1 FROM cutover.backfill_ledger WHERE migration = 'retrytest' "
                         "AND entity = 'people' FOR UPDATE")
                  .ok());
  // Waits for the paused batch, which holds key 1; returns once the batch rolls back.
  std::thread inserter([&] {
    EXPECT_TRUE(blocker->Exec("INSERT INTO public.people (id, name) VALUES (1, 'intruder')").ok());
    EXPECT_TRUE(blocker->Exec("ROLLBACK").ok());
  });
  inserter.join();
  runner.join();

  EXPECT_EQ(result.exit_code, 0) << Describe(result);
  EXPECT_NE(result.err.find("deadlock detected"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("retrying"), std::string::npos) << result.err;
  // The failed attempt was rolled back once: a second ROLLBACK would make PostgreSQL warn.
  EXPECT_EQ(result.err.find("no transaction in progress"), std::string::npos) << result.err;
  // The file's three records, once each, written out by hand.
  EXPECT_EQ(Query(url, "SELECT id::text, name FROM public.people ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"1", "ada"}, {"2", "bob"}, {"3", "cy"}}));
  EXPECT_EQ(QueryValue(url,
                       "SELECT done::text FROM cutover.backfill_ledger "
                       "WHERE migration = 'retrytest' AND entity = 'people'"),
            "true");
}

TEST(ConnectionLossTest, UnreachableTargetFailsFastWithoutLeakingThePassword) {
  // A port bound but never listened on refuses connections, and no other process can take it
  // while this socket holds it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  const std::string dir = TempDir();
  const std::string data = dir + "/data";
  CommandResult gen = RunCommand(
      {"python3", SourceDir() + "/examples/fluxstudio/generate.py", "--rows", "10", "--out", data});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  std::ifstream in(SourceDir() + "/examples/fluxstudio/cutover.yaml");
  std::stringstream spec;
  spec << in.rdbuf();
  WriteFile(dir + "/cutover.yaml", spec.str());

  const std::string password = "Sup3rSecretPw9";
  const std::string url = "postgresql://cutover:" + password + "@127.0.0.1:" + port + "/flux";
  const auto started = Clock::now();
  // A refused connection may be a server restarting: it is retried, for --retry-for.
  CommandResult r = RunCommand(
      {CutoverBinary(), "backfill", dir + "/cutover.yaml", "--create-tables", "--retry-for", "2s"},
      {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", ""}});
  const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
  close(fd);

  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_LT(seconds, 20.0) << Describe(r);
  EXPECT_NE(r.err.find("--retry-for 2s"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("127.0.0.1"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find(port), std::string::npos) << Describe(r);
  EXPECT_EQ((r.out + r.err).find(password), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("error:"), std::string::npos) << Describe(r);
}

}  // namespace
}  // namespace cutover::testing
