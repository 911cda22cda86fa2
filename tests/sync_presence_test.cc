// The lock through which a running sync and a backfill deciding on a bulk
// load exclude each other (catalog/sync_state.h), on a real PostgreSQL.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "catalog/sync_state.h"
#include "stores/postgres/pg_connection.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

// The presence lock of migration m, source s, written out by hand: the test
// holds it as the session of another process would.
constexpr char kPresenceLock[] = "hashtextextended('cutover.sync:m:s', 0)";

std::unique_ptr<pg_store::PgConnection> Connect(const std::string& url) {
  auto conn = pg_store::PgConnection::Connect(url);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  return conn.ok() ? std::move(*conn) : nullptr;
}

// ExcludeSyncs in a transaction of its own, as a backfill decides.
bool Decide(pg_store::PgConnection* conn) {
  EXPECT_TRUE(conn->Exec("BEGIN").ok());
  auto alone = catalog::ExcludeSyncs(conn, "m", "s");
  EXPECT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_TRUE(conn->Exec("COMMIT").ok());
  return alone.ok() && *alone;
}

TEST(SyncPresence, ARunningSyncKeepsABackfillFromItsBulkLoad) {
  const std::string url = FreshDatabase();
  auto sync = Connect(url);
  auto backfill = Connect(url);
  ASSERT_TRUE(sync && backfill);
  ASSERT_TRUE(catalog::AnnounceSync(sync.get(), "m", "s").ok());
  EXPECT_FALSE(Decide(backfill.get()));
  // Another source's sync is no reason.
  auto other = Connect(url);
  ASSERT_TRUE(other);
  ASSERT_TRUE(other->Exec("BEGIN").ok());
  auto alone = catalog::ExcludeSyncs(other.get(), "m", "t");
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_TRUE(*alone);
  ASSERT_TRUE(other->Exec("COMMIT").ok());
}

// A backfill whose transaction is ending lets its locks go one by one: the
// next one to decide may find the presence lock still held, exclusively. It
// must wait for it, not take that backfill for a sync (which made a load of
// a fresh table keep its indexes, and claim every key, for no reason).
TEST(SyncPresence, ABackfillLettingGoIsNotTakenForASync) {
  const std::string url = FreshDatabase();
  auto before = Connect(url);
  auto backfill = Connect(url);
  ASSERT_TRUE(before && backfill);
  ASSERT_TRUE(before->Exec(std::string("SELECT pg_advisory_lock(") + kPresenceLock + ")").ok());
  auto decided = std::async(std::launch::async, [&] { return Decide(backfill.get()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(before->Exec(std::string("SELECT pg_advisory_unlock(") + kPresenceLock + ")").ok());
  EXPECT_TRUE(decided.get());
}

}  // namespace
}  // namespace cutover::testing
