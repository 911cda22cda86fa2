// Entities of one Redis source read in one SCAN (stores/redis/shared_scan.h),
// against a real Redis: each gets what its own SCAN MATCH would, checked by
// Redis itself and by SQL, and the server scans the keyspace once, not once each.
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spec/key_pattern.h"
#include "spec/spec.h"
#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_endpoint.h"
#include "stores/redis/shared_scan.h"
#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

using redis_store::SharedScan;

constexpr int kDb = 2;

// What Redis's own SCAN MATCH returns for `glob`, whole.
std::set<std::string> ScanMatch(const RedisServer& redis, const std::string& glob) {
  std::set<std::string> keys;
  std::string cursor = "0";
  do {
    std::vector<std::string> page =
        redis.Command({"SCAN", cursor, "MATCH", glob, "COUNT", "1000"}, kDb);
    cursor = page[0];
    keys.insert(page.begin() + 1, page.end());
  } while (cursor != "0");
  return keys;
}

spec::EntitySpec Entity(const std::string& name, const std::string& pattern) {
  spec::EntitySpec e;
  e.name = name;
  e.redis.emplace();
  auto parsed = spec::KeyPattern::Parse(pattern);
  EXPECT_TRUE(parsed.ok()) << pattern;
  if (parsed.ok()) e.redis->pattern = std::move(*parsed);
  return e;
}

TEST(SharedScan, RoutesAKeyWhereRedisScanMatchWould) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  const std::vector<std::string> keys = {"a:1:b:2",   "a::b:",       "a:b:b:b",
                                         "a:1:b",     "a:1:b:2:b:3", std::string("a:\0:b:\xff", 8),
                                         "a:1",       "a:",          "ba:1",
                                         "xxx",       "xx",          "x",
                                         "xyxzx",     "lit*eral:1",  "litXeral:1",
                                         "lit*eral:", "exact",       "exactly",
                                         "tail",      "1:tail",      ":tail",
                                         "q?[]\\:1",  "q?[]\\:",     "q1[]\\:1"};
  for (const std::string& k : keys) redis->Command({"SET", k, "v"}, kDb);
  std::set<std::string> all(keys.begin(), keys.end());
  for (const char* pattern : {"a:{x}:b:{y}", "a:{x}", "x{a}x{b}x", "lit*eral:{x}", "exact",
                              "{x}:tail", "{x}", "q?[]\\:{x}"}) {
    const spec::EntitySpec e = Entity("e", pattern);
    std::set<std::string> routed;
    for (const std::string& k : all) {
      if (e.redis->pattern.MatchesGlob(k)) routed.insert(k);
    }
    EXPECT_EQ(routed, ScanMatch(*redis, e.redis->pattern.Glob())) << pattern;
  }
}

// Two members at once, one stalled: the other reads on alone after
// stall_wait, from its own cursor; the other, then the only reader, takes
// the pages held and reads on alone too. Each gets every key its SCAN MATCH
// returns. A third entity joining once the scan began reads alone.
TEST(SharedScan, AMemberLeftWaitingReadsOnAloneAndMissesNothing) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  redis->Command({"EVAL",
                  "for i = 1, 3000 do redis.call('SET', 'f:a:' .. i, i); "
                  "redis.call('SET', 'f:b:' .. i, i); redis.call('SET', 'other:' .. i, i) end",
                  "0"},
                 kDb);
  const spec::EntitySpec a = Entity("a", "f:a:{id}");
  const spec::EntitySpec b = Entity("b", "f:b:{id}");
  const spec::EntitySpec c = Entity("c", "f:{rest}");
  SharedScan::Limits limits;
  limits.count = 100;
  limits.window = 3;
  limits.start_wait = std::chrono::milliseconds(100);
  limits.stall_wait = std::chrono::milliseconds(300);
  auto scan =
      std::make_shared<SharedScan>(std::vector<const spec::EntitySpec*>{&a, &b, &c}, limits);
  auto endpoint = redis_store::ParseRedisUrl(redis->Url(kDb));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  auto conn_a = redis_store::RedisConnection::Connect(*endpoint);
  auto conn_b = redis_store::RedisConnection::Connect(*endpoint);
  ASSERT_TRUE(conn_a.ok() && conn_b.ok());

  auto member_a = scan->Join("a", "node", "run", "0");
  auto member_b = scan->Join("b", "node", "run", "0");
  ASSERT_NE(member_a, nullptr);
  ASSERT_NE(member_b, nullptr);
  EXPECT_EQ(scan->Join("nobody", "node", "run", "0"), nullptr);
  // Reads a member's keys to the end of the scan, on alone once let go.
  auto read_all = [&](std::unique_ptr<SharedScan::Member>& member,
                      redis_store::RedisConnection& conn, const std::string& glob,
                      bool* went_alone) {
    std::set<std::string> got;
    std::string cursor = "0";
    bool done = false;
    while (!done) {
      if (member != nullptr) {
        auto page = member->Next(conn);
        EXPECT_TRUE(page.ok()) << page.status().ToString();
        if (!page.ok()) return got;
        if (!page->has_value()) {
          member.reset();
          *went_alone = true;
          continue;
        }
        got.insert((*page)->keys.begin(), (*page)->keys.end());
        cursor = (*page)->cursor_after;
      } else {
        auto page = conn.Run({"SCAN", cursor, "MATCH", glob, "COUNT", "100"});
        EXPECT_TRUE(page.ok());
        if (!page.ok()) return got;
        cursor = std::string(redis_store::ReplyText((*page)->element[0]));
        for (size_t i = 0; i < (*page)->element[1]->elements; ++i) {
          got.insert(std::string(redis_store::ReplyText((*page)->element[1]->element[i])));
        }
      }
      done = cursor == "0";
    }
    return got;
  };
  bool a_alone = false, b_alone = false;
  const std::set<std::string> got_a =
      read_all(member_a, **conn_a, a.redis->pattern.Glob(), &a_alone);
  EXPECT_TRUE(a_alone) << "b never read, so a waited on it and went on alone";
  const std::set<std::string> got_b =
      read_all(member_b, **conn_b, b.redis->pattern.Glob(), &b_alone);
  EXPECT_TRUE(b_alone) << "once a went, b took the pages held and went on alone too";
  EXPECT_EQ(scan->Join("c", "node", "run", "0"), nullptr) << "the scan began without it";
  EXPECT_EQ(got_a.size(), 3000u);
  EXPECT_EQ(got_a, ScanMatch(*redis, a.redis->pattern.Glob()));
  EXPECT_EQ(got_b.size(), 3000u);
  EXPECT_EQ(got_b, ScanMatch(*redis, b.redis->pattern.Glob()));
}

constexpr std::string_view kSpec = R"(
migration: shared
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
backfill: { batch_size: 500 }
entities:
  profiles:
    source: { from: cache, pattern: "s:profile:{id}", value: json }
    key: [id]
    tag: false
    columns:
      id:   { type: text }
      name: { type: text }
  accounts:
    source: { from: cache, pattern: "s:account:{id}", value: hash }
    key: [id]
    tag: false
    columns:
      id:    { type: text }
      plan:  { type: text }
  counters:
    source: { from: cache, pattern: "s:count:{id}", value: counter }
    key: [id]
    tag: false
    columns:
      id: { type: text }
      n:  { from: $value, type: bigint }
  notes:
    source: { from: cache, pattern: "s:note:{id}", value: string }
    key: [id]
    tag: false
    columns:
      id:   { type: text }
      body: { from: $value, type: text }
)";

constexpr const char* kFamilies[] = {"profile", "account", "count", "note"};
constexpr const char* kTables[] = {"profiles", "accounts", "counters", "notes"};

void Fill(const RedisServer& redis) {
  redis.Command({"EVAL",
                 "for i = 1, 2500 do "
                 "redis.call('SET', 's:profile:' .. i, '{\"name\":\"p' .. i .. '\"}'); "
                 "redis.call('HSET', 's:account:' .. i, 'plan', 'basic'); "
                 "redis.call('SET', 's:count:' .. i, i); "
                 "redis.call('SET', 's:note:' .. i, 'note' .. i); "
                 "redis.call('SET', 'unmapped:' .. i, i) end",
                 "0"},
                kDb);
  // Keys a pattern's glob takes that its pattern does not: rejects, as alone.
  redis.Command({"SET", "s:note:", "empty id"}, kDb);
}

std::set<std::string> RedisIds(const RedisServer& redis, int family) {
  std::set<std::string> ids;
  const std::string prefix = std::string("s:") + kFamilies[family] + ":";
  for (const auto& k : ScanMatch(redis, prefix + "*")) {
    if (k.size() > prefix.size()) ids.insert(k.substr(prefix.size()));
  }
  return ids;
}

std::set<std::string> PgIds(const std::string& url, const std::string& table) {
  std::set<std::string> ids;
  for (const auto& row : Query(url, "SELECT id FROM " + table)) ids.insert(row[0]);
  return ids;
}

int64_t ScanCalls(const RedisServer& redis) {
  for (const std::string& line : redis.Command({"INFO", "commandstats"})) {
    const size_t at = line.find("cmdstat_scan:calls=");
    if (at != std::string::npos) return std::stoll(line.substr(at + 19));
  }
  return 0;
}

// By SQL against the harness's reading of Redis: every table holds its keys
// once, and the rejected key is in the reject file's table.
void ExpectLoaded(const RedisServer& redis, const std::string& url) {
  for (int f = 0; f < 4; ++f) {
    EXPECT_EQ(PgIds(url, kTables[f]), RedisIds(redis, f)) << kTables[f];
    EXPECT_EQ(
        QueryValue(url, std::string("SELECT count(*) = count(DISTINCT id) FROM ") + kTables[f]),
        "t");
  }
  EXPECT_EQ(QueryValue(url, "SELECT sum(n) FROM counters"), std::to_string(2500 * 2501 / 2));
  EXPECT_EQ(QueryValue(url, "SELECT body FROM notes WHERE id = '77'"), "note77");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.rejects WHERE entity = 'notes'"), "1");
}

TEST(SharedScan, EntitiesOfOneSourceScanItOnceAndLoadWhatEachScanWould) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  Fill(*redis);
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);

  // One entity after another, each with its own SCAN MATCH.
  const std::string alone_url = FreshDatabase();
  redis->Command({"CONFIG", "RESETSTAT"});
  const CommandResult alone =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--jobs", "1",
                  "--max-rejects", "5"},
                 {{"DATABASE_URL", alone_url}, {"REDIS_URL", redis->Url(kDb)}}, dir);
  ASSERT_EQ(alone.exit_code, 0) << alone.out << alone.err;
  const int64_t alone_scans = ScanCalls(*redis);
  EXPECT_EQ(alone.err.find("in one pass"), std::string::npos) << alone.err;
  ExpectLoaded(*redis, alone_url);

  const std::string url = FreshDatabase();
  redis->Command({"CONFIG", "RESETSTAT"});
  const CommandResult shared = RunCommand(
      {CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--max-rejects", "5"},
      {{"DATABASE_URL", url}, {"REDIS_URL", redis->Url(kDb)}}, dir);
  ASSERT_EQ(shared.exit_code, 0) << shared.out << shared.err;
  const int64_t shared_scans = ScanCalls(*redis);
  EXPECT_NE(shared.err.find("cache: profiles, accounts, counters, notes read it in one pass"),
            std::string::npos)
      << shared.err;
  EXPECT_EQ(shared.err.find("reads on alone"), std::string::npos) << shared.err;
  ExpectLoaded(*redis, url);
  // Four scans of the keyspace against one: the same pages, a quarter of the calls.
  EXPECT_GT(shared_scans, 0);
  EXPECT_LE(shared_scans * 3, alone_scans) << shared_scans << " vs " << alone_scans;
}

// Killed after a few checkpoints, the entities resume from cursors of their
// own, which a pass that starts anew cannot serve: each reads on alone, and
// the tables still hold every key once.
TEST(SharedScan, AKilledPassResumesEachEntityWhereItWas) {
  auto redis = RedisServer::Start({});
  ASSERT_NE(redis, nullptr);
  Fill(*redis);
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::string url = FreshDatabase();
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", redis->Url(kDb)}};
  auto killed_env = env;
  killed_env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=6");
  const CommandResult killed = RunCommand(
      {CutoverBinary(), "backfill", "cutover.yaml", "--create-tables", "--max-rejects", "5"},
      killed_env, dir);
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed.out << killed.err;
  ASSERT_NE(killed.err.find("read it in one pass"), std::string::npos) << killed.err;
  const CommandResult resumed =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--max-rejects", "5"}, env, dir);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_NE(resumed.err.find("resuming"), std::string::npos) << resumed.err;
  // Whoever resumed elsewhere than the pass's start says it reads alone.
  if (resumed.err.find("read it in one pass") != std::string::npos) {
    EXPECT_NE(resumed.err.find("it reads this master alone"), std::string::npos) << resumed.err;
  }
  ExpectLoaded(*redis, url);
}

}  // namespace
}  // namespace cutover::testing
