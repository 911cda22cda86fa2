// Reads through the gateway with real Redis and PostgreSQL: a stage change
// reaches two gateway processes within a second; shadow reads name the keys
// whose rows were changed behind cutover's back; rollout and primary read
// PostgreSQL and fall back to legacy while it is down. Expected records are
// the values the test wrote; expected mismatches the rows it changed by SQL.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <set>
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

constexpr char kToken[] = "gateway-read-token";

constexpr std::string_view kSpec = R"(migration: reads
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
serve: { token_env: GW_TOKEN }
stages: { poll_interval: 5s, read_timeout: 500ms, drain_timeout: 8s }
entities:
  users:
    source: { from: cache, pattern: "u:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email:      { type: text }
      name:       { type: text }
      visits:     { type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  hits:
    source: { from: cache, pattern: "c:{name}", value: counter }
    key: [name]
    write_back: true
    columns:
      name:  { type: text }
      count: { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
)";

struct ReadSetup {
  std::unique_ptr<RedisServer> redis;
  std::string dir;
  std::vector<std::pair<std::string, std::string>> env;
};

CommandResult Cutover(const ReadSetup& s, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, s.env, s.dir);
}

void Prepare(ReadSetup* s, const std::string& url) {
  s->redis = RedisServer::Start();
  ASSERT_NE(s->redis, nullptr);
  s->dir = TempDir();
  WriteFile(s->dir + "/cutover.yaml", std::string(kSpec));
  s->env = {{"DATABASE_URL", url}, {"REDIS_URL", s->redis->Url()}, {"GW_TOKEN", kToken}};
  const CommandResult made = Cutover(*s, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
}

void MoveTo(const ReadSetup& s, const std::vector<std::string>& stage) {
  std::vector<std::string> args = {"phase", "cutover.yaml", "set"};
  args.insert(args.end(), stage.begin(), stage.end());
  args.insert(args.end(), {"--force", "--reason", "test"});
  const CommandResult moved = Cutover(s, args);
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
}

HttpResponse Call(int port, const std::string& method, const std::string& path,
                  const std::string& body = "") {
  return Http(port, method, path, body, {std::string("Authorization: Bearer ") + kToken},
              std::chrono::seconds(30));
}

std::string StageOf(int port) {
  const json j = json::parse(Http(port, "GET", "/v1/stage").body, nullptr, false);
  return j.is_object() && j.contains("stage") ? j["stage"].get<std::string>() : "";
}

json Stats(int port) {
  return json::parse(Http(port, "GET", "/v1/stats").body, nullptr, false);
}

std::string User(int i) {
  return "u:user" + std::to_string(i) + "@x.org";
}

// The record user i was written with (the test's oracle for every read).
json UserRecord(int i) {
  return {{"name", "Name " + std::to_string(i)}, {"visits", std::to_string(i * 3)}};
}

// 40 users written through gateway `port` (every 4th with an expiry), and
// the journal drained into PostgreSQL.
void WriteUsers(int port) {
  for (int i = 0; i < 40; ++i) {
    json body = {{"value", UserRecord(i)}};
    if (i % 4 == 0) body["expires_at"] = "2031-01-02T03:04:05.678Z";
    const HttpResponse r = Call(port, "PUT", "/v1/entities/users/" + User(i), body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(WaitFor([&] { return Stats(port)["writes"]["owed"] == 0; }, 30));
}

void ExpectUserRead(const HttpResponse& r, int i, const std::string& served_by) {
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["served_by"], served_by) << r.body;
  EXPECT_EQ(j["record"]["value"], UserRecord(i)) << r.body;
  EXPECT_EQ(j["record"]["expires_at"],
            i % 4 == 0 ? json("2031-01-02T03:04:05.678Z") : json(nullptr))
      << r.body;
}

TEST(GatewayReadTest, StageReachesTwoGatewaysAndShadowReadsNameTamperedKeys) {
  const std::string url = FreshDatabase();
  ReadSetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  MoveTo(s, {"dual_write"});
  ServeProcess a, b;
  ASSERT_TRUE(a.Start(
      {CutoverBinary(), "serve", "cutover.yaml", "--port", "0", "--journal", s.dir + "/journal-a"},
      s.env, s.dir));
  ASSERT_TRUE(b.Start(
      {CutoverBinary(), "serve", "cutover.yaml", "--port", "0", "--journal", s.dir + "/journal-b"},
      s.env, s.dir));
  ASSERT_TRUE(WaitFor([&] { return StageOf(a.port()) == "dual_write"; }, 30));
  ASSERT_TRUE(WaitFor([&] { return StageOf(b.port()) == "dual_write"; }, 30));
  WriteUsers(a.port());
  // Counted per application: the name of the token presented.
  EXPECT_EQ(Stats(a.port())["writes"]["by_application"], json({{"default", 40}}));

  // The poll interval is 5 s: only the notification can make it in 1 s.
  MoveTo(s, {"shadow"});
  const auto moved = Clock::now();
  bool seen_a = false, seen_b = false;
  while (Clock::now() - moved < std::chrono::seconds(1) && !(seen_a && seen_b)) {
    seen_a = seen_a || StageOf(a.port()) == "shadow";
    seen_b = seen_b || StageOf(b.port()) == "shadow";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(seen_a && seen_b) << "a: " << StageOf(a.port()) << ", b: " << StageOf(b.port());

  // Behind cutover's back: two names changed, one row deleted, one added
  // (a key Redis does not have).
  Exec(url, "UPDATE users SET name = 'tampered' WHERE email IN ('user3@x.org', 'user17@x.org')");
  Exec(url, "DELETE FROM users WHERE email = 'user25@x.org'");
  Exec(url,
       "INSERT INTO users (email, name, visits, source_tag) "
       "VALUES ('ghost@x.org', 'Ghost', 1, 'users')");
  for (int i = 0; i < 40; ++i) {
    ExpectUserRead(Call(b.port(), "GET", "/v1/entities/users/" + User(i)), i, "legacy");
  }
  const HttpResponse ghost = Call(b.port(), "GET", "/v1/entities/users/u:ghost@x.org");
  EXPECT_EQ(ghost.status, 404) << ghost.body << b.Stderr();
  ASSERT_TRUE(WaitFor(
      [&] {
        const json st = Stats(b.port())["shadow"];
        return st["compared"].get<int>() + st["skipped_failed"].get<int>() >= 41;
      },
      30));
  const json shadow = Stats(b.port())["shadow"];
  EXPECT_EQ(shadow["compared"], 41) << shadow.dump();
  EXPECT_EQ(shadow["mismatched"], 4) << shadow.dump();
  std::set<std::string> keys;
  for (const auto& m : shadow["recent_mismatches"]) keys.insert(m["key"].get<std::string>());
  EXPECT_EQ(keys, (std::set<std::string>{User(3), User(17), User(25), "u:ghost@x.org"}));
  // Logged by key, never with the row's data.
  EXPECT_NE(b.Stderr().find("u:user17@x.org"), std::string::npos);
  EXPECT_EQ(b.Stderr().find("tampered"), std::string::npos);
  // The guards' evidence: the counts reach cutover.read_stats.
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryValue(url,
                          "SELECT coalesce(sum(shadow_reads), 0) || '/' || "
                          "coalesce(sum(shadow_mismatches), 0) FROM cutover.read_stats "
                          "WHERE migration = 'reads' AND entity = 'users'") == "41/4";
      },
      10));
  EXPECT_EQ(a.Stop(), 0) << a.Stderr();
  EXPECT_EQ(b.Stop(), 0) << b.Stderr();
}

TEST(GatewayReadTest, RolloutAndPrimaryReadPostgresAndFallBackWhileItIsDown) {
  RestartableCluster pg;
  ASSERT_TRUE(pg.Start("reads"));
  ReadSetup s;
  Prepare(&s, pg.url());
  ASSERT_NE(s.redis, nullptr);
  MoveTo(s, {"dual_write"});
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, s.env, s.dir));
  ASSERT_TRUE(WaitFor([&] { return StageOf(serve.port()) == "dual_write"; }, 30));
  WriteUsers(serve.port());
  ASSERT_EQ(Call(serve.port(), "PATCH", "/v1/entities/hits/c:home", R"({"increment": 5})").status,
            200);
  ASSERT_TRUE(WaitFor([&] { return Stats(serve.port())["writes"]["owed"] == 0; }, 30));
  MoveTo(s, {"shadow"});
  MoveTo(s, {"rollout", "--percent", "100"});
  ASSERT_TRUE(WaitFor([&] { return StageOf(serve.port()) == "rollout"; }, 30));

  // Every key from PostgreSQL, in the shape the client wrote.
  for (int i = 0; i < 40; ++i) {
    ExpectUserRead(Call(serve.port(), "GET", "/v1/entities/users/" + User(i)), i, "postgres");
  }
  const HttpResponse hits = Call(serve.port(), "GET", "/v1/entities/hits/c:home");
  ASSERT_EQ(hits.status, 200) << hits.body;
  EXPECT_EQ(json::parse(hits.body)["record"]["value"], "5") << hits.body;
  EXPECT_EQ(json::parse(hits.body)["served_by"], "postgres") << hits.body;
  EXPECT_EQ(Call(serve.port(), "GET", "/v1/entities/users/u:nobody@x.org").status, 404);

  // PostgreSQL down: reads fall back to legacy, counted; a write made now
  // is owed to PostgreSQL, so its key reads from legacy (read your writes).
  ASSERT_TRUE(pg.Stop());
  const json newer = {{"name", "Newer"}, {"visits", "99"}};
  ASSERT_EQ(
      Call(serve.port(), "PUT", "/v1/entities/users/" + User(5), json{{"value", newer}}.dump())
          .status,
      200);
  const HttpResponse own = Call(serve.port(), "GET", "/v1/entities/users/" + User(5));
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(json::parse(own.body)["record"]["value"], newer) << own.body;
  EXPECT_EQ(json::parse(own.body)["served_by"], "legacy") << own.body;
  EXPECT_FALSE(json::parse(own.body).contains("fallback_reason")) << own.body;
  for (int i = 10; i < 20; ++i) {
    const HttpResponse r = Call(serve.port(), "GET", "/v1/entities/users/" + User(i));
    ExpectUserRead(r, i, "legacy");
    EXPECT_TRUE(json::parse(r.body).contains("fallback_reason")) << r.body;
  }
  EXPECT_EQ(Stats(serve.port())["reads"]["users"]["fallbacks"], 10);

  // Back up: the journal drains and reads return to PostgreSQL, the new
  // value included.
  ASSERT_TRUE(pg.Resume());
  ASSERT_TRUE(WaitFor([&] { return Stats(serve.port())["writes"]["owed"] == 0; }, 60));
  ASSERT_TRUE(WaitFor(
      [&] {
        const HttpResponse r = Call(serve.port(), "GET", "/v1/entities/users/" + User(5));
        return r.status == 200 && json::parse(r.body)["served_by"] == "postgres";
      },
      30));
  EXPECT_EQ(json::parse(
                Call(serve.port(), "GET", "/v1/entities/users/" + User(5)).body)["record"]["value"],
            newer);

  // Latency per store is recorded for every read.
  const std::string metrics = Http(serve.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("cutover_gateway_read_seconds_count{entity=\"users\",store=\"postgres\"}"),
            std::string::npos);
  EXPECT_NE(metrics.find("cutover_gateway_read_seconds_count{entity=\"users\",store=\"legacy\"}"),
            std::string::npos);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

// The cut-over barrier: with the replayer made to dawdle 3 s per batch, a
// move to rollout returns only once PostgreSQL holds every write acknowledged
// before it; a gateway killed while it owes writes holds the barrier (the
// move, forced, says so) until it runs again.
TEST(GatewayReadTest, MovingReadsToPostgresWaitsForEveryJournalToDrain) {
  const std::string url = FreshDatabase();
  ReadSetup s;
  Prepare(&s, url);
  ASSERT_NE(s.redis, nullptr);
  MoveTo(s, {"dual_write"});
  auto env = s.env;
  env.push_back({"CUTOVER_FAILPOINTS", "gateway.replay_before_secondary=pause:3000"});
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, env, s.dir));
  ASSERT_TRUE(WaitFor([&] { return StageOf(serve.port()) == "dual_write"; }, 30));
  MoveTo(s, {"shadow"});
  for (int i = 0; i < 5; ++i) {
    json body = {{"value", UserRecord(i)}};
    ASSERT_EQ(Call(serve.port(), "PUT", "/v1/entities/users/" + User(i), body.dump()).status, 200);
  }
  // Acknowledged, not yet in PostgreSQL (the replayer waits 3 s a batch).
  ASSERT_EQ(QueryValue(url, "SELECT count(*) FROM users"), "0");
  const CommandResult moved = Cutover(s, {"phase", "cutover.yaml", "set", "rollout", "--percent",
                                          "100", "--force", "--reason", "t"});
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  // By the time the move is made, every acknowledged write has landed.
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM users"), "5");
  EXPECT_NE(moved.out.find("gateways_drained"), std::string::npos) << moved.out;

  // Killed while it owes a write: the next move waits for it, then (forced)
  // goes ahead saying which journal still owes what.
  ASSERT_EQ(Call(serve.port(), "PUT", "/v1/entities/users/" + User(9),
                 json{{"value", UserRecord(9)}}.dump())
                .status,
            200);
  ASSERT_TRUE(WaitFor(
      [&] { return QueryValue(url, "SELECT sum(owed) FROM cutover.gateway_journals") == "1"; }, 10))
      << QueryValue(url,
                    "SELECT string_agg(journal_dir || ' ' || owed || ' ' || last_seq || ' ' "
                    "|| first_owed_seq, ',') FROM cutover.gateway_journals")
      << serve.Stderr();
  serve.Signal(SIGKILL);
  serve.Stop();
  const CommandResult stuck =
      Cutover(s, {"phase", "cutover.yaml", "set", "primary", "--force", "--reason", "t"});
  ASSERT_EQ(stuck.exit_code, 0) << stuck.out << stuck.err;
  EXPECT_NE(stuck.out.find("writes owed; start it again"), std::string::npos) << stuck.out;
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM users WHERE email = 'user9@x.org'"), "0");
}

}  // namespace
}  // namespace cutover::testing
