// `cutover audit` end to end: keys written through the harness's own hiredis
// client, the audit run as a process, its report checked against counts worked out by hand.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

// Four key families; orders has no key, for not_empty. `extra` is appended
// (an `audit:` block, another entity).
std::string AuditSpecText(const std::string& extra = "") {
  return R"(migration: audittest
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
entities:
  subscriptions:
    source: { from: cache, pattern: "threadr:premium:email:{email}", value: json }
    priority: critical
    key: [email]
    columns:
      email: { type: text }
  users:
    source: { from: cache, pattern: "threadr:email:{email}", value: hash }
    priority: high
    key: [email]
    columns:
      email: { type: text }
  usage_tracking:
    source: { from: cache, pattern: "threadr:usage:{ip}:{day}", value: counter }
    priority: high
    key: [ip, day]
    columns:
      ip:  { type: text }
      day: { type: date }
  orders:
    source: { from: cache, pattern: "threadr:order:{id}", value: hash }
    priority: low
    key: [id]
    columns:
      id: { type: text }
)" + extra;
}

const std::string kBinaryKey = std::string("bin:\xff\x00:z", 9);

// 21 keys:
//   subscriptions  6: 5 JSON strings (3 without TTL, one 2 h, one 10 days) and
//                     one hash without TTL (a type the spec does not declare)
//   users          4: hashes with TTLs 30 s, 10 min, 40 days and none
//   usage_tracking 3: counters, 3 days each
//   unmatched      8: session:1..4 (lists), legacy:cache:1:x and :2:x (sets),
//                     plainkey (string), bin:\xff\0:z (string); no TTL
void Fill(RedisServer& r) {
  for (int i = 1; i <= 5; ++i) {
    const std::string key = "threadr:premium:email:u" + std::to_string(i) + "@x.com";
    r.Command({"SET", key, R"({"user_id":)" + std::to_string(i) + "}"});
  }
  r.Command({"EXPIRE", "threadr:premium:email:u4@x.com", "7200"});
  r.Command({"EXPIRE", "threadr:premium:email:u5@x.com", "864000"});
  r.Command({"HSET", "threadr:premium:email:bad@x.com", "user_id", "9"});
  const char* user_ttls[] = {"30", "600", "3456000", nullptr};
  for (int i = 1; i <= 4; ++i) {
    const std::string key = "threadr:email:u" + std::to_string(i) + "@x.com";
    r.Command({"HSET", key, "user_id", std::to_string(i), "name", "n" + std::to_string(i)});
    if (user_ttls[i - 1] != nullptr) r.Command({"EXPIRE", key, user_ttls[i - 1]});
  }
  for (int i = 1; i <= 3; ++i) {
    r.Command({"SET", "threadr:usage:1.2.3." + std::to_string(i) + ":2024-01-0" + std::to_string(i),
               std::to_string(i * 10), "EX", "259200"});
  }
  for (int i = 1; i <= 4; ++i) r.Command({"RPUSH", "session:" + std::to_string(i), "a", "b"});
  r.Command({"SADD", "legacy:cache:1:x", "m"});
  r.Command({"SADD", "legacy:cache:2:x", "m", "n"});
  r.Command({"SET", "plainkey", "v"});
  r.Command({"SET", kBinaryKey, "v"});
}

std::vector<std::string> SubscriptionKeys() {
  std::vector<std::string> keys;
  for (int i = 1; i <= 5; ++i)
    keys.push_back("threadr:premium:email:u" + std::to_string(i) + "@x.com");
  keys.push_back("threadr:premium:email:bad@x.com");
  return keys;
}
std::vector<std::string> UserKeys() {
  std::vector<std::string> keys;
  for (int i = 1; i <= 4; ++i) keys.push_back("threadr:email:u" + std::to_string(i) + "@x.com");
  return keys;
}
std::vector<std::string> UsageKeys() {
  std::vector<std::string> keys;
  for (int i = 1; i <= 3; ++i) {
    keys.push_back("threadr:usage:1.2.3." + std::to_string(i) + ":2024-01-0" + std::to_string(i));
  }
  return keys;
}
std::vector<std::string> UnmatchedKeys() {
  return {"session:1",        "session:2",        "session:3", "session:4",
          "legacy:cache:1:x", "legacy:cache:2:x", "plainkey",  kBinaryKey};
}

// MEMORY USAGE as the server itself reports it, summed, through the harness.
int64_t MemoryOf(RedisServer& r, const std::vector<std::string>& keys) {
  int64_t sum = 0;
  for (const auto& k : keys) sum += std::stoll(r.One({"MEMORY", "USAGE", k, "SAMPLES", "0"}));
  return sum;
}

// 2488 -> "2,488", as the report writes counts.
std::string WithCommas(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

struct Audit {
  std::unique_ptr<RedisServer> redis;
  std::string dir;
  std::string spec;

  CommandResult Run(std::vector<std::string> args) const {
    std::vector<std::string> argv = {CutoverBinary(), "audit", spec};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {{"REDIS_URL", redis->Url()}});
  }
  void WriteSpec(const std::string& text) { WriteFile(spec, text); }
};

Audit StartFilled(const std::string& name, const std::string& spec_text) {
  Audit a;
  a.redis = RedisServer::Start();
  if (a.redis == nullptr) return a;
  Fill(*a.redis);
  a.dir = TempDir() + "/" + name;
  a.spec = a.dir + "/cutover.yaml";
  a.WriteSpec(spec_text);
  return a;
}

json Ttl(int64_t none, int64_t m1, int64_t h1, int64_t d1, int64_t d7, int64_t d30, int64_t more) {
  return {{"none", none},   {"under_1m", m1},   {"under_1h", h1},      {"under_1d", d1},
          {"under_7d", d7}, {"under_30d", d30}, {"at_least_30d", more}};
}

TEST(RedisAuditTest, ReportsEveryFigureOfAKnownKeyspace) {
  Audit a = StartFilled("report", AuditSpecText());
  ASSERT_NE(a.redis, nullptr);
  const CommandResult r = a.Run({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const json j = json::parse(r.out);

  EXPECT_EQ(j["migration"], "audittest");
  ASSERT_EQ(j["sources"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["source"], "cache");
  EXPECT_EQ(j["sources"][0]["cluster"], false);
  ASSERT_EQ(j["sources"][0]["masters"].size(), 1u);
  EXPECT_EQ(j["sources"][0]["masters"][0]["dbsize"], 21);
  EXPECT_EQ(j["sources"][0]["keys"], 21);
  EXPECT_EQ(j["keys"], json({{"total", 21}, {"matched", 13}, {"unmatched", 8}}));

  // Memory: 21 keys, --sample 1000: every key measured, so the figures are
  // exact and equal to the server's own MEMORY USAGE summed.
  const int64_t subs_bytes = MemoryOf(*a.redis, SubscriptionKeys());
  const int64_t user_bytes = MemoryOf(*a.redis, UserKeys());
  const int64_t usage_bytes = MemoryOf(*a.redis, UsageKeys());
  const int64_t unmatched_bytes = MemoryOf(*a.redis, UnmatchedKeys());
  const int64_t matched_bytes = subs_bytes + user_bytes + usage_bytes;
  EXPECT_EQ(j["memory"]["keys"], 21);
  EXPECT_EQ(j["memory"]["sampled_keys"], 21);
  EXPECT_EQ(j["memory"]["estimated"], false);
  EXPECT_EQ(j["memory"]["estimated_bytes"], matched_bytes + unmatched_bytes);
  EXPECT_EQ(j["memory"]["matched_estimated_bytes"], matched_bytes);

  EXPECT_EQ(j["ttl"], Ttl(13, 1, 1, 1, 3, 1, 1));

  const json& e = j["entities"];
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0]["entity"], "subscriptions");
  EXPECT_EQ(e[0]["pattern"], "threadr:premium:email:{email}");
  EXPECT_EQ(e[0]["priority"], "critical");
  EXPECT_EQ(e[0]["declared_type"], "string");
  EXPECT_EQ(e[0]["keys"], 6);
  EXPECT_EQ(e[0]["types"], json({{"string", 5}, {"hash", 1}}));
  EXPECT_EQ(e[0]["type_mismatches"], 1);
  EXPECT_EQ(e[0]["ttl"], Ttl(4, 0, 0, 1, 0, 1, 0));
  EXPECT_EQ(e[0]["memory"]["sampled_keys"], 6);
  EXPECT_EQ(e[0]["memory"]["estimated_bytes"], subs_bytes);

  EXPECT_EQ(e[1]["entity"], "users");
  EXPECT_EQ(e[1]["keys"], 4);
  EXPECT_EQ(e[1]["types"], json({{"hash", 4}}));
  EXPECT_EQ(e[1]["type_mismatches"], 0);
  EXPECT_EQ(e[1]["ttl"], Ttl(1, 1, 1, 0, 0, 0, 1));
  EXPECT_EQ(e[1]["memory"]["estimated_bytes"], user_bytes);

  EXPECT_EQ(e[2]["entity"], "usage_tracking");
  EXPECT_EQ(e[2]["keys"], 3);
  EXPECT_EQ(e[2]["types"], json({{"string", 3}}));
  EXPECT_EQ(e[2]["ttl"], Ttl(0, 0, 0, 0, 3, 0, 0));
  EXPECT_EQ(e[2]["memory"]["estimated_bytes"], usage_bytes);

  EXPECT_EQ(e[3]["entity"], "orders");
  EXPECT_EQ(e[3]["priority"], "low");
  EXPECT_EQ(e[3]["keys"], 0);
  EXPECT_EQ(e[3]["memory"]["estimated_bytes"], 0);

  const json& u = j["unmatched"];
  EXPECT_EQ(u["keys"], 8);
  EXPECT_EQ(u["types"], json({{"list", 4}, {"set", 2}, {"string", 2}}));
  EXPECT_EQ(u["ttl"], Ttl(8, 0, 0, 0, 0, 0, 0));
  EXPECT_EQ(u["memory"]["estimated_bytes"], unmatched_bytes);
  EXPECT_EQ(u["prefixes_exact"], true);
  // Commonest first, ties by prefix; the binary prefix escaped.
  EXPECT_EQ(u["prefixes"], json::parse(R"([
      {"prefix": "session:", "keys": 4},
      {"prefix": "legacy:cache:", "keys": 2},
      {"prefix": "bin:\\xff\\x00:", "keys": 1},
      {"prefix": "plainkey", "keys": 1}])"));

  EXPECT_EQ(j["overlaps"], json::array());
  const json& p = j["priorities"];
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0]["priority"], "critical");
  EXPECT_EQ(p[0]["entities"], json({"subscriptions"}));
  EXPECT_EQ(p[0]["keys"], 6);
  EXPECT_EQ(p[0]["estimated_bytes"], subs_bytes);
  EXPECT_EQ(p[1]["priority"], "high");
  EXPECT_EQ(p[1]["entities"], json({"users", "usage_tracking"}));
  EXPECT_EQ(p[1]["keys"], 7);
  EXPECT_EQ(p[1]["estimated_bytes"], user_bytes + usage_bytes);
  EXPECT_EQ(p[2]["priority"], "low");
  EXPECT_EQ(p[2]["keys"], 0);

  // The ten biggest: the server's own figures, largest first.
  std::vector<std::pair<int64_t, std::string>> all;
  for (const auto& group : {SubscriptionKeys(), UserKeys(), UsageKeys(), UnmatchedKeys()}) {
    for (const std::string& k : group) {
      all.emplace_back(MemoryOf(*a.redis, std::vector<std::string>{k}), k);
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  const json& big = j["biggest_keys"];
  ASSERT_EQ(big.size(), 10u);
  for (size_t i = 0; i < big.size(); ++i) {
    EXPECT_EQ(big[i]["bytes"], all[i].first) << i;
    if (i > 0) {
      EXPECT_GE(big[i - 1]["bytes"].get<int64_t>(), big[i]["bytes"].get<int64_t>());
    }
  }
  EXPECT_EQ(j["stop_conditions"], json::array());

  // The human report: a compact table with the same figures.
  const CommandResult text = a.Run({});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(
      text.out.find("keys: 21 in all, 13 matched by the spec's patterns (61.90%), 8 unmatched"),
      std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("exact from MEMORY USAGE of 21 of 21 keys (100.00%)"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("warning: 1 keys of entity 'subscriptions'"), std::string::npos);
  EXPECT_NE(text.out.find("bin:\\xff\\x00:*"), std::string::npos) << text.out;
}

TEST(RedisAuditTest, SampledMemoryIsAnEstimateFromAFewKeys) {
  Audit a = StartFilled("sampled", AuditSpecText());
  ASSERT_NE(a.redis, nullptr);
  // --sample 5 over 21 keys: every 5th key of each group (ceil(21/5) = 5),
  // the first always: subscriptions 6 keys -> 2, users 4 -> 1, usage 3 -> 1,
  // unmatched 8 -> 2; 6 in all.
  const CommandResult r = a.Run({"--json", "--sample", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["memory"]["sampled_keys"], 6);
  EXPECT_EQ(j["memory"]["estimated"], true);
  EXPECT_EQ(j["entities"][0]["memory"]["sampled_keys"], 2);
  EXPECT_EQ(j["entities"][1]["memory"]["sampled_keys"], 1);
  EXPECT_EQ(j["entities"][2]["memory"]["sampled_keys"], 1);
  EXPECT_EQ(j["unmatched"]["memory"]["sampled_keys"], 2);
  const json& subs = j["entities"][0]["memory"];
  EXPECT_EQ(subs["estimated_bytes"], std::llround(subs["sampled_bytes"].get<double>() / 2 * 6));
  const CommandResult text = a.Run({"--sample", "5"});
  EXPECT_NE(text.out.find("an estimate (sampled mean x keys) from MEMORY USAGE of 6 of 21 keys "
                          "(28.57%)"),
            std::string::npos)
      << text.out;

  // --sample 0: nothing measured, memory unknown (null), not zero.
  const json none = json::parse(a.Run({"--json", "--sample", "0"}).out);
  EXPECT_EQ(none["memory"]["sampled_keys"], 0);
  EXPECT_TRUE(none["memory"]["estimated_bytes"].is_null());
  EXPECT_TRUE(none["entities"][0]["memory"]["estimated_bytes"].is_null());
}

TEST(RedisAuditTest, KeyMatchingTwoPatternsIsAnError) {
  Audit a = StartFilled("overlap", AuditSpecText(R"(  usage_any:
    source: { from: cache, pattern: "threadr:usage:{rest}", value: counter }
    key: [rest]
    columns:
      rest: { type: text }
)"));
  ASSERT_NE(a.redis, nullptr);
  const CommandResult r = a.Run({"--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["overlaps"].size(), 1u);
  const json& o = j["overlaps"][0];
  EXPECT_EQ(o["entities"], json({"usage_tracking", "usage_any"}));
  EXPECT_EQ(o["patterns"], json({"threadr:usage:{ip}:{day}", "threadr:usage:{rest}"}));
  EXPECT_EQ(o["keys"], 3);
  EXPECT_EQ(o["example_key"].get<std::string>().rfind("threadr:usage:1.2.3.", 0), 0u);
  // Counted under both patterns, once in the totals.
  EXPECT_EQ(j["entities"][4]["keys"], 3);
  EXPECT_EQ(j["keys"]["matched"], 13);
  EXPECT_NE(r.err.find("3 keys of source cache match both threadr:usage:{ip}:{day} (entity "
                       "usage_tracking) and threadr:usage:{rest} (entity usage_any)"),
            std::string::npos)
      << r.err;
  const CommandResult text = a.Run({});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("error: 3 keys of source cache match two patterns"), std::string::npos)
      << text.out;
}

TEST(RedisAuditTest, StopConditionsStopWithTheirOwnExitCode) {
  // Hand-worked: 13 matched keys, subscriptions 6, orders 0, memory of 21
  // keys well over 1KB.
  Audit a = StartFilled("stops", AuditSpecText(R"(audit:
  max_keys: 12
  max_memory: 1KB
  not_empty: [orders, subscriptions]
  entities:
    subscriptions: { max_keys: 5 }
    users: { max_keys: 4 }
)"));
  ASSERT_NE(a.redis, nullptr);
  const int64_t total_bytes = MemoryOf(*a.redis, SubscriptionKeys()) +
                              MemoryOf(*a.redis, UserKeys()) + MemoryOf(*a.redis, UsageKeys()) +
                              MemoryOf(*a.redis, UnmatchedKeys());
  ASSERT_GT(total_bytes, 1024);
  CommandResult r = a.Run({"--json"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  const json j = json::parse(r.out);
  const json& s = j["stop_conditions"];
  ASSERT_EQ(s.size(), 6u);
  // Lines of the audit block: 31 max_keys, 32 max_memory, 33 not_empty,
  // 35 subscriptions, 36 users (the spec before it takes lines 1-29).
  EXPECT_EQ(s[0]["condition"], "max_keys");
  EXPECT_TRUE(s[0]["entity"].is_null());
  EXPECT_EQ(s[0]["limit"], 12);
  EXPECT_EQ(s[0]["measured"], 13);
  EXPECT_EQ(s[0]["hit"], true);
  EXPECT_EQ(s[0]["where"], a.spec + ":31:13");
  EXPECT_EQ(s[1]["condition"], "max_memory");
  EXPECT_EQ(s[1]["limit"], 1024);
  EXPECT_EQ(s[1]["limit_text"], "1KB");
  EXPECT_EQ(s[1]["measured"], total_bytes);
  EXPECT_EQ(s[1]["hit"], true);
  EXPECT_EQ(s[2]["condition"], "not_empty");
  EXPECT_EQ(s[2]["entity"], "orders");
  EXPECT_EQ(s[2]["measured"], 0);
  EXPECT_EQ(s[2]["hit"], true);
  EXPECT_EQ(s[3]["entity"], "subscriptions");
  EXPECT_EQ(s[3]["hit"], false);
  EXPECT_EQ(s[4]["condition"], "max_keys");
  EXPECT_EQ(s[4]["entity"], "subscriptions");
  EXPECT_EQ(s[4]["limit"], 5);
  EXPECT_EQ(s[4]["measured"], 6);
  EXPECT_EQ(s[4]["hit"], true);
  EXPECT_EQ(s[5]["entity"], "users");
  EXPECT_EQ(s[5]["measured"], 4);
  EXPECT_EQ(s[5]["hit"], false);

  r = a.Run({});
  EXPECT_EQ(r.exit_code, 4);
  const std::string& out = r.out;
  EXPECT_NE(out.find("STOP: max_keys (" + a.spec +
                     ":31:13): 13 keys match the spec's patterns, "
                     "limit 12"),
            std::string::npos)
      << out;
  EXPECT_NE(
      out.find("STOP: max_memory (" + a.spec + ":32:15): an estimated " + WithCommas(total_bytes) +
               " bytes in all 21 keys (21 of them measured), "
               "limit 1KB (1,024 bytes)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("STOP: not_empty (" + a.spec +
                     ":33:15): entity 'orders' (threadr:order:{id}) matches 0 keys"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("STOP: max_keys of entity 'subscriptions' (" + a.spec +
                     ":35:32): 6 keys match threadr:premium:email:{email}, limit 5"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("ok: max_keys of entity 'users'"), std::string::npos) << out;

  // Each condition alone, at its limit and past it.
  struct Case {
    std::string audit;
    int exit_code;
  };
  const Case cases[] = {
      {"audit: { max_keys: 13 }\n", 0},
      {"audit: { max_keys: 12 }\n", 4},
      {"audit: { max_memory: " + std::to_string(total_bytes) + "B }\n", 0},
      {"audit: { max_memory: " + std::to_string(total_bytes - 1) + "B }\n", 4},
      {"audit: { not_empty: [subscriptions, users, usage_tracking] }\n", 0},
      {"audit: { not_empty: [orders] }\n", 4},
      {"audit: { entities: { subscriptions: { max_keys: 6 } } }\n", 0},
      {"audit: { entities: { subscriptions: { max_keys: 5 } } }\n", 4},
  };
  for (const Case& c : cases) {
    a.WriteSpec(AuditSpecText(c.audit));
    const CommandResult one = a.Run({});
    EXPECT_EQ(one.exit_code, c.exit_code) << c.audit << one.out << one.err;
  }
  // Nothing measured: max_memory cannot be evaluated, and does not pass.
  a.WriteSpec(AuditSpecText("audit: { max_memory: 2GB }\n"));
  const CommandResult unmeasured = a.Run({"--sample", "0"});
  EXPECT_EQ(unmeasured.exit_code, 4);
  EXPECT_NE(unmeasured.out.find("cannot be evaluated"), std::string::npos) << unmeasured.out;
}

TEST(RedisAuditTest, SpecAndConnectionErrors) {
  Audit a = StartFilled("errors", AuditSpecText("audit:\n  max_key: 5\n"));
  ASSERT_NE(a.redis, nullptr);
  CommandResult r = a.Run({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(a.spec + ":31:3: unknown key 'max_key' in 'audit'; did you mean "
                                "'max_keys'?"),
            std::string::npos)
      << r.err;

  a.WriteSpec(AuditSpecText("audit: { not_empty: [order] }\n"));
  r = a.Run({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(a.spec + ":30:22: 'not_empty' in 'audit': unknown entity 'order'; did "
                                "you mean 'orders'?"),
            std::string::npos)
      << r.err;

  // A server that is not there: exit 3, and the password never printed.
  a.WriteSpec(AuditSpecText());
  const std::string closed = "redis://:s3cr3t-pw@127.0.0.1:1/0";
  r = RunCommand({CutoverBinary(), "audit", a.spec}, {{"REDIS_URL", closed}});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("source 'cache'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cr3t-pw"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("s3cr3t-pw"), std::string::npos) << r.out;

  // No redis source at all: a usage error.
  const std::string files_only = a.dir + "/files.yaml";
  WriteFile(files_only, "migration: f\nsources:\n  files: { type: json, path: data/ }\n");
  r = RunCommand({CutoverBinary(), "audit", files_only});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no redis source"), std::string::npos) << r.err;
}

TEST(RedisAuditTest, HelpListsTheCommandAndExplainsEveryOption) {
  CommandResult r = RunCommand({CutoverBinary(), "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("audit"), std::string::npos) << r.out;
  r = RunCommand({CutoverBinary(), "audit", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* option : {"--json", "--sample", "--scan-count", "max_keys", "max_memory",
                             "not_empty", "Exit codes", "4 a stop condition"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option << "\n" << r.out;
  }
}

TEST(RedisAuditTest, ClusterScansEveryMaster) {
  auto cluster = RedisClusterHarness::Start(3, 0, "");
  ASSERT_NE(cluster, nullptr);
  // 30 subscriptions and 9 unmatched keys, spread over the slots of three
  // masters by their hashes.
  for (int i = 0; i < 30; ++i) {
    const std::string key = "threadr:premium:email:c" + std::to_string(i) + "@x.com";
    cluster->Command({"SET", key, "{}"}, key);
  }
  for (int i = 0; i < 9; ++i) {
    const std::string key = "other:" + std::to_string(i);
    cluster->Command({"SET", key, "v"}, key);
  }
  const std::string dir = TempDir() + "/cluster";
  WriteFile(dir + "/cutover.yaml", AuditSpecText());
  const CommandResult r = RunCommand({CutoverBinary(), "audit", dir + "/cutover.yaml", "--json"},
                                     {{"REDIS_URL", cluster->Url()}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["sources"][0]["cluster"], true);
  ASSERT_EQ(j["sources"][0]["masters"].size(), 3u);
  int64_t dbsize = 0;
  for (const auto& m : j["sources"][0]["masters"]) dbsize += m["dbsize"].get<int64_t>();
  EXPECT_EQ(dbsize, 39);
  EXPECT_EQ(j["keys"]["total"], 39);
  EXPECT_EQ(j["entities"][0]["keys"], 30);
  EXPECT_EQ(j["unmatched"]["keys"], 9);
  EXPECT_EQ(j["unmatched"]["prefixes"], json::parse(R"([{"prefix": "other:", "keys": 9}])"));
}

}  // namespace
}  // namespace cutover::testing
