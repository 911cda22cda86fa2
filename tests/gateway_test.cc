// The dual-write gateway with real Redis and PostgreSQL: writes keep being
// acknowledged while PostgreSQL is down, the journal drains when it is back,
// and a gateway killed at each point of the write path loses no acknowledged
// write. Both stores are compared key by key by the harness (hiredis and SQL).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/restartable_cluster.h"
#include "support/serve_process.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "gateway-test-token";

constexpr std::string_view kSpec = R"(migration: gw
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
serve: { token_env: GW_TOKEN }
stages: { poll_interval: 200ms }
entities:
  users:
    source: { from: cache, pattern: "u:{email}", value: hash }
    key: [email]
    columns:
      email:      { type: text }
      name:       { type: text }
      visits:     { type: bigint }
  hits:
    source: { from: cache, pattern: "c:{name}", value: counter }
    key: [name]
    write_back: true
    columns:
      name:  { type: text }
      count: { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  threads:
    source: { from: cache, pattern: "t:{id}", value: json }
    key: [id]
    columns:
      id:    { type: text }
      topic: { type: text }
    children:
      tweets:
        path: $value.tweets
        key: [id, n]
        parent: { id: id }
        columns:
          id:   { type: text }
          n:    { type: integer }
          text: { type: text }
)";

struct GatewaySetup {
  std::unique_ptr<RedisServer> redis;
  std::string dir;
  std::vector<std::pair<std::string, std::string>> env;
};

CommandResult Cutover(const GatewaySetup& s, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, s.env, s.dir);
}

// Tables made, stage dual_write: the gateway writes Redis, then PostgreSQL.
// A persisting Redis keeps its data over a Stop and Resume.
void Prepare(GatewaySetup* s, const std::string& url, bool persist = false) {
  RedisServer::Options options;
  options.persist = persist;
  s->redis = RedisServer::Start(options);
  ASSERT_NE(s->redis, nullptr);
  s->dir = TempDir();
  WriteFile(s->dir + "/cutover.yaml", std::string(kSpec));
  s->env = {{"DATABASE_URL", url}, {"REDIS_URL", s->redis->Url()}, {"GW_TOKEN", kToken}};
  const CommandResult made = Cutover(*s, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const CommandResult moved =
      Cutover(*s, {"phase", "cutover.yaml", "set", "dual_write", "--force", "--reason", "test"});
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
}

// One random write: a user's hash (name, visits), a thread with 0-3 tweets,
// or a delete of either.
struct Write {
  std::string method, entity, key, body;
};
Write RandomWrite(std::mt19937& rng, int keys) {
  const int k = static_cast<int>(rng() % static_cast<unsigned>(keys));
  const int what = static_cast<int>(rng() % 10);
  const std::string n = std::to_string(rng() % 100000);
  if (what < 4) {
    return {"PUT", "users", "u:user" + std::to_string(k) + "@x.org",
            json{{"value", {{"name", "Name " + n}, {"visits", std::stoi(n)}}}}.dump()};
  }
  if (what < 8) {
    json tweets = json::array();
    for (int t = 0; t < static_cast<int>(rng() % 4); ++t) {
      tweets.push_back({{"n", t}, {"text", "tweet " + n + "/" + std::to_string(t)}});
    }
    return {"PUT", "threads", "t:" + std::to_string(k),
            json{{"value", {{"topic", "topic " + n}, {"tweets", tweets}}}}.dump()};
  }
  if (what == 8) return {"DELETE", "users", "u:user" + std::to_string(k) + "@x.org", ""};
  return {"DELETE", "threads", "t:" + std::to_string(k), ""};
}

HttpResponse Send(int port, const Write& w) {
  return Http(port, w.method, "/v1/entities/" + w.entity + "/" + w.key, w.body,
              {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
}

// Until the gateway has read the stage, it writes nothing (503): wait.
bool WaitForDualWrite(int port) {
  return WaitFor(
      [&] {
        return Http(port, "GET", "/v1/stage").body.find("\"dual_write\"") != std::string::npos;
      },
      30);
}

double Metric(int port, const std::string& name) {
  const HttpResponse m = Http(port, "GET", "/metrics");
  const size_t at = m.body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(m.body.substr(at + name.size() + 2));
}

// Redis as the harness reads it (hiredis), in the rows PostgreSQL should
// hold, sorted: "email|name|visits", "id|topic", "id|n|text".
struct Rows {
  std::vector<std::string> users, threads, tweets;
};
Rows FromRedis(const RedisServer& redis) {
  Rows r;
  for (const std::string& key : redis.Command({"KEYS", "*"})) {
    if (key.starts_with("u:")) {
      const auto f = redis.Command({"HMGET", key, "name", "visits"});
      r.users.push_back(key.substr(2) + "|" + f[0] + "|" + f[1]);
    } else if (key.starts_with("t:")) {
      const json v = json::parse(redis.One({"GET", key}));
      const std::string id = key.substr(2);
      r.threads.push_back(id + "|" + v["topic"].get<std::string>());
      for (const auto& t : v["tweets"]) {
        r.tweets.push_back(id + "|" + std::to_string(t["n"].get<int>()) + "|" +
                           t["text"].get<std::string>());
      }
    }
  }
  for (auto* v : {&r.users, &r.threads, &r.tweets}) std::sort(v->begin(), v->end());
  return r;
}
Rows FromPostgres(const std::string& url) {
  Rows r;
  auto column = [&](const std::string& sql) {
    std::vector<std::string> out;
    for (const auto& row : Query(url, sql)) out.push_back(row[0]);
    std::sort(out.begin(), out.end());
    return out;
  };
  r.users = column("SELECT email || '|' || name || '|' || visits FROM users");
  r.threads = column("SELECT id || '|' || topic FROM threads");
  r.tweets = column("SELECT id || '|' || n || '|' || text FROM tweets");
  return r;
}

// The rows only one side has, "redis: x" or "postgres: y" (empty: equal).
std::vector<std::string> Differences(const std::vector<std::string>& redis,
                                     const std::vector<std::string>& pg) {
  std::vector<std::string> out;
  std::set_difference(redis.begin(), redis.end(), pg.begin(), pg.end(), std::back_inserter(out));
  for (auto& d : out) d = "redis: " + d;
  std::vector<std::string> extra;
  std::set_difference(pg.begin(), pg.end(), redis.begin(), redis.end(), std::back_inserter(extra));
  for (auto& d : extra) out.push_back("postgres: " + d);
  return out;
}

void ExpectSameRows(const Rows& redis, const Rows& pg) {
  EXPECT_EQ(Differences(redis.users, pg.users), std::vector<std::string>());
  EXPECT_EQ(Differences(redis.threads, pg.threads), std::vector<std::string>());
  EXPECT_EQ(Differences(redis.tweets, pg.tweets), std::vector<std::string>());
  EXPECT_EQ(redis.users.size(), pg.users.size());
}

// Each counter holds exactly the increments acknowledged, in both stores.
void ExpectCounters(const RedisServer& redis, const std::string& url,
                    const std::map<std::string, int64_t>& increments) {
  for (const auto& [key, n] : increments) {
    EXPECT_EQ(redis.One({"GET", key}), std::to_string(n)) << key;
    EXPECT_EQ(QueryValue(url, "SELECT count FROM hits WHERE name = '" + key.substr(2) + "'"),
              std::to_string(n))
        << key;
  }
}

TEST(GatewayTest, WritesGoOnWhilePostgresIsDownAndTheJournalDrainsAfter) {
  RestartableCluster pg;
  ASSERT_TRUE(pg.Start("gw"));
  GatewaySetup s;
  Prepare(&s, pg.url());
  ASSERT_NE(s.redis, nullptr);
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0}, journaled{0};
  std::mutex mu;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(100 + c);
      while (!stop) {
        const Write w = RandomWrite(rng, 150);
        const HttpResponse r = Send(serve.port(), w);
        ++sent;
        if (r.status != 200) {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
        } else if (r.body.find("\"journaled\"") != std::string::npos) {
          ++journaled;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ASSERT_TRUE(pg.Stop());
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const double owed_while_down = Metric(serve.port(), "cutover_gateway_journal_owed");
  ASSERT_TRUE(pg.Resume());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& t : clients) t.join();

  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(sent.load(), 100);
  EXPECT_GT(journaled.load(), 0);   // answered while PostgreSQL was down
  EXPECT_GT(owed_while_down, 0.0);  // the journal grew...
  EXPECT_TRUE(WaitFor([&] { return Metric(serve.port(), "cutover_gateway_journal_owed") == 0; },
                      60));  // ...and drained
  ExpectSameRows(FromRedis(*s.redis), FromPostgres(pg.url()));
  const CommandResult verify = Cutover(s, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

// From `primary` on PostgreSQL takes each write first and Redis follows
// through the journal: with Redis stopped for 10 s no client write fails,
// and once it is back both stores agree, counters included.
TEST(GatewayTest, InPrimaryWritesGoOnWhileRedisIsDownAndTheJournalDrainsAfter) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url, /*persist=*/true);
  ASSERT_NE(s.redis, nullptr);
  for (const std::vector<std::string>& to :
       {std::vector<std::string>{"shadow"}, {"rollout", "--percent", "100"}, {"primary"}}) {
    std::vector<std::string> args = {"phase", "cutover.yaml", "set"};
    args.insert(args.end(), to.begin(), to.end());
    args.insert(args.end(), {"--force", "--reason", "test"});
    const CommandResult moved = Cutover(s, args);
    ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  }
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Http(serve.port(), "GET", "/v1/stage").body.find("\"primary\"") != std::string::npos;
      },
      30));

  std::atomic<bool> stop{false};
  std::atomic<int> sent{0}, failed{0};
  std::mutex mu;
  std::string first_failure;
  std::map<std::string, int64_t> increments;  // counter key -> increments acknowledged
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(300 + c);
      while (!stop) {
        HttpResponse r;
        std::string counter;
        if (rng() % 4 == 0) {
          counter = "c:n" + std::to_string(rng() % 20);
          r = Http(serve.port(), "PATCH", "/v1/entities/hits/" + counter, R"({"increment": 1})",
                   {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
        } else {
          r = Send(serve.port(), RandomWrite(rng, 150));
        }
        ++sent;
        std::lock_guard<std::mutex> lock(mu);
        if (r.status != 200) {
          ++failed;
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
        } else if (!counter.empty()) {
          ++increments[counter];
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  s.redis->Stop();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const double owed_while_down = Metric(serve.port(), "cutover_gateway_journal_owed");
  ASSERT_TRUE(s.redis->Resume());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& t : clients) t.join();

  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(sent.load(), 100);
  EXPECT_GT(owed_while_down, 0.0);  // the journal grew...
  EXPECT_TRUE(WaitFor([&] { return Metric(serve.port(), "cutover_gateway_journal_owed") == 0; },
                      60));  // ...and drained
  ExpectSameRows(FromRedis(*s.redis), FromPostgres(url));
  // Each counter holds exactly the increments acknowledged, in both stores.
  ASSERT_FALSE(increments.empty());
  ExpectCounters(*s.redis, url, increments);
  const CommandResult verify = Cutover(s, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

// SIGKILL at each point of the write path, then a restart: every write a
// client saw acknowledged is in both stores (a write killed before its
// answer may or may not be, but the stores agree).
TEST(GatewayTest, AKilledGatewayLosesNoAcknowledgedWrite) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  std::mt19937 rng(7);
  // On the request path the 25th write dies; in the replayer, the third
  // batch it lands in PostgreSQL (before their landed marks).
  for (const char* point : {"gateway.after_primary", "gateway.after_journal",
                            "gateway.before_answer", "gateway.replay_after_secondary"}) {
    SCOPED_TRACE(point);
    const bool in_replayer = std::string(point) == "gateway.replay_after_secondary";
    auto env = s.env;
    env.push_back({"CUTOVER_FAILPOINTS", std::string(point) + (in_replayer ? "=3" : "=25")});
    ServeProcess serve;
    ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, env, s.dir));
    ASSERT_TRUE(WaitForDualWrite(serve.port()));
    int acknowledged = 0;
    for (int i = 0; i < 40; ++i) {
      const HttpResponse r = Send(serve.port(), RandomWrite(rng, 30));
      if (r.status == 0) break;  // killed mid-request
      ASSERT_EQ(r.status, 200) << r.body;
      ++acknowledged;
    }
    if (in_replayer) {
      EXPECT_GE(acknowledged, 1);
    } else {
      EXPECT_EQ(acknowledged, 24);  // the 25th hit kills before its answer
    }
    serve.Stop();
    // The next gateway replays what the journal owes before it serves.
    ServeProcess again;
    ASSERT_TRUE(
        again.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
    EXPECT_TRUE(
        WaitFor([&] { return Metric(again.port(), "cutover_gateway_journal_owed") == 0; }, 30));
    EXPECT_EQ(again.Stop(), 0) << again.Stderr();
    if (std::string(point) == "gateway.after_primary" || in_replayer) {
      // Killed between Redis and the journal (the replayer's kill may catch
      // a request there too): Redis is ahead by a key nobody was told
      // about; a sync brings it over.
      const CommandResult synced =
          Cutover(s, {"sync", "cutover.yaml", "--configure", "--idle-exit", "1s"});
      EXPECT_EQ(synced.exit_code, 0) << synced.out << synced.err;
    }
    ExpectSameRows(FromRedis(*s.redis), FromPostgres(url));
  }
}

// A bulk writer's batch: its writes share one wait for the journal, and are
// answered only after it. Killed at that wait, nothing of the batch was
// acknowledged, and after a restart the stores agree; run through, every
// write of it is in both stores.
TEST(GatewayTest, ABatchIsAnsweredOnlyOnceAllItsWritesAreDurable) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  std::mt19937 rng(11);
  auto batch_of = [&](int n) {
    json writes = json::array();
    for (int i = 0; i < n; ++i) {
      const Write w = RandomWrite(rng, 300);
      json item = {{"op", w.method == "PUT" ? "put" : "delete"}, {"key", w.key}};
      if (w.method == "PUT") item["body"] = json::parse(w.body);
      writes.push_back(item);
    }
    return json{{"writes", writes}};
  };
  // Two batches, so that each entity gets one; a batch holds one entity.
  auto post = [&](int port, const std::string& entity, int n) {
    json body = batch_of(n * 3);
    json mine = json::array();
    for (const json& w : body["writes"]) {
      if (w["key"].get<std::string>().starts_with(entity == "users" ? "u:" : "t:")) {
        mine.push_back(w);
      }
    }
    return Http(port, "POST", "/v1/entities/" + entity + ":batch", json{{"writes", mine}}.dump(),
                {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
  };
  {
    auto env = s.env;
    env.push_back({"CUTOVER_FAILPOINTS", "gateway.before_answer=1"});
    ServeProcess serve;
    ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, env, s.dir));
    ASSERT_TRUE(WaitForDualWrite(serve.port()));
    EXPECT_EQ(post(serve.port(), "users", 100).status, 0);  // killed before any answer
    serve.Stop();
  }
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));
  const double commits_before = Metric(serve.port(), "cutover_gateway_journal_group_commits_total");
  int answered = 0;
  for (const char* entity : {"users", "threads"}) {
    const HttpResponse r = post(serve.port(), entity, 100);
    ASSERT_EQ(r.status, 200) << r.body;
    const json a = json::parse(r.body);
    EXPECT_EQ(a["failed"], 0) << r.body;
    answered += a["written"].get<int>();
  }
  const double commits =
      Metric(serve.port(), "cutover_gateway_journal_group_commits_total") - commits_before;
  EXPECT_GT(answered, 100);
  EXPECT_LT(commits, answered) << "the batch's writes shared group commits";
  EXPECT_TRUE(
      WaitFor([&] { return Metric(serve.port(), "cutover_gateway_journal_owed") == 0; }, 30));
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
  ExpectSameRows(FromRedis(*s.redis), FromPostgres(url));
}

// A batch is applied together (one flush to Redis, one read back), yet
// answered item by item: a malformed item and one Redis's kind refuses are
// 400 and the others are written; a key written twice in one batch ends at
// its last write. Both stores then hold the same rows.
TEST(GatewayTest, ABatchAppliedTogetherIsAnsweredItemByItem) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));
  ASSERT_EQ(Send(serve.port(), {"PUT", "users", "u:e@x.org",
                                json{{"value", {{"name", "E"}, {"visits", 5}}}}.dump()})
                .status,
            200);
  auto post = [&](const json& writes) {
    const HttpResponse r =
        Http(serve.port(), "POST", "/v1/entities/users:batch", json{{"writes", writes}}.dump(),
             {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  };
  const json first = post(json::array(
      {{{"op", "put"}, {"key", "u:a@x.org"}, {"body", {{"value", {{"name", "A"}, {"visits", 1}}}}}},
       {{"op", "put"}, {"key", "u:b@x.org"}, {"body", {{"nope", 1}}}},
       {{"op", "put"}, {"key", "u:c@x.org"}, {"body", {{"value", "not a hash"}}}},
       {{"op", "put"}, {"key", "u:d@x.org"}, {"body", {{"value", {{"name", "D"}, {"visits", 4}}}}}},
       {{"op", "delete"}, {"key", "u:e@x.org"}},
       {{"op", "patch"},
        {"key", "u:f@x.org"},
        {"body", {{"set", {{"name", "F"}, {"visits", 6}}}}}}}));
  std::vector<int> statuses;
  for (const json& r : first["results"]) statuses.push_back(r["status"].get<int>());
  EXPECT_EQ(statuses, (std::vector<int>{200, 400, 400, 200, 200, 200})) << first.dump();
  EXPECT_EQ(first["written"], 4);
  EXPECT_EQ(first["failed"], 2);
  EXPECT_EQ(first["results"][3]["body"]["record"]["value"]["name"], "D") << first.dump();
  EXPECT_EQ(first["results"][4]["body"]["deleted"], true) << first.dump();

  const json second = post(json::array({{{"op", "put"},
                                         {"key", "u:g@x.org"},
                                         {"body", {{"value", {{"name", "G1"}, {"visits", 7}}}}}},
                                        {{"op", "put"},
                                         {"key", "u:g@x.org"},
                                         {"body", {{"value", {{"name", "G2"}, {"visits", 8}}}}}}}));
  EXPECT_EQ(second["written"], 2) << second.dump();
  EXPECT_TRUE(
      WaitFor([&] { return Metric(serve.port(), "cutover_gateway_journal_owed") == 0; }, 30));
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
  // By hand: a, d, f and g (its last write) are there; b, c and e are not.
  EXPECT_EQ(
      QueryValue(url, "SELECT string_agg(email || '=' || name, ',' ORDER BY email) FROM users"),
      "a@x.org=A,d@x.org=D,f@x.org=F,g@x.org=G2");
  EXPECT_EQ(s.redis->One({"HGET", "u:g@x.org", "name"}), "G2");
  ExpectSameRows(FromRedis(*s.redis), FromPostgres(url));
}

// The batch is flushed to Redis whole before anything is journaled: a
// gateway killed right after the legacy store took it leaves every key of
// it in Redis (one by one, only the first would be), none acknowledged. A
// change refused half way (an increment, then a field a counter does not
// take) is that item's 400, and none of it reaches Redis.
TEST(GatewayTest, ABatchReachesRedisWholeAndARefusedChangeNotAtAll) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  auto post = [&](int port, const std::string& entity, const json& writes) {
    return Http(port, "POST", "/v1/entities/" + entity + ":batch", json{{"writes", writes}}.dump(),
                {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
  };
  json five = json::array();
  for (int i = 0; i < 5; ++i) {
    five.push_back({{"op", "put"},
                    {"key", "u:k" + std::to_string(i) + "@x.org"},
                    {"body", {{"value", {{"name", "K"}, {"visits", i}}}}}});
  }
  {
    auto env = s.env;
    env.push_back({"CUTOVER_FAILPOINTS", "gateway.after_primary=1"});
    ServeProcess serve;
    ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, env, s.dir));
    ASSERT_TRUE(WaitForDualWrite(serve.port()));
    EXPECT_EQ(post(serve.port(), "users", five).status, 0);  // killed before any answer
    serve.Stop();
  }
  int in_redis = 0;
  for (int i = 0; i < 5; ++i) {
    in_redis += s.redis->One({"EXISTS", "u:k" + std::to_string(i) + "@x.org"}) == "1";
  }
  EXPECT_EQ(in_redis, 5);

  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));
  s.redis->Command({"SET", "c:n", "10"});
  const HttpResponse r = post(
      serve.port(), "hits",
      json::array({{{"op", "patch"}, {"key", "c:n"}, {"body", {{"increment", 5}, {"bogus", 1}}}},
                   {{"op", "put"}, {"key", "c:m"}, {"body", {{"value", 3}}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json a = json::parse(r.body);
  EXPECT_EQ(a["results"][0]["status"], 400) << r.body;
  EXPECT_EQ(a["results"][1]["status"], 200) << r.body;
  EXPECT_EQ(s.redis->One({"GET", "c:n"}), "10") << "nothing of the refused change was applied";
  EXPECT_EQ(s.redis->One({"GET", "c:m"}), "3");
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

// 32 clients through two gateway processes on 1,000 hot keys (updates,
// deletes, counter increments) while a backfill runs: the stores agree, no
// deleted key is in PostgreSQL, and each counter equals the increments the
// clients saw acknowledged.
TEST(GatewayTest, TwoGatewaysAndABackfillOnHotKeysConverge) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  // Keys already there, for the backfill to read while the gateways write.
  std::mt19937 seed(3);
  for (int i = 0; i < 300; ++i) {
    const Write w = RandomWrite(seed, 1000);
    if (w.method == "PUT" && w.entity == "users") {
      const json v = json::parse(w.body)["value"];
      s.redis->Command(
          {"HSET", w.key, "name", v["name"], "visits", std::to_string(v["visits"].get<int>())});
    }
  }
  ServeProcess a, b;
  ASSERT_TRUE(a.Start(
      {CutoverBinary(), "serve", "cutover.yaml", "--port", "0", "--journal", s.dir + "/journal-a"},
      s.env, s.dir));
  ASSERT_TRUE(b.Start(
      {CutoverBinary(), "serve", "cutover.yaml", "--port", "0", "--journal", s.dir + "/journal-b"},
      s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(a.port()));
  ASSERT_TRUE(WaitForDualWrite(b.port()));

  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, sent{0};
  std::mutex mu;
  std::map<std::string, int64_t> increments;  // acknowledged, per counter key
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int c = 0; c < 32; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(1000 + c);
      const int port = c % 2 == 0 ? a.port() : b.port();
      while (!stop) {
        HttpResponse r;
        std::string counter;
        if (rng() % 4 == 0) {
          counter = "c:hot" + std::to_string(rng() % 50);
          r = Http(port, "PATCH", "/v1/entities/hits/" + counter, R"({"increment": 1})",
                   {std::string("Authorization: Bearer ") + kToken}, std::chrono::seconds(30));
        } else {
          r = Send(port, RandomWrite(rng, 1000));
        }
        std::lock_guard<std::mutex> lock(mu);
        ++sent;
        if (r.status != 200) {
          ++failed;
          if (first_failure.empty()) first_failure = std::to_string(r.status) + " " + r.body;
        } else if (!counter.empty()) {
          ++increments[counter];
        }
      }
    });
  }
  const CommandResult backfill = Cutover(s, {"backfill", "cutover.yaml", "--restart"});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(backfill.exit_code, 0) << backfill.out << backfill.err;
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(sent.load(), 1000);
  std::fprintf(stderr, "%d writes through two gateways; backfill:\n%s\n", sent.load(),
               backfill.out.c_str());
  for (const ServeProcess* p : {&a, &b}) {
    EXPECT_TRUE(
        WaitFor([&] { return Metric(p->port(), "cutover_gateway_journal_owed") == 0; }, 60));
  }
  ExpectSameRows(FromRedis(*s.redis), FromPostgres(url));
  ASSERT_FALSE(increments.empty());
  ExpectCounters(*s.redis, url, increments);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM hits"), std::to_string(increments.size()));
  const CommandResult verify = Cutover(s, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ(a.Stop(), 0) << a.Stderr();
  EXPECT_EQ(b.Stop(), 0) << b.Stderr();
}

// A change Redis refuses half way inside its transaction (HSET ran, then
// HINCRBY met a field that is no integer) is the client's 409, never a 200:
// Redis ran the rest, so PostgreSQL still follows what Redis holds. A hash
// too big to read back in the write's own transaction is read after it.
TEST(GatewayTest, AChangeRedisRefusesInsideItsTransactionIsNotAcknowledged) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  s.redis->Command({"HSET", "u:h@x.org", "name", "Old", "visits", "1", "note", "not a number"});
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));
  const HttpResponse refused =
      Send(serve.port(), {"PATCH", "users", "u:h@x.org",
                          json{{"set", {{"name", "New"}}}, {"increment", {{"note", 1}}}}.dump()});
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("not an integer"), std::string::npos) << refused.body;
  EXPECT_EQ(s.redis->One({"HGET", "u:h@x.org", "name"}), "New") << "Redis ran the HSET";

  json big = {{"name", "Big"}, {"visits", 2}};
  for (int f = 0; f < 2500; ++f) big["f" + std::to_string(f)] = std::to_string(f);
  const HttpResponse put =
      Send(serve.port(), {"PUT", "users", "u:big@x.org", json{{"value", big}}.dump()});
  EXPECT_EQ(put.status, 200) << put.body.substr(0, 300);
  EXPECT_EQ(s.redis->One({"HLEN", "u:big@x.org"}), "2502");
  EXPECT_TRUE(
      WaitFor([&] { return Metric(serve.port(), "cutover_gateway_journal_owed") == 0; }, 30));
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
  // By hand: the HSET that Redis ran, and the big hash's two mapped fields.
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(email || '=' || name || '/' || visits, ',' ORDER "
                       "BY email) FROM users"),
            "big@x.org=Big/2,h@x.org=New/1");
}

// Redis refusing cutover's login is cutover's to fix, not the client's
// record: a write is answered 503 (never 409, which says the store refused
// the record), naming the login and never the password; a backfill stops
// at once with the same reason.
TEST(GatewayTest, ARedisThatRefusesTheLoginIsUnavailableNotAConflict) {
  const std::string url = FreshDatabase();
  GatewaySetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  s.redis->Command({"ACL", "SETUSER", "app", "on", ">right-pw", "~*", "&*", "+@all"});
  auto env = s.env;
  for (auto& [name, value] : env) {
    if (name == "REDIS_URL") {
      value = "redis://app:wrong-pw@127.0.0.1:" + std::to_string(s.redis->port()) + "/0";
    }
  }
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, env, s.dir));
  ASSERT_TRUE(WaitForDualWrite(serve.port()));
  const HttpResponse put = Send(
      serve.port(), {"PUT", "users", "u:ada@x.org", json{{"value", {{"name", "Ada"}}}}.dump()});
  EXPECT_EQ(put.status, 503) << put.body;
  EXPECT_NE(put.body.find("login failed"), std::string::npos) << put.body;
  EXPECT_EQ(put.body.find("wrong-pw"), std::string::npos) << put.body;
  EXPECT_EQ(serve.Stderr().find("wrong-pw"), std::string::npos);
  serve.Stop();

  const auto started = Clock::now();
  const CommandResult backfill =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml"}, env, s.dir);
  EXPECT_NE(backfill.exit_code, 0);
  EXPECT_NE(backfill.err.find("login failed"), std::string::npos) << backfill.err;
  EXPECT_EQ(backfill.err.find("wrong-pw"), std::string::npos) << backfill.err;
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(20)) << "a refused login is not retried";
}

}  // namespace
}  // namespace cutover::testing
