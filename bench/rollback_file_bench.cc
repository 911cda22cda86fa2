// Benchmark: `cutover rollback` of a file entity from PostgreSQL into its
// JSON or Parquet file, beside PostgreSQL's own export of the same rows in
// the same run (psql \copy of row_to_json; for Parquet, \copy to CSV then
// DuckDB's CSV to Parquet), on one scratch PostgreSQL, as a ratio.
#include <algorithm>
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
  if (argc != 8) {
    fmt::print(stderr,
               "usage: {} CUTOVER_BINARY DUCKDB_SQL SPEC DATA_DIR FILE TABLE json|parquet\n",
               argv[0]);
    return 2;
  }
  const std::string cutover = argv[1], duckdb_sql = argv[2], spec = argv[3];
  const std::string data = std::filesystem::absolute(argv[4]).string();
  const std::string file = argv[5], table = argv[6], kind = argv[7];
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
  const long long rows = CountRows(url, table);

  std::vector<Run> runs;
  if (kind == "json") {
    runs.push_back(Measure("psql \\copy of row_to_json, key order (reference)",
                           {"psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                            fmt::format("\\copy (SELECT row_to_json(t) FROM (SELECT * FROM {} "
                                        "ORDER BY 1) t) TO '{}/export.jsonl'",
                                        table, *dir)},
                           env));
  } else {
    // By hand: PostgreSQL's CSV, then DuckDB's Parquet writer; both count.
    const Run csv =
        Measure("psql \\copy to CSV",
                {"psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                 fmt::format("\\copy (SELECT * FROM {} ORDER BY 1) TO '{}/export.csv' CSV HEADER",
                             table, *dir)},
                env);
    const Run parquet =
        Measure("duckdb CSV to Parquet",
                {duckdb_sql, "-c",
                 fmt::format("COPY (FROM read_csv('{0}/export.csv')) TO '{0}/export.parquet' "
                             "(FORMAT parquet)",
                             *dir)},
                env);
    Run both{"psql \\copy to CSV + DuckDB to Parquet (reference)"};
    both.seconds = csv.seconds + parquet.seconds;
    both.peak_rss_kib = std::max(csv.peak_rss_kib, parquet.peak_rss_kib);
    both.exit_code = csv.exit_code != 0 ? csv.exit_code : parquet.exit_code;
    runs.push_back(both);
  }
  runs.push_back(Measure("cutover rollback into " + file,
                         {cutover, "rollback", spec, "--entity", table}, env, log, log));
  if (runs.back().exit_code != 0) ShowFile(log);

  const Run& reference = runs.front();
  fmt::print("\nrollback of {} rows of {} from PostgreSQL into {}\n", rows, table, file);
  fmt::print("{:<56} {:>9} {:>12} {:>10} {:>12}\n", "method", "seconds", "rows/s", "peak RSS",
             "vs reference");
  for (const auto& r : runs) {
    fmt::print("{:<56} {:>9.2f} {:>12.0f} {:>7} MiB {:>11.2f}x{}\n", r.name, r.seconds,
               rows / r.seconds, r.peak_rss_kib / 1024, reference.seconds / r.seconds,
               r.exit_code == 0 ? "" : fmt::format("  (exit {})", r.exit_code));
  }
  fmt::print("file: {} bytes\n", std::filesystem::file_size(data + "/" + file));
  (void)(*cluster)->Stop();
  return rows > 0 && runs.back().exit_code == 0 && reference.exit_code == 0 ? 0 : 1;
}
