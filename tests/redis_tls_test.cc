// rediss://: backfill and sync through TLS to a redis-server that requires a
// client certificate, and the refusals (unknown CA, wrong name, no client
// certificate) that name their reason and never the password.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "support/certificates.h"
#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

// `tls` is the source's tls: block (flow style).
std::string Spec(const std::string& tls) {
  return R"(migration: secure
target: { url: "${DATABASE_URL}" }
sources:
  cache:
    type: redis
    url: "rediss://app:${REDIS_PASSWORD}@${REDIS_HOST}:${REDIS_TLS_PORT}/0"
    tls: )" +
         tls +
         R"(
entities:
  users:
    source: { from: cache, pattern: "u:{id}", value: hash }
    key: [id]
    columns:
      id:   { type: bigint }
      name: { type: text }
      bio:  { type: text }
)";
}

constexpr char kPassword[] = "s3cret-pw";

struct TlsSetup {
  Certificates certs;
  std::unique_ptr<RedisServer> redis;
  std::string url, dir;
  std::vector<std::pair<std::string, std::string>> env;
};

void Start(TlsSetup* s) {
  s->certs = MakeCertificates();
  ASSERT_TRUE(s->certs.ok);
  RedisServer::Options options;
  options.tls = RedisServer::Options::Tls{.cert_file = s->certs.dir + "/server.crt",
                                          .key_file = s->certs.dir + "/server.key",
                                          .ca_file = s->certs.dir + "/ca.crt",
                                          .auth_clients = true};
  s->redis = RedisServer::Start(options);
  ASSERT_NE(s->redis, nullptr);
  s->redis->Command(
      {"ACL", "SETUSER", "app", "on", std::string(">") + kPassword, "~*", "&*", "+@all"});
  // A value far larger than the tunnel's relay buffer streams through it.
  const std::string big(600 * 1024, 'x');
  for (int i = 1; i <= 50; ++i) {
    s->redis->Command({"HSET", "u:" + std::to_string(i), "name", "user " + std::to_string(i), "bio",
                       i == 7 ? big : "short"});
  }
  s->url = FreshDatabase();
  s->dir = TempDir();
  s->env = {{"DATABASE_URL", s->url},
            {"REDIS_PASSWORD", kPassword},
            {"REDIS_HOST", "127.0.0.1"},
            {"REDIS_TLS_PORT", std::to_string(s->redis->tls_port())}};
}

CommandResult Backfill(const TlsSetup& s, const std::string& tls) {
  WriteFile(s.dir + "/cutover.yaml", Spec(tls));
  return RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, s.env, s.dir);
}

TEST(RedisTls, BackfillAndSyncOverTlsWithAClientCertificate) {
  TlsSetup s;
  Start(&s);
  ASSERT_NE(s.redis, nullptr);
  const std::string tls = "{ ca_file: " + s.certs.dir + "/ca.crt, cert_file: " + s.certs.dir +
                          "/client.crt, key_file: " + s.certs.dir + "/client.key }";
  const CommandResult backfill = Backfill(s, tls);
  ASSERT_EQ(backfill.exit_code, 0) << backfill.out << backfill.err;
  // 50 keys put in by the harness; user 7's bio is 600 KiB of 'x'.
  EXPECT_EQ(QueryValue(s.url, "SELECT count(*) FROM users"), "50");
  EXPECT_EQ(QueryValue(s.url, "SELECT count(*) FROM users WHERE name = 'user ' || id"), "50");
  EXPECT_EQ(QueryValue(s.url, "SELECT length(bio) FROM users WHERE id = 7"), "614400");
  EXPECT_EQ(QueryValue(s.url, "SELECT bio ~ '^x+$' FROM users WHERE id = 7"), "t");

  // The sync's subscriber and its readers go through TLS too.
  CommandResult sync;
  std::thread syncer([&] {
    sync = RunCommand({CutoverBinary(), "sync", "cutover.yaml", "--configure", "--idle-exit", "3s"},
                      s.env, s.dir);
  });
  ASSERT_TRUE(WaitFor([&] { return SubscriberConnected(*s.redis); }, 30));
  s.redis->Command({"HSET", "u:51", "name", "user 51", "bio", "late"});
  s.redis->Command({"DEL", "u:3"});
  EXPECT_TRUE(WaitFor(
      [&] {
        return QueryValue(s.url,
                          "SELECT count(*) FILTER (WHERE id = 51) || '/' || "
                          "count(*) FILTER (WHERE id = 3) FROM users") == "1/0";
      },
      30));
  syncer.join();
  EXPECT_EQ(sync.exit_code, 0) << sync.out << sync.err;
  EXPECT_EQ(QueryValue(s.url, "SELECT count(*) FROM users"), "50");
}

TEST(RedisTls, RefusalsNameTheirReasonAndNeverThePassword) {
  TlsSetup s;
  Start(&s);
  ASSERT_NE(s.redis, nullptr);
  const std::string client =
      "cert_file: " + s.certs.dir + "/client.crt, key_file: " + s.certs.dir + "/client.key";
  struct Case {
    std::string tls;
    std::string says;
  };
  const Case cases[] = {
      // A CA that did not sign the server's certificate.
      {"{ ca_file: " + s.certs.dir + "/other.crt, " + client + " }",
       "the server's certificate was refused"},
      // The certificate names 127.0.0.1 and localhost, not this name.
      {"{ ca_file: " + s.certs.dir + "/ca.crt, server_name: cache.example.org, " + client + " }",
       "verified as 'cache.example.org'"},
      // The server requires a client certificate.
      {"{ ca_file: " + s.certs.dir + "/ca.crt }", "certificate required"},
  };
  for (const Case& c : cases) {
    const CommandResult r = Backfill(s, c.tls);
    EXPECT_NE(r.exit_code, 0) << c.tls;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.tls << "\n" << r.err;
    EXPECT_EQ(r.out.find(kPassword), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(kPassword), std::string::npos) << r.err;
  }
  EXPECT_EQ(QueryValue(s.url, "SELECT count(*) FROM users"), "0");
}

}  // namespace
}  // namespace cutover::testing
