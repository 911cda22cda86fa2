// Benchmark: dual writes through `cutover serve`'s gateway beside a direct
// write to each store from the same client, in one run on loopback.
//
// One scratch PostgreSQL, one scratch redis-server and one gateway serve
// every measurement. Paced runs send 1,000 writes/s from 8 threads (125/s
// each, each with its own keep-alive connection) for 10 s and report the
// latency of every write; the throughput run sends as fast as 32 threads can
// for 10 s.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "background_process.h"
#include "paced_load.h"
#include "process_meter.h"
#include "redis_bench_client.h"
#include "scratch_stores.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"

namespace {

using Clock = std::chrono::steady_clock;
using cutover::bench::Background;
using cutover::pg_store::PgConnection;

constexpr int kPacedThreads = 8;
constexpr int kPacedRate = 1000;  // writes/s, all threads together
constexpr double kSeconds = 10;
constexpr int kFlatOutThreads = 32;
// Reads: dual_write and shadow alternate, kReadRounds windows of each.
constexpr int kReadRounds = 6;
constexpr double kReadSeconds = 5;
constexpr char kToken[] = "bench-token";

using cutover::bench::Latencies;

Latencies Drive(int threads, double per_thread,
                const std::function<std::function<bool(long)>(int)>& make_writer) {
  return cutover::bench::Drive(threads, per_thread, kSeconds, make_writer);
}

std::string Body(long n) {
  return fmt::format(R"({{"value": {{"name": "user {}", "visits": {}}}}})", n, n % 1000);
}

// One client thread's keep-alive connection to the gateway, with the token.
std::shared_ptr<httplib::Client> GatewayClient(int port) {
  auto client = std::make_shared<httplib::Client>("127.0.0.1", port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // as any latency-minded HTTP client does
  client->set_bearer_token_auth(kToken);
  return client;
}

std::function<std::function<bool(long)>(int)> GatewayWriter(int port) {
  return [port](int t) -> std::function<bool(long)> {
    auto client = GatewayClient(port);
    return [client, t](long n) {
      const std::string key = fmt::format("u:gw{}-{}@x.org", t, n % 5000);
      auto r = client->Put("/v1/entities/users/" + key, Body(n), "application/json");
      return r && r->status == 200;
    };
  };
}

// Bulk writers' way: POST :batch of kBatchWrites puts per request.
constexpr int kBatchWrites = 100;
std::function<std::function<bool(long)>(int)> GatewayBatchWriter(int port) {
  return [port](int t) -> std::function<bool(long)> {
    auto client = GatewayClient(port);
    return [client, t](long n) {
      std::string body = R"({"writes": [)";
      for (int i = 0; i < kBatchWrites; ++i) {
        const long k = n * kBatchWrites + i;
        body += fmt::format(R"({}{{"op": "put", "key": "u:bulk{}-{}@x.org", "body": {}}})",
                            i > 0 ? ", " : "", t, k % 5000, Body(k));
      }
      body += "]}";
      auto r = client->Post("/v1/entities/users:batch", body, "application/json");
      return r && r->status == 200 && r->body.find("\"failed\": 0,") != std::string::npos;
    };
  };
}

std::function<std::function<bool(long)>(int)> GatewayReader(int port) {
  return [port](int t) -> std::function<bool(long)> {
    auto client = GatewayClient(port);
    return [client, t](long n) {
      // Keys the paced write run made (thread t wrote n % 5000 for n < ~1250).
      const std::string key = fmt::format("u:gw{}-{}@x.org", t, n % 1000);
      auto r = client->Get("/v1/entities/users/" + key);
      return r && r->status == 200;
    };
  };
}

bool WaitForStage(int port, const std::string& stage) {
  for (int i = 0; i < 200; ++i) {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/v1/stage");
    if (r && r->body.find("\"" + stage + "\"") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void Line(const std::string& what, const Latencies& l) {
  fmt::print("{:<58} {:>8} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>7}\n", what, l.ms.size(),
             static_cast<double>(l.ms.size()) / l.seconds, l.Quantile(0.5), l.Quantile(0.95),
             l.Quantile(0.99), l.errors);
}

double Metric(int port, const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/metrics");
  if (!r) return -1;
  const size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(r->body.c_str() + at + name.size() + 2);
}

// Where a write's time went inside the gateway, from its /v1/stats: the
// legacy store's part and the journal's, as means since the last call.
class InsideTimes {
 public:
  explicit InsideTimes(int port) : port_(port) { Take(); }

  // The means of the writes since the previous call, one line.
  std::string Since() {
    const Sums before = sums_;
    Take();
    auto mean = [&](const char* part) {
      const double n = sums_.count[part] - before.count.at(part);
      return n > 0 ? (sums_.total[part] - before.total.at(part)) / n : 0.0;
    };
    return fmt::format(
        "  inside the gateway, mean per write: Redis write with its read-back {:.2f} ms, journal "
        "append and fdatasync wait {:.2f} ms",
        mean("legacy"), mean("journal"));
  }

 private:
  struct Sums {
    std::map<std::string, double> count, total;
  };
  void Take() {
    httplib::Client c("127.0.0.1", port_);
    auto r = c.Get("/v1/stats");
    for (const char* part : {"legacy", "journal"}) {
      sums_.count[part] = 0;
      sums_.total[part] = 0;
      if (!r) continue;
      const nlohmann::json stats = nlohmann::json::parse(r->body, nullptr, false);
      if (stats.is_discarded()) continue;
      const nlohmann::json::json_pointer where(std::string("/latency/writes/users/") + part);
      if (!stats.contains(where)) continue;
      const nlohmann::json& at = stats[where];
      if (!at.is_object()) continue;
      sums_.count[part] = at["count"].get<double>();
      sums_.total[part] = at["count"].get<double>() * at["mean_ms"].get<double>();
    }
  }
  int port_;
  Sums sums_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} CUTOVER\n", argv[0]);
    return 2;
  }
  const std::string cutover = argv[1];
  auto stores = cutover::bench::ScratchStores::Start("cutover-bench-gateway-");
  if (!stores) return 3;
  const std::string& dir = stores->dir;
  const std::string& url = stores->url;
  cutover::bench::ScratchRedis* redis = stores->redis.get();

  const std::string spec = dir + "/cutover.yaml";
  {
    std::FILE* f = std::fopen(spec.c_str(), "w");
    std::fputs(R"(migration: gwbench
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
      email:  { type: text }
      name:   { type: text }
      visits: { type: bigint }
)",
               f);
    std::fclose(f);
  }
  const std::vector<std::string> env = {
      "DATABASE_URL=" + url, "REDIS_URL=redis://127.0.0.1:" + std::to_string(redis->port()) + "/0",
      std::string("GW_TOKEN=") + kToken};
  for (const auto& args : std::vector<std::vector<std::string>>{
           {cutover, "backfill", spec, "--create-tables"},
           {cutover, "phase", spec, "set", "dual_write", "--force", "--reason", "bench"}}) {
    auto run = cutover::bench::Measure(args[1], args, env, dir + "/setup.out", dir + "/setup.err");
    if (run.exit_code != 0) {
      cutover::bench::ShowFile(dir + "/setup.err");
      return 3;
    }
  }
  const int port = cutover::bench::FreeLoopbackPort();
  Background serve({cutover, "serve", spec, "--port", std::to_string(port)}, env,
                   dir + "/serve.out", dir + "/serve.err");
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/v1/stage");
    ready = r && r->body.find("\"dual_write\"") != std::string::npos;
  }
  if (!ready) {
    fmt::print(stderr, "cutover serve did not come up in dual_write\n");
    cutover::bench::ShowFile(dir + "/serve.err");
    return 3;
  }

  fmt::print(
      "dual writes through the gateway (Redis hash + PostgreSQL row) beside direct writes\n");
  fmt::print(
      "paced: {} writes/s from {} threads for {:.0f} s; latency from when each write was "
      "due; flat out: {} threads\n",
      kPacedRate, kPacedThreads, kSeconds, kFlatOutThreads);
  fmt::print("load average at start: {}; {} cores\n\n", cutover::bench::LoadAverage(),
             std::thread::hardware_concurrency());
  fmt::print("{:<58} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7}\n", "method", "writes", "writes/s",
             "p50 ms", "p95 ms", "p99 ms", "errors");
  const double per_thread = static_cast<double>(kPacedRate) / kPacedThreads;

  const Latencies redis_direct = Drive(kPacedThreads, per_thread, [&](int t) {
    auto c = std::make_shared<cutover::bench::RedisContextPtr>(
        cutover::bench::ConnectRedis(redis->port()));
    return [c, t](long n) {
      auto r = cutover::bench::RunCommand(
          c->get(), {"HSET", fmt::format("u:direct{}-{}@x.org", t, n % 5000), "name",
                     fmt::format("user {}", n), "visits", std::to_string(n % 1000)});
      return r && r->type != REDIS_REPLY_ERROR;
    };
  });
  Line("direct: Redis HSET (hiredis)", redis_direct);

  const Latencies pg_direct = Drive(kPacedThreads, per_thread, [&](int t) {
    std::shared_ptr<PgConnection> c(PgConnection::Connect(url).value().release());
    return [c, t](long n) {
      return c
          ->Exec(fmt::format("INSERT INTO users (email, name, visits, source_tag) VALUES "
                             "('direct{}-{}@x.org', 'user {}', {}, 'users') ON CONFLICT (email) "
                             "DO UPDATE SET name = excluded.name, visits = excluded.visits",
                             t, n % 5000, n, n % 1000))
          .ok();
    };
  });
  Line("direct: PostgreSQL INSERT ... ON CONFLICT (libpq, autocommit)", pg_direct);

  InsideTimes inside(port);
  const Latencies gw_paced = Drive(kPacedThreads, per_thread, GatewayWriter(port));
  Line("gateway: PUT (Redis MULTI with read-back, journal fsync; PG replayed)", gw_paced);
  fmt::print("{}\n", inside.Since());

  const double commits_before = Metric(port, "cutover_gateway_journal_group_commits_total");
  const double appended_before = Metric(port, "cutover_gateway_journal_appended_total");
  const Latencies gw_flat = Drive(kFlatOutThreads, 0, GatewayWriter(port));
  Line(fmt::format("gateway: PUT flat out, {} threads", kFlatOutThreads), gw_flat);
  fmt::print("{}\n", inside.Since());
  const double commits =
      Metric(port, "cutover_gateway_journal_group_commits_total") - commits_before;
  const double appended = Metric(port, "cutover_gateway_journal_appended_total") - appended_before;
  // The same flat out through the batch endpoint: each request's writes
  // share one wait for the journal.
  const Latencies gw_batch = Drive(kPacedThreads, 0, GatewayBatchWriter(port));
  const double batch_rate =
      static_cast<double>(gw_batch.ms.size()) * kBatchWrites / gw_batch.seconds;
  fmt::print("{:<58} {:>8} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>7}\n",
             fmt::format("gateway: POST :batch of {} flat out, {} threads (per request)",
                         kBatchWrites, kPacedThreads),
             gw_batch.ms.size() * kBatchWrites, batch_rate, gw_batch.Quantile(0.5),
             gw_batch.Quantile(0.95), gw_batch.Quantile(0.99), gw_batch.errors);

  // The journal must drain: PostgreSQL holds every acknowledged write.
  double owed = -1;
  for (int i = 0; i < 600 && owed != 0; ++i) {
    owed = Metric(port, "cutover_gateway_journal_owed");
    if (owed != 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const long long rows = cutover::bench::CountRows(url, "users");
  fmt::print(
      "\njournal: {:.0f} writes in {:.0f} group commits during the flat-out run ({:.1f} "
      "writes per fdatasync); owed after the runs: {:.0f}; users rows: {}\n",
      appended, commits, commits > 0 ? appended / commits : 0.0, owed, rows);
  const double p95 = gw_paced.Quantile(0.95);
  const double flat_rate = static_cast<double>(gw_flat.ms.size()) / gw_flat.seconds;
  fmt::print("gateway p95 at {} writes/s: {:.2f} ms  target <= 5 ms: {}\n", kPacedRate, p95,
             p95 <= 5 ? "met" : "NOT met");
  fmt::print(
      "gateway flat out: {:.0f} dual writes/s one per request, {:.0f} in batches  "
      "target >= 10,000: {}\n",
      flat_rate, batch_rate, std::max(flat_rate, batch_rate) >= 10000 ? "met" : "NOT met");

  // Reads: the same paced load in dual_write (legacy alone) and in shadow
  // (legacy answers, PostgreSQL compared off the request path).
  fmt::print("\n{:<58} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7}\n", "method", "reads", "reads/s",
             "p50 ms", "p95 ms", "p99 ms", "errors");
  const Latencies redis_read = Drive(kPacedThreads, per_thread, [&](int t) {
    auto c = std::make_shared<cutover::bench::RedisContextPtr>(
        cutover::bench::ConnectRedis(redis->port()));
    return [c, t](long n) {
      auto r = cutover::bench::RunCommand(c->get(),
                                          {"HGETALL", fmt::format("u:gw{}-{}@x.org", t, n % 1000)});
      return r && r->type == REDIS_REPLY_ARRAY && r->elements > 0;
    };
  });
  Line("direct: Redis HGETALL (hiredis)", redis_read);
  // The two stages take turns (kReadRounds windows each, pooled), so that a
  // burst of background work (autovacuum after the writes, the replayer)
  // cannot land on one side of the comparison alone.
  Latencies read_legacy, read_shadow;
  const auto move_to = [&](const char* stage) {
    const auto move = cutover::bench::Measure(
        "phase", {cutover, "phase", spec, "set", stage, "--force", "--reason", "bench"}, env,
        dir + "/setup.out", dir + "/setup.err");
    if (move.exit_code == 0 && WaitForStage(port, stage)) return true;
    cutover::bench::ShowFile(dir + "/setup.err");
    return false;
  };
  for (int round = 0; round < kReadRounds; ++round) {
    for (const char* stage : {"dual_write", "shadow"}) {
      // The writes above ran in dual_write: the first window needs no move.
      if ((round > 0 || std::string_view(stage) != "dual_write") && !move_to(stage)) return 3;
      const Latencies window =
          cutover::bench::Drive(kPacedThreads, per_thread, kReadSeconds, GatewayReader(port));
      Latencies& into = std::string_view(stage) == "shadow" ? read_shadow : read_legacy;
      into.ms.insert(into.ms.end(), window.ms.begin(), window.ms.end());
      into.errors += window.errors;
      into.seconds += window.seconds;
    }
  }
  Line("gateway: GET in dual_write (legacy)", read_legacy);
  Line("gateway: GET in shadow (legacy; PostgreSQL compared off the path)", read_shadow);
  std::string shadow_stats;
  {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/v1/stats");
    if (r) {
      const size_t at = r->body.find("\"shadow\"");
      shadow_stats = at == std::string::npos ? "" : r->body.substr(at, 220);
    }
  }
  const double p99_ratio = read_shadow.Quantile(0.99) / read_legacy.Quantile(0.99);
  fmt::print("\nshadow read p99 / dual_write read p99: {:.2f}  target <= 1.10: {}\n", p99_ratio,
             p99_ratio <= 1.10 ? "met" : "NOT met");
  fmt::print("shadow comparisons so far: {}\n", shadow_stats);
  long rss = 0;
  const int serve_exit = serve.Finish(SIGTERM, &rss);
  fmt::print("peak RSS of cutover serve: {} MiB; exit {}\n", rss / 1024, serve_exit);
  const bool ok = redis_direct.errors == 0 && pg_direct.errors == 0 && gw_paced.errors == 0 &&
                  gw_flat.errors == 0 && owed == 0 && serve_exit == 0 && read_legacy.errors == 0 &&
                  read_shadow.errors == 0 && redis_read.errors == 0;
  return ok ? 0 : 1;
}
