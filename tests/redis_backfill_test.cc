// The Redis snapshot path end to end: keys written through the test harness's own hiredis
// client, `cutover backfill` and `verify` run as a process, and PostgreSQL checked by SQL.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

// The runbook's four key families, each with its priority; `max_rejects` is the spec's.
std::string ThreadrSpec(int max_rejects) {
  return R"(migration: redistest
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
backfill: { batch_size: 100, max_rejects: )" +
         std::to_string(max_rejects) + R"( }
entities:
  subscriptions:
    source: { from: cache, pattern: "threadr:premium:email:{email}", value: json }
    priority: critical
    tag: { value: redis_email_premium, column: metadata, as: jsonb }
    key: [email]
    columns:
      email:              { type: text }
      user_id:            { type: bigint, required: true }
      plan:               { type: text }
      amount:             { type: numeric }
      started_at:         { type: timestamptz }
      premium_expires_at: { from: $expires_at, type: timestamptz }
  users:
    source: { from: cache, pattern: "threadr:email:{email}", value: hash }
    priority: high
    key: [email]
    columns:
      email:      { type: text }
      id:         { from: user_id, type: bigint, required: true }
      name:       { type: text }
      expires_at: { from: $expires_at, type: timestamptz }
  usage_tracking:
    source: { from: cache, pattern: "threadr:usage:{ip}:{day}", value: counter }
    priority: high
    tag: redis_usage
    key: [ip, day]
    columns:
      ip:          { type: text }
      day:         { type: date }
      daily_count: { from: $value, type: bigint }
      expires_at:  { from: $expires_at, type: timestamptz }
  threads:
    source: { from: cache, pattern: "threadr:cache:thread:{thread_id}", value: json }
    priority: medium
    key: [thread_id]
    columns:
      thread_id:  { type: text }
      topic:      { type: text }
      expires_at: { from: $expires_at, type: timestamptz }
    children:
      thread_tweets:
        path: $value.tweets
        key: [thread_id, n]
        parent: { thread_id: thread_id }
        columns:
          thread_id: { type: text }
          n:         { type: integer }
          text:      { type: text }
)";
}

// 2100-01-01T00:00:00.123Z in Unix ms: 130 years of 365 days plus 32 leap days
// (1972..2096), 47482 days of 86400 s, and 123 ms.
constexpr char kUserAnnExpiry[] = "4102444800123";

// A handful of keys of each family, written by hand.
void FillThreadr(const RedisServer& redis) {
  redis.Command(
      {"SET", "threadr:premium:email:ann@example.com",
       R"({"user_id":101,"plan":"pro","amount":4.99,"started_at":"2026-01-01T00:00:00Z"})", "PX",
       "2592000000"});
  redis.Command(
      {"SET", "threadr:premium:email:bob@example.com",
       R"({"user_id":102,"plan":"team","amount":9.90,"started_at":"2026-02-01T00:00:00Z"})"});
  redis.Command({"HSET", "threadr:email:ann@example.com", "user_id", "101", "name", "Ann"});
  redis.Command({"PEXPIREAT", "threadr:email:ann@example.com", kUserAnnExpiry});
  redis.Command({"HSET", "threadr:email:bob@example.com", "user_id", "102", "name", "Bob"});
  redis.Command(
      {"HSET", "threadr:email:cyd@example.com", "user_id", "103", "name", "Cyd \xc3\x96ztürk"});
  redis.Command({"INCRBY", "threadr:usage:10.0.0.1:2026-11-29", "5"});
  redis.Command({"INCRBY", "threadr:usage:10.0.0.1:2026-11-29", "7"});
  redis.Command({"EXPIRE", "threadr:usage:10.0.0.1:2026-11-29", "172800"});
  redis.Command({"INCRBY", "threadr:usage:10.0.0.2:2026-11-30", "3"});
  redis.Command({"SET", "threadr:cache:thread:00000003",
                 R"({"user_id":101,"topic":"t3","tweets":[{"n":0,"text":"Part 1 of 3"},)"
                 R"({"n":1,"text":"Part 2 of 3"},{"n":2,"text":"Part 3 of 3"}]})",
                 "EX", "3600"});
  redis.Command(
      {"SET", "threadr:cache:thread:00000006", R"({"user_id":102,"topic":"t6","tweets":[]})"});
}

struct RedisWorkspace {
  std::unique_ptr<RedisServer> redis;
  Workspace ws;
};

RedisWorkspace Start(const std::string& name, const std::string& spec,
                     const RedisServer::Options& options = {}) {
  RedisWorkspace rw;
  rw.redis = RedisServer::Start(options);
  if (rw.redis == nullptr) return rw;
  rw.ws = Workspace{TempDir() + "/" + name, FreshDatabase(), {{"REDIS_URL", rw.redis->Url()}}};
  WriteFile(rw.ws.dir + "/cutover.yaml", spec);
  return rw;
}

// PEXPIRETIME as the server says it, read through the harness.
std::string ExpiryMs(const RedisServer& redis, const std::string& key) {
  return redis.One({"PEXPIRETIME", key});
}

// An absolute time as Unix milliseconds, by SQL; "\N" for NULL.
std::string MsSql(const std::string& column) {
  return "(extract(epoch FROM " + column + ") * 1000)::bigint";
}

// The server's run id, from INFO server.
std::string RunId(const RedisServer& redis) {
  const std::string info = redis.One({"INFO", "server"});
  const size_t at = info.find("run_id:");
  return at == std::string::npos ? "" : info.substr(at + 7, 40);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Hex(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// "read migrated rejected" of `entity`'s line in a backfill summary.
std::string SummaryCounts(const std::string& summary, const std::string& entity) {
  std::istringstream lines(summary);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string name, read, written, rejected;
    fields >> name >> read >> written >> rejected;
    if (name == entity) return read + " " + written + " " + rejected;
  }
  return "(no line for " + entity + ")";
}

bool TableExists(const std::string& url, const std::string& table) {
  return QueryValue(url, "SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

const json* EntityOf(const json& report, const std::string& entity) {
  for (const auto& e : report["entities"]) {
    if (e["entity"] == entity) return &e;
  }
  return nullptr;
}

std::string Counts(const json& e) {
  return "missing " + e["missing"].dump() + " extra " + e["extra"].dump() + " changed " +
         e["changed"].dump();
}

bool ListHas(const json& keys, const std::string& text) {
  for (const auto& k : keys) {
    const std::string s = k.is_string() ? k.get<std::string>() : k["key"].get<std::string>();
    if (s.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(RedisBackfillTest, FourKeyFamiliesLandAsWrittenWithExactExpiryAndTags) {
  RedisWorkspace rw = Start("families", ThreadrSpec(0));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  const Workspace& ws = rw.ws;
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // Empty tables at stage legacy, no sync running: threads loads without its
  // key and thread_tweets without its key and foreign key, all built once the
  // load is done.
  EXPECT_NE(r.err.find("threads: empty table at stage legacy: loading it without its key, "
                       "indexes and constraints (5 definitions set aside)"),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(conrelid::regclass::text || '->' || "
                       "confrelid::regclass::text || ':' || convalidated, ',') FROM pg_constraint "
                       "WHERE contype = 'f'"),
            "thread_tweets->threads:true");

  const std::string ann_premium = ExpiryMs(*rw.redis, "threadr:premium:email:ann@example.com");
  ASSERT_GT(std::stoll(ann_premium), 0);
  // 2026-01-01 and 2026-02-01 at midnight UTC, in Unix seconds.
  EXPECT_EQ(
      Query(ws.url,
            "SELECT email, user_id, plan, amount, extract(epoch FROM started_at)::bigint, " +
                MsSql("premium_expires_at") + ", metadata::text FROM subscriptions ORDER BY email"),
      (std::vector<std::vector<std::string>>{
          {"ann@example.com", "101", "pro", "4.99", "1767225600", ann_premium,
           R"({"source": "redis_email_premium"})"},
          {"bob@example.com", "102", "team", "9.90", "1769904000", "\\N",
           R"({"source": "redis_email_premium"})"}}));

  EXPECT_EQ(ExpiryMs(*rw.redis, "threadr:email:ann@example.com"), kUserAnnExpiry);
  EXPECT_EQ(Query(ws.url, "SELECT email, id, name, " + MsSql("expires_at") +
                              ", source_tag FROM users ORDER BY email"),
            (std::vector<std::vector<std::string>>{
                {"ann@example.com", "101", "Ann", kUserAnnExpiry, "users"},
                {"bob@example.com", "102", "Bob", "\\N", "users"},
                {"cyd@example.com", "103", "Cyd \xc3\x96ztürk", "\\N", "users"}}));

  const std::string usage_expiry = ExpiryMs(*rw.redis, "threadr:usage:10.0.0.1:2026-11-29");
  ASSERT_GT(std::stoll(usage_expiry), 0);
  EXPECT_EQ(Query(ws.url, "SELECT ip, day::text, daily_count, " + MsSql("expires_at") +
                              ", source_tag FROM usage_tracking ORDER BY ip"),
            (std::vector<std::vector<std::string>>{
                {"10.0.0.1", "2026-11-29", "12", usage_expiry, "redis_usage"},
                {"10.0.0.2", "2026-11-30", "3", "\\N", "redis_usage"}}));

  const std::string thread_expiry = ExpiryMs(*rw.redis, "threadr:cache:thread:00000003");
  ASSERT_GT(std::stoll(thread_expiry), 0);
  EXPECT_EQ(Query(ws.url, "SELECT thread_id, topic, " + MsSql("expires_at") +
                              ", source_tag FROM threads ORDER BY thread_id"),
            (std::vector<std::vector<std::string>>{{"00000003", "t3", thread_expiry, "threads"},
                                                   {"00000006", "t6", "\\N", "threads"}}));
  EXPECT_EQ(Query(ws.url, "SELECT thread_id, n, text FROM thread_tweets ORDER BY thread_id, n"),
            (std::vector<std::vector<std::string>>{{"00000003", "0", "Part 1 of 3"},
                                                   {"00000003", "1", "Part 2 of 3"},
                                                   {"00000003", "2", "Part 3 of 3"}}));
  // The tag is on every row, none missing.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT (SELECT count(*) FROM subscriptions WHERE metadata IS NULL) + "
                       "(SELECT count(*) FROM users WHERE source_tag IS NULL) + "
                       "(SELECT count(*) FROM usage_tracking WHERE source_tag IS NULL) + "
                       "(SELECT count(*) FROM threads WHERE source_tag IS NULL)"),
            "0");

  const CommandResult v = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

constexpr char kBinarySpec[] = R"(migration: binary
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
backfill: { batch_size: 100, max_rejects: 0 }
entities:
  blobs:
    source: { from: cache, pattern: "blob:{id}", value: string }
    key: [id]
    columns:
      id:   { type: bytea }
      body: { from: $value, type: bytea }
  notes:
    source: { from: cache, pattern: "note:{id}", value: string }
    priority: low
    key: [id]
    columns:
      id:   { type: text }
      body: { from: $value, type: text }
)";

TEST(RedisBackfillTest, BinaryKeysAndValuesLandByteForByteInByteaAndAreRejectsInText) {
  RedisWorkspace rw = Start("binary", kBinarySpec);
  ASSERT_NE(rw.redis, nullptr);
  const std::string bin_id("\x00k\xff\xfe", 4);
  const std::string bin_body("v\x00\xff\xfe\x01", 5);
  const std::string nul_body(
      "a\x00"
      "b",
      3);
  rw.redis->Command({"SET", "blob:" + bin_id, bin_body});
  rw.redis->Command({"SET", "blob:plain", nul_body});
  rw.redis->Command({"SET", "note:good", "h\xc3\xa9llo"});
  rw.redis->Command({"SET", "note:bad", "\xff\xfe"});
  // A list where the spec reads strings: its GET answers WRONGTYPE, so it
  // is read again by its TYPE, and rejected for what it is.
  rw.redis->Command({"RPUSH", "note:listy", "a", "b"});
  ASSERT_EQ(rw.redis->One({"STRLEN", "blob:" + bin_id}), "5");
  const Workspace& ws = rw.ws;

  // Two rejects, and the spec allows none: exit 1.
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(Query(ws.url, "SELECT encode(id, 'hex'), encode(body, 'hex') FROM blobs ORDER BY id"),
            (std::vector<std::vector<std::string>>{{Hex(bin_id), Hex(bin_body)},
                                                   {Hex("plain"), Hex(nul_body)}}));
  EXPECT_EQ(Hex(bin_id), "006bfffe");
  EXPECT_EQ(Hex(bin_body), "7600fffe01");
  EXPECT_EQ(Query(ws.url, "SELECT id, body FROM notes ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"good", "h\xc3\xa9llo"}}));
  const auto rejects =
      Query(ws.url, "SELECT entity, field, reason FROM cutover.rejects ORDER BY reason");
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0][0], "notes");
  EXPECT_NE(rejects[0][2].find("not UTF-8"), std::string::npos) << rejects[0][2];
  EXPECT_NE(rejects[0][2].find("note:bad"), std::string::npos) << rejects[0][2];
  EXPECT_EQ(rejects[1][0], "notes");
  EXPECT_NE(rejects[1][2].find("key is a list, but the spec reads string values"),
            std::string::npos)
      << rejects[1][2];
  const std::string file = ReadFile(ws.dir + "/.cutover/rejects.jsonl");
  EXPECT_NE(file.find("not UTF-8"), std::string::npos) << file;
  EXPECT_NE(file.find("note:bad"), std::string::npos) << file;

  // With two rejects allowed, the same run passes.
  const CommandResult again =
      Cutover(ws, {"backfill", "cutover.yaml", "--max-rejects", "2", "--restart"});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
}

TEST(RedisBackfillTest, WrongTypeAndInvalidJsonAreRejectsNamingTheKeyNeverNulls) {
  RedisWorkspace rw = Start("rejects", ThreadrSpec(2));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  rw.redis->Command({"SADD", "threadr:email:set@example.com", "a", "b"});
  rw.redis->Command({"SET", "threadr:premium:email:broken@example.com", "{\"user_id\": 7,"});
  const Workspace& ws = rw.ws;
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "3");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM subscriptions"), "2");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users WHERE email = 'set@example.com'"), "0");
  const auto rejects =
      Query(ws.url, "SELECT entity, field, reason FROM cutover.rejects ORDER BY entity");
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0][0], "subscriptions");
  EXPECT_NE(rejects[0][2].find("not valid JSON"), std::string::npos) << rejects[0][2];
  EXPECT_NE(rejects[0][2].find("threadr:premium:email:broken@example.com"), std::string::npos)
      << rejects[0][2];
  EXPECT_EQ(rejects[1][0], "users");
  EXPECT_NE(rejects[1][2].find("is a set, but the spec reads hash values"), std::string::npos)
      << rejects[1][2];
  EXPECT_NE(rejects[1][2].find("threadr:email:set@example.com"), std::string::npos)
      << rejects[1][2];

  // One more reject than allowed: exit 1.
  const CommandResult strict =
      Cutover(ws, {"backfill", "cutover.yaml", "--restart", "--max-rejects", "1"});
  EXPECT_EQ(strict.exit_code, 1) << Describe(strict);
}

// A thread PostgreSQL refuses (a CHECK the mapper knows nothing of) takes
// its tweets with it as rejects: with the child table's foreign key set
// aside for the load, none of them may land as an orphan, and the key comes
// back validated.
TEST(RedisBackfillTest, ChildrenOfARefusedParentAreRejectsNotOrphans) {
  RedisWorkspace rw = Start("orphans", ThreadrSpec(3));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  rw.redis->Command({"SET", "threadr:cache:thread:00000009",
                     R"({"topic":"forbidden","tweets":[{"n":0,"text":"a"},{"n":1,"text":"b"}]})"});
  const Workspace& ws = rw.ws;
  Exec(ws.url, R"sql(
    CREATE TABLE threads (thread_id text PRIMARY KEY, topic text CHECK (topic <> 'forbidden'),
                          expires_at timestamptz, source_tag text);
    CREATE TABLE thread_tweets (thread_id text NOT NULL REFERENCES threads (thread_id),
                                n integer NOT NULL, text text, PRIMARY KEY (thread_id, n));
    -- A row already there: no bulk load, the key stays in place.
    INSERT INTO threads VALUES ('99999999', 'earlier', NULL, NULL);
  )sql");
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--entity", "threads"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("loading its child tables without their 1 foreign key"), std::string::npos)
      << Describe(r);
  EXPECT_EQ(QueryValue(ws.url, "SELECT string_agg(thread_id, ',' ORDER BY thread_id) FROM threads"),
            "00000003,00000006,99999999");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) FROM thread_tweets t WHERE NOT EXISTS "
                       "(SELECT 1 FROM threads p WHERE p.thread_id = t.thread_id)"),
            "0");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM thread_tweets"), "3");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(conrelid::regclass::text || ':' || convalidated, "
                       "',') FROM pg_constraint WHERE contype = 'f'"),
            "thread_tweets:true");
  const auto rejects =
      Query(ws.url, "SELECT entity, item, reason FROM cutover.rejects ORDER BY entity, item");
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_EQ(rejects[0][0], "thread_tweets");
  EXPECT_EQ(rejects[0][1], "$value.tweets[0]");
  EXPECT_NE(rejects[0][2].find("PostgreSQL refused its record's parent row"), std::string::npos)
      << rejects[0][2];
  EXPECT_EQ(rejects[1][1], "$value.tweets[1]");
  EXPECT_EQ(rejects[2][0], "threads");
  EXPECT_NE(rejects[2][2].find("threads_topic_check"), std::string::npos) << rejects[2][2];
}

// "<rows> <distinct (thread_id, n)> <third tweets holding their thread's id>".
std::string TweetCounts(const std::string& url) {
  return QueryValue(url,
                    "SELECT count(*) || ' ' || count(DISTINCT (thread_id, n)) || ' ' || "
                    "count(*) FILTER (WHERE n = 2 AND text = thread_id) FROM thread_tweets");
}

// The constraint types of thread_tweets, sorted ("fp": its foreign and primary key).
std::string TweetConstraints(const std::string& url) {
  return QueryValue(url,
                    "SELECT string_agg(contype::text, '' ORDER BY contype) FROM pg_constraint "
                    "WHERE conrelid = 'thread_tweets'::regclass");
}

// A bulk load sets the child table's key aside too (its rows carry their
// parent's key, one source key's alone), builds it afterwards, and refuses an
// item that repeats a key within its record, as the key would have.
TEST(RedisBackfillTest, BulkLoadSetsTheChildKeyAsideAndRefusesAKeyRepeatedInARecord) {
  RedisWorkspace rw = Start("child_key", ThreadrSpec(5));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  rw.redis->Command({"SET", "threadr:cache:thread:00000009",
                     R"({"topic":"t9","tweets":[{"n":0,"text":"a"},{"n":1,"text":"b"},)"
                     R"({"n":0,"text":"again"}]})"});
  rw.redis->Command({"SET", "threadr:cache:thread:00000012",
                     R"({"topic":"t12","tweets":[{"n":5,"text":"x"},{"n":5,"text":"y"}]})"});
  const Workspace& ws = rw.ws;
  const CommandResult r =
      Cutover(ws, {"backfill", "cutover.yaml", "--entity", "threads", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // threads' key (index and constraint), thread_tweets' foreign key, and
  // thread_tweets' key (index and constraint).
  EXPECT_NE(r.err.find("threads: empty table at stage legacy: loading it without its key, "
                       "indexes and constraints (5 definitions set aside)"),
            std::string::npos)
      << Describe(r);
  EXPECT_NE(r.err.find("built index thread_tweets_pkey"), std::string::npos) << Describe(r);
  // Worked out by hand: thread 3's three tweets, the first two of thread 9
  // and the first of thread 12.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(thread_id || '/' || n || '/' || text, ',' "
                       "ORDER BY thread_id, n) FROM thread_tweets"),
            "00000003/0/Part 1 of 3,00000003/1/Part 2 of 3,00000003/2/Part 3 of 3,"
            "00000009/0/a,00000009/1/b,00000012/5/x");
  EXPECT_EQ(TweetConstraints(ws.url), "fp");
  EXPECT_EQ(SummaryCounts(r.out, "thread_tweets"), "8 6 2");
  const auto rejects = Query(ws.url,
                             "SELECT item, reason, convert_from(record, 'UTF8') FROM "
                             "cutover.rejects WHERE entity = 'thread_tweets' ORDER BY reason");
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_EQ(rejects[0][0], "$value.tweets[2]");
  EXPECT_NE(rejects[0][1].find("repeats the key (thread_id=00000009, n=0) of an earlier row of "
                               "its record"),
            std::string::npos)
      << rejects[0][1];
  EXPECT_NE(rejects[0][2].find("again"), std::string::npos) << rejects[0][2];
  EXPECT_EQ(rejects[1][0], "$value.tweets[1]");
  EXPECT_NE(rejects[1][1].find("(thread_id=00000012, n=5)"), std::string::npos) << rejects[1][1];
}

// Killed in the middle of a bulk load whose child key is set aside, the load
// resumes where its last checkpoint was, and the child key builds: every
// tweet once.
TEST(RedisBackfillTest, AKilledLoadWithTheChildKeyAsideResumesAndBuildsIt) {
  RedisWorkspace rw = Start("child_key_kill", ThreadrSpec(0));
  ASSERT_NE(rw.redis, nullptr);
  constexpr int kThreads = 1000;
  for (int i = 0; i < kThreads; ++i) {
    const std::string id = std::to_string(100000 + i);
    rw.redis->Command({"SET", "threadr:cache:thread:" + id,
                       R"({"topic":"t","tweets":[{"n":0,"text":"a"},{"n":1,"text":"b"},)"
                       R"({"n":2,"text":")" +
                           id + R"("}]})"});
  }
  Workspace killed = rw.ws;
  killed.env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=3");
  const CommandResult first =
      Cutover(killed, {"backfill", "cutover.yaml", "--entity", "threads", "--create-tables"});
  ASSERT_EQ(first.term_signal, SIGKILL) << Describe(first);
  const Workspace& ws = rw.ws;
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) FROM pg_constraint WHERE conrelid = "
                       "'thread_tweets'::regclass"),
            "0");
  const CommandResult second = Cutover(ws, {"backfill", "cutover.yaml", "--entity", "threads"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  // By hand: 1000 threads of 3 tweets, the third holding its thread's id.
  EXPECT_EQ(TweetCounts(ws.url), "3000 3000 1000");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM threads"), "1000");
  EXPECT_EQ(TweetConstraints(ws.url), "fp");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM cutover.rejects"), "0");

  // Killed again in a fresh load, then --restart: the keys set aside are
  // built first, and the merge from the start lands every tweet once.
  Exec(ws.url, "DROP TABLE thread_tweets, threads; DELETE FROM cutover.backfill_partitions");
  const CommandResult third =
      Cutover(killed, {"backfill", "cutover.yaml", "--entity", "threads", "--create-tables"});
  ASSERT_EQ(third.term_signal, SIGKILL) << Describe(third);
  const CommandResult restart =
      Cutover(ws, {"backfill", "cutover.yaml", "--entity", "threads", "--restart"});
  ASSERT_EQ(restart.exit_code, 0) << Describe(restart);
  EXPECT_NE(restart.err.find("finishing the index build an earlier bulk load left"),
            std::string::npos)
      << Describe(restart);
  EXPECT_EQ(TweetCounts(ws.url), "3000 3000 1000");
  EXPECT_EQ(TweetConstraints(ws.url), "fp");
}

// A unique index on the child table besides its key is not guarded by the
// load: the child keeps its key (and that index) in place, and the parent
// still loads in bulk.
TEST(RedisBackfillTest, AChildWithAnotherUniqueIndexKeepsItsKeyInPlace) {
  RedisWorkspace rw = Start("child_unique", ThreadrSpec(5));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  rw.redis->Command({"SET", "threadr:cache:thread:00000009",
                     R"({"topic":"t9","tweets":[{"n":0,"text":"Part 1 of 3"}]})"});
  const Workspace& ws = rw.ws;
  Exec(ws.url, R"sql(
    CREATE TABLE threads (thread_id text PRIMARY KEY, topic text, expires_at timestamptz,
                          source_tag text);
    CREATE TABLE thread_tweets (thread_id text NOT NULL REFERENCES threads (thread_id),
                                n integer NOT NULL, text text, PRIMARY KEY (thread_id, n),
                                UNIQUE (text));
  )sql");
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--entity", "threads"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("unique index thread_tweets_text_key is not the key, whose repeats the "
                       "load refuses; loading it with its key in place"),
            std::string::npos)
      << Describe(r);
  EXPECT_NE(r.err.find("(3 definitions set aside)"), std::string::npos) << Describe(r);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM thread_tweets"), "3");
  const auto rejects = Query(ws.url, "SELECT item, reason FROM cutover.rejects");
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0][0], "$value.tweets[0]");
  EXPECT_NE(rejects[0][1].find("thread_tweets_text_key"), std::string::npos) << rejects[0][1];
}

TEST(RedisBackfillTest, EntityPriorityAndPatternSelectWhatMovesAndDryRunWritesNothing) {
  RedisWorkspace rw = Start("filters", ThreadrSpec(0));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  const Workspace& ws = rw.ws;

  // A dry run reads and maps every key and writes nothing, not even the cutover schema.
  const CommandResult dry =
      Cutover(ws, {"backfill", "cutover.yaml", "--create-tables", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  EXPECT_NE(dry.out.find("would_write"), std::string::npos) << dry.out;
  // read, would_write, rejected: every key read and mapped.
  EXPECT_EQ(SummaryCounts(dry.out, "subscriptions"), "2 2 0") << dry.out;
  EXPECT_EQ(SummaryCounts(dry.out, "users"), "3 3 0") << dry.out;
  EXPECT_EQ(SummaryCounts(dry.out, "usage_tracking"), "2 2 0") << dry.out;
  EXPECT_EQ(SummaryCounts(dry.out, "threads"), "2 2 0") << dry.out;
  EXPECT_EQ(SummaryCounts(dry.out, "thread_tweets"), "3 3 0") << dry.out;
  EXPECT_FALSE(TableExists(ws.url, "public.users"));
  EXPECT_FALSE(TableExists(ws.url, "public.subscriptions"));
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'"), "0");

  // Unknown priority: exit 2, naming the known ones.
  const CommandResult bad = Cutover(ws, {"backfill", "cutover.yaml", "--priority", "urgent"});
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
  EXPECT_NE(bad.err.find("critical, high, medium, low"), std::string::npos) << bad.err;
  // A filter that selects nothing is an error, not "0 rows".
  const CommandResult none = Cutover(ws, {"backfill", "cutover.yaml", "--priority", "low"});
  EXPECT_EQ(none.exit_code, 2) << Describe(none);
  EXPECT_NE(none.err.find("--priority low"), std::string::npos) << none.err;
  const CommandResult no_pattern =
      Cutover(ws, {"backfill", "cutover.yaml", "--pattern", "session:*"});
  EXPECT_EQ(no_pattern.exit_code, 2) << Describe(no_pattern);
  EXPECT_NE(no_pattern.err.find("session:*"), std::string::npos) << no_pattern.err;
  // --entity and --priority together: the entities both select, none here.
  const CommandResult disjoint =
      Cutover(ws, {"backfill", "cutover.yaml", "--priority", "critical", "--entity", "users"});
  EXPECT_EQ(disjoint.exit_code, 2) << Describe(disjoint);
  EXPECT_FALSE(TableExists(ws.url, "public.users"));

  // --priority critical (in any case, as the spec takes it) moves the subscriptions alone.
  const CommandResult critical =
      Cutover(ws, {"backfill", "cutover.yaml", "--create-tables", "--priority", "Critical"});
  ASSERT_EQ(critical.exit_code, 0) << Describe(critical);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM subscriptions"), "2");
  EXPECT_FALSE(TableExists(ws.url, "public.users"));
  EXPECT_FALSE(TableExists(ws.url, "public.usage_tracking"));
  EXPECT_FALSE(TableExists(ws.url, "public.threads"));

  // --pattern by glob over the pattern's text.
  const CommandResult usage =
      Cutover(ws, {"backfill", "cutover.yaml", "--create-tables", "--pattern", "threadr:usage:*"});
  ASSERT_EQ(usage.exit_code, 0) << Describe(usage);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM usage_tracking"), "2");
  EXPECT_FALSE(TableExists(ws.url, "public.users"));

  // A priority by number: 1 is high.
  const CommandResult high =
      Cutover(ws, {"backfill", "cutover.yaml", "--dry-run", "--priority", "1"});
  ASSERT_EQ(high.exit_code, 0) << Describe(high);
  EXPECT_NE(high.out.find("usage_tracking"), std::string::npos) << high.out;
  EXPECT_NE(high.out.find("users"), std::string::npos) << high.out;
  EXPECT_EQ(high.out.find("subscriptions"), std::string::npos) << high.out;

  // --entity.
  const CommandResult users =
      Cutover(ws, {"backfill", "cutover.yaml", "--create-tables", "--entity", "users"});
  ASSERT_EQ(users.exit_code, 0) << Describe(users);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "3");
  EXPECT_FALSE(TableExists(ws.url, "public.threads"));

  // verify takes the same filters: the moved entities are clean, alone.
  const CommandResult vc =
      Cutover(ws, {"verify", "cutover.yaml", "--priority", "critical", "--json"});
  EXPECT_EQ(vc.exit_code, 0) << Describe(vc);
  const json report = json::parse(vc.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << vc.out;
  ASSERT_EQ(report["entities"].size(), 1u) << vc.out;
  EXPECT_EQ(report["entities"][0]["entity"], "subscriptions");
  const CommandResult vp =
      Cutover(ws, {"verify", "cutover.yaml", "--pattern", "threadr:email:{email}"});
  EXPECT_EQ(vp.exit_code, 0) << Describe(vp);
  const CommandResult vbad = Cutover(ws, {"verify", "cutover.yaml", "--priority", "urgent"});
  EXPECT_EQ(vbad.exit_code, 2) << Describe(vbad);
  EXPECT_NE(vbad.err.find("critical, high, medium, low"), std::string::npos) << vbad.err;
  // threads were never moved: verify of everything is not clean.
  const CommandResult all = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_NE(all.exit_code, 0) << Describe(all);
}

constexpr int kManyUsers = 4000;

constexpr char kManySpec[] = R"(migration: many
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
backfill: { batch_size: 200, max_rejects: 0 }
entities:
  users:
    source: { from: cache, pattern: "u:{email}", value: hash }
    key: [email]
    columns:
      email: { type: text }
      id:    { from: user_id, type: bigint, required: true }
      name:  { type: text }
)";

void FillManyUsers(const RedisServer& redis) {
  // One server-side loop: 4000 hashes u:<i>@x with user_id i and name n<i>.
  redis.Command({"EVAL",
                 "for i = 1, tonumber(ARGV[1]) do "
                 "redis.call('HSET', 'u:' .. i .. '@x', 'user_id', i, 'name', 'n' .. i) end",
                 "0", std::to_string(kManyUsers)});
  ASSERT_EQ(redis.One({"DBSIZE"}), std::to_string(kManyUsers));
}

// Every key once, with its own values: 1 + ... + 4000 = 4000 * 4001 / 2.
void ExpectEveryUserOnce(const Workspace& ws) {
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) || ' ' || count(DISTINCT email) || ' ' || sum(id) FROM "
                       "users WHERE email = id || '@x' AND name = 'n' || id"),
            std::to_string(kManyUsers) + " " + std::to_string(kManyUsers) + " 8002000");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), std::to_string(kManyUsers));
}

std::string LedgerRead(const Workspace& ws) {
  return QueryValue(
      ws.url,
      "SELECT records_read || '/' || rows_merged || '/' || records_rejected || '/' || "
      "done FROM cutover.backfill_ledger WHERE entity = 'users'");
}

int64_t PartitionRead(const Workspace& ws) {
  const std::string n = QueryValue(
      ws.url,
      "SELECT coalesce(sum(rows_read), 0) FROM cutover.backfill_partitions WHERE entity = 'users'");
  return n.empty() ? -1 : std::stoll(n);
}

TEST(RedisBackfillTest, KilledBackfillResumesWithEveryKeyOnce) {
  RedisWorkspace rw = Start("resume", kManySpec);
  ASSERT_NE(rw.redis, nullptr);
  FillManyUsers(*rw.redis);
  Workspace ws = rw.ws;
  Workspace killed = ws;
  killed.env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=2");
  const CommandResult first = Cutover(killed, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(first.term_signal, SIGKILL) << Describe(first);
  const int64_t loaded = std::stoll(QueryValue(ws.url, "SELECT count(*) FROM users"));
  EXPECT_GT(loaded, 0);
  EXPECT_LT(loaded, kManyUsers);
  EXPECT_EQ(PartitionRead(ws), loaded);

  const CommandResult second = Cutover(ws, {"backfill", "cutover.yaml"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_NE(second.out.find("resumed"), std::string::npos) << second.out;
  ExpectEveryUserOnce(ws);
  // Read once each over both runs: the second went on from the first's cursor.
  EXPECT_EQ(PartitionRead(ws), kManyUsers);
  EXPECT_EQ(LedgerRead(ws),
            std::to_string(kManyUsers) + "/" + std::to_string(kManyUsers) + "/0/true");
  const CommandResult v = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

TEST(RedisBackfillTest, ResumeAfterRedisRestartScansAgainFromTheStart) {
  RedisServer::Options options;
  options.persist = true;
  RedisWorkspace rw = Start("restart", kManySpec, options);
  ASSERT_NE(rw.redis, nullptr);
  FillManyUsers(*rw.redis);
  Workspace ws = rw.ws;
  Workspace killed = ws;
  killed.env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=2");
  const CommandResult first = Cutover(killed, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(first.term_signal, SIGKILL) << Describe(first);
  const int64_t read_before = PartitionRead(ws);
  EXPECT_GT(read_before, 0);
  EXPECT_LT(read_before, kManyUsers);

  // A new process, a new run id, a new hash seed: the saved SCAN cursor means nothing.
  const std::string run_id_before = RunId(*rw.redis);
  ASSERT_EQ(run_id_before.size(), 40u);
  ASSERT_TRUE(rw.redis->Restart());
  ASSERT_EQ(rw.redis->One({"DBSIZE"}), std::to_string(kManyUsers));
  ASSERT_NE(RunId(*rw.redis), run_id_before);

  const CommandResult second = Cutover(ws, {"backfill", "cutover.yaml"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_NE(second.err.find("scan starts over"), std::string::npos) << second.err;
  ExpectEveryUserOnce(ws);
  // The keys read before the restart were read again: in this bulk load
  // without claims they landed twice, and the key's build kept one row each,
  // so the ledger counts them read, not migrated.
  EXPECT_EQ(PartitionRead(ws), read_before + kManyUsers);
  EXPECT_EQ(LedgerRead(ws), std::to_string(read_before + kManyUsers) + "/" +
                                std::to_string(kManyUsers) + "/0/true");
  const CommandResult v = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// Every tenth key of kManyUsers a set where the spec reads hashes: 400 rejects, each a key.
TEST(RedisBackfillTest, ResumeAfterRedisRestartListsEachRejectOnce) {
  RedisServer::Options options;
  options.persist = true;
  std::string spec = kManySpec;
  spec.replace(spec.find("max_rejects: 0"), 14, "max_rejects: 9999");
  RedisWorkspace rw = Start("restart-rejects", spec, options);
  ASSERT_NE(rw.redis, nullptr);
  FillManyUsers(*rw.redis);
  rw.redis->Command({"EVAL",
                     "for i = 10, tonumber(ARGV[1]), 10 do local k = 'u:' .. i .. '@x' "
                     "redis.call('DEL', k) redis.call('SADD', k, 'a') end",
                     "0", std::to_string(kManyUsers)});
  ASSERT_EQ(rw.redis->One({"TYPE", "u:4000@x"}), "set");
  Workspace ws = rw.ws;
  Workspace killed = ws;
  killed.env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_commit=2");
  const CommandResult first = Cutover(killed, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(first.term_signal, SIGKILL) << Describe(first);
  EXPECT_GT(std::stoll(QueryValue(ws.url, "SELECT count(*) FROM cutover.rejects")), 0);
  ASSERT_TRUE(rw.redis->Restart());
  const CommandResult second = Cutover(ws, {"backfill", "cutover.yaml"});
  ASSERT_EQ(second.exit_code, 0) << Describe(second);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "3600");
  EXPECT_EQ(
      QueryValue(ws.url, "SELECT count(*) || ' ' || count(DISTINCT reason) FROM cutover.rejects"),
      "400 400");
  const std::string file = ReadFile(ws.dir + "/.cutover/rejects.jsonl");
  EXPECT_EQ(std::count(file.begin(), file.end(), '\n'), 400);
}

TEST(RedisBackfillTest, VerifyNamesEveryPlantedDifference) {
  RedisWorkspace rw = Start("verify", ThreadrSpec(0));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  const Workspace& ws = rw.ws;
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const CommandResult clean = Cutover(ws, {"verify", "cutover.yaml"});
  ASSERT_EQ(clean.exit_code, 0) << Describe(clean);

  // In PostgreSQL: a changed value, a deleted row, a row only there, an expiry 150 ms off.
  Exec(ws.url, "UPDATE users SET name = 'Anne' WHERE email = 'ann@example.com'");
  Exec(ws.url, "DELETE FROM users WHERE email = 'cyd@example.com'");
  Exec(ws.url,
       "INSERT INTO users (email, id, name, source_tag) VALUES ('zed@example.com', 999, 'Zed', "
       "'users')");
  Exec(ws.url,
       "UPDATE usage_tracking SET expires_at = expires_at + interval '150 milliseconds' "
       "WHERE ip = '10.0.0.1'");
  // In Redis: a new key, a deleted key.
  rw.redis->Command({"HSET", "threadr:email:dan@example.com", "user_id", "104", "name", "Dan"});
  rw.redis->Command({"DEL", "threadr:email:bob@example.com"});

  const CommandResult v = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(v.exit_code, 1) << Describe(v);
  const json report = json::parse(v.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << v.out;
  EXPECT_EQ(report["clean"], false);
  const json* users = EntityOf(report, "users");
  ASSERT_NE(users, nullptr) << v.out;
  // missing: cyd (deleted row), dan (new key); extra: zed (row only in PG), bob (deleted key).
  EXPECT_EQ(Counts(*users), "missing 2 extra 2 changed 1") << users->dump();
  EXPECT_TRUE(ListHas((*users)["missing_keys"], "cyd@example.com")) << users->dump();
  EXPECT_TRUE(ListHas((*users)["missing_keys"], "dan@example.com")) << users->dump();
  EXPECT_TRUE(ListHas((*users)["extra_keys"], "zed@example.com")) << users->dump();
  EXPECT_TRUE(ListHas((*users)["extra_keys"], "bob@example.com")) << users->dump();
  EXPECT_TRUE(ListHas((*users)["changed_keys"], "ann@example.com")) << users->dump();
  const json* usage = EntityOf(report, "usage_tracking");
  ASSERT_NE(usage, nullptr) << v.out;
  EXPECT_EQ(Counts(*usage), "missing 0 extra 0 changed 1") << usage->dump();
  ASSERT_EQ((*usage)["changed_keys"].size(), 1u);
  EXPECT_EQ((*usage)["changed_keys"][0]["columns"], json::array({"expires_at"})) << usage->dump();
  for (const char* entity : {"subscriptions", "threads", "thread_tweets"}) {
    const json* e = EntityOf(report, entity);
    ASSERT_NE(e, nullptr) << entity;
    EXPECT_EQ(Counts(*e), "missing 0 extra 0 changed 0") << e->dump();
  }
}

TEST(RedisBackfillTest, KeyThatExpiredIsNotReportedButADeletedKeyIs) {
  RedisWorkspace rw = Start("expiring", ThreadrSpec(0));
  ASSERT_NE(rw.redis, nullptr);
  FillThreadr(*rw.redis);
  // Five seconds: long enough for a backfill under the sanitizers on a
  // loaded machine to read the key before it goes.
  rw.redis->Command({"SET", "threadr:cache:thread:00000009",
                     R"({"user_id":103,"topic":"t9","tweets":[{"n":0,"text":"soon gone"}]})", "PX",
                     "5000"});
  const Workspace& ws = rw.ws;
  const CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_EQ(QueryValue(ws.url, "SELECT count(*) FROM threads WHERE thread_id = '00000009'"), "1");
  // Until it has expired in Redis.
  while (rw.redis->One({"EXISTS", "threadr:cache:thread:00000009"}) == "1") {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const CommandResult v = Cutover(ws, {"verify", "cutover.yaml", "--json"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  EXPECT_NE(v.err.find("threads: 2 rows only PostgreSQL holds belong to keys that expired"),
            std::string::npos)
      << v.err;

  // A key deleted before its expiry is still a difference, with its child rows.
  rw.redis->Command({"DEL", "threadr:cache:thread:00000003"});
  const CommandResult deleted = Cutover(ws, {"verify", "cutover.yaml", "--json"});
  EXPECT_EQ(deleted.exit_code, 1) << Describe(deleted);
  const json report = json::parse(deleted.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << deleted.out;
  const json* threads = EntityOf(report, "threads");
  const json* tweets = EntityOf(report, "thread_tweets");
  ASSERT_TRUE(threads != nullptr && tweets != nullptr) << deleted.out;
  EXPECT_EQ(Counts(*threads), "missing 0 extra 1 changed 0") << threads->dump();
  EXPECT_EQ((*threads)["extra_keys"], json::array({"thread_id=00000003"})) << threads->dump();
  EXPECT_EQ(Counts(*tweets), "missing 0 extra 3 changed 0") << tweets->dump();
}

}  // namespace
}  // namespace cutover::testing
