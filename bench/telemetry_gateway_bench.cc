// Benchmark: IoTDB telemetry written through `cutover serve`'s gateway at the
// runbook's rate, beside the same points sent straight to IoTDB's insertTablet.
//
// One scratch PostgreSQL, one IoTDB stand-in (tests/iotdb_standin.py: no
// IoTDB server runs here) and one gateway in dual_write. Both runs send
// points at RATE/s from 8 threads, each thread its own device, each point
// timed from when it was due; the direct run is the reference measured in
// the same run, on the same stand-in.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "background_process.h"
#include "paced_load.h"
#include "process_meter.h"
#include "scratch_stores.h"

namespace {

using cutover::bench::Background;
using cutover::bench::Latencies;

constexpr int kThreads = 8;
constexpr int kDevices = 20;
constexpr double kDirectSeconds = 10;
constexpr char kToken[] = "telemetry-bench-token";
// 2026-11-01T00:00:00Z in ms: every point falls in one month's partition.
constexpr long long kBaseMs = 1793491200000LL;
const char* const kMeasurements[] = {"temperature", "humidity", "pressure", "voltage", "status"};

std::shared_ptr<httplib::Client> Client(int port) {
  auto client = std::make_shared<httplib::Client>("127.0.0.1", port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  return client;
}

// Point n of thread t: device dev<t>, a numeric measurement, a time of its own.
std::string Device(int t) {
  return fmt::format("dev{}", t);
}
const char* Measurement(long n) {
  return kMeasurements[n % 4];
}
long long TimeOf(long n) {
  return kBaseMs + 1000 + n;
}
double ValueOf(int t, long n) {
  return t * 100.0 + static_cast<double>(n % 1000) / 4;
}

void Line(const std::string& what, const Latencies& l) {
  fmt::print("{:<60} {:>8} {:>9.0f} {:>8.2f} {:>8.2f} {:>8.2f} {:>7}\n", what, l.ms.size(),
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

// Mean ms of a part of the gateway's writes ("legacy", "journal") from /v1/stats.
double InsideMean(int port, const char* part) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get("/v1/stats");
  if (!r) return -1;
  const nlohmann::json stats = nlohmann::json::parse(r->body, nullptr, false);
  const nlohmann::json::json_pointer where(std::string("/latency/writes/telemetry_data/") + part +
                                           "/mean_ms");
  if (stats.is_discarded() || !stats.contains(where)) return -1;
  return stats[where].get<double>();
}

bool WaitFor(const std::function<bool()>& ready) {
  for (int i = 0; i < 400; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 5) {
    fmt::print(stderr, "usage: {} CUTOVER IOTDB_STANDIN_PY [SECONDS] [RATE]\n", argv[0]);
    return 2;
  }
  const std::string cutover = argv[1];
  const std::string standin = argv[2];
  const double seconds = argc > 3 ? std::atof(argv[3]) : 60;
  const double rate = argc > 4 ? std::atof(argv[4]) : 1000;
  if (seconds <= 0 || rate <= 0) {
    fmt::print(stderr, "SECONDS and RATE must be positive\n");
    return 2;
  }
  auto stores = cutover::bench::ScratchStores::Start("cutover-bench-telemetry-");
  if (!stores) return 3;
  const std::string& dir = stores->dir;

  // The stand-in starts with one point per series, so that backfill makes
  // the table and every series has its type.
  nlohmann::json data = {{"series", nlohmann::json::array()}, {"points", nlohmann::json::array()}};
  for (int d = 0; d < kDevices; ++d) {
    for (const char* m : kMeasurements) {
      const std::string path = fmt::format("root.iotflow.devices.{}.{}", Device(d), m);
      const bool status = std::string(m) == "status";
      data["series"].push_back({{"path", path}, {"type", status ? "TEXT" : "DOUBLE"}});
      data["points"].push_back({{"path", path},
                                {"time", kBaseMs},
                                {"value", status ? nlohmann::json("ok") : nlohmann::json(1.5)}});
    }
  }
  std::ofstream(dir + "/standin.json") << data.dump();
  const int iotdb_port = cutover::bench::FreeLoopbackPort();
  Background iotdb({"/usr/bin/python3", standin, "--port", std::to_string(iotdb_port), "--data",
                    dir + "/standin.json", "--precision", "ms"},
                   {}, dir + "/standin.out", dir + "/standin.err");
  if (!WaitFor([&] {
        httplib::Client c("127.0.0.1", iotdb_port);
        auto r = c.Get("/ping");
        return r && r->status == 200;
      })) {
    fmt::print(stderr, "the IoTDB stand-in did not come up\n");
    cutover::bench::ShowFile(dir + "/standin.err");
    return 3;
  }

  const std::string spec = dir + "/cutover.yaml";
  std::ofstream(spec) << fmt::format(R"(migration: telemetrybench
target: {{ url: "${{DATABASE_URL}}" }}
sources:
  iotdb: {{ type: iotdb, url: "http://127.0.0.1:{}", user: root, password: root, precision: ms }}
serve: {{ token_env: GW_TOKEN }}
stages: {{ poll_interval: 200ms }}
entities:
  telemetry_data:
    source: {{ from: iotdb, series: "root.iotflow.devices.{{device_id}}.{{measurement_name}}" }}
    key: [device_id, measurement_name, timestamp]
    partition: {{ by: timestamp, every: 1 month }}
    columns:
      device_id:        {{ type: text }}
      measurement_name: {{ type: text }}
      timestamp:        {{ from: $time, type: timestamptz }}
      numeric_value:    {{ from: $numeric, type: double precision }}
      text_value:       {{ from: $text, type: text }}
      boolean_value:    {{ from: $boolean, type: boolean }}
      json_value:       {{ from: $value, type: jsonb }}
    indexes:
      - {{ columns: [device_id, timestamp], name: idx_telemetry_device_time }}
    rollups:  # every write pays for the daily aggregate the read bench queries
      - {{ table: telemetry_daily, every: 1 day, by: [device_id, measurement_name],
          values: [numeric_value] }}
)",
                                     iotdb_port);
  const std::vector<std::string> env = {"DATABASE_URL=" + stores->url,
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
  if (!WaitFor([&] {
        httplib::Client c("127.0.0.1", port);
        auto r = c.Get("/v1/stage");
        return r && r->body.find("\"dual_write\"") != std::string::npos;
      })) {
    fmt::print(stderr, "cutover serve did not come up in dual_write\n");
    cutover::bench::ShowFile(dir + "/serve.err");
    return 3;
  }

  const double per_thread = rate / kThreads;
  fmt::print(
      "IoTDB telemetry points through the gateway in dual_write (IoTDB stand-in, then\n"
      "PostgreSQL replayed from the journal), beside insertTablet straight to the stand-in\n");
  fmt::print(
      "paced: {:.0f} points/s from {} threads; latency from when each point was due; "
      "load average at start: {}; {} cores\n\n",
      rate, kThreads, cutover::bench::LoadAverage(), std::thread::hardware_concurrency());
  fmt::print("{:<60} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7}\n", "method", "points", "points/s",
             "p50 ms", "p95 ms", "p99 ms", "errors");

  // The reference: one point per insertTablet, as a device would send it.
  // Its points sit at times the gateway run does not use (kBaseMs - n).
  const Latencies direct = cutover::bench::Drive(kThreads, per_thread, kDirectSeconds, [&](int t) {
    auto client = Client(iotdb_port);
    client->set_basic_auth("root", "root");
    return std::function<bool(long)>([client, t](long n) {
      const nlohmann::json tablet = {{"timestamps", {kBaseMs - 1 - n}},
                                     {"measurements", {Measurement(n)}},
                                     {"data_types", {"DOUBLE"}},
                                     {"values", {{ValueOf(t, n)}}},
                                     {"is_aligned", false},
                                     {"device", "root.iotflow.devices." + Device(t)}};
      auto r = client->Post("/rest/v2/insertTablet", tablet.dump(), "application/json");
      return r && r->status == 200 && r->body.find("\"code\":200") != std::string::npos;
    });
  });
  Line(fmt::format("direct: insertTablet to the stand-in, {:.0f} s", kDirectSeconds), direct);

  const Latencies gateway = cutover::bench::Drive(kThreads, per_thread, seconds, [&](int t) {
    auto client = Client(port);
    client->set_bearer_token_auth(kToken);
    return std::function<bool(long)>([client, t](long n) {
      const std::string target =
          fmt::format("/v1/entities/telemetry_data/root.iotflow.devices.{}.{}@{}", Device(t),
                      Measurement(n), TimeOf(n));
      auto r =
          client->Put(target, fmt::format(R"({{"value": {}}})", ValueOf(t, n)), "application/json");
      return r && r->status == 200;
    });
  });
  Line(fmt::format("gateway: PUT a point (IoTDB insertTablet, journal), {:.0f} s", seconds),
       gateway);
  fmt::print(
      "  inside the gateway, mean per point: IoTDB write {:.2f} ms, journal "
      "append and fdatasync wait {:.2f} ms\n",
      InsideMean(port, "legacy"), InsideMean(port, "journal"));

  // Every acknowledged point must reach PostgreSQL.
  double owed = -1;
  WaitFor([&] {
    owed = Metric(port, "cutover_gateway_journal_owed");
    return owed == 0;
  });
  const long long rows = cutover::bench::CountRows(stores->url, "telemetry_data");
  const long long expected =
      kDevices * 5 + static_cast<long long>(gateway.ms.size()) - gateway.errors;
  fmt::print(
      "\njournal owed after the run: {:.0f}; telemetry_data rows: {} (expected {}: {} "
      "seeded + {} acknowledged)\n",
      owed, rows, expected, kDevices * 5, gateway.ms.size() - gateway.errors);
  const double p95 = gateway.Quantile(0.95);
  fmt::print("gateway p95 / direct insertTablet p95: {:.2f}\n", p95 / direct.Quantile(0.95));
  fmt::print(
      "gateway p95 at {:.0f} points/s: {:.2f} ms  runbook target < 50 ms: {}  ours < 10 "
      "ms: {}\n",
      rate, p95, p95 < 50 ? "met" : "NOT met", p95 < 10 ? "met" : "NOT met");
  long rss = 0;
  const int serve_exit = serve.Finish(SIGTERM, &rss);
  fmt::print("peak RSS of cutover serve: {} MiB; exit {}\n", rss / 1024, serve_exit);
  return direct.errors == 0 && gateway.errors == 0 && owed == 0 && rows == expected &&
                 serve_exit == 0
             ? 0
             : 1;
}
