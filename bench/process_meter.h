// What the benchmark drivers share: run a program (or a forked function) and
// take its wall time and peak RSS from wait4, plus small PostgreSQL helpers.
#pragma once

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "stores/postgres/pg_connection.h"

namespace cutover::bench {

// One measured run. `peak_rss_kib` is the child's ru_maxrss: the largest
// resident set of that process alone, not of PostgreSQL's backends.
struct Run {
  std::string name;
  double seconds = 0;
  long peak_rss_kib = 0;
  double cpu_seconds = 0;  // the child's user + system time (wait4)
  int exit_code = -1;
  long long rows = -1;    // rows the table holds afterwards; -1: not checked
  bool same_rows = true;  // the table's content checksum matches the reference
};

// Forks, runs `child` (its return value is the exit code) and waits. The
// clock starts before fork, so the time includes process start-up.
inline Run MeasureFork(const std::string& name, const std::function<int()>& child) {
  Run run{name};
  std::fflush(stdout);
  std::fflush(stderr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  struct rusage usage {};
  if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) return run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.peak_rss_kib = usage.ru_maxrss;
  run.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                    static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// Points `target_fd` at a new file `path`; an empty path leaves it alone.
inline bool RedirectTo(const std::string& path, int target_fd) {
  if (path.empty()) return true;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || dup2(fd, target_fd) < 0) return false;
  close(fd);
  return true;
}

// Runs argv with extra environment ("NAME=value"); stdout and stderr go to
// the given files when those paths are not empty.
inline Run Measure(const std::string& name, const std::vector<std::string>& argv,
                   const std::vector<std::string>& env, const std::string& stdout_path = "",
                   const std::string& stderr_path = "") {
  return MeasureFork(name, [&]() -> int {
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    if (!RedirectTo(stdout_path, STDOUT_FILENO) || !RedirectTo(stderr_path, STDERR_FILENO)) {
      return 126;
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    return 127;
  });
}

// Seconds the whole machine's CPUs have been busy since boot (user, nice,
// system, irq, softirq in /proc/stat); -1 when unreadable. A difference of
// two readings is the CPU time every process used in between.
inline double MachineBusySeconds() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return -1;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system,
                            &idle, &iowait, &irq, &softirq);
  std::fclose(f);
  if (n != 7) return -1;
  const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<double>(user + nice + system + irq + softirq) /
         static_cast<double>(ticks > 0 ? ticks : 100);
}

// Runs one statement on a fresh connection; prints the error and returns
// false when it fails.
inline bool Exec(const std::string& url, const std::string& sql) {
  auto conn = pg_store::PgConnection::Connect(url);
  if (!conn.ok()) {
    fmt::print(stderr, "connect: {}\n", conn.status().message());
    return false;
  }
  Status s = (*conn)->Exec(sql);
  if (!s.ok()) fmt::print(stderr, "{}: {}\n", sql, s.message());
  return s.ok();
}

// First column of the first row as text; empty on error or NULL.
inline std::string QueryText(const std::string& url, const std::string& sql) {
  auto conn = pg_store::PgConnection::Connect(url);
  if (!conn.ok()) return "";
  auto v = (*conn)->QueryValue(sql);
  if (!v.ok()) fmt::print(stderr, "{}: {}\n", sql, v.status().message());
  return v.ok() && *v ? **v : "";
}

inline long long CountRows(const std::string& url, const std::string& table) {
  std::string v = QueryText(url, "SELECT count(*) FROM " + table);
  return v.empty() ? -1 : std::stoll(v);
}

// Copies a file to stderr, e.g. the log of a run that failed.
inline void ShowFile(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) std::fwrite(buf, 1, n, stderr);
    std::fclose(f);
  }
}

// Removes a scratch directory of the benchmark (exports, logs) on every
// way out of main.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::string dir) : dir_(std::move(dir)) {}
  ~RemoveOnExit() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;

 private:
  std::string dir_;
};

// The load average as /proc/loadavg prints it (1, 5 and 15 minutes).
inline std::string LoadAverage() {
  std::string out;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f)) out = buf;
    std::fclose(f);
  }
  auto parts = out.find(' ');
  for (int i = 0; i < 2 && parts != std::string::npos; ++i) parts = out.find(' ', parts + 1);
  return parts == std::string::npos ? out : out.substr(0, parts);
}

}  // namespace cutover::bench
