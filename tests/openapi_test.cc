// /openapi.json against the server: every route the server has is in the
// document, and each documented operation, sent as its example, gets one of
// its documented status codes with the fields the document promises.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/serve_process.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

constexpr char kToken[] = "openapi-token";

constexpr std::string_view kSpec = R"(migration: api
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
serve: { token_env: API_TOKEN }
entities:
  users:
    source: { from: cache, pattern: "u:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email:      { type: text }
      name:       { type: text }
      expires_at: { from: $expires_at, type: timestamptz }
)";

TEST(OpenApiTest, TheDocumentMatchesWhatTheServerAnswers) {
  auto redis = RedisServer::Start();
  ASSERT_NE(redis, nullptr);
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", std::string(kSpec));
  const std::vector<std::pair<std::string, std::string>> env = {
      {"DATABASE_URL", url}, {"REDIS_URL", redis->Url()}, {"API_TOKEN", kToken}};
  const CommandResult made =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, env, dir);
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const CommandResult moved = RunCommand({CutoverBinary(), "phase", "cutover.yaml", "set",
                                          "dual_write", "--force", "--reason", "test"},
                                         env, dir);
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  ServeProcess serve;
  ASSERT_TRUE(StartServeAtStage(&serve, dir, env, "dual_write"));

  const HttpResponse got = Http(serve.port(), "GET", "/openapi.json");
  ASSERT_EQ(got.status, 200);
  const json doc = json::parse(got.body);
  EXPECT_EQ(doc["openapi"], "3.0.3");

  // The routes the server installs (src/server/routes.cc), listed by hand.
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) documented.insert(path);
  EXPECT_EQ(documented,
            (std::set<std::string>{"/livez", "/readyz", "/health", "/metrics", "/openapi.json",
                                   "/v1/stage", "/v1/route", "/v1/reads", "/v1/stats", "/v1/sync",
                                   "/v1/entities/{entity}/{key}", "/v1/entities/{entity}:batch"}));

  // Writes before the read that finds them, the delete after, the stage
  // move (back to legacy) last.
  std::vector<std::pair<std::string, std::string>> order;
  for (const char* method : {"put", "get", "patch", "delete", "post"}) {
    for (const auto& [path, item] : doc["paths"].items()) {
      if (item.contains(method) && !(path == "/v1/stage" && std::string(method) == "post")) {
        order.push_back({path, method});
      }
    }
  }
  order.push_back({"/v1/stage", "post"});
  int checked = 0;
  for (const auto& [path, method] : order) {
    SCOPED_TRACE(method + " " + path);
    const json& op = doc["paths"][path][method];
    const json& example = op["x-cutover-example"];
    std::string upper = method;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    std::vector<std::string> headers;
    if (example["auth"].get<bool>())
      headers.push_back(std::string("Authorization: Bearer ") + kToken);
    const HttpResponse r = Http(serve.port(), upper, example["path"].get<std::string>(),
                                example.contains("body") ? example["body"].dump() : "", headers);
    const std::string code = std::to_string(r.status);
    ASSERT_TRUE(op["responses"].contains(code)) << "undocumented " << code << ": " << r.body;
    // A successful example is the point: each answers 200 here.
    EXPECT_EQ(r.status, 200) << r.body;
    const json& answer = op["responses"][code];
    if (answer["content"].contains("application/json")) {
      const json body = json::parse(r.body);
      json schema = answer["content"]["application/json"]["schema"];
      if (schema.contains("$ref")) schema = doc["components"]["schemas"]["Error"];
      for (const auto& field : schema["required"]) {
        EXPECT_TRUE(body.contains(field.get<std::string>())) << field << " missing: " << r.body;
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 16);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace cutover::testing
