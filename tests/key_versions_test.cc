// Key version claims (catalog/key_versions.h) on a real PostgreSQL: who wins,
// by the COPY path and by the upsert it falls back to, checked by SQL.
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/key_locks.h"
#include "catalog/key_versions.h"
#include "catalog/schema.h"
#include "stores/postgres/pg_connection.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

using catalog::ClaimStrategy;
using catalog::KeyVersion;

struct Db {
  std::string url;
  std::unique_ptr<pg_store::PgConnection> conn;
};

Db Open() {
  Db db{FreshDatabase(), nullptr};
  auto conn = pg_store::PgConnection::Connect(db.url);
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return db;
  db.conn = std::move(*conn);
  EXPECT_TRUE(catalog::EnsureControlSchema(db.conn.get()).ok());
  return db;
}

// Claims in one transaction, as a writer does.
std::vector<bool> Claim(Db& db, const std::vector<KeyVersion>& items, ClaimStrategy* strategy) {
  EXPECT_TRUE(db.conn->Exec("BEGIN").ok());
  auto won = catalog::ClaimKeyVersions(db.conn.get(), "m", "e", items, strategy);
  EXPECT_TRUE(won.ok()) << won.status().ToString();
  EXPECT_TRUE(db.conn->Exec("COMMIT").ok());
  return won.ok() ? *won : std::vector<bool>();
}

std::string Stored(const Db& db) {
  std::string out;
  for (const auto& row :
       Query(db.url,
             "SELECT encode(key, 'escape'), version, deleted FROM cutover.key_versions "
             "JOIN cutover.key_scopes USING (scope) WHERE migration = 'm' AND entity = 'e' "
             "ORDER BY key")) {
    out += row[0] + "=" + row[1] + (row[2] == "t" ? "x" : "") + " ";
  }
  return out;
}

TEST(KeyVersions, CopyClaimsNewKeysAndRepeatsKeepTheNewest) {
  Db db = Open();
  ASSERT_NE(db.conn, nullptr);
  ClaimStrategy copy{.copy_first = true};
  // "a" twice: the higher version is claimed, the other loses.
  const std::vector<bool> won =
      Claim(db, {{"a", 5, false}, {"b", 7, true}, {"a", 9, false}}, &copy);
  EXPECT_EQ(won, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(copy.copy_failures, 0);
  EXPECT_TRUE(copy.last_copied);
  EXPECT_EQ(Stored(db), "a=9 b=7x ");
}

TEST(KeyVersions, ACopyThatMeetsAnOlderClaimFallsBackToTheUpsert) {
  Db db = Open();
  ASSERT_NE(db.conn, nullptr);
  Claim(db, {{"a", 10, false}, {"b", 10, true}, {"c", 10, false}}, nullptr);
  ClaimStrategy copy{.copy_first = true};
  // a: older than the stored 10, loses; b: equal, wins (one moment, one
  // state); c: newer, wins; d: new, wins.
  const std::vector<bool> won =
      Claim(db, {{"a", 9, false}, {"b", 10, false}, {"c", 11, true}, {"d", 1, false}}, &copy);
  EXPECT_EQ(won, (std::vector<bool>{false, true, true, true}));
  EXPECT_EQ(copy.copy_failures, 1);
  EXPECT_TRUE(copy.copy_first);
  EXPECT_FALSE(copy.last_copied);  // "a" was claimed before: the upsert decided
  EXPECT_EQ(Stored(db), "a=10 b=10 c=11x d=1 ");
  // After kMaxCopyFailures such batches the writer stops trying.
  Claim(db, {{"a", 20, false}}, &copy);
  Claim(db, {{"a", 30, false}}, &copy);
  EXPECT_EQ(copy.copy_failures, ClaimStrategy::kMaxCopyFailures);
  EXPECT_FALSE(copy.copy_first);
  EXPECT_EQ(Stored(db), "a=30 b=10 c=11x d=1 ");
}

// A bulk load's claims: a key claimed before (SCAN returned it again) loses
// whatever its version, as its rows are written already; a new key wins.
TEST(KeyVersions, FirstOnlyClaimsLeaveAClaimedKeyAsItWas) {
  Db db = Open();
  ASSERT_NE(db.conn, nullptr);
  ClaimStrategy bulk{.copy_first = true, .first_only = true};
  Claim(db, {{"a", 10, false}, {"b", 10, false}}, &bulk);
  const std::vector<bool> won =
      Claim(db, {{"a", 99, false}, {"b", 1, false}, {"c", 5, false}, {"c", 6, false}}, &bulk);
  EXPECT_EQ(won, (std::vector<bool>{false, false, false, true}));
  EXPECT_EQ(bulk.copy_failures, 1);
  EXPECT_EQ(Stored(db), "a=10 b=10 c=6 ");
}

TEST(KeyVersions, BinaryKeysRoundTrip) {
  Db db = Open();
  ASSERT_NE(db.conn, nullptr);
  const std::string nul("k\0\xff", 3);
  ClaimStrategy copy{.copy_first = true};
  EXPECT_EQ(Claim(db, {{nul, 3, false}}, &copy), (std::vector<bool>{true}));
  EXPECT_EQ(Claim(db, {{nul, 2, false}}, nullptr), (std::vector<bool>{false}));
  EXPECT_EQ(QueryValue(db.url,
                       "SELECT encode(key, 'hex') || ':' || version FROM "
                       "cutover.key_versions"),
            "6b00ff:3");
}

// The lock a writer of one key takes (catalog/key_locks.h): two keys of one
// entity lock independently, even when they differ only after a NUL byte;
// one key excludes a second holder.
TEST(KeyLocksTest, EachKeyLocksAloneAndExcludesASecondHolder) {
  Db a = Open();
  auto b = pg_store::PgConnection::Connect(a.url);
  ASSERT_TRUE(b.ok());
  const int64_t first = catalog::KeyLockId("m", "e", std::string("k\0x", 3));
  const int64_t second = catalog::KeyLockId("m", "e", std::string("k\0y", 3));
  EXPECT_NE(first, second);
  EXPECT_NE(catalog::KeyLockId("m", "ek", ""), catalog::KeyLockId("m", "e", "k"));
  ASSERT_TRUE(catalog::LockKey(a.conn.get(), first).ok());
  // Another key: granted at once, not queued behind the first.
  auto other = std::async(std::launch::async, [&] { return catalog::LockKey(b->get(), second); });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(other.get().ok());
  EXPECT_EQ(QueryValue(a.url,
                       "SELECT count(*) FILTER (WHERE granted) || '/' || count(*) FROM pg_locks "
                       "WHERE locktype = 'advisory'"),
            "2/2");
  // The same key: a third session cannot have it while the first holds it.
  EXPECT_EQ(QueryValue(a.url, "SELECT pg_try_advisory_lock(" + std::to_string(first) + ")"), "f");
  ASSERT_TRUE(catalog::UnlockKey(a.conn.get(), first).ok());
  EXPECT_EQ(QueryValue(a.url, "SELECT pg_try_advisory_lock(" + std::to_string(first) + ")"), "t");
}

}  // namespace
}  // namespace cutover::testing
