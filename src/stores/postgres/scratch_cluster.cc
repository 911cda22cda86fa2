// ScratchCluster: initdb, start, readiness and shutdown of a private
// PostgreSQL server that runs as a child process of cutover.
#include "stores/postgres/scratch_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <linux/close_range.h>
#include <locale.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "stores/postgres/pg_connection.h"

extern char** environ;

namespace cutover::pg_store {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kSuperuser[] = "cutover";
constexpr char kDefaultBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kUnprivilegedUser[] = "nobody";
constexpr int kPortAttempts = 5;
constexpr auto kReadyTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(60);
constexpr int kLogTailLines = 20;
// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which would make
// the database unreachable under the name the caller asked for.
constexpr size_t kMaxIdentifierBytes = 63;

std::string ErrnoText(int err) {
  return std::strerror(err);
}

// The identity initdb and postgres run as. `drop` is false when we are not
// root: the server then simply runs as us.
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string name;
};

Result<RunAs> ResolveRunAs() {
  RunAs run_as;
  if (geteuid() != 0) return run_as;
  struct passwd* pw = getpwnam(kUnprivilegedUser);
  if (pw == nullptr) {
    return FailedPrecondition(
        std::string("scratch PostgreSQL: running as root, and PostgreSQL refuses to run as root, "
                    "but user '") +
        kUnprivilegedUser + "' does not exist to run it as; run cutover as a non-root user");
  }
  run_as.drop = true;
  run_as.uid = pw->pw_uid;
  run_as.gid = pw->pw_gid;
  run_as.name = pw->pw_name;
  int count = 16;
  run_as.groups.resize(count);
  if (getgrouplist(pw->pw_name, pw->pw_gid, run_as.groups.data(), &count) < 0) {
    run_as.groups.resize(count);
    getgrouplist(pw->pw_name, pw->pw_gid, run_as.groups.data(), &count);
  }
  run_as.groups.resize(std::max(count, 0));
  return run_as;
}

bool IsExecutable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

// CUTOVER_PG_BINDIR wins; then pg_config, but only if its bindir really holds a
// server (Debian's pg_config comes with libpq-dev and may describe a client-only
// or different-major install); then the Debian location of PostgreSQL 15.
std::string FindBinDir() {
  if (const char* env = std::getenv("CUTOVER_PG_BINDIR"); env != nullptr && *env != '\0') {
    return env;
  }
  if (FILE* pipe = popen("pg_config --bindir 2>/dev/null", "r"); pipe != nullptr) {
    char buf[4096];
    std::string out;
    while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
    pclose(pipe);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) {
      out.pop_back();
    }
    if (!out.empty() && IsExecutable(out + "/postgres") && IsExecutable(out + "/initdb")) {
      return out;
    }
  }
  return kDefaultBinDir;
}

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Mode bits only: ACLs are not consulted, so a directory opened up through an
// ACL alone is reported as not traversable.
Status CheckTraversable(const fs::path& dir, const RunAs& run_as) {
  for (fs::path p = dir;; p = p.parent_path()) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) {
      return IoError("scratch PostgreSQL: cannot stat " + p.string() + ": " + ErrnoText(errno));
    }
    bool ok;
    if (st.st_uid == run_as.uid) {
      ok = st.st_mode & S_IXUSR;
    } else if (std::find(run_as.groups.begin(), run_as.groups.end(), st.st_gid) !=
               run_as.groups.end()) {
      ok = st.st_mode & S_IXGRP;
    } else {
      ok = st.st_mode & S_IXOTH;
    }
    if (!ok) {
      return FailedPrecondition(
          "scratch PostgreSQL: running as root, so the server runs as user '" + run_as.name +
          "', which cannot traverse " + p.string() + " (mode " + OctalMode(st.st_mode) +
          ", owner uid " + std::to_string(st.st_uid) + "); put the data directory under a path '" +
          run_as.name + "' can reach (e.g. under /tmp), or run as a non-root user");
    }
    if (p == p.parent_path()) break;
  }
  return Status::Ok();
}

Status ChownTree(const fs::path& dir, const RunAs& run_as) {
  auto chown_one = [&](const fs::path& p) -> Status {
    if (lchown(p.c_str(), run_as.uid, run_as.gid) != 0) {
      return IoError("scratch PostgreSQL: cannot chown " + p.string() + " to " + run_as.name +
                     ": " + ErrnoText(errno));
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(chown_one(dir));
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    RETURN_IF_ERROR(chown_one(it->path()));
  }
  if (ec) {
    return IoError("scratch PostgreSQL: cannot walk " + dir.string() + ": " + ec.message());
  }
  return Status::Ok();
}

// Moves `fd` above the stdio range, so that the dup2 calls in the child cannot
// overwrite it when the parent runs with some of fds 0-2 closed.
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  close(fd);
  return moved;
}

// What a spawned child reports through its close-on-exec pipe when it fails
// before exec: the step and its errno. EOF on the pipe means exec succeeded.
struct ChildFailure {
  int step;
  int err;
};
constexpr const char* kStepNames[] = {"redirect stdio",          "setgroups", "setgid", "setuid",
                                      "set parent-death signal", "exec"};

struct ChildSpec {
  std::vector<std::string> argv;
  int output_fd = -1;  // receives stdout and stderr
  const RunAs* run_as = nullptr;
  bool own_process_group = false;
};

// fork/exec instead of posix_spawn because the child must change identity and
// arm PR_SET_PDEATHSIG between the two; only async-signal-safe calls run there.
Result<pid_t> Spawn(const ChildSpec& spec) {
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int dev_null = AboveStdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (dev_null < 0) return IoError("cannot open /dev/null: " + ErrnoText(errno));
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    close(dev_null);
    return IoError("cannot create pipe: " + ErrnoText(errno));
  }
  report[0] = AboveStdio(report[0]);
  report[1] = AboveStdio(report[1]);
  const int output_fd = spec.output_fd;
  const pid_t parent = getpid();
  const long max_fd = std::min(sysconf(_SC_OPEN_MAX), 65536L);

  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(dev_null);
    close(report[0]);
    close(report[1]);
    return Internal("cannot fork for " + spec.argv[0] + ": " + ErrnoText(err));
  }
  if (pid == 0) {
    auto fail = [&](int step) {
      ChildFailure f{step, errno};
      [[maybe_unused]] ssize_t ignored = write(report[1], &f, sizeof(f));
      _exit(127);
    };
    // Its own group, so that a terminal's Ctrl-C reaches cutover alone and
    // cutover decides how the server shuts down.
    if (spec.own_process_group) setpgid(0, 0);
    if (dup2(dev_null, 0) < 0 || dup2(output_fd, 1) < 0 || dup2(output_fd, 2) < 0) fail(0);
    // Inherited descriptors (client sockets, an HTTP listener) would otherwise
    // stay open in the server for its whole life.
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) {
      sigaction(sig, &dfl, nullptr);
    }
    if (spec.run_as != nullptr && spec.run_as->drop) {
      if (setgroups(0, nullptr) != 0) fail(1);
      if (setgid(spec.run_as->gid) != 0) fail(2);
      if (setuid(spec.run_as->uid) != 0) fail(3);
    }
    // After the identity change: the kernel clears the parent-death signal
    // whenever the effective uid or gid changes.
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) fail(4);
    // The parent may have died before prctl took effect.
    if (getppid() != parent) _exit(1);
    if (chdir("/") != 0) {
      // Harmless: initdb and postgres use absolute paths.
    }
    execve(argv[0], argv.data(), environ);
    fail(5);
  }
  close(report[1]);
  close(dev_null);
  ChildFailure failure{};
  ssize_t n;
  do {
    n = read(report[0], &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Internal("cannot start " + spec.argv[0] + ": " + kStepNames[failure.step] +
                    " failed: " + ErrnoText(failure.err));
  }
  return pid;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::string(strsignal(WTERMSIG(status)));
  return "status " + std::to_string(status);
}

// Returns true once `pid` is gone; `status` is filled when it could be reaped.
// ECHILD means someone else reaps our children (SIGCHLD ignored): then only
// existence can be tested.
bool HasExited(pid_t pid, int* status) {
  pid_t r = waitpid(pid, status, WNOHANG);
  if (r == pid) return true;
  if (r < 0 && errno == ECHILD) {
    *status = 0;
    return kill(pid, 0) != 0 && errno == ESRCH;
  }
  return false;
}

void KillGroupAndReap(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string LogTail(const fs::path& log, std::uintmax_t from_offset) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return "  (no server log at " + log.string() + ")";
  in.seekg(0, std::ios::end);
  std::uintmax_t size = static_cast<std::uintmax_t>(in.tellg());
  std::uintmax_t start = std::max<std::uintmax_t>(from_offset, size > 65536 ? size - 65536 : 0);
  in.seekg(static_cast<std::streamoff>(std::min(start, size)));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  std::istringstream split(text);
  for (std::string line; std::getline(split, line);) lines.push_back(line);
  size_t first = lines.size() > kLogTailLines ? lines.size() - kLogTailLines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) out += "  " + lines[i] + "\n";
  if (out.empty()) out = "  (server log is empty)\n";
  return out;
}

std::uintmax_t FileSize(const fs::path& p) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(p, ec);
  return ec ? 0 : size;
}

Result<std::string> RunCaptured(ChildSpec spec) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return IoError("cannot create pipe: " + ErrnoText(errno));
  out[0] = AboveStdio(out[0]);
  out[1] = AboveStdio(out[1]);
  spec.output_fd = out[1];
  Result<pid_t> pid = Spawn(spec);
  close(out[1]);
  if (!pid.ok()) {
    close(out[0]);
    return pid.status();
  }
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buf, n);
  }
  close(out[0]);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Internal(spec.argv[0] + " failed (" + DescribeExit(status) + "):\n" + output);
  }
  return output;
}

Status RunInitdb(const std::string& bin_dir, const fs::path& dir, const RunAs& run_as) {
  // initdb itself would fail on a missing locale; probing here lets us fall
  // back instead of failing.
  std::string locale_flag = "--no-locale";
  if (locale_t loc = newlocale(LC_ALL_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {
    freelocale(loc);
    locale_flag = "--locale=C.UTF-8";
  }
  ChildSpec spec;
  spec.argv = {bin_dir + "/initdb", "-D",        dir.string(), "-U", kSuperuser, "--auth=trust",
               "--encoding=UTF8",   locale_flag, "-N"};
  spec.run_as = &run_as;
  Result<std::string> out = RunCaptured(spec);
  if (!out.ok()) return out.status().WithContext("scratch PostgreSQL: initdb -D " + dir.string());
  return Status::Ok();
}

// initdb writes into a sibling and renames it over the (empty) data directory,
// so a run killed during initdb leaves either no cluster or a complete one,
// never a half-written PG_VERSION that the next run would try to start.
Status InitCluster(const std::string& bin_dir, const fs::path& dir, const RunAs& run_as) {
  fs::path partial = dir;
  partial += ".initdb-partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  if (!ec && fs::create_directory(partial, ec) && !ec) {
    if (run_as.drop) RETURN_IF_ERROR(ChownTree(partial, run_as));
    Status st = RunInitdb(bin_dir, partial, run_as);
    if (!st.ok()) {
      fs::remove_all(partial, ec);
      return st;
    }
    if (rename(partial.c_str(), dir.c_str()) != 0) {
      int err = errno;
      fs::remove_all(partial, ec);
      return IoError("scratch PostgreSQL: cannot move the new cluster from " + partial.string() +
                     " to " + dir.string() + ": " + ErrnoText(err));
    }
    return Status::Ok();
  }
  // The parent is not writable by us: initialize in place, without the
  // atomicity.
  return RunInitdb(bin_dir, dir, run_as);
}

Result<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError("cannot create a socket to find a free port: " + ErrnoText(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    close(fd);
    return IoError("cannot find a free port on 127.0.0.1: " + ErrnoText(err));
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UrlOf(int port, const std::string& database) {
  return std::string("postgresql://") + kSuperuser + "@127.0.0.1:" + std::to_string(port) + "/" +
         PercentEncode(database);
}

Result<std::unique_ptr<PgConnection>> Connect(int port, const std::string& database) {
  auto conn = PgConnection::Connect(UrlOf(port, database));
  if (!conn.ok()) return conn.status().WithContext("scratch PostgreSQL");
  return conn;
}

enum class Outcome { kReady, kPortTaken, kFailed };

// Polls until the server on `port` is ours and accepts connections. A
// response alone is not proof: another process may have taken the port
// between FreePort() and our bind, so data_directory is compared as well.
Outcome AwaitReady(pid_t pid, int port, const fs::path& dir, const fs::path& log,
                   std::uintmax_t log_offset, Status* error) {
  const std::string url = UrlOf(port, "postgres");
  const auto deadline = Clock::now() + kReadyTimeout;
  auto delay = std::chrono::milliseconds(10);
  for (;;) {
    int status = 0;
    if (HasExited(pid, &status)) {
      std::string tail = LogTail(log, log_offset);
      if (tail.find("could not bind") != std::string::npos ||
          tail.find("Address already in use") != std::string::npos) {
        *error = Unavailable("port " + std::to_string(port) + " was taken:\n" + tail);
        return Outcome::kPortTaken;
      }
      *error = Internal("scratch PostgreSQL (" + dir.string() + ") exited during startup with " +
                        DescribeExit(status) + "; last lines of " + log.string() + ":\n" + tail);
      return Outcome::kFailed;
    }
    PGPing ping = PQping((url + "?connect_timeout=10").c_str());
    if (ping == PQPING_OK) {
      auto conn = Connect(port, "postgres");
      Result<std::optional<std::string>> data_dir =
          conn.ok() ? (*conn)->QueryValue("SHOW data_directory") : conn.status();
      if (data_dir.ok() && fs::path(data_dir->value_or("")) == dir) return Outcome::kReady;
      KillGroupAndReap(pid);
      *error = Unavailable("port " + std::to_string(port) + " answered, but not as our server: " +
                           (data_dir.ok() ? "data_directory " + data_dir->value_or("")
                                          : data_dir.status().ToString()));
      return Outcome::kPortTaken;
    }
    if (ping == PQPING_NO_ATTEMPT) {
      KillGroupAndReap(pid);
      *error = Internal("scratch PostgreSQL: invalid connection parameters: " + url);
      return Outcome::kFailed;
    }
    if (Clock::now() > deadline) {
      KillGroupAndReap(pid);
      *error = Unavailable("scratch PostgreSQL (" + dir.string() +
                           ") did not accept connections on 127.0.0.1:" + std::to_string(port) +
                           " within " + std::to_string(kReadyTimeout.count()) +
                           " s; killed it. Last lines of " + log.string() + ":\n" +
                           LogTail(log, log_offset));
      return Outcome::kFailed;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<std::string> MakeTempDir(const std::string& prefix) {
  std::error_code ec;
  fs::path base = fs::temp_directory_path(ec);
  if (ec) return IoError("cannot find the temporary directory: " + ec.message());
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return IoError("cannot create a temporary directory " + pattern + ": " + ErrnoText(errno));
  }
  return pattern;
}

Result<std::unique_ptr<ScratchCluster>> ScratchCluster::Start(const ScratchOptions& options) {
  ASSIGN_OR_RETURN(RunAs run_as, ResolveRunAs());
  const std::string bin_dir = FindBinDir();
  for (const char* tool : {"initdb", "postgres"}) {
    if (!IsExecutable(bin_dir + "/" + tool)) {
      return FailedPrecondition("scratch PostgreSQL: " + bin_dir + "/" + tool +
                                " not found or not executable; install postgresql-15 or set "
                                "CUTOVER_PG_BINDIR to the directory holding initdb and postgres");
    }
  }
  if (options.database.empty() || options.database.size() > kMaxIdentifierBytes) {
    return InvalidArgument("scratch PostgreSQL: database name must be 1 to 63 bytes, got '" +
                           options.database + "'");
  }

  std::string dir_text = options.data_dir;
  if (dir_text.empty()) {
    if (!options.ephemeral) {
      return InvalidArgument("scratch PostgreSQL: a persistent cluster needs a data_dir");
    }
    ASSIGN_OR_RETURN(dir_text, MakeTempDir("cutover-pg-"));
  }
  std::error_code ec;
  fs::path dir = fs::absolute(dir_text, ec).lexically_normal();
  if (ec) return IoError("scratch PostgreSQL: bad data dir " + dir_text + ": " + ec.message());
  if (!dir.has_filename()) dir = dir.parent_path();  // drop a trailing slash
  fs::create_directories(dir, ec);
  if (ec) {
    return IoError("scratch PostgreSQL: cannot create data dir " + dir.string() + ": " +
                   ec.message());
  }

  // From here on the object exists, so an early return of an ephemeral
  // cluster removes the directory through the destructor.
  std::unique_ptr<ScratchCluster> cluster(new ScratchCluster());
  cluster->data_dir_ = dir.string();
  cluster->database_ = options.database;
  cluster->ephemeral_ = options.ephemeral;
  cluster->owner_pid_ = getpid();

  if (run_as.drop) RETURN_IF_ERROR(CheckTraversable(dir.parent_path(), run_as));
  if (!fs::exists(dir / "PG_VERSION")) {
    if (!fs::is_empty(dir, ec)) {
      return FailedPrecondition("scratch PostgreSQL: " + dir.string() +
                                " is not empty but holds no cluster (no PG_VERSION); refusing to "
                                "initdb over it");
    }
    RETURN_IF_ERROR(InitCluster(bin_dir, dir, run_as));
  }
  // postgres refuses a data directory that others can read or enter.
  if (chmod(dir.c_str(), 0700) != 0) {
    return IoError("scratch PostgreSQL: cannot chmod 0700 " + dir.string() + ": " +
                   ErrnoText(errno));
  }
  // Also on reuse: files left by an earlier run as another user would make
  // the server fail on them later, far from the cause.
  if (run_as.drop) RETURN_IF_ERROR(ChownTree(dir, run_as));

  const fs::path log = dir / "server.log";
  Status last_error;
  for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
    int port = options.port;
    if (port == 0) {
      ASSIGN_OR_RETURN(port, FreePort());
    } else if (attempt > 0) {
      // The port was asked for: give its previous holder time to let go.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    int log_fd = AboveStdio(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (log_fd < 0) {
      return IoError("scratch PostgreSQL: cannot open " + log.string() + ": " + ErrnoText(errno));
    }
    if (run_as.drop && fchown(log_fd, run_as.uid, run_as.gid) != 0) {
      int err = errno;
      close(log_fd);
      return IoError("scratch PostgreSQL: cannot chown " + log.string() + ": " + ErrnoText(err));
    }
    const std::uintmax_t log_offset = FileSize(log);
    ChildSpec spec;
    spec.argv = {bin_dir + "/postgres", "-D", dir.string(), "-p", std::to_string(port), "-c",
                 "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                 "max_connections=100", "-c", "shared_buffers=256MB", "-c", "max_wal_size=4GB",
                 // Logical decoding, for the changes rollback writes back.
                 "-c", "wal_level=logical", "-c", "max_replication_slots=16", "-c",
                 "max_wal_senders=16", "-c", "checkpoint_timeout=30min"};
    spec.output_fd = log_fd;
    spec.run_as = &run_as;
    spec.own_process_group = true;
    Result<pid_t> pid = Spawn(spec);
    close(log_fd);
    if (!pid.ok()) return pid.status().WithContext("scratch PostgreSQL");

    Outcome outcome = AwaitReady(*pid, port, dir, log, log_offset, &last_error);
    if (outcome == Outcome::kReady) {
      cluster->pid_ = *pid;
      cluster->port_ = port;
      break;
    }
    if (outcome == Outcome::kFailed) return last_error;
  }
  if (cluster->pid_ < 0) {
    return last_error.WithContext("scratch PostgreSQL: no free port after " +
                                  std::to_string(kPortAttempts) + " attempts");
  }

  ASSIGN_OR_RETURN(auto conn, Connect(cluster->port_, "postgres"));
  Result<std::optional<std::string>> exists =
      conn->QueryValue("SELECT 1 FROM pg_database WHERE datname = $1", {options.database});
  if (!exists.ok()) return exists.status().WithContext("scratch PostgreSQL: look up database");
  if (!exists->has_value()) RETURN_IF_ERROR(cluster->CreateDatabase(options.database));
  cluster->url_ = cluster->UrlFor(options.database);
  return cluster;
}

ScratchCluster::~ScratchCluster() {
  Status st = Stop();
  // A destructor cannot return the failure; a leaked server or directory
  // should still not go unnoticed.
  if (!st.ok() && getpid() == owner_pid_) std::fprintf(stderr, "%s\n", st.ToString().c_str());
}

std::string ScratchCluster::UrlFor(const std::string& database) const {
  return UrlOf(port_, database);
}

Status ScratchCluster::CreateDatabase(const std::string& name) const {
  if (name.empty() || name.size() > kMaxIdentifierBytes) {
    return InvalidArgument("database name must be 1 to 63 bytes, got '" + name + "'");
  }
  ASSIGN_OR_RETURN(auto conn, Connect(port_, "postgres"));
  const std::string sql = "CREATE DATABASE " + QuoteIdent(name);
  return conn->Exec(sql).WithContext("scratch PostgreSQL: " + sql);
}

Status ScratchCluster::Stop() {
  if (stopped_) return Status::Ok();
  if (getpid() != owner_pid_) {
    return FailedPrecondition("scratch PostgreSQL: Stop() called in pid " +
                              std::to_string(getpid()) + ", but the server belongs to pid " +
                              std::to_string(owner_pid_));
  }
  Status result;
  if (pid_ > 0) {
    const fs::path log = fs::path(data_dir_) / "server.log";
    int status = 0;
    if (kill(pid_, SIGINT) != 0 && errno != ESRCH) {
      result = Internal("scratch PostgreSQL: cannot signal pid " + std::to_string(pid_) + ": " +
                        ErrnoText(errno));
    }
    const auto deadline = Clock::now() + kStopTimeout;
    bool exited = false;
    while (!(exited = HasExited(pid_, &status)) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!exited) {
      KillGroupAndReap(pid_);
      result = Internal("scratch PostgreSQL (" + data_dir_ + ") did not shut down within " +
                        std::to_string(kStopTimeout.count()) + " s of SIGINT; killed it");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      result =
          Internal("scratch PostgreSQL (" + data_dir_ + ") ended with " + DescribeExit(status) +
                   "; last lines of " + log.string() + ":\n" + LogTail(log, 0));
    }
    pid_ = -1;
  }
  if (ephemeral_ && !data_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
    if (ec && result.ok()) {
      result = IoError("scratch PostgreSQL: cannot remove " + data_dir_ + ": " + ec.message());
    }
  }
  stopped_ = true;
  return result;
}

}  // namespace cutover::pg_store
