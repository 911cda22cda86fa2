// `cutover serve` end to end: two processes see a stage flip within a second,
// and converge by periodic re-read when notifications are lost; routing is
// exact and stable across processes; /metrics passes promtool; /health has
// the documented shape; an unauthenticated POST changes nothing; with
// serve.tls the port speaks TLS only, and a silent TLS client holds no worker;
// a second process on a journal in use serves all but the entities.
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/certificates.h"
#include "support/pg_harness.h"
#include "support/serve_process.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "t0ken-for-tests";
constexpr char kPassword[] = "pg-s3cret-pw";  // trust auth ignores it; it must never show

// `serve_tls` goes into the serve: block ("tls: {...}, ").
Workspace Make(const std::string& serve_tls = "") {
  Workspace ws{TempDir(), FreshDatabase(), {{"FLIP_TOKEN", kToken}}};
  // postgresql://cutover@127.0.0.1:PORT/DB -> with a password that must stay hidden
  // (ws.url carries kPassword).
  ws.url.replace(ws.url.find("cutover@"), 8, std::string("cutover:") + kPassword + "@");
  WriteFile(ws.dir + "/cutover.yaml",
            R"(migration: flip
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
stages: { poll_interval: 300ms }
serve: { )" + serve_tls +
                R"(token_env: FLIP_TOKEN, pool: { size: 2, overflow: 1, wait_timeout: 2s } }
entities:
  users:
    source: { from: files, file: users.json }
    key: [id]
    columns: { id: { type: bigint } }
)");
  WriteFile(ws.dir + "/data/users.json", "[]");
  return ws;
}

std::vector<std::pair<std::string, std::string>> Env(const Workspace& ws) {
  return {{"DATABASE_URL", ws.url}, {"FLIP_TOKEN", kToken}};
}

bool StartServe(const Workspace& ws, ServeProcess* p) {
  return p->Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, Env(ws), ws.dir);
}

json GetJson(int port, const std::string& target) {
  const HttpResponse r = Http(port, "GET", target);
  json j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

// The stage string ("rollout 30", "shadow 0") process `port` reports.
std::string StageOf(int port) {
  const json j = GetJson(port, "/v1/stage");
  if (!j.contains("stage")) return "";
  return j["stage"].get<std::string>() + " " + std::to_string(j["percent"].get<int>());
}

// Waits until every process reports `want`; returns how long that took, or
// nullopt after `limit`.
std::optional<std::chrono::milliseconds> WaitForStage(const std::vector<int>& ports,
                                                      const std::string& want,
                                                      std::chrono::milliseconds limit) {
  const auto start = Clock::now();
  while (Clock::now() - start < limit) {
    bool all = true;
    for (int port : ports) all = all && StageOf(port) == want;
    if (all) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

void Set(const Workspace& ws, std::vector<std::string> args) {
  std::vector<std::string> argv = {"phase", "cutover.yaml", "set"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = Cutover(ws, argv);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

uint32_t Bucket(const std::string& entity, const std::string& key) {
  const std::string buf = entity + std::string(1, '\0') + key;
  return static_cast<uint32_t>(XXH3_64bits(buf.data(), buf.size()) % 10000);
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_ = Make();
    ASSERT_TRUE(StartServe(ws_, &a_));
    ASSERT_TRUE(StartServe(ws_, &b_));
    ASSERT_TRUE(WaitForStage({a_.port(), b_.port()}, "legacy 0", std::chrono::seconds(10)));
  }
  void TearDown() override {
    for (ServeProcess* p : {&a_, &b_}) {
      const std::string err = p->Stderr();
      EXPECT_EQ(err.find(kPassword), std::string::npos) << "password in the log:\n" << err;
      EXPECT_EQ(p->Stop(), 0) << "SIGTERM should drain and exit 0\n" << err;
    }
  }
  Workspace ws_;
  ServeProcess a_, b_;
};

TEST_F(ServeTest, BothProcessesSeeAFlipWithinASecondAndReReadAfterLosingTheListener) {
  Set(ws_, {"dual_write"});
  auto took = WaitForStage({a_.port(), b_.port()}, "dual_write 0", std::chrono::seconds(1));
  ASSERT_TRUE(took.has_value()) << "not propagated within 1 s: " << StageOf(a_.port()) << " / "
                                << StageOf(b_.port());

  // Cut every server connection (the listeners' included), then change the
  // stage without a NOTIFY, as if the notification had been lost: only the
  // periodic re-read (300ms here) can bring the processes up to date.
  Exec(ws_.url,
       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
       "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  Exec(ws_.url,
       "UPDATE cutover.stage SET stage = 'shadow', version = version + 1 WHERE migration = 'flip'");
  took = WaitForStage({a_.port(), b_.port()}, "shadow 0", std::chrono::seconds(3));
  ASSERT_TRUE(took.has_value()) << "periodic re-read did not converge: " << StageOf(a_.port());

  // And the instant path is back after reconnecting.
  Exec(ws_.url, "SELECT pg_sleep(0.5)");  // let both watchers re-LISTEN
  Set(ws_, {"dual_write"});
  EXPECT_TRUE(WaitForStage({a_.port(), b_.port()}, "dual_write 0", std::chrono::seconds(1)));
  const json a_stage = GetJson(a_.port(), "/v1/stage");
  EXPECT_EQ(a_stage["fresh"], true);
  EXPECT_EQ(a_stage["writes"]["secondary"], "postgres");
}

TEST_F(ServeTest, RoutingIsExactStableAcrossProcessesAndOnlyMovesNewKeys) {
  Set(ws_, {"dual_write"});
  Set(ws_, {"shadow", "--force", "--reason", "routing test"});
  Set(ws_, {"rollout", "--percent", "30", "--force", "--reason", "routing test"});
  ASSERT_TRUE(WaitForStage({a_.port(), b_.port()}, "rollout 30", std::chrono::seconds(2)));

  std::vector<bool> at30;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "k" + std::to_string(i);
    const json a = GetJson(a_.port(), "/v1/route?entity=users&key=" + key);
    const json b = GetJson(b_.port(), "/v1/route?entity=users&key=" + key);
    ASSERT_EQ(a["read_from"], b["read_from"]) << key;  // same answer from both processes
    const bool pg = a["read_from"] == "postgres";
    EXPECT_EQ(pg, Bucket("users", key) < 3000) << key;
    EXPECT_EQ(a["shadow"], !pg) << key;
    at30.push_back(pg);
  }

  Set(ws_, {"rollout", "--percent", "60", "--force", "--reason", "routing test"});
  ASSERT_TRUE(WaitForStage({a_.port(), b_.port()}, "rollout 60", std::chrono::seconds(2)));
  int moved = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string key = "k" + std::to_string(i);
    const json b = GetJson(b_.port(), "/v1/route?entity=users&key=" + key);
    const bool pg = b["read_from"] == "postgres";
    if (at30[i]) {
      EXPECT_TRUE(pg) << key << " left PostgreSQL when the percent rose";
    }
    const uint32_t bucket = Bucket("users", key);
    EXPECT_EQ(pg && !at30[i], bucket >= 3000 && bucket < 6000) << key;
    moved += pg && !at30[i];
  }
  EXPECT_GT(moved, 50);  // about 30% of 300

  EXPECT_EQ(Http(a_.port(), "GET", "/v1/route?entity=nope&key=1").status, 404);
  EXPECT_EQ(Http(a_.port(), "GET", "/v1/route?entity=users").status, 400);
}

TEST_F(ServeTest, MetricsPassPromtoolAndHealthHasItsShape) {
  // Some traffic so that labelled series exist.
  Http(a_.port(), "GET", "/v1/route?entity=users&key=1");
  const HttpResponse reads =
      Http(a_.port(), "POST", "/v1/reads",
           R"({"entity": "users", "shadow_reads": 10, "shadow_mismatches": 1})",
           {std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(reads.status, 200) << reads.body;
  EXPECT_EQ(QueryValue(ws_.url, "SELECT sum(shadow_mismatches) FROM cutover.read_stats"), "1");
  // What a `cutover sync` of source "cache" would have recorded, written by
  // hand; another migration's row must not show.
  Exec(ws_.url,
       "INSERT INTO cutover.sync_state (migration, source, gaps, repairs, changes_applied, "
       "rows_deleted, last_gap, lag_p50_ms, lag_p99_ms) VALUES "
       "('flip', 'cache', 3, 4, 1200, 7, 'subscriber connection lost', 4.5, 11.25), "
       "('other', 'elsewhere', 9, 9, 9, 9, NULL, NULL, NULL)");

  const HttpResponse metrics = Http(a_.port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::string path = TempDir() + "/metrics.txt";
  WriteFile(path, metrics.body);
  const CommandResult promtool =
      RunCommand({"sh", "-c", "promtool check metrics < '" + path + "'"});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err << "\n" << metrics.body;
  for (const char* series : {"cutover_stage{stage=\"legacy\"} 1", "cutover_pg_pool_size 2",
                             "cutover_shadow_reads_total{entity=\"users\",result=\"mismatch\"} 1",
                             "cutover_route_decisions_total{entity=\"users\",store=\"legacy\"} 1",
                             "cutover_http_requests_total{route=\"/v1/reads\",code=\"200\"} 1",
                             "cutover_sync_gaps_total{source=\"cache\"} 3",
                             "cutover_sync_repairs_total{source=\"cache\"} 4",
                             "cutover_sync_changes_applied_total{source=\"cache\"} 1200",
                             "cutover_sync_rows_deleted_total{source=\"cache\"} 7",
                             "cutover_sync_lag_p50_seconds{source=\"cache\"} 0.0045",
                             "cutover_sync_lag_p99_seconds{source=\"cache\"} 0.01125"}) {
    EXPECT_NE(metrics.body.find(series), std::string::npos) << series << "\n" << metrics.body;
  }
  EXPECT_EQ(metrics.body.find("elsewhere"), std::string::npos) << metrics.body;

  const HttpResponse health = Http(a_.port(), "GET", "/health");
  ASSERT_EQ(health.status, 200);
  EXPECT_EQ(health.body.find(kPassword), std::string::npos);
  EXPECT_EQ(health.body.find("postgresql://"), std::string::npos);
  const json h = json::parse(health.body);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["version"], "0.1.0");
  EXPECT_EQ(h["database"]["status"], "healthy");
  EXPECT_EQ(h["database"]["name"], ws_.url.substr(ws_.url.rfind('/') + 1));
  EXPECT_TRUE(h["database"].contains("postgis_version"));
  const json pool = h["database"]["connection_pool"];
  for (const char* field : {"size", "checked_in", "checked_out", "overflow", "waiting"}) {
    EXPECT_TRUE(pool.contains(field) && pool[field].is_number_integer()) << field;
  }
  EXPECT_EQ(pool["size"], 2);
  EXPECT_EQ(h["legacy_store"]["status"], "healthy");
  EXPECT_EQ(h["stage"]["name"], "legacy");
  EXPECT_EQ(h["stage"]["fresh"], true);

  EXPECT_EQ(Http(a_.port(), "GET", "/livez").status, 200);
  EXPECT_EQ(Http(a_.port(), "GET", "/readyz").status, 200);
}

TEST_F(ServeTest, UnauthenticatedStageChangeIsRefusedAndChangesNothing) {
  const std::string before = QueryValue(ws_.url, "SELECT count(*) FROM cutover.stage_audit");
  const std::string body = R"({"stage": "dual_write"})";
  EXPECT_EQ(Http(a_.port(), "POST", "/v1/stage", body).status, 401);
  EXPECT_EQ(Http(a_.port(), "POST", "/v1/stage", body, {"Authorization: Bearer wrong"}).status,
            401);
  EXPECT_EQ(Http(a_.port(), "POST", "/v1/reads", R"({"entity": "users", "fallbacks": 5})").status,
            401);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.stage_audit"), before);
  EXPECT_EQ(StageOf(a_.port()), "legacy 0");

  // With the token: applied, and both processes follow.
  const HttpResponse ok =
      Http(a_.port(), "POST", "/v1/stage", body, {std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(WaitForStage({a_.port(), b_.port()}, "dual_write 0", std::chrono::seconds(1)));
  const HttpResponse refused = Http(b_.port(), "POST", "/v1/stage", R"({"stage": "shadow"})",
                                    {std::string("Authorization: Bearer ") + kToken});
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["guards"][0]["name"], "backfill_done");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT who FROM cutover.stage_audit WHERE applied"),
            "token:default (http 127.0.0.1)");
}

TEST_F(ServeTest, ASecondProcessOnTheSameJournalServesTheControlApiAndSaysWhyNotEntities) {
  // a_ holds the default journal, so b_ runs no gateway.
  const std::vector<std::string> auth = {std::string("Authorization: Bearer ") + kToken};
  const HttpResponse first = Http(a_.port(), "GET", "/v1/entities/users/1", "", auth);
  EXPECT_EQ(first.status, 404) << first.body;  // served, and no such record
  const HttpResponse second = Http(b_.port(), "GET", "/v1/entities/users/1", "", auth);
  EXPECT_EQ(second.status, 503) << second.body;
  EXPECT_NE(second.body.find("is in use by another cutover process"), std::string::npos)
      << second.body;
  EXPECT_NE(second.body.find("--journal"), std::string::npos) << second.body;
}

TEST_F(ServeTest, SighupReloadsTheSpecAndKeepsServing) {
  WriteFile(ws_.dir + "/cutover.yaml", "migration: flip\nnot: [valid\n");
  a_.Signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Http(a_.port(), "GET", "/livez").status, 200);  // a bad spec is logged, old one kept
  EXPECT_NE(a_.Stderr().find("keeping the running spec"), std::string::npos) << a_.Stderr();
}

// curl (not cutover's TLS code) is the client; `args` go before the URLs.
CommandResult Curl(const std::string& args, int port, const std::vector<std::string>& paths) {
  std::string cmd = "curl -sS --max-time 10 " + args;
  for (const std::string& p : paths) cmd += " https://127.0.0.1:" + std::to_string(port) + p;
  return RunCommand({"bash", "-c", cmd}, {}, TempDir());
}

TEST(ServeTlsTest, ThePortSpeaksTlsOnlyAndASilentTlsClientHoldsNoWorker) {
  const Certificates certs = MakeCertificates();
  ASSERT_TRUE(certs.ok);
  Workspace ws = Make("tls: { cert_file: " + certs.dir + "/server.crt, key_file: " + certs.dir +
                      "/server.key }, ");

  ServeProcess serve;
  ASSERT_TRUE(StartServe(ws, &serve));
  // Two requests on one kept-alive TLS connection: the second comes back
  // through the lobby.
  CommandResult r = Curl("--cacert " + certs.dir + "/ca.crt -w ' %{http_code} %{num_connects}\\n'",
                         serve.port(), {"/livez", "/v1/stage"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" 200 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 200 0\n"), std::string::npos) << r.out;  // no second connect
  EXPECT_NE(r.out.find("\"stage\": \"legacy\""), std::string::npos) << r.out;

  // A client that does not trust our CA refuses the certificate (curl's 60).
  r = Curl("--cacert " + certs.dir + "/other.crt", serve.port(), {"/livez"});
  EXPECT_EQ(r.exit_code, 60) << r.out << r.err;
  // Plain HTTP gets no answer.
  EXPECT_NE(Http(serve.port(), "GET", "/livez", "", {}, std::chrono::seconds(2)).status, 200);

  // Connections that never start their handshake wait in the lobby, not in
  // a worker: 32 of them (twice the workers) stall while curl is answered.
  std::vector<int> silent;
  for (int i = 0; i < 32; ++i) silent.push_back(SilentConnection(serve.port(), ""));
  r = Curl("--cacert " + certs.dir + "/ca.crt", serve.port(), {"/livez"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (int fd : silent) close(fd);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

TEST(ServeTlsTest, AKeyThatIsNotTheCertificatesStopsServeBeforeItListens) {
  const Certificates certs = MakeCertificates();
  ASSERT_TRUE(certs.ok);
  Workspace ws = Make("tls: { cert_file: " + certs.dir + "/server.crt, key_file: " + certs.dir +
                      "/client.key }, ");
  const CommandResult r = Cutover(ws, {"serve", "cutover.yaml", "--port", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("serve.tls.key_file " + certs.dir +
                       "/client.key: cannot use it as the key of " + certs.dir + "/server.crt: "),
            std::string::npos)
      << Describe(r);
  EXPECT_EQ(r.out.find("listening"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cutover::testing
