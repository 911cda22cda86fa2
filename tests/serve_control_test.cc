// The control API of `cutover serve` under hostile input: every field of
// POST /v1/stage is validated (400 naming the field, 413 over the body cap),
// every authenticated attempt is a cutover.stage_audit row with who taken from
// the token's name, /metrics labels each request with the status it was sent,
// and slow half-open connections cannot stall /livez.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/serve_process.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kOpsToken[] = "ops-t0ken-for-tests";
constexpr char kDeployToken[] = "deploy-t0ken-for-tests";

struct Workspace {
  std::string dir;
  std::string url;
};

// `serve_block` is the spec's `serve:` mapping.
Workspace Make(const std::string& serve_block) {
  Workspace ws{TempDir(), FreshDatabase()};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: api
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
stages: { poll_interval: 300ms }
serve: )" + serve_block + R"(
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
  return {{"DATABASE_URL", ws.url},
          {"OPS_TOKEN", kOpsToken},
          {"DEPLOY_TOKEN", kDeployToken},
          {"USER", "mallory"}};
}

bool StartServe(const Workspace& ws, ServeProcess* p) {
  return p->Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, Env(ws), ws.dir);
}

std::string Bearer(const std::string& token) {
  return "Authorization: Bearer " + token;
}

std::string AuditCount(const Workspace& ws) {
  return QueryValue(ws.url, "SELECT count(*) FROM cutover.stage_audit");
}

std::string StageRow(const Workspace& ws) {
  return QueryValue(ws.url,
                    "SELECT coalesce((SELECT stage || ' ' || percent || ' ' || version FROM "
                    "cutover.stage WHERE migration = 'api'), 'none')");
}

class ServeControlTest : public ::testing::Test {
 protected:
  void StartWith(const std::string& serve_block) {
    ws_ = Make(serve_block);
    ASSERT_TRUE(StartServe(ws_, &serve_));
    // The stage tables exist once serve has started (serve_runner.cc).
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Http(serve_.port(), "GET", "/readyz").status != 200 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void TearDown() override {
    if (serve_.pid() > 0) {
      EXPECT_EQ(serve_.Stop(), 0) << serve_.Stderr();
    }
  }
  Workspace ws_;
  ServeProcess serve_;
};

// Each case: a body, the status expected, and a word the error must hold
// (the field at fault). None of them may move the stage.
TEST_F(ServeControlTest, EveryFieldOfPostStageIsValidatedAndNamed) {
  StartWith("{ token_env: OPS_TOKEN }");
  struct Case {
    std::string body;
    int status;
    std::string names;
  };
  const std::string nul_reason = R"({"stage": "dual_write", "reason": "ab\u0000cd"})";
  const std::vector<Case> cases = {
      {R"({"stage": "dual_write", "force": true})", 400, "reason"},
      {R"({"stage": "dual_write", "force": true, "reason": ""})", 400, "reason"},
      {R"({"stage": "rollout", "percent": 4294967306})", 400, "percent"},
      {R"({"stage": "rollout", "percent": -1})", 400, "percent"},
      {R"({"stage": "rollout", "percent": 101})", 400, "percent"},
      {R"({"stage": "rollout", "percent": 10.5})", 400, "percent"},
      {R"({"stage": "rollout", "percent": "10"})", 400, "percent"},
      {R"({"stage": "dual_write", "force": "yes", "reason": "x"})", 400, "force"},
      {R"({"stage": "dual_write", "reason": 5})", 400, "reason"},
      {R"({"stage": "dual_write", "reason": null})", 400, "reason"},
      {R"({"stage": 5})", 400, "stage"},
      {R"({"percent": 10})", 400, "stage"},
      {R"({"stage": "dual_wirte"})", 400, "dual_write"},
      {R"({"stage": "dual_write", "forse": true})", 400, "force"},
      {nul_reason, 400, "reason"},
      {R"({"stage": "dual_write", "reason": "line\nbreak"})", 400, "reason"},
      {R"({"stage": "dual_write", "reason": ")" + std::string(1001, 'r') + R"("})", 400, "reason"},
      {R"(["dual_write"])", 400, "object"},
      {R"({"stage": "dual_write")", 400, "JSON"},
  };
  for (const Case& c : cases) {
    const HttpResponse r = Http(serve_.port(), "POST", "/v1/stage", c.body, {Bearer(kOpsToken)});
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << "\n" << r.body;
    const json j = json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_string()) {
      ADD_FAILURE() << c.body.substr(0, 80) << ": no error in " << r.body.substr(0, 200);
      continue;
    }
    EXPECT_NE(j["error"].get<std::string>().find(c.names), std::string::npos)
        << c.body.substr(0, 80) << "\n"
        << r.body;
  }
  EXPECT_EQ(StageRow(ws_), "none");  // never moved: not even the row exists

  // A 10 MB reason is refused before it is read: 413, nothing stored.
  const std::string huge =
      R"({"stage": "dual_write", "reason": ")" + std::string(10 * 1024 * 1024, 'x') + R"("})";
  const HttpResponse big = Http(serve_.port(), "POST", "/v1/stage", huge, {Bearer(kOpsToken)});
  EXPECT_EQ(big.status, 413) << big.body.substr(0, 200);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT coalesce(max(length(why)), 0) FROM cutover.stage_audit"),
            "0");
  EXPECT_EQ(StageRow(ws_), "none");  // never moved: not even the row exists

  // A reason at the cap is kept whole.
  const std::string reason(1000, 'k');
  const HttpResponse ok =
      Http(serve_.port(), "POST", "/v1/stage",
           R"({"stage": "dual_write", "reason": ")" + reason + R"("})", {Bearer(kOpsToken)});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(QueryValue(ws_.url, "SELECT length(why) FROM cutover.stage_audit WHERE applied"),
            "1000");
  EXPECT_EQ(StageRow(ws_), "dual_write 0 1");
}

TEST_F(ServeControlTest, EveryAuthenticatedAttemptIsAuditedWithTheTokensName) {
  StartWith("{ tokens: { ops: OPS_TOKEN, deploy: DEPLOY_TOKEN } }");
  auto post = [&](const std::string& body, const std::string& token) {
    return Http(serve_.port(), "POST", "/v1/stage", body, {Bearer(token)});
  };
  // Unauthenticated: 401 and no row (anyone could fill the table otherwise).
  EXPECT_EQ(Http(serve_.port(), "POST", "/v1/stage", R"({"stage": "dual_write"})").status, 401);
  EXPECT_EQ(post(R"({"stage": "dual_write"})", "wrong").status, 401);
  EXPECT_EQ(AuditCount(ws_), "0");

  EXPECT_EQ(post(R"({"stage": "shadow"})", kOpsToken).status, 400);  // illegal: skips a stage
  EXPECT_EQ(post(R"({"stage": "rollout", "percent": 4294967306})", kOpsToken).status, 400);
  EXPECT_EQ(post(R"({"stage": "dual_write"})", kDeployToken).status, 200);
  EXPECT_EQ(post(R"({"stage": "shadow"})", kOpsToken).status, 409);  // refused by guards
  const HttpResponse forced =
      post(R"({"stage": "shadow", "force": true, "reason": "test"})", kOpsToken);
  EXPECT_EQ(forced.status, 200) << forced.body;

  const auto rows = Query(ws_.url,
                          "SELECT to_stage, coalesce(to_percent::text, 'null'), who, outcome, "
                          "applied, forced, (detail <> '') FROM cutover.stage_audit ORDER BY id");
  const std::vector<std::vector<std::string>> want = {
      {"shadow", "0", "token:ops (http 127.0.0.1)", "illegal", "f", "f", "t"},
      {"rollout", "null", "token:ops (http 127.0.0.1)", "invalid", "f", "f", "t"},
      {"dual_write", "0", "token:deploy (http 127.0.0.1)", "applied", "t", "f", "f"},
      {"shadow", "0", "token:ops (http 127.0.0.1)", "refused", "f", "f", "t"},
      {"shadow", "0", "token:ops (http 127.0.0.1)", "forced", "t", "t", "f"},
  };
  ASSERT_EQ(rows.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(rows[i], want[i]) << "row " << i;
  // The illegal row says why, in the words of the 400.
  EXPECT_NE(QueryValue(ws_.url,
                       "SELECT detail FROM cutover.stage_audit WHERE outcome = "
                       "'illegal'")
                .find("one stage at a time"),
            std::string::npos);
  // $USER (mallory) plays no part in who.
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM cutover.stage_audit WHERE who LIKE "
                       "'%mallory%'"),
            "0");
}

// POST /v1/reads gets the same treatment: unknown fields, impossible counts
// and numbers past any real count are 400 naming the field; nothing stored.
TEST_F(ServeControlTest, ReadStatisticsAreValidatedToo) {
  StartWith("{ token_env: OPS_TOKEN }");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"entity": "users", "fallback": 1})", "fallbacks"},
      {R"({"entity": "users", "shadow_reads": 1, "shadow_mismatches": 2})", "shadow_mismatches"},
      {R"({"entity": "users", "postgres_reads": 1, "fallbacks": 2})", "fallbacks"},
      {R"({"entity": "users", "postgres_reads": 18446744073709551615})", "postgres_reads"},
      {R"({"entity": "users", "shadow_reads": -1})", "shadow_reads"},
      {R"({"entity": 7})", "entity"},
  };
  for (const auto& [body, names] : cases) {
    const HttpResponse r = Http(serve_.port(), "POST", "/v1/reads", body, {Bearer(kOpsToken)});
    EXPECT_EQ(r.status, 400) << body << "\n" << r.body;
    EXPECT_NE(r.body.find(names), std::string::npos) << body << "\n" << r.body;
  }
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.read_stats"), "0");
}

TEST_F(ServeControlTest, MetricsLabelEveryRequestWithTheStatusSent) {
  StartWith("{ token_env: OPS_TOKEN }");
  EXPECT_EQ(Http(serve_.port(), "GET", "/livez").status, 200);
  EXPECT_EQ(Http(serve_.port(), "GET", "/v1/stage").status, 200);
  EXPECT_EQ(Http(serve_.port(), "GET", "/no/such/path").status, 404);
  EXPECT_EQ(
      Http(serve_.port(), "POST", "/v1/stage", std::string(100 * 1024, ' '), {Bearer(kOpsToken)})
          .status,
      413);
  const HttpResponse metrics = Http(serve_.port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("code=\"-1\""), std::string::npos) << metrics.body;
  for (const char* series : {"cutover_http_requests_total{route=\"/livez\",code=\"200\"} 1",
                             "cutover_http_requests_total{route=\"/v1/stage\",code=\"200\"} 1",
                             "cutover_http_requests_total{route=\"/v1/stage\",code=\"413\"} 1",
                             "cutover_http_requests_total{route=\"unmatched\",code=\"404\"} 1"}) {
    EXPECT_NE(metrics.body.find(series), std::string::npos) << series << "\n" << metrics.body;
  }
}

// True once the server has closed `fd` (EOF or reset), within `limit`.
bool ClosedByServer(int fd, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (poll(&p, 1, std::max(left, 1)) > 0) {
      char buf[4096];
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return true;  // EOF or reset; a 408/400 answer comes before the EOF
    }
  }
  return false;
}

TEST_F(ServeControlTest, SlowHalfOpenConnectionsCannotStallLivez) {
  StartWith("{ token_env: OPS_TOKEN }");
  // 64 silent connections and 64 that sent half a request line or half the
  // headers: more than the server has workers.
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) slow.push_back(SilentConnection(serve_.port(), ""));
  for (int i = 0; i < 32; ++i) slow.push_back(SilentConnection(serve_.port(), "GET /livez HT"));
  for (int i = 0; i < 32; ++i) {
    slow.push_back(SilentConnection(serve_.port(), "GET /livez HTTP/1.1\r\nHost: x\r\n"));
  }
  for (int fd : slow) ASSERT_GE(fd, 0);
  // While they hang, /livez answers at once, again and again.
  for (int i = 0; i < 20; ++i) {
    const auto start = Clock::now();
    const HttpResponse r =
        Http(serve_.port(), "GET", "/livez", "", {}, std::chrono::milliseconds(3000));
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_EQ(r.status, 200) << "request " << i << ": " << r.error;
    EXPECT_LT(took.count(), 500) << "request " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // And the server lets go of them within its request timeout (10s by
  // default), so they cannot pile up forever.
  for (int fd : slow) {
    EXPECT_TRUE(ClosedByServer(fd, std::chrono::seconds(15)));
    close(fd);
  }
  EXPECT_EQ(Http(serve_.port(), "GET", "/livez").status, 200);
}

}  // namespace
}  // namespace cutover::testing
