// Tests of the scratch PostgreSQL cluster and of the test harness built on it,
// against real PostgreSQL 15 servers started here.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;
using pg_store::ScratchCluster;
using pg_store::ScratchOptions;

// Effective uid of a live process, from /proc; -1 if it does not exist.
long ProcessEuid(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Uid:", 0) == 0) {
      long real = -1, effective = -1;
      std::sscanf(line.c_str(), "Uid: %ld %ld", &real, &effective);
      return effective;
    }
  }
  return -1;
}

// A zombie counts as gone: PID 1 in a container does not always reap.
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

bool WaitGone(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ProcessGone(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(ScratchClusterTest, ListensOnLoopbackOnlyOnItsPort) {
  ScratchCluster* cluster = Cluster();
  ASSERT_NE(cluster, nullptr);
  const std::string& url = ClusterUrl();
  EXPECT_EQ(url, "postgresql://cutover@127.0.0.1:" + std::to_string(cluster->port()) + "/cutover");
  EXPECT_EQ(QueryValue(url, "SELECT inet_server_addr()"), "127.0.0.1");
  EXPECT_EQ(QueryValue(url, "SHOW port"), std::to_string(cluster->port()));
  EXPECT_EQ(QueryValue(url, "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(QueryValue(url, "SHOW unix_socket_directories"), "");
  EXPECT_EQ(QueryValue(url, "SELECT current_database()"), "cutover");
  EXPECT_EQ(QueryValue(url, "SELECT current_user"), "cutover");
}

TEST(ScratchClusterTest, ServerNeverRunsAsRoot) {
  ScratchCluster* cluster = Cluster();
  ASSERT_NE(cluster, nullptr);
  const long postmaster_uid = ProcessEuid(cluster->pid());
  // The backend is asked for its pid on a connection kept open while its
  // /proc entry is read: a backend exits as soon as its session closes.
  auto session = pg_store::PgConnection::Connect(ClusterUrl());
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  auto backend_pid = (*session)->QueryValue("SELECT pg_backend_pid()");
  ASSERT_TRUE(backend_pid.ok() && backend_pid->has_value());
  const long backend_uid = ProcessEuid(std::stol(**backend_pid));
  if (geteuid() == 0) {
    EXPECT_GT(postmaster_uid, 0);
    EXPECT_GT(backend_uid, 0);
    EXPECT_EQ(fs::status(cluster->data_dir()).permissions(), fs::perms::owner_all);
  } else {
    EXPECT_EQ(postmaster_uid, static_cast<long>(geteuid()));
    EXPECT_EQ(backend_uid, static_cast<long>(geteuid()));
  }
}

TEST(ScratchClusterTest, FreshDatabasesAreDistinctAndEmpty) {
  const std::string a = FreshDatabase();
  const std::string b = FreshDatabase();
  ASSERT_FALSE(a.empty());
  ASSERT_NE(a, b);
  const std::string name_a = QueryValue(a, "SELECT current_database()");
  EXPECT_NE(name_a, QueryValue(b, "SELECT current_database()"));
  EXPECT_EQ(name_a.rfind("t_", 0), 0u) << name_a;

  Exec(a, "CREATE TABLE only_in_a (id int PRIMARY KEY); INSERT INTO only_in_a VALUES (1)");
  const std::string user_tables =
      "SELECT count(*) FROM information_schema.tables "
      "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')";
  EXPECT_EQ(QueryValue(a, user_tables), "1");
  EXPECT_EQ(QueryValue(b, user_tables), "0");
}

TEST(ScratchClusterTest, QueryReturnsTextAndMarksNull) {
  const std::string url = FreshDatabase();
  const auto rows =
      Query(url, "SELECT 1, NULL::text, 'x' UNION ALL SELECT 2, 'y', NULL ORDER BY 1");
  const std::vector<std::vector<std::string>> expected = {{"1", "\\N", "x"}, {"2", "y", "\\N"}};
  EXPECT_EQ(rows, expected);
}

TEST(ScratchClusterTest, CreateDatabaseQuotesNameAndRejectsDuplicate) {
  ScratchCluster* cluster = Cluster();
  ASSERT_NE(cluster, nullptr);
  const std::string name = "we\"ird Name/" + std::to_string(getpid());
  ASSERT_TRUE(cluster->CreateDatabase(name).ok());
  EXPECT_EQ(QueryValue(cluster->UrlFor(name), "SELECT current_database()"), name);

  Status again = cluster->CreateDatabase(name);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.sqlstate(), "42P04") << again.ToString();
  EXPECT_EQ(cluster->CreateDatabase(std::string(64, 'x')).code(), StatusCode::kInvalidArgument);
}

TEST(ScratchClusterTest, EphemeralStopRemovesDirectoryAndIsIdempotent) {
  ScratchOptions options;
  options.ephemeral = true;
  const auto begin = std::chrono::steady_clock::now();
  auto cluster = ScratchCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const auto startup = std::chrono::steady_clock::now() - begin;
  RecordProperty(
      "initdb_and_start_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(startup).count()));

  const std::string dir = (*cluster)->data_dir();
  const pid_t pid = (*cluster)->pid();
  EXPECT_EQ(fs::path(dir).parent_path(), fs::temp_directory_path().lexically_normal());
  EXPECT_TRUE(fs::exists(fs::path(dir) / "PG_VERSION"));
  EXPECT_EQ(QueryValue((*cluster)->url(), "SELECT 40 + 2"), "42");

  Status first = (*cluster)->Stop();
  EXPECT_TRUE(first.ok()) << first.ToString();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_EQ((*cluster)->pid(), -1);
  Status second = (*cluster)->Stop();
  EXPECT_TRUE(second.ok()) << second.ToString();
}

TEST(ScratchClusterTest, DestructorStopsServer) {
  ScratchOptions options;
  options.ephemeral = true;
  pid_t pid;
  std::string dir;
  {
    auto cluster = ScratchCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    pid = (*cluster)->pid();
    dir = (*cluster)->data_dir();
  }
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_FALSE(fs::exists(dir));
}

TEST(ScratchClusterTest, PersistentDataDirIsReusedOnSecondStart) {
  ScratchOptions options;
  options.data_dir = TempDir() + "/pg";
  options.database = "app";
  {
    auto cluster = ScratchCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    Exec((*cluster)->url(), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
    Status st = (*cluster)->Stop();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
  EXPECT_FALSE(fs::exists(options.data_dir + ".initdb-partial"));
  {
    auto cluster = ScratchCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    EXPECT_EQ(QueryValue((*cluster)->url(), "SELECT x FROM kept"), "42");
  }
  EXPECT_TRUE(fs::exists(fs::path(options.data_dir) / "PG_VERSION"));
}

TEST(ScratchClusterTest, RefusesNonEmptyDirectoryWithoutCluster) {
  ScratchOptions options;
  options.data_dir = TempDir() + "/not-a-cluster";
  WriteFile(options.data_dir + "/precious.txt", "keep me");
  auto cluster = ScratchCluster::Start(options);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(cluster.status().message().find("PG_VERSION"), std::string::npos)
      << cluster.status().ToString();
  EXPECT_TRUE(fs::exists(options.data_dir + "/precious.txt"));
}

TEST(ScratchClusterTest, RootNeedsDataDirTraversableByServerUser) {
  if (geteuid() != 0) GTEST_SKIP() << "only root drops to an unprivileged server user";
  auto locked = pg_store::MakeTempDir("cutover-locked-");  // mode 0700, owned by root
  ASSERT_TRUE(locked.ok());
  ScratchOptions options;
  options.data_dir = *locked + "/pg";
  auto cluster = ScratchCluster::Start(options);
  std::error_code ec;
  fs::remove_all(*locked, ec);
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(cluster.status().message().find(*locked), std::string::npos)
      << cluster.status().ToString();
  EXPECT_NE(cluster.status().message().find("nobody"), std::string::npos)
      << cluster.status().ToString();
}

// Regression guard: PR_SET_PDEATHSIG is cleared by setuid, so arming it
// before dropping root would leave an orphaned server behind.
TEST(ScratchClusterTest, ServerDiesWhenItsOwnerIsKilled) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t owner = fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    close(fds[0]);
    ScratchOptions options;
    options.ephemeral = true;
    auto cluster = ScratchCluster::Start(options);
    std::string message = cluster.ok()
                              ? std::to_string((*cluster)->pid()) + " " + (*cluster)->data_dir()
                              : "error " + cluster.status().ToString();
    [[maybe_unused]] ssize_t ignored = write(fds[1], message.data(), message.size());
    close(fds[1]);
    raise(SIGKILL);
  }
  close(fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) message.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(owner, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_NE(message.rfind("error", 0), 0u) << message;
  const pid_t server = std::stoi(message.substr(0, message.find(' ')));
  const std::string dir = message.substr(message.find(' ') + 1);
  EXPECT_TRUE(WaitGone(server, std::chrono::seconds(30))) << "postmaster " << server << " survived";
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(RunCommandTest, CapturesBothStreamsAndExitCode) {
  CommandResult r = RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(RunCommandTest, CapturesLargeOutputOnBothStreams) {
  // More than a pipe buffer on each stream: reading one after the other would
  // deadlock.
  CommandResult r =
      RunCommand({"sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2; exit 0"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 300000u);
  EXPECT_EQ(r.err.size(), 200000u);
}

TEST(RunCommandTest, PassesEnvironmentAndWorkingDirectory) {
  const std::string dir = TempDir();
  CommandResult r = RunCommand({"sh", "-c", "printf '%s %s' \"$CUTOVER_T\" \"$(pwd)\""},
                               {{"CUTOVER_T", "v=1"}}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "v=1 " + dir);
}

TEST(RunCommandTest, ReportsTerminatingSignal) {
  CommandResult r = RunCommand({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.term_signal, SIGTERM);
  EXPECT_EQ(r.exit_code, -SIGTERM);
}

TEST(RunCommandTest, MissingProgramExitsWith127) {
  CommandResult r = RunCommand({"/nonexistent/cutover-test-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_FALSE(r.err.empty());
  CommandResult bad_cwd = RunCommand({"true"}, {}, "/nonexistent-dir");
  EXPECT_EQ(bad_cwd.exit_code, 127);
  EXPECT_NE(bad_cwd.err.find("chdir"), std::string::npos) << bad_cwd.err;
}

// CutoverBinary() is a compile-time path, never empty; what can go wrong is
// that it names no file this build made, or a source tree without src/.
TEST(HarnessTest, PointsAtAnExecutableCutoverAndTheSourceTree) {
  EXPECT_TRUE(fs::is_regular_file(CutoverBinary())) << CutoverBinary();
  EXPECT_EQ(access(CutoverBinary().c_str(), X_OK), 0) << CutoverBinary();
  EXPECT_TRUE(fs::is_regular_file(SourceDir() + "/src/cli/main.cc")) << SourceDir();
}

}  // namespace
}  // namespace cutover::testing
