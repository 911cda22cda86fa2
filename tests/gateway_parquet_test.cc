// The dual-write gateway over a Parquet archive: concurrent appends through
// one process land as new Parquet files (one per group) and in PostgreSQL;
// DuckDB reads the folder and SQL the table, and both must hold exactly the
// rows the clients were acknowledged, values cast as the old files' types.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/serve_process.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

constexpr char kToken[] = "parquet-gateway-token";

constexpr std::string_view kSpec = R"(migration: parquetgw
target: { url: "${DATABASE_URL}" }
sources:
  collector: { type: parquet, path: data/, archive: { flush_interval: 20ms, flush_rows: 500 } }
serve: { token_env: GW_TOKEN }
stages: { poll_interval: 200ms }
entities:
  safety:
    source: { from: collector, file: safety/ }
    key: [intersection_id, ts]
    columns:
      intersection_id: { type: integer }
      ts:              { type: timestamptz }
      safety_index:    { type: float8, required: true }
      vehicle_count:   { type: integer }
)";

constexpr int kSeedRows = 100;
constexpr int kClients = 8;
constexpr int kWritesPerClient = 50;

HttpResponse Send(int port, const std::string& method, const std::string& target,
                  const std::string& body = "") {
  return HttpWithToken(kToken, port, method, target, body);
}

// "id|epoch seconds|4 x safety_index|vehicle_count" per row, sorted (the
// indexes are multiples of 0.25, so 4 x is an exact integer in both stores).
std::vector<std::string> FromArchive(const std::string& dir) {
  const CommandResult r = RunCommand(
      {DuckdbSqlTool(), "-c",
       "SELECT intersection_id || '|' || epoch(ts)::BIGINT || '|' || (safety_index * 4)::BIGINT "
       "|| '|' || "
       "coalesce(vehicle_count::VARCHAR, 'null') FROM read_parquet('" +
           dir + "/*.parquet') ORDER BY 1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> rows = OutputLines(r.out);
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::vector<std::string> FromPostgres(const std::string& url) {
  std::vector<std::string> rows;
  for (const auto& row :
       Query(url,
             "SELECT intersection_id || '|' || extract(epoch FROM ts)::bigint || "
             "'|' || (safety_index * 4)::bigint || '|' || coalesce(vehicle_count::text, "
             "'null') FROM safety")) {
    rows.push_back(row[0]);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(GatewayParquetTest, AppendsReachTheArchiveAndPostgresAsAcknowledged) {
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"GW_TOKEN", kToken}};
  auto cutover = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CutoverBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, env, dir);
  };
  WriteFile(dir + "/cutover.yaml", std::string(kSpec));
  const std::string archive = dir + "/data/safety";
  std::filesystem::create_directories(archive);
  // The collector's file so far: 100 rows, minute by minute.
  CommandResult r = RunCommand(
      {DuckdbSqlTool(), "-c",
       fmt::format("COPY (SELECT (i % 10)::INTEGER AS intersection_id, TIMESTAMPTZ "
                   "'2026-11-30 00:00:00+00' + to_minutes(i) AS ts, (i * 0.5)::DOUBLE AS "
                   "safety_index, "
                   "i::INTEGER AS vehicle_count FROM range({}) t(i)) TO '{}/seed.parquet' "
                   "(FORMAT parquet)",
                   kSeedRows, archive)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = cutover({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = cutover({"phase", "cutover.yaml", "set", "dual_write", "--force", "--reason", "test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ServeProcess serve;
  ASSERT_TRUE(StartServeAtStage(&serve, dir, env, "dual_write"));

  // Expected rows, worked out by hand: the seed's, then each client's.
  std::vector<std::string> expected;
  for (int i = 0; i < kSeedRows; ++i) {
    expected.push_back(fmt::format("{}|{}|{}|{}", i % 10, 1795996800 + 60 * i, i * 2, i));
  }
  std::mutex mu;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kWritesPerClient; ++i) {
        const int id = 100 + c;
        const std::string ts = fmt::format("2026-12-01T00:{:02d}:00Z", i);
        const double index = c * 1000 + i + 0.25;
        json row = {{"intersection_id", id}, {"ts", ts}, {"safety_index", index}};
        if (i % 5 != 0) row["vehicle_count"] = i;  // else left out: NULL
        const HttpResponse a =
            Send(serve.port(), "PUT", fmt::format("/v1/entities/safety/{},{}", id, ts), row.dump());
        if (a.status != 200) {
          ++failures;
          ADD_FAILURE() << a.status << " " << a.body << a.error;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        expected.push_back(fmt::format("{}|{}|{}|{}", id, 1796083200 + 60 * i,
                                       (c * 1000 + i) * 4 + 1,
                                       i % 5 != 0 ? std::to_string(i) : "null"));
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);

  // Refused, each writing nothing: a value its column's type cannot hold, a
  // column the archive lacks, a key that is not the record's, a delete and a
  // change in place (an archive only appends).
  const std::string key = "/v1/entities/safety/7,2026-12-02T00:00:00Z";
  const json good = {{"intersection_id", 7}, {"ts", "2026-12-02T00:00:00Z"}, {"safety_index", 1}};
  json bad_value = good;
  bad_value["vehicle_count"] = "many";
  json bad_column = good;
  bad_column["weather"] = "rain";
  json rounded = good;
  rounded["vehicle_count"] = 2.5;  // an integer column: refused, not rounded to 3
  HttpResponse a = Send(serve.port(), "PUT", key, bad_value.dump());
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(a.body.find("many"), std::string::npos) << a.body;
  a = Send(serve.port(), "PUT", key, bad_column.dump());
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_NE(a.body.find("weather"), std::string::npos) << a.body;
  EXPECT_EQ(
      Send(serve.port(), "PUT", "/v1/entities/safety/8,2026-12-02T00:00:00Z", good.dump()).status,
      400);
  EXPECT_EQ(Send(serve.port(), "DELETE", "/v1/entities/safety/1,2026-11-30T00:01:00Z").status, 409);
  EXPECT_EQ(Send(serve.port(), "PATCH", "/v1/entities/safety/1,2026-11-30T00:01:00Z", "{}").status,
            409);

  // Reads in dual_write come from the archive: a seed row and a written one.
  a = Send(serve.port(), "GET", "/v1/entities/safety/3,2026-11-30T00:13:00Z");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body)["record"]["safety_index"], 6.5) << a.body;
  a = Send(serve.port(), "GET", "/v1/entities/safety/103,2026-12-01T00:07:00Z");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(json::parse(a.body)["record"]["safety_index"], 3007.25) << a.body;
  EXPECT_EQ(json::parse(a.body)["record"]["vehicle_count"], 7) << a.body;
  EXPECT_EQ(Send(serve.port(), "GET", "/v1/entities/safety/103,2027-01-01T00:00:00Z").status, 404);

  // The journal drains into PostgreSQL; the archive's files carried exactly
  // the acknowledged writes, several per file.
  ASSERT_TRUE(WaitFor(
      [&] {
        const json s = json::parse(Http(serve.port(), "GET", "/v1/stats").body, nullptr, false);
        return s.is_object() && s.contains("writes") && s["writes"]["owed"] == 0;
      },
      30));
  const json stats = json::parse(Http(serve.port(), "GET", "/v1/stats").body);
  std::cout << "archive files: " << stats["writes"]["file_replaces"].dump() << "\n";
  const json* counts = nullptr;
  for (const auto& [path, c] : stats["writes"]["file_replaces"].items()) {
    if (path.ends_with("/safety")) counts = &c;
  }
  ASSERT_NE(counts, nullptr) << stats.dump();
  EXPECT_EQ((*counts)["writes"], kClients * kWritesPerClient);
  EXPECT_LT((*counts)["replaces"], kClients * kWritesPerClient);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();

  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(FromArchive(archive), expected);
  EXPECT_EQ(FromPostgres(url), expected);
  // Every file written is whole and named as one: no temporary file is left.
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(archive)) {
    const std::string name = f.path().filename().string();
    EXPECT_FALSE(name.ends_with(".tmp")) << name;
    if (name.starts_with("cutover-")) ++files;
  }
  EXPECT_EQ(files, (*counts)["replaces"].get<int>());
  // And cutover's own verify, over the folder, agrees.
  r = cutover({"verify", "cutover.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// An archive's backfill racing the gateway: a backfill from dual_write on
// claims the collector's file and stands still (a failpoint) while the
// gateway rewrites keys that file holds; it then copies the file's older
// rows, none of which may land over the gateway's newer ones.
TEST(GatewayParquetTest, ABackfillRacingTheGatewayNeverLandsAnOlderRow) {
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"GW_TOKEN", kToken}};
  // One partition for the whole file, so that the copy stands still once.
  WriteFile(dir + "/cutover.yaml", std::string(kSpec) + "backfill: { chunk_rows: 100000 }\n");
  const std::string archive = dir + "/data/safety";
  std::filesystem::create_directories(archive);
  constexpr int kRows = 20000;
  constexpr int kRewritten = 200;
  CommandResult r = RunCommand(
      {DuckdbSqlTool(), "-c",
       fmt::format("COPY (SELECT (i % 10)::INTEGER AS intersection_id, TIMESTAMPTZ "
                   "'2026-11-30 00:00:00+00' + to_minutes(i) AS ts, (i * 0.5)::DOUBLE AS "
                   "safety_index, i::INTEGER AS vehicle_count FROM range({}) t(i)) TO "
                   "'{}/2026-11-30.parquet' (FORMAT parquet)",
                   kRows, archive)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Exec(url,
       "CREATE TABLE safety (intersection_id integer, ts timestamptz, safety_index float8 NOT "
       "NULL, vehicle_count integer, PRIMARY KEY (intersection_id, ts))");
  r = RunCommand({CutoverBinary(), "phase", "cutover.yaml", "set", "dual_write", "--force",
                  "--reason", "test"},
                 env, dir);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ServeProcess serve;
  ASSERT_TRUE(StartServeAtStage(&serve, dir, env, "dual_write"));

  auto backfill_env = env;
  backfill_env.emplace_back("CUTOVER_FAILPOINTS", "backfill.after_claim=pause:4000");
  CommandResult copied;
  std::thread backfill([&] {
    copied =
        RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--jobs", "1"}, backfill_env, dir);
  });
  // Once the copy has planned its partition (the file as it is now), rows
  // i = 0, 100, 200, ... get a new safety index through the gateway.
  EXPECT_TRUE(WaitFor(
      [&] {
        return Query(url,
                     "SELECT count(*) FROM pg_tables WHERE schemaname = 'cutover' AND tablename "
                     "= 'backfill_partitions'")[0][0] == "1" &&
               Query(url, "SELECT count(*) FROM cutover.backfill_partitions")[0][0] != "0";
      },
      30));
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      for (int n = c; n < kRewritten; n += 4) {
        const int i = n * (kRows / kRewritten);
        // The file's ts of row i: 2026-11-30T00:00:00Z plus i minutes.
        const std::string when = fmt::format(
            "{:%FT%TZ}", std::chrono::sys_seconds{std::chrono::seconds(1795996800 + 60 * i)});
        const json row = {{"intersection_id", i % 10}, {"ts", when}, {"safety_index", -1 - i}};
        const HttpResponse a =
            Send(serve.port(), "PUT", fmt::format("/v1/entities/safety/{},{}", i % 10, when),
                 row.dump());
        if (a.status != 200) {
          ++failures;
          ADD_FAILURE() << a.status << " " << a.body << a.error;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  backfill.join();
  EXPECT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  ASSERT_TRUE(WaitFor(
      [&] {
        const json s = json::parse(Http(serve.port(), "GET", "/v1/stats").body, nullptr, false);
        return s.is_object() && s.contains("writes") && s["writes"]["owed"] == 0;
      },
      30))
      << serve.Stderr();
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();

  // The oracle: DuckDB's last row of each key in path order (the gateway's
  // files, cutover-<microseconds>.parquet, sort after 2026-11-30.parquet).
  const CommandResult latest = RunCommand(
      {DuckdbSqlTool(), "-c",
       "SELECT intersection_id || '|' || epoch(ts)::BIGINT || '|' || (safety_index * 4)::BIGINT "
       "|| '|' || coalesce(vehicle_count::VARCHAR, 'null') FROM read_parquet('" +
           archive +
           "/*.parquet', filename = true, file_row_number = true) QUALIFY row_number() OVER "
           "(PARTITION BY intersection_id, ts ORDER BY filename DESC, file_row_number DESC) = 1"});
  ASSERT_EQ(latest.exit_code, 0) << latest.err;
  std::vector<std::string> expected = OutputLines(latest.out);
  std::sort(expected.begin(), expected.end());
  ASSERT_EQ(expected.size(), static_cast<size_t>(kRows));
  // By hand: exactly the rewritten rows have a negative index.
  int negative = 0;
  for (const std::string& row : expected) negative += row.find("|-") != std::string::npos;
  EXPECT_EQ(negative, kRewritten);
  const std::vector<std::string> pg = FromPostgres(url);
  EXPECT_EQ(pg, expected);
  int stale = 0;
  for (size_t i = 0; i < pg.size() && i < expected.size(); ++i) stale += pg[i] != expected[i];
  EXPECT_EQ(stale, 0) << "rows of PostgreSQL older than the archive's";
  r = RunCommand({CutoverBinary(), "verify", "cutover.yaml"}, env, dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace cutover::testing
