// Benchmark: cutover's JSON backfill against psql \copy of the same rows from
// CSV into the same table, on one scratch PostgreSQL, reported as a ratio.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"

namespace {

using cutover::pg_store::PgConnection;
using cutover::pg_store::ScratchCluster;

struct Run {
  std::string name;
  double seconds = 0;
  long peak_rss_kib = 0;
  int exit_code = -1;
};

// Runs argv with extra environment, returns wall time and the child's peak RSS.
Run Measure(const std::string& name, const std::vector<std::string>& argv,
            const std::vector<std::string>& env) {
  Run run{name};
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.peak_rss_kib = usage.ru_maxrss;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

long long CountRows(const std::string& url) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) return -1;
  auto v = (*conn)->QueryValue("SELECT count(*) FROM users");
  return v.ok() && *v ? std::stoll(**v) : -1;
}

bool Exec(const std::string& url, const std::string& sql) {
  auto conn = PgConnection::Connect(url);
  return conn.ok() && (*conn)->Exec(sql).ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    fmt::print(stderr, "usage: {} CUTOVER_BINARY SPEC DATA_DIR ROWS\n", argv[0]);
    return 2;
  }
  const std::string cutover = argv[1], spec = argv[2];
  const std::string data = std::filesystem::absolute(argv[3]).string();
  const long long rows = std::atoll(argv[4]);
  const std::string csv = (std::filesystem::path(data) / "users.csv").string();

  auto dir = cutover::pg_store::MakeTempDir("cutover-bench-");
  if (!dir.ok()) return 3;
  cutover::pg_store::ScratchOptions options{*dir, /*ephemeral=*/true, "bench"};
  auto cluster = ScratchCluster::Start(options);
  if (!cluster.ok()) {
    fmt::print(stderr, "cannot start PostgreSQL: {}\n", cluster.status().message());
    return 3;
  }
  const std::string url = (*cluster)->url();
  const std::vector<std::string> env = {"DATABASE_URL=" + url, "BENCH_DATA=" + data,
                                        "BENCH_WORK=" + *dir + "/work"};
  std::vector<Run> runs;

  // cutover into an empty table: creates it, then COPY + merge per batch.
  runs.push_back(Measure("cutover backfill (empty table)",
                         {cutover, "backfill", spec, "--create-tables", "--restart"}, env));
  const long long loaded = CountRows(url);

  // The same rows again: every key exists, so this is the merge path.
  runs.push_back(Measure("cutover backfill (rerun, all rows present)",
                         {cutover, "backfill", spec, "--restart"}, env));

  // The reference: psql \copy of the same rows, already converted, from CSV.
  if (!Exec(url, "TRUNCATE users; CHECKPOINT")) return 3;
  runs.push_back(Measure(
      "psql \\copy from CSV (reference)",
      {"psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
       fmt::format("\\copy users (id, email, name, role, created_at, last_login_at, is_active, "
                   "preferences) FROM '{}' CSV",
                   csv)},
      env));
  const long long copied = CountRows(url);

  const Run& reference = runs.back();
  fmt::print("\nbackfill of {} fluxstudio users (JSON array) into one PostgreSQL table\n", rows);
  fmt::print("{:<44} {:>9} {:>12} {:>10} {:>13}\n", "method", "seconds", "rows/s", "peak RSS",
             "vs \\copy");
  for (const auto& r : runs) {
    double rate = rows / r.seconds;
    fmt::print("{:<44} {:>9.2f} {:>12.0f} {:>7} MiB {:>12.2f}x{}\n", r.name, r.seconds, rate,
               r.peak_rss_kib / 1024, reference.seconds / r.seconds,
               r.exit_code == 0 ? "" : fmt::format("  (exit {})", r.exit_code));
  }
  fmt::print("rows after cutover: {}, after \\copy: {}\n", loaded, copied);
  (void)(*cluster)->Stop();
  return loaded == rows && copied == rows ? 0 : 1;
}
