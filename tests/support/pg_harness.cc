// Test harness: the per-binary scratch cluster, SQL helpers, RunCommand and
// temporary files.
#include "support/pg_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

extern char** environ;

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;

// Harness design
//
// The cluster is started by a keeper thread that lives until shutdown, not by
// whichever test thread first asks: the server's PR_SET_PDEATHSIG fires when
// the *thread* that forked it exits, so a worker thread of one test touching
// the cluster first would otherwise take the server down when it finishes.
// Shutdown runs from the global environment's TearDown and, as a fallback,
// from atexit; it does nothing in a forked child, whose exit must not stop
// the parent's server or delete its directories.
struct Harness {
  std::mutex mu;
  std::condition_variable cv;
  // Protected by mu.
  bool start_attempted = false;
  bool start_done = false;
  bool keeper_may_exit = false;
  std::unique_ptr<pg_store::ScratchCluster> cluster;
  Status start_error;
  std::string url;
  std::thread keeper;
  std::vector<std::string> temp_dirs;
  bool atexit_registered = false;
};

const pid_t kOwnerPid = getpid();

// Never destroyed: static destruction order would otherwise race with the
// atexit shutdown and with gtest's own teardown.
Harness& State() {
  static Harness* harness = new Harness();
  return *harness;
}

void Shutdown() {
  if (getpid() != kOwnerPid) return;
  Harness& h = State();
  std::unique_ptr<pg_store::ScratchCluster> cluster;
  std::thread keeper;
  std::vector<std::string> dirs;
  {
    std::unique_lock<std::mutex> lock(h.mu);
    // A start in progress must finish before it can be stopped.
    h.cv.wait(lock, [&] { return !h.start_attempted || h.start_done; });
    cluster = std::move(h.cluster);
    keeper = std::move(h.keeper);
    dirs = std::move(h.temp_dirs);
    h.temp_dirs.clear();
    h.start_attempted = false;
    h.start_done = false;
    h.start_error = Status::Ok();
    h.url.clear();
  }
  // Stop before releasing the keeper: its exit would SIGTERM the server.
  if (cluster != nullptr) {
    Status st = cluster->Stop();
    if (!st.ok()) std::fprintf(stderr, "pg_harness: %s\n", st.ToString().c_str());
  }
  if (keeper.joinable()) {
    {
      std::lock_guard<std::mutex> lock(h.mu);
      h.keeper_may_exit = true;
    }
    h.cv.notify_all();
    keeper.join();
    std::lock_guard<std::mutex> lock(h.mu);
    h.keeper_may_exit = false;
  }
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec)
      std::fprintf(stderr, "pg_harness: cannot remove %s: %s\n", dir.c_str(), ec.message().c_str());
  }
}

void RegisterAtExitLocked(Harness& h) {
  if (h.atexit_registered) return;
  h.atexit_registered = true;
  std::atexit(Shutdown);
}

class HarnessEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { Shutdown(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new HarnessEnvironment());

std::string Abbreviated(const std::string& sql) {
  constexpr size_t kMax = 400;
  return sql.size() <= kMax ? sql : sql.substr(0, kMax) + "...";
}

std::string Trimmed(const char* message) {
  std::string s = message == nullptr ? "" : message;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};

// Returns false (after adding a failure) when the SQL did not succeed; fills
// `rows` with the last statement's rows.
bool RunSql(const std::string& url, const std::string& sql,
            std::vector<std::vector<std::string>>* rows) {
  if (url.empty()) {
    ADD_FAILURE() << "no database URL (did the scratch cluster start?); not running: "
                  << Abbreviated(sql);
    return false;
  }
  std::unique_ptr<PGconn, ConnCloser> conn(PQconnectdb(url.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to run: " << Abbreviated(sql) << "\n  "
                  << Trimmed(conn ? PQerrorMessage(conn.get()) : "out of memory");
    return false;
  }
  // NOTICEs ("table does not exist, skipping") would only clutter test logs.
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, ResultCloser> res(PQexec(conn.get(), sql.c_str()));
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* sqlstate = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    ADD_FAILURE() << "SQL failed" << (sqlstate ? std::string(" (") + sqlstate + ")" : "") << ": "
                  << Abbreviated(sql) << "\n  "
                  << Trimmed(res ? PQresultErrorMessage(res.get()) : PQerrorMessage(conn.get()));
    return false;
  }
  if (rows != nullptr) {
    const int n = PQntuples(res.get());
    const int m = PQnfields(res.get());
    rows->reserve(n);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> row;
      row.reserve(m);
      for (int j = 0; j < m; ++j) {
        row.emplace_back(PQgetisnull(res.get(), i, j) ? "\\N" : PQgetvalue(res.get(), i, j));
      }
      rows->push_back(std::move(row));
    }
  }
  return true;
}

// PATH lookup done before fork, with the PATH the child will see.
std::string ResolveProgram(const std::string& name, const std::string& path_var) {
  if (name.find('/') != std::string::npos) return name;
  size_t begin = 0;
  while (begin <= path_var.size()) {
    size_t end = path_var.find(':', begin);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return "";
}

void AppendAvailable(int fd, std::string* out, bool* open) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n > 0) {
    out->append(buf, n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    *open = false;
  }
}

}  // namespace

pg_store::ScratchCluster* Cluster() {
  Harness& h = State();
  std::unique_lock<std::mutex> lock(h.mu);
  if (!h.start_attempted) {
    h.start_attempted = true;
    RegisterAtExitLocked(h);
    h.keeper = std::thread([&h] {
      pg_store::ScratchOptions options;
      options.ephemeral = true;
      auto started = pg_store::ScratchCluster::Start(options);
      std::unique_lock<std::mutex> keeper_lock(h.mu);
      if (started.ok()) {
        h.cluster = std::move(started).value();
        h.url = h.cluster->url();
      } else {
        h.start_error = started.status();
      }
      h.start_done = true;
      h.cv.notify_all();
      h.cv.wait(keeper_lock, [&h] { return h.keeper_may_exit; });
    });
  }
  h.cv.wait(lock, [&h] { return h.start_done; });
  if (h.cluster == nullptr) {
    ADD_FAILURE() << "scratch PostgreSQL did not start: " << h.start_error.ToString();
    return nullptr;
  }
  return h.cluster.get();
}

const std::string& ClusterUrl() {
  static const std::string kNone;
  if (Cluster() == nullptr) return kNone;
  Harness& h = State();
  std::lock_guard<std::mutex> lock(h.mu);
  return h.url;
}

std::string FreshDatabase() {
  static std::atomic<int> counter{0};
  pg_store::ScratchCluster* cluster = Cluster();
  if (cluster == nullptr) return "";
  const std::string name = "t_" + std::to_string(++counter) + "_" + std::to_string(getpid());
  Status st = cluster->CreateDatabase(name);
  if (!st.ok()) {
    ADD_FAILURE() << "FreshDatabase: " << st.ToString();
    return "";
  }
  return cluster->UrlFor(name);
}

void DropDatabase(const std::string& url) {
  const std::string name = url.substr(url.rfind('/') + 1);
  if (name.rfind("t_", 0) != 0) {
    ADD_FAILURE() << "DropDatabase: " << name << " was not made by FreshDatabase";
    return;
  }
  Exec(ClusterUrl(), "DROP DATABASE \"" + name + "\" WITH (FORCE)");
}

std::vector<std::vector<std::string>> Query(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  if (!RunSql(url, sql, &rows)) return {};
  return rows;
}

std::string QueryValue(const std::string& url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  if (!RunSql(url, sql, &rows)) return "";
  if (rows.empty() || rows[0].empty()) {
    ADD_FAILURE() << "QueryValue: no row from: " << Abbreviated(sql);
    return "";
  }
  return rows[0][0];
}

void Exec(const std::string& url, const std::string& sql) {
  RunSql(url, sql, nullptr);
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         const std::string& cwd) {
  CommandResult result;
  if (argv.empty()) {
    ADD_FAILURE() << "RunCommand: empty argv";
    result.exit_code = 127;
    return result;
  }
  // The child's environment: ours, with `env` replacing same-named entries.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& kv : env) replaced = replaced || kv.first == key;
    if (!replaced) env_strings.push_back(std::move(entry));
  }
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::string path_var;
  for (const std::string& e : env_strings) {
    if (e.rfind("PATH=", 0) == 0) path_var = e.substr(5);
  }
  const std::string program = ResolveProgram(argv[0], path_var);
  if (program.empty()) {
    result.exit_code = 127;
    result.err = "RunCommand: " + argv[0] + ": not found in PATH";
    return result;
  }
  std::vector<char*> child_argv;
  for (const std::string& a : argv) child_argv.push_back(const_cast<char*>(a.c_str()));
  child_argv.push_back(nullptr);
  std::vector<char*> child_env;
  for (std::string& e : env_strings) child_env.push_back(e.data());
  child_env.push_back(nullptr);

  int out[2], err[2], report[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "RunCommand: pipe: " << std::strerror(errno);
    result.exit_code = 127;
    return result;
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "RunCommand: fork: " << std::strerror(errno);
    result.exit_code = 127;
    return result;
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    auto fail = [&](int what) {
      int payload[2] = {what, errno};
      [[maybe_unused]] ssize_t ignored = write(report[1], payload, sizeof(payload));
      _exit(127);
    };
    int dev_null = open("/dev/null", O_RDONLY);
    if (dev_null < 0 || dup2(dev_null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) {
      fail(0);
    }
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) fail(1);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // A crashed test binary must not leave a `cutover serve` behind.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    execve(program.c_str(), child_argv.data(), child_env.data());
    fail(2);
  }
  close(out[1]);
  close(err[1]);
  close(report[1]);
  int payload[2];
  ssize_t n;
  do {
    n = read(report[0], payload, sizeof(payload));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  const bool exec_failed = n == static_cast<ssize_t>(sizeof(payload));

  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) AppendAvailable(out[0], &result.out, &out_open);
    if (fds[1].revents != 0) AppendAvailable(err[0], &result.err, &err_open);
  }
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exec_failed) {
    const std::string what = payload[0] == 0   ? "redirect stdio"
                             : payload[0] == 1 ? "chdir to " + cwd
                                               : "exec";
    result.exit_code = 127;
    result.err +=
        "RunCommand: cannot " + what + " for " + program + ": " + std::strerror(payload[1]);
    return result;
  }
  if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
    result.exit_code = -result.term_signal;
  } else {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

std::string TempDir() {
  auto dir = pg_store::MakeTempDir("cutover-test-");
  if (!dir.ok()) {
    ADD_FAILURE() << "TempDir: " << dir.status().ToString();
    return "";
  }
  if (chmod(dir->c_str(), 0755) != 0) {
    ADD_FAILURE() << "TempDir: chmod 0755 " << *dir << ": " << std::strerror(errno);
  }
  Harness& h = State();
  std::lock_guard<std::mutex> lock(h.mu);
  RegisterAtExitLocked(h);
  h.temp_dirs.push_back(*dir);
  return *dir;
}

void WriteFile(const std::string& path, std::string_view content) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) {
    ADD_FAILURE() << "WriteFile: cannot create " << parent << ": " << ec.message();
    return;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file) ADD_FAILURE() << "WriteFile: cannot write " << path;
}

namespace {

// A path of the build, found from this test binary's own place: the build
// passes paths relative to it (not absolute ones), so that two checkouts
// compile the tests to identical objects and a compiler cache serves both.
std::string BuildPath(const char* relative) {
  static const fs::path tests_dir = fs::read_symlink("/proc/self/exe").parent_path();
  return fs::weakly_canonical(tests_dir / CUTOVER_BUILD_FROM_TESTS / relative).string();
}

}  // namespace

std::string CutoverBinary() {
  return BuildPath(CUTOVER_BINARY_IN_BUILD);
}

std::string DuckdbSqlTool() {
  return BuildPath(CUTOVER_DUCKDB_SQL_IN_BUILD);
}

std::string SourceDir() {
  return BuildPath(CUTOVER_SOURCE_FROM_BUILD);
}

}  // namespace cutover::testing
