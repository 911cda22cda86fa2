// The way back into Redis: `cutover rollback` without --tag, and `cutover
// sync` at stage primary. Rows written, changed and deleted straight in
// PostgreSQL by SQL reach Redis, TTLs kept, through kills; Redis is then
// read with hiredis and compared with SQL.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "stores/postgres/pg_connection.h"
#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

constexpr char kSpec[] = R"(migration: back
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
entities:
  users:
    source: { from: cache, pattern: "t:user:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email:      { type: text }
      id:         { from: user_id, type: bigint }
      name:       { type: text }
      expires_at: { from: $expires_at, type: timestamptz }
  usage:
    source: { from: cache, pattern: "t:usage:{ip}:{day}", value: counter }
    key: [ip, day]
    write_back: true
    columns:
      ip:         { type: text }
      day:        { type: date }
      count:      { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
)";

// 40 users (every fourth with an expiry) and 30 counters.
void Fill(const RedisServer& redis) {
  for (int i = 0; i < 40; ++i) {
    const std::string key = "t:user:u" + std::to_string(i) + "@x";
    redis.Command(
        {"HSET", key, "user_id", std::to_string(100 + i), "name", "U" + std::to_string(i)});
    if (i % 4 == 0) redis.Command({"PEXPIREAT", key, std::to_string(4102444800000 + i)});
  }
  for (int i = 0; i < 30; ++i) {
    redis.Command(
        {"INCRBY", "t:usage:10.0.0." + std::to_string(i) + ":2026-11-30", std::to_string(i + 1)});
  }
}

// Straight into PostgreSQL, as an application at `primary` writes.
constexpr char kSqlWrites[] = R"sql(
UPDATE public.users SET name = name || ' renamed' WHERE email IN ('u1@x', 'u2@x', 'u3@x', 'u5@x', 'u8@x');
UPDATE public.users SET expires_at = NULL WHERE email = 'u4@x';
INSERT INTO public.users (email, id, name, expires_at) VALUES
  ('new1@x', 901, 'New One', '2100-01-01T00:00:00.5Z'), ('new2@x', 902, 'New Two', NULL),
  ('new3@x', 903, 'Zoë', NULL);
DELETE FROM public.users WHERE email IN ('u10@x', 'u11@x', 'u12@x', 'u13@x');
UPDATE public.usage SET count = count + 1000 WHERE ip IN ('10.0.0.1', '10.0.0.2');
DELETE FROM public.usage WHERE ip = '10.0.0.3';
INSERT INTO public.usage (ip, day, count, expires_at) VALUES
  ('10.9.9.9', '2026-12-01', 77, '2100-01-01T00:00:00Z');
)sql";

// Every key of `pattern` in Redis, sorted (KEYS is fine in a test).
std::vector<std::string> RedisKeys(const RedisServer& redis, const std::string& pattern) {
  std::vector<std::string> keys = redis.Command({"KEYS", pattern});
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Redis read with hiredis, one line per key: users as "email|user_id|name|pexpiretime".
std::vector<std::string> RedisUsers(const RedisServer& redis) {
  std::vector<std::string> out;
  for (const std::string& key : RedisKeys(redis, "t:user:*")) {
    const std::vector<std::string> fields = redis.Command({"HGETALL", key});
    std::string user_id, name;
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i] == "user_id") user_id = fields[i + 1];
      if (fields[i] == "name") name = fields[i + 1];
    }
    out.push_back(key.substr(7) + "|" + user_id + "|" + name + "|" +
                  redis.One({"PEXPIRETIME", key}));
  }
  return out;
}

// The same lines by SQL, from PostgreSQL's rows.
std::vector<std::string> SqlUsers(const std::string& url) {
  std::vector<std::string> out;
  for (const auto& row : Query(url,
                               "SELECT email || '|' || id || '|' || name || '|' || "
                               "coalesce(((extract(epoch FROM expires_at) * 1000)::bigint)::text, "
                               "'-1') FROM public.users ORDER BY 'u' || email")) {
    out.push_back(row[0]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> RedisUsage(const RedisServer& redis) {
  std::vector<std::string> out;
  for (const std::string& key : RedisKeys(redis, "t:usage:*")) {
    out.push_back(key.substr(8) + "=" + redis.One({"GET", key}) + "|" +
                  redis.One({"PEXPIRETIME", key}));
  }
  return out;
}

std::vector<std::string> SqlUsage(const std::string& url) {
  std::vector<std::string> out;
  for (const auto& row :
       Query(url,
             "SELECT ip || ':' || day || '=' || count || '|' || "
             "coalesce(((extract(epoch FROM expires_at) * 1000)::bigint)::text, '-1') "
             "FROM public.usage")) {
    out.push_back(row[0]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class RollbackStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = RedisServer::Start();
    ASSERT_NE(redis_, nullptr);
    Fill(*redis_);
    ws_ = Workspace{TempDir() + "/rollback_state", FreshDatabase(), {{"REDIS_URL", redis_->Url()}}};
    WriteFile(ws_.dir + "/cutover.yaml", kSpec);
    CommandResult backfill = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
    ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  }

  void MoveTo(const std::string& stage, const std::string& percent = "") {
    std::vector<std::string> args = {"phase",   "cutover.yaml", "set", stage,
                                     "--force", "--reason",     "test"};
    if (!percent.empty()) args.insert(args.end(), {"--percent", percent});
    CommandResult moved = Cutover(ws_, args);
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }

  // `cutover sync cutover.yaml --idle-exit 2s --json`, with CUTOVER_FAILPOINTS set.
  CommandResult Sync(const std::string& failpoints = "") {
    Workspace ws = ws_;
    ws.env.emplace_back("CUTOVER_FAILPOINTS", failpoints);
    return Cutover(ws, {"sync", "cutover.yaml", "--idle-exit", "2s", "--json"});
  }

  // Whether the slot of `entity` has confirmed a position before `lsn`.
  // Whether `entity`'s slot confirmed nothing past `lsn`.
  std::string ConfirmedAtMost(const std::string& entity, const std::string& lsn) {
    return QueryValue(ws_.url,
                      "SELECT s.confirmed_flush_lsn <= '" + lsn +
                          "'::pg_lsn FROM pg_replication_slots s JOIN cutover.way_back w ON "
                          "w.slot = s.slot_name WHERE w.entity = '" +
                          entity + "'");
  }

  // `cutover rollback cutover.yaml args...`, with CUTOVER_FAILPOINTS set.
  CommandResult Rollback(const std::vector<std::string>& args, const std::string& failpoints = "") {
    Workspace ws = ws_;
    ws.env.emplace_back("CUTOVER_FAILPOINTS", failpoints);
    std::vector<std::string> argv = {"rollback", "cutover.yaml"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Cutover(ws, argv);
  }

  std::unique_ptr<RedisServer> redis_;
  Workspace ws_;
};

TEST_F(RollbackStateTest, RedisEndsInPostgresStateThroughAKillAndTheStageMovesBack) {
  // Before primary, legacy already holds every write: nothing to roll back.
  CommandResult early = Rollback({});
  EXPECT_EQ(early.exit_code, 2) << Describe(early);
  EXPECT_NE(early.err.find("back is at stage legacy"), std::string::npos) << Describe(early);

  MoveTo("dual_write");
  MoveTo("shadow");
  MoveTo("rollout", "100");
  MoveTo("primary");
  Exec(ws_.url, kSqlWrites);
  // A key written straight into Redis at primary is not PostgreSQL's state.
  redis_->Command({"HSET", "t:user:stray@x", "user_id", "999", "name", "Stray"});

  // A dry run counts and writes nothing: 39 rows (40 - 4 + 3) and 31
  // counters (30 - 1 + 1) to write; the 4 deleted users, the deleted
  // counter and the stray key to delete.
  const std::vector<std::string> users_before = RedisUsers(*redis_);
  CommandResult dry = Rollback({"--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  const json report = json::parse(dry.out);
  ASSERT_EQ(report["entities"].size(), 2u);
  EXPECT_EQ(report["entities"][0]["entity"], "users");
  EXPECT_EQ(report["entities"][0]["written"], 39);
  EXPECT_EQ(report["entities"][0]["deleted"], 5);
  EXPECT_EQ(report["entities"][1]["written"], 30);
  EXPECT_EQ(report["entities"][1]["deleted"], 1);
  EXPECT_EQ(RedisUsers(*redis_), users_before);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "primary");

  // Killed after the second page reached Redis, then run again.
  CommandResult killed = Rollback({"--batch-size", "10"}, "rollback.after_legacy_flush=2");
  EXPECT_EQ(killed.term_signal, SIGKILL) << Describe(killed);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "primary");
  CommandResult rerun = Rollback({"--batch-size", "10"});
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_NE(rerun.out.find("stage: primary -> dual_write"), std::string::npos) << Describe(rerun);

  // Redis by hiredis equals PostgreSQL by SQL: values, expiries to the
  // millisecond, deletions, and counters set once, not added twice.
  EXPECT_EQ(RedisUsers(*redis_), SqlUsers(ws_.url));
  EXPECT_EQ(RedisUsage(*redis_), SqlUsage(ws_.url));
  EXPECT_EQ(redis_->One({"GET", "t:usage:10.0.0.1:2026-11-30"}), "1002");
  EXPECT_EQ(redis_->One({"PEXPIRETIME", "t:user:new1@x"}), "4102444800500");
  EXPECT_EQ(redis_->One({"PEXPIRETIME", "t:user:u4@x"}), "-1");
  EXPECT_EQ(redis_->One({"EXISTS", "t:user:stray@x"}), "0");
  EXPECT_EQ(RedisKeys(*redis_, "t:user:*").size(), 39u);

  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "dual_write");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT from_stage || ' -> ' || to_stage || ': ' || why FROM "
                       "cutover.stage_audit ORDER BY id DESC LIMIT 1"),
            "primary -> dual_write: rollback: the legacy store holds PostgreSQL's state");
  CommandResult verify = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
}

TEST_F(RollbackStateTest, AnEntityThatCannotGoBackStopsAWholeRollbackBeforeAnyWrite) {
  WriteFile(ws_.dir + "/partial.yaml", std::string(kSpec) + R"(  sessions:
    source: { from: cache, pattern: "t:session:{id}", value: json }
    key: [id]
    columns:
      id:   { type: text }
      user: { type: text }
)");
  CommandResult backfill = Cutover(ws_, {"backfill", "partial.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  for (const std::string stage : {"dual_write", "shadow"}) {
    CommandResult moved =
        Cutover(ws_, {"phase", "partial.yaml", "set", stage, "--force", "--reason", "t"});
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }
  for (const auto& args : {std::vector<std::string>{"phase", "partial.yaml", "set", "rollout",
                                                    "--percent", "100", "--force", "--reason", "t"},
                           std::vector<std::string>{"phase", "partial.yaml", "set", "primary",
                                                    "--force", "--reason", "t"}}) {
    CommandResult moved = Cutover(ws_, args);
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }
  Exec(ws_.url, "UPDATE public.users SET name = 'changed' WHERE email = 'u1@x'");
  std::vector<std::string> argv = {CutoverBinary(), "rollback", "partial.yaml"};
  CommandResult whole =
      RunCommand(argv, {{"DATABASE_URL", ws_.url}, {"REDIS_URL", redis_->Url()}}, ws_.dir);
  EXPECT_EQ(whole.exit_code, 2) << Describe(whole);
  EXPECT_NE(whole.err.find("sessions: it does not declare write_back: true"), std::string::npos)
      << Describe(whole);
  EXPECT_EQ(redis_->One({"HGET", "t:user:u1@x", "name"}), "U1");

  // One entity alone goes back; the stage stays.
  argv.insert(argv.end(), {"--entity", "users"});
  CommandResult users =
      RunCommand(argv, {{"DATABASE_URL", ws_.url}, {"REDIS_URL", redis_->Url()}}, ws_.dir);
  ASSERT_EQ(users.exit_code, 0) << Describe(users);
  EXPECT_EQ(redis_->One({"HGET", "t:user:u1@x", "name"}), "changed");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "primary");
}

TEST_F(RollbackStateTest, TheWayBackCarriesPostgresChangesIntoRedisThroughKills) {
  MoveTo("dual_write");
  MoveTo("shadow");
  MoveTo("rollout", "100");
  MoveTo("primary");
  // Before the first way back: changes it never saw, and a stray key.
  Exec(ws_.url, kSqlWrites);
  redis_->Command({"HSET", "t:user:stray@x", "user_id", "999", "name", "Stray"});

  // The first run makes the slots and reconciles once, as a rollback does.
  CommandResult first = Sync();
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  json report = json::parse(first.out);
  ASSERT_EQ(report["entities"].size(), 2u);
  EXPECT_EQ(report["entities"][0]["reconciliations"], 1);
  EXPECT_EQ(RedisUsers(*redis_), SqlUsers(ws_.url));
  EXPECT_EQ(RedisUsage(*redis_), SqlUsage(ws_.url));
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM pg_replication_slots"), "2");

  // Three kills, each with changes made while no way back ran: before Redis
  // took the batch, after it took it with the keys still locked, and after
  // the locks went but before the slot was acknowledged. The slot never
  // confirms a change Redis lacks: confirmed <= where WAL ended just before
  // the change's commit, read in its own transaction. (The insert position:
  // with asynchronous commit the write position may trail; and just before
  // the commit: other sessions, autovacuum among them, may write WAL between
  // an earlier reading and the change, which a slot may rightly confirm.)
  const std::vector<std::string> kills = {"wayback.before_legacy_flush=1",
                                          "wayback.after_legacy_flush=1", "wayback.before_ack=1"};
  for (size_t round = 0; round < kills.size(); ++round) {
    const std::string n = std::to_string(round);
    std::string before;
    {
      auto conn = pg_store::PgConnection::Connect(ws_.url);
      ASSERT_TRUE(conn.ok()) << conn.status().ToString();
      ASSERT_TRUE((*conn)
                      ->Exec("BEGIN; UPDATE public.usage SET count = count + 1000 WHERE ip = "
                             "'10.0.0.5'; UPDATE public.users SET name = 'round " +
                             n +
                             "' WHERE email = 'u20@x'; "
                             "INSERT INTO public.users (email, id, name) VALUES ('r" +
                             n + "@x', " + std::to_string(500 + round) + ", 'R" + n + "')")
                      .ok());
      auto lsn = (*conn)->QueryValue("SELECT pg_current_wal_insert_lsn()");
      ASSERT_TRUE(lsn.ok() && lsn->has_value());
      before = **lsn;
      ASSERT_TRUE((*conn)->Exec("COMMIT").ok());
    }
    CommandResult killed = Sync(kills[round]);
    EXPECT_EQ(killed.term_signal, SIGKILL) << kills[round] << " " << Describe(killed);
    EXPECT_EQ(ConfirmedAtMost("usage", before), "t") << kills[round];
    EXPECT_EQ(ConfirmedAtMost("users", before), "t") << kills[round];
    if (round == 0) {
      // Killed before the flush: Redis has not seen it, the slot keeps it.
      EXPECT_EQ(redis_->One({"HGET", "t:user:u20@x", "name"}), "U20");
    }
  }

  // A name too big to stay in its row (TOASTed), so that a later update of
  // another column leaves it out of the change (re-read by key).
  Exec(ws_.url,
       "UPDATE public.users SET name = (SELECT string_agg(md5(i::text), '') FROM "
       "generate_series(1, 400) AS i) WHERE email = 'u22@x'");

  // A transaction marked as cutover's own write (as backfill and sync mark
  // theirs) is not sent back; a plain one is.
  Exec(ws_.url,
       "BEGIN; SELECT pg_logical_emit_message(true, 'cutover.own_write', ''); "
       "UPDATE public.users SET name = 'own' WHERE email = 'u30@x'; COMMIT;");
  Exec(ws_.url, "UPDATE public.users SET name = 'plain' WHERE email = 'u31@x'");

  // Writers while the way back runs: 200 increments of counters, and 300
  // new users, each its own transaction flushed at commit as an
  // application's are (the scratch cluster's default leaves that to the WAL
  // writer): the server then decodes a commit a moment before other
  // sessions see it, so a way back that read each changed row again would
  // miss some of them.
  CommandResult live;
  std::thread syncer([&] { live = Sync(); });
  for (int i = 0; i < 300; ++i) {
    const std::string n = std::to_string(i);
    if (i < 200) {
      Exec(ws_.url, "UPDATE public.usage SET count = count + 1 WHERE ip = '10.0.0." +
                        std::to_string(i % 7) + "'");
    }
    Exec(ws_.url,
         "SET synchronous_commit = on; INSERT INTO public.users (email, id, name) "
         "VALUES ('live" +
             n + "@x', " + std::to_string(2000 + i) + ", 'L" + n + "')");
    if (i == 100) Exec(ws_.url, "DELETE FROM public.users WHERE email = 'u21@x'");
    if (i == 200) {
      // A key changed by an update: the old key goes, the new one comes.
      Exec(ws_.url, "UPDATE public.users SET email = 'moved@x' WHERE email = 'u23@x'");
    }
    if (i == 150) {
      Exec(ws_.url,
           "SET synchronous_commit = on; UPDATE public.users SET id = 4242 WHERE "
           "email = 'u22@x'");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  syncer.join();
  ASSERT_EQ(live.exit_code, 0) << Describe(live);
  report = json::parse(live.out);
  EXPECT_EQ(report["entities"][0]["reconciliations"], 0) << live.out;
  EXPECT_EQ(report["entities"][1]["reconciliations"], 0) << live.out;
  EXPECT_EQ(report["entities"][0]["own_writes_skipped"], 1) << live.out;  // users
  // 171 live updates (those of 10.0.0.3, deleted by kSqlWrites, change no row)
  // and the 3 the killed runs never acknowledged.
  EXPECT_EQ(report["entities"][1]["changes"], 174) << live.out;
  EXPECT_GT(report["entities"][0]["lag_samples"], 0) << live.out;

  // Redis by hiredis equals PostgreSQL by SQL, but for the own write, which
  // PostgreSQL holds and the way back rightly left alone.
  EXPECT_EQ(redis_->One({"HGET", "t:user:u30@x", "name"}), "U30");
  Exec(ws_.url, "UPDATE public.users SET name = 'U30' WHERE email = 'u30@x'");
  EXPECT_EQ(RedisUsers(*redis_), SqlUsers(ws_.url));
  EXPECT_EQ(RedisUsage(*redis_), SqlUsage(ws_.url));
  // 6 (Fill's INCRBY) + 3 x 1000 + the live increments of 10.0.0.5 (i % 7 == 5:
  // i = 5, 12, ..., 194, 28 of them).
  EXPECT_EQ(redis_->One({"GET", "t:usage:10.0.0.5:2026-11-30"}), "3034");
  EXPECT_EQ(redis_->One({"HGET", "t:user:u31@x", "name"}), "plain");
  EXPECT_EQ(redis_->One({"EXISTS", "t:user:u21@x"}), "0");
  EXPECT_EQ(redis_->One({"HGET", "t:user:u22@x", "user_id"}), "4242");
  EXPECT_EQ(redis_->One({"HSTRLEN", "t:user:u22@x", "name"}), "12800");

  CommandResult status = Cutover(ws_, {"phase", "cutover.yaml", "status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  const json phase = json::parse(status.out);
  ASSERT_EQ(phase["way_back"].size(), 2u) << status.out;
  EXPECT_EQ(phase["way_back"][0]["slot_exists"], true);
  EXPECT_EQ(phase["way_back"][0]["reconciled"], true);
  EXPECT_TRUE(phase["way_back"][0]["retained_wal_bytes"].is_number());

  EXPECT_EQ(redis_->One({"EXISTS", "t:user:u23@x"}), "0");
  EXPECT_EQ(redis_->One({"HGET", "t:user:moved@x", "user_id"}), "123");

  // The stage does not leave primary while the slots may hold changes
  // Redis lacks (`cutover rollback` is the way), nor, even forced, while a
  // sync streams from them.
  CommandResult plain = Cutover(ws_, {"phase", "cutover.yaml", "set", "dual_write"});
  EXPECT_EQ(plain.exit_code, 3) << Describe(plain);
  EXPECT_NE(plain.err.find("`cutover rollback` writes PostgreSQL's state"), std::string::npos)
      << Describe(plain);
  CommandResult streaming;
  std::thread running([&] {
    streaming = Cutover(ws_, {"sync", "cutover.yaml", "--idle-exit", "5s"});
  });
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryValue(ws_.url, "SELECT count(*) FROM pg_replication_slots WHERE active") == "2";
      },
      30));
  CommandResult forced =
      Cutover(ws_, {"phase", "cutover.yaml", "set", "dual_write", "--force", "--reason", "test"});
  EXPECT_EQ(forced.exit_code, 3) << Describe(forced);
  EXPECT_NE(forced.err.find("stop it before the stage leaves primary"), std::string::npos)
      << Describe(forced);
  running.join();
  EXPECT_EQ(streaming.exit_code, 0) << Describe(streaming);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "primary");

  // Forced, with no sync running, it moves and drops the slots: the server
  // keeps no WAL for them.
  MoveTo("dual_write");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM pg_publication"), "0");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.way_back"), "0");
}

}  // namespace
}  // namespace cutover::testing
