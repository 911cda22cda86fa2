// cutover sync against a real Redis under a seeded writer and injected
// faults: PostgreSQL converges, nothing comes back, and every gap is counted.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

constexpr int kDb = 3;  // a scratch database index, not 0
constexpr int kIds = 150;

constexpr std::string_view kSpec = R"(
migration: race
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
backfill: { batch_size: 100 }
entities:
  profiles:
    source: { from: cache, pattern: "race:profile:{id}", value: json }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      name:       { type: text }
      score:      { type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  accounts:
    source: { from: cache, pattern: "race:account:{id}", value: hash }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      plan:       { type: text }
      seats:      { type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  counters:
    source: { from: cache, pattern: "race:count:{id}", value: counter }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      n:          { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  notes:
    source: { from: cache, pattern: "race:note:{id}", value: string }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      body:       { from: $value, type: text }
      expires_at: { from: $expires_at, type: timestamptz }
)";

const char* const kFamilies[] = {"profile", "account", "count", "note"};

std::string Key(int family, int id) {
  return std::string("race:") + kFamilies[family] + ":" + std::to_string(id);
}

// One random write of the mix the issue names, on a random key of `family`.
void RandomWrite(const RedisServer& redis, std::mt19937& rng, int family) {
  const int id = static_cast<int>(rng() % kIds);
  const std::string key = Key(family, id);
  const int op = static_cast<int>(rng() % 10);
  const std::string n = std::to_string(rng() % 1000);
  auto run = [&](std::vector<std::string> args) { redis.TryCommand(args, kDb); };
  switch (op) {
    case 0:
      run({"DEL", key});
      return;
    case 1:
      run({"UNLINK", key});
      return;
    case 2:
      run({"EXPIRE", key, std::to_string(1 + rng() % 2)});  // future: expires during the run
      return;
    case 3:
      run({"EXPIRE", key, "-1"});  // past: a delete
      return;
    case 4:
      run({"PERSIST", key});
      return;
    case 5:
      run({"RENAME", key, Key(family, static_cast<int>(rng() % kIds))});
      return;
    default:
      break;
  }
  switch (family) {
    case 0: {
      const std::string json = R"({"name":"p)" + n + R"(","score":)" + n + "}";
      if (op == 6) {
        run({"SETEX", key, std::to_string(1 + rng() % 3), json});
      } else {
        run({"SET", key, json});
      }
      return;
    }
    case 1:
      if (op == 6) {
        run({"HDEL", key, "seats"});
      } else {
        run({"HSET", key, "plan", "plan" + n, "seats", n});
      }
      return;
    case 2:
      if (op == 6) {
        run({"SET", key, n});
      } else {
        run({"INCRBY", key, n});
      }
      return;
    default:
      if (op == 6) {
        run({"SET", key, "note" + n});
      } else {
        run({"APPEND", key, "+" + n});
      }
      return;
  }
}

// The keys of `family` as Redis holds them now, read by the harness.
std::set<std::string> RedisIds(const RedisServer& redis, int family) {
  std::set<std::string> ids;
  const std::string prefix = std::string("race:") + kFamilies[family] + ":";
  for (const auto& k : redis.Command({"KEYS", prefix + "*"}, kDb)) {
    ids.insert(k.substr(prefix.size()));
  }
  return ids;
}

std::set<std::string> PgIds(const std::string& url, const std::string& table) {
  std::set<std::string> ids;
  for (const auto& row : Query(url, "SELECT id FROM " + table)) ids.insert(row[0]);
  return ids;
}

TEST(RedisSync, ConvergesUnderWritesAndCountsEveryInjectedGap) {
  RedisServer::Options options;
  options.persist = true;  // a restart reloads the data, as a production server would
  auto redis = RedisServer::Start(options);
  ASSERT_NE(redis, nullptr);
  std::mt19937 seed_rng(11);
  for (int family = 0; family < 4; ++family) {
    for (int i = 0; i < 300; ++i) RandomWrite(*redis, seed_rng, family);
  }
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", redis->Url(kDb)}};
  const CommandResult first =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, env, dir);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;

  std::atomic<bool> writing{true};
  std::thread writer([&] {
    std::mt19937 rng(42);
    while (writing.load()) {
      RandomWrite(*redis, rng, static_cast<int>(rng() % 4));
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  CommandResult sync;
  std::thread syncer([&] {
    sync = RunCommand(
        {CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "5s", "--json"},
        env, dir);
  });
  // A backfill racing the writer and the sync: an older read must never win.
  CommandResult racing;
  std::thread backfill([&] {
    racing = RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--restart"}, env, dir);
  });
  backfill.join();
  EXPECT_EQ(racing.exit_code, 0) << racing.out << racing.err;

  // Faults, each once the sync is subscribed again, so each is one gap.
  int injected = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*redis); }, 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    redis->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
    ++injected;
  }
  ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*redis); }, 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  redis->Command({"FLUSHDB"}, kDb);
  ++injected;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*redis); }, 30));
  ASSERT_TRUE(redis->Restart());
  ++injected;
  ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*redis); }, 30));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  writing.store(false);
  writer.join();
  syncer.join();  // --idle-exit: once the last change (expiries included) is applied

  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  const auto report = nlohmann::json::parse(sync.out);
  const auto& source = report["sources"][0];
  EXPECT_EQ(source["gaps"].get<int>(), injected) << source.dump(2) << sync.err;
  EXPECT_EQ(source["repairs"].get<int>(), injected + 1) << source.dump(2);
  EXPECT_GT(source["changes"].get<int>(), 1000) << source.dump(2);
  // The racing backfill met newer states the sync had written, or the other
  // way round: the version guard had work to do.
  std::cerr << source.dump(2) << "\n" << racing.out;

  // Converged, by the harness's own reading of Redis and by SQL: the same
  // keys (none only in PostgreSQL: nothing resurrected), the same values.
  const char* const tables[] = {"profiles", "accounts", "counters", "notes"};
  for (int family = 0; family < 4; ++family) {
    // The writer kept every family busy after the FLUSHDB: a check of
    // nothing would prove nothing.
    EXPECT_GT(RedisIds(*redis, family).size(), 20u) << tables[family];
    EXPECT_EQ(PgIds(url, tables[family]), RedisIds(*redis, family)) << tables[family];
  }
  for (const auto& id : RedisIds(*redis, 2)) {
    EXPECT_EQ(QueryValue(url, "SELECT n FROM counters WHERE id = '" + id + "'"),
              redis->One({"GET", Key(2, std::stoi(id))}, kDb))
        << id;
  }
  for (const auto& id : RedisIds(*redis, 3)) {
    EXPECT_EQ(QueryValue(url, "SELECT body FROM notes WHERE id = '" + id + "'"),
              redis->One({"GET", Key(3, std::stoi(id))}, kDb))
        << id;
  }
  for (const auto& id : RedisIds(*redis, 1)) {
    const auto seats = redis->One({"HGET", Key(1, std::stoi(id)), "seats"}, kDb);
    EXPECT_EQ(QueryValue(url, "SELECT coalesce(seats::text, '(nil)') FROM accounts WHERE id = '" +
                                  id + "'"),
              seats)
        << id;
  }
  // And cutover's verify agrees, both ways.
  const CommandResult verify = RunCommand({CutoverBinary(), "verify", "cutover.yaml"}, env, dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

std::string Profile(const std::string& name, int score) {
  return R"({"name":")" + name + R"(","score":)" + std::to_string(score) + "}";
}

// A bulk load sets the entity's key aside; a sync that starts meanwhile must
// leave that table alone (it could not merge into it), keep the other entities
// in step, and reconcile the first once the load has built its key.
TEST(RedisSync, LeavesAnEntityUnderBulkLoadAloneThenReconcilesIt) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  for (int i = 0; i < 400; ++i) {
    redis->Command({"SET", Key(0, i), Profile("p" + std::to_string(i), i)}, kDb);
  }
  for (int i = 0; i < 20; ++i) redis->Command({"SET", Key(3, i), "note" + std::to_string(i)}, kDb);
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", redis->Url(kDb)}};
  const CommandResult notes =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--entity",
                  "accounts", "--entity", "counters", "--entity", "notes"},
                 env, dir);
  ASSERT_EQ(notes.exit_code, 0) << notes.out << notes.err;
  auto killed_env = env;
  killed_env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=2");
  const CommandResult killed = RunCommand(
      {CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--entity", "profiles"},
      killed_env, dir);
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
  ASSERT_NE(killed.err.find("loading it without its key"), std::string::npos) << killed.err;
  ASSERT_EQ(QueryValue(url,
                       "SELECT count(*) > 0 FROM cutover.deferred_ddl WHERE entity = "
                       "'profiles'"),
            "t");
  const std::string loaded = QueryValue(url, "SELECT count(*) FROM profiles");
  ASSERT_LT(std::stoi(loaded), 400);

  CommandResult sync;
  std::thread syncer([&] {
    sync = RunCommand(
        {CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "3s", "--json"},
        env, dir);
  });
  ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*redis); }, 30));
  redis->Command({"SET", Key(0, 7), Profile("changed", -7)}, kDb);
  redis->Command({"DEL", Key(0, 8)}, kDb);
  redis->Command({"SET", Key(0, 900), Profile("new", 900)}, kDb);
  redis->Command({"SET", Key(3, 3), "changed"}, kDb);
  // notes is kept in step meanwhile; profiles is left as the load left it.
  EXPECT_TRUE(WaitFor(
      [&] { return QueryValue(url, "SELECT body FROM notes WHERE id = '3'") == "changed"; }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM profiles"), loaded);

  // The load resumes, builds the key, and the sync reconciles profiles.
  const CommandResult resumed = RunCommand({CutoverBinary(), "backfill", "cutover.yaml"}, env, dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  syncer.join();
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_NE(sync.err.find("profiles is being bulk-loaded"), std::string::npos) << sync.err;
  EXPECT_NE(sync.err.find("the bulk load of profiles has built its key; reconciling it"),
            std::string::npos)
      << sync.err;
  EXPECT_EQ(nlohmann::json::parse(sync.out)["sources"][0]["gaps"].get<int>(), 0) << sync.out;

  // By the harness's reading of Redis and by SQL: every key once, the same values.
  EXPECT_EQ(PgIds(url, "profiles"), RedisIds(*redis, 0));
  EXPECT_EQ(QueryValue(url, "SELECT count(*) = count(DISTINCT id) FROM profiles"), "t");
  EXPECT_EQ(QueryValue(url, "SELECT name || '/' || score FROM profiles WHERE id = '7'"),
            "changed/-7");
  EXPECT_EQ(QueryValue(url, "SELECT name FROM profiles WHERE id = '900'"), "new");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM profiles WHERE id = '8'"), "0");
  const CommandResult verify = RunCommand({CutoverBinary(), "verify", "cutover.yaml"}, env, dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// A bulk load of an entity whose rows hold their key writes no claims; the
// keys deleted after it are found by the first sync all the same.
TEST(RedisSync, DeletesTheRowsOfKeysGoneSinceABulkLoadThatClaimedNone) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  for (int i = 0; i < 300; ++i) {
    redis->Command({"SET", Key(0, i), Profile("p" + std::to_string(i), i)}, kDb);
    redis->Command({"HSET", Key(1, i), "plan", "basic", "seats", std::to_string(i)}, kDb);
    redis->Command({"SET", Key(2, i), std::to_string(i)}, kDb);
    redis->Command({"SET", Key(3, i), "note" + std::to_string(i)}, kDb);
  }
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", redis->Url(kDb)}};
  const CommandResult load =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, env, dir);
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  EXPECT_NE(load.err.find("profiles: empty table at stage legacy: loading it without its key"),
            std::string::npos)
      << load.err;
  ASSERT_EQ(QueryValue(url, "SELECT count(*) FROM profiles"), "300");
  ASSERT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.key_versions"), "0") << load.err;

  for (int i = 0; i < 300; i += 30) redis->Command({"DEL", Key(0, i)}, kDb);
  redis->Command({"UNLINK", Key(3, 7)}, kDb);
  redis->Command({"SET", Key(0, 1), Profile("changed", -1)}, kDb);
  const CommandResult sync = RunCommand(
      {CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "2s", "--json"}, env,
      dir);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;

  EXPECT_EQ(RedisIds(*redis, 0).size(), 290u);
  EXPECT_EQ(PgIds(url, "profiles"), RedisIds(*redis, 0));
  EXPECT_EQ(PgIds(url, "notes"), RedisIds(*redis, 3));
  EXPECT_EQ(QueryValue(url, "SELECT name FROM profiles WHERE id = '1'"), "changed");
  const CommandResult verify = RunCommand({CutoverBinary(), "verify", "cutover.yaml"}, env, dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// A date capture is read only as YYYY-MM-DD, so a bulk load of an entity
// keyed by (text, date) captures writes no claims either, and sync finds the
// rows of its keys gone since by printing each row's key back. A key spelling
// its date another way ("02026-...") is a reject, and deleting it leaves the
// row of the date's canonical key alone.
TEST(RedisSync, DeletesTheRowsOfDateKeysGoneSinceABulkLoadThatClaimedNone) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  constexpr std::string_view kVisits = R"(
migration: visits
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
backfill: { batch_size: 50 }
entities:
  visits:
    source: { from: cache, pattern: "visits:{ip}:{day}", value: counter }
    key: [ip, day]
    tag: false
    columns:
      ip:    { type: text }
      day:   { type: date }
      count: { from: $value, type: bigint }
)";
  // 100 ips on 2 days each: (ip i, 2026-11-29) counts i, (ip i, 2026-11-30) i + 1000.
  const auto ip = [](int i) { return "10.0." + std::to_string(i / 250) + "." + std::to_string(i); };
  for (int i = 0; i < 100; ++i) {
    redis->Command({"SET", "visits:" + ip(i) + ":2026-11-29", std::to_string(i)}, kDb);
    redis->Command({"SET", "visits:" + ip(i) + ":2026-11-30", std::to_string(i + 1000)}, kDb);
  }
  const std::string odd = "visits:" + ip(5) + ":02026-11-30";
  redis->Command({"SET", odd, "77"}, kDb);
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kVisits);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", redis->Url(kDb)}};
  const CommandResult load = RunCommand(
      {CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--max-rejects", "1"}, env,
      dir);
  ASSERT_EQ(load.exit_code, 0) << load.out << load.err;
  ASSERT_EQ(QueryValue(url, "SELECT count(*) FROM visits"), "200");
  ASSERT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.key_versions"), "0") << load.err;
  const auto rejects = Query(url, "SELECT reason FROM cutover.rejects");
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_NE(rejects[0][0].find("the key's capture 'day' = '02026-11-30' is not spelled "
                               "YYYY-MM-DD"),
            std::string::npos)
      << rejects[0][0];
  EXPECT_EQ(QueryValue(url,
                       "SELECT count FROM visits WHERE ip = '10.0.0.5' AND day = "
                       "'2026-11-30'"),
            "1005");

  // Gone since the load: every 10th ip's first day, and the odd spelling.
  for (int i = 0; i < 100; i += 10) redis->Command({"DEL", "visits:" + ip(i) + ":2026-11-29"}, kDb);
  redis->Command({"DEL", odd}, kDb);
  const CommandResult sync = RunCommand(
      {CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "2s", "--json"}, env,
      dir);
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  // By hand: 200 rows less the 10 deleted keys' rows; counts as written.
  EXPECT_EQ(
      QueryValue(url, "SELECT count(*) || ' ' || sum(count) FROM visits"),
      "190 " + std::to_string(4950 + 104950 - (0 + 10 + 20 + 30 + 40 + 50 + 60 + 70 + 80 + 90)));
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM visits WHERE day = '2026-11-29' AND "
                       "split_part(ip, '.', 4)::int % 10 = 0"),
            "0");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count FROM visits WHERE ip = '10.0.0.5' AND day = "
                       "'2026-11-30'"),
            "1005");
}

}  // namespace
}  // namespace cutover::testing
