// cutover backfill and sync against a real Redis Cluster (three masters, three
// replicas) under a seeded writer, a failover and a slot migration.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

constexpr int kIds = 300;
constexpr int kMigratedSlots = 100;

// Plain keys, no hash tags: each entity's keys spread over every master.
constexpr std::string_view kSpec = R"(
migration: clustered
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
backfill: { batch_size: 100 }
entities:
  profiles:
    source: { from: cache, pattern: "cl:profile:{id}", value: json }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      name:       { type: text }
      score:      { type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  accounts:
    source: { from: cache, pattern: "cl:account:{id}", value: hash }
    key: [id]
    tag: false
    columns:
      id:         { type: text }
      plan:       { type: text }
      seats:      { type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
)";

const char* const kFamilies[] = {"profile", "account"};
const char* const kTables[] = {"profiles", "accounts"};

std::string Key(int family, int id) {
  return std::string("cl:") + kFamilies[family] + ":" + std::to_string(id);
}

// One random write on a random key of `family`, through the cluster-aware
// client (MOVED and ASK followed), as an application would. Without
// `expiring`, no write sets a TTL: keys stay put until the next writer.
void RandomWrite(RedisClusterHarness& cluster, std::mt19937& rng, int family,
                 bool expiring = true) {
  const int id = static_cast<int>(rng() % kIds);
  const std::string key = Key(family, id);
  int op = static_cast<int>(rng() % 10);
  if (!expiring && (op == 1 || op == 3)) op = 9;
  const std::string n = std::to_string(rng() % 1000);
  auto run = [&](std::vector<std::string> args) { cluster.TryCommand(args, key); };
  switch (op) {
    case 0:
      run({"DEL", key});
      return;
    case 1:
      run({"EXPIRE", key, std::to_string(1 + rng() % 2)});  // expires during the run
      return;
    case 2:
      run({"PERSIST", key});
      return;
    default:
      break;
  }
  if (family == 0) {
    const std::string json = R"({"name":"p)" + n + R"(","score":)" + n + "}";
    if (op == 3) {
      run({"SETEX", key, std::to_string(1 + rng() % 3), json});
    } else {
      run({"SET", key, json});
    }
  } else if (op == 3) {
    run({"HDEL", key, "seats"});
  } else {
    run({"HSET", key, "plan", "plan" + n, "seats", n});
  }
}

// The ids of `family` as the masters hold them now, read by the harness.
std::set<std::string> RedisIds(RedisClusterHarness& cluster, int family) {
  std::set<std::string> ids;
  const std::string prefix = std::string("cl:") + kFamilies[family] + ":";
  for (const auto& k : cluster.Keys(prefix + "*")) ids.insert(k.substr(prefix.size()));
  return ids;
}

std::set<std::string> PgIds(const std::string& url, const std::string& table) {
  std::set<std::string> ids;
  for (const auto& row : Query(url, "SELECT id FROM " + table)) ids.insert(row[0]);
  return ids;
}

// Whether every master has a keyspace subscriber (sync's change stream).
bool EveryMasterSubscribed(RedisClusterHarness& cluster) {
  for (const auto& [id, master] : cluster.Masters()) {
    const auto clients = master->TryCommand({"CLIENT", "LIST", "TYPE", "pubsub"});
    if (clients.empty() || clients[0].find("cmd=psubscribe") == std::string::npos) return false;
  }
  return true;
}

// Progress on stderr, so that a slow or stuck run shows which step it was in.
void Step(const std::string& what) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::cerr << "[cluster test "
            << std::chrono::duration_cast<std::chrono::milliseconds>(now).count() % 100000 << "] "
            << what << std::endl;
}

// Converged, by the harness's own reading of every master and by SQL: the
// same keys, the same values.
void ExpectConverged(RedisClusterHarness& cluster, const std::string& url) {
  for (int family = 0; family < 2; ++family) {
    const auto in_redis = RedisIds(cluster, family);
    EXPECT_GT(in_redis.size(), 50u) << kTables[family];  // a check of nothing proves nothing
    EXPECT_EQ(PgIds(url, kTables[family]), in_redis) << kTables[family];
  }
  for (const auto& id : RedisIds(cluster, 0)) {
    const auto got = cluster.TryCommand({"GET", Key(0, std::stoi(id))}, Key(0, std::stoi(id)));
    ASSERT_EQ(got.size(), 1u) << id;
    if (got[0] == "(nil)") continue;  // expired since KEYS
    const auto doc = nlohmann::json::parse(got[0]);
    EXPECT_EQ(QueryValue(url, "SELECT name || ' ' || score FROM profiles WHERE id = '" + id + "'"),
              doc["name"].get<std::string>() + " " + std::to_string(doc["score"].get<int>()))
        << id;
  }
  for (const auto& id : RedisIds(cluster, 1)) {
    const std::string key = Key(1, std::stoi(id));
    const auto plan = cluster.TryCommand({"HGET", key, "plan"}, key);
    const auto seats = cluster.TryCommand({"HGET", key, "seats"}, key);
    EXPECT_EQ(QueryValue(url,
                         "SELECT coalesce(plan, '(nil)') || ' ' || "
                         "coalesce(seats::text, '(nil)') FROM accounts WHERE id = '" +
                             id + "'"),
              plan.at(0) + " " + seats.at(0))
        << id;
  }
}

TEST(RedisCluster, BackfillAndSyncConvergeThroughAFailoverAndASlotMigration) {
  auto cluster = RedisClusterHarness::Start(3, 1, "");
  ASSERT_NE(cluster, nullptr);
  std::mt19937 seed_rng(7);
  for (int family = 0; family < 2; ++family) {
    for (int id = 0; id < kIds; ++id) {
      const std::string key = Key(family, id);
      if (family == 0) {
        cluster->TryCommand({"SET", key, R"({"name":"seed","score":)" + std::to_string(id) + "}"},
                            key);
      } else {
        cluster->TryCommand({"HSET", key, "plan", "seed", "seats", std::to_string(id)}, key);
      }
    }
    for (int i = 0; i < 200; ++i) RandomWrite(*cluster, seed_rng, family, /*expiring=*/false);
  }
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", cluster->Url()}};
  Step("backfill");
  const CommandResult backfill =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, env, dir);
  ASSERT_EQ(backfill.exit_code, 0) << backfill.out << backfill.err;
  // A backfill of a quiet cluster reads every master: nothing missing.
  for (int family = 0; family < 2; ++family) {
    EXPECT_EQ(PgIds(url, kTables[family]), RedisIds(*cluster, family)) << kTables[family];
  }

  std::atomic<bool> writing{true};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    std::mt19937 rng(42);
    while (writing.load()) {
      RandomWrite(*cluster, rng, static_cast<int>(rng() % 2));
      ++writes;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  CommandResult sync;
  std::thread syncer([&] {
    sync = RunCommand({CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "5s",
                       "--for", "120s", "--json"},
                      env, dir);
  });

  int injected = 0;
  // The faults, in a function of their own so that a failed step still
  // stops the writer and waits for the sync (whose output says why).
  auto inject = [&] {
    // A manual failover of the seed node's shard: the seed becomes a replica.
    ASSERT_TRUE(WaitFor([&] { return EveryMasterSubscribed(*cluster); }, 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    Step("failover");
    RedisServer* promoted = cluster->FailOver(cluster->nodes().front().get());
    ASSERT_NE(promoted, nullptr);
    ++injected;

    // Then 100 slots holding the entities' keys move between the two other
    // masters while the writer writes keys in them.
    ASSERT_TRUE(WaitFor([&] { return EveryMasterSubscribed(*cluster); }, 30));
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    RedisServer* from = nullptr;
    RedisServer* to = nullptr;
    for (const auto& [id, master] : cluster->Masters()) {
      if (master == promoted) continue;
      (from == nullptr ? from : to) = master;
    }
    ASSERT_NE(to, nullptr);
    std::set<int> slots;
    // A reshard moves every key of a slot, cutover's own too: the slot of
    // the sentinel key the sync keeps on `from` moves with the others.
    for (const auto& key : from->Command({"KEYS", "cutover:sentinel:*"})) {
      slots.insert(std::stoi(from->One({"CLUSTER", "KEYSLOT", key})));
    }
    ASSERT_FALSE(slots.empty()) << "the sync keeps no sentinel key on the master on port "
                                << from->port();
    for (int family = 0; family < 2 && slots.size() < kMigratedSlots; ++family) {
      for (int id = 0; id < kIds && slots.size() < kMigratedSlots; ++id) {
        const std::string key = Key(family, id);
        const std::string slot = from->One({"CLUSTER", "KEYSLOT", key});
        if (from->One({"CLUSTER", "COUNTKEYSINSLOT", slot}) != "0" &&
            cluster->NodeFor(key) == from) {
          slots.insert(std::stoi(slot));
        }
      }
    }
    ASSERT_EQ(slots.size(), static_cast<size_t>(kMigratedSlots));
    Step("migrating slots");
    ASSERT_TRUE(cluster->MigrateSlots(from, to, std::vector<int>(slots.begin(), slots.end())));
    ++injected;

    ASSERT_TRUE(WaitFor([&] { return EveryMasterSubscribed(*cluster); }, 30));
    std::this_thread::sleep_for(std::chrono::seconds(2));
  };
  inject();
  Step("writer stops");
  writing.store(false);
  writer.join();
  syncer.join();  // --idle-exit: once the last change (expiries included) is applied

  Step("sync exited");
  ASSERT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  const auto report = nlohmann::json::parse(sync.out);
  const auto& source = report["sources"][0];
  std::cerr << "writes: " << writes.load() << "\n" << source.dump(2) << "\n";
  // Each fault is at least one gap; every gap names a failover, moved slots
  // or a broken connection, and was repaired.
  EXPECT_GE(source["gaps"].get<int>(), injected) << source.dump(2) << sync.err;
  EXPECT_EQ(source["repairs"].get<int>(), source["gaps"].get<int>() + 1) << source.dump(2);
  for (const auto& reason : source["gap_reasons"]) {
    const std::string r = reason.get<std::string>();
    EXPECT_TRUE(r.find("failover") != std::string::npos || r.find("slots") != std::string::npos ||
                r.find("connection broke") != std::string::npos)
        << r;
  }
  EXPECT_GT(source["changes"].get<int>(), 1000) << source.dump(2);

  ExpectConverged(*cluster, url);
  const CommandResult verify = RunCommand({CutoverBinary(), "verify", "cutover.yaml"}, env, dir);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace cutover::testing
