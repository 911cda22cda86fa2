// Benchmark: `cutover rollback` of N fluxstudio users from PostgreSQL into
// their JSON file, beside PostgreSQL's own JSON export of the same rows
// (psql \copy of row_to_json in key order), on one scratch PostgreSQL.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "process_meter.h"
#include "stores/postgres/scratch_cluster.h"

using cutover::bench::CountRows;
using cutover::bench::Exec;
using cutover::bench::Measure;
using cutover::bench::Run;
using cutover::bench::ShowFile;

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: {} CUTOVER_BINARY SPEC DATA_DIR ROWS\n", argv[0]);
    return 2;
  }
  const std::string cutover = argv[1], spec = argv[2];
  const std::string data = std::filesystem::absolute(argv[3]).string();
  const long long rows = std::atoll(argv[4]);
  auto dir = cutover::pg_store::MakeTempDir("cutover-bench-");
  if (!dir.ok()) return 3;
  auto cluster = cutover::pg_store::ScratchCluster::Start({*dir, /*ephemeral=*/true, "bench"});
  if (!cluster.ok()) {
    fmt::print(stderr, "cannot start PostgreSQL: {}\n", cluster.status().message());
    return 3;
  }
  const std::string url = (*cluster)->url();
  const std::vector<std::string> env = {"DATABASE_URL=" + url, "BENCH_DATA=" + data,
                                        "BENCH_WORK=" + *dir + "/work"};
  const std::string log = *dir + "/cutover.log";
  auto step = [&](const std::string& what, const std::vector<std::string>& args) {
    const Run r = Measure(what, args, env, log, log);
    if (r.exit_code != 0) {
      fmt::print(stderr, "{} failed (exit {}):\n", what, r.exit_code);
      ShowFile(log);
    }
    return r.exit_code == 0;
  };
  if (!step("backfill", {cutover, "backfill", spec, "--create-tables"})) return 3;
  for (const char* stage : {"dual_write", "shadow", "rollout", "primary"}) {
    std::vector<std::string> args = {cutover, "phase",   spec,       "set",
                                     stage,   "--force", "--reason", "bench"};
    if (std::string(stage) == "rollout") args.insert(args.end(), {"--percent", "100"});
    if (!step(std::string("phase set ") + stage, args)) return 3;
  }
  if (!Exec(url, "CHECKPOINT")) return 3;

  std::vector<Run> runs;
  runs.push_back(Measure("psql \\copy of row_to_json, key order (reference)",
                         {"psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                          fmt::format("\\copy (SELECT row_to_json(u) FROM users u ORDER BY id) "
                                      "TO '{}/export.jsonl'",
                                      *dir)},
                         env));
  runs.push_back(
      Measure("cutover rollback into users.json", {cutover, "rollback", spec}, env, log, log));
  if (runs.back().exit_code != 0) ShowFile(log);
  const long long held = CountRows(url, "users");

  const Run& reference = runs.front();
  fmt::print("\nrollback of {} fluxstudio users from PostgreSQL into a JSON array file\n", rows);
  fmt::print("{:<52} {:>9} {:>12} {:>10} {:>12}\n", "method", "seconds", "rows/s", "peak RSS",
             "vs \\copy");
  for (const auto& r : runs) {
    fmt::print("{:<52} {:>9.2f} {:>12.0f} {:>7} MiB {:>11.2f}x{}\n", r.name, r.seconds,
               rows / r.seconds, r.peak_rss_kib / 1024, reference.seconds / r.seconds,
               r.exit_code == 0 ? "" : fmt::format("  (exit {})", r.exit_code));
  }
  fmt::print("rows in PostgreSQL: {}; file: {} bytes\n", held,
             std::filesystem::file_size(data + "/users.json"));
  (void)(*cluster)->Stop();
  return held == rows && runs.back().exit_code == 0 ? 0 : 1;
}
