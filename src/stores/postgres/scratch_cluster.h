// ScratchCluster: a PostgreSQL cluster that cutover initializes, starts and
// stops itself; the default target when target.url is omitted, and the tests'.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace cutover::pg_store {

struct ScratchOptions {
  // Where the cluster lives. Created if absent; initdb runs only when it holds
  // no cluster yet (no PG_VERSION), so a persistent directory is reused across
  // runs. Empty is allowed only with `ephemeral`, and then means a fresh
  // directory under std::filesystem::temp_directory_path().
  std::string data_dir;

  // Default false. When true, Stop() removes data_dir wholesale, including
  // anything else a caller put there: give it a directory cutover owns.
  bool ephemeral = false;

  // Default "cutover". Created after start when absent; url() points at it.
  std::string database = "cutover";

  // Default 0: a free port. Otherwise this port, e.g. to start a stopped
  // persistent cluster again where its clients expect it (tests of a server
  // restart); start fails if another process holds it.
  int port = 0;
};

// A running postmaster, child of this process, listening on 127.0.0.1 only
// with trust authentication for the superuser "cutover". The server runs with
// fsync, synchronous_commit and full_page_writes off: scratch data only, a
// host crash may corrupt it.
//
// Ownership: this object owns the server process. Stop() (or the destructor)
// shuts it down; if this process dies first, the kernel sends the server
// SIGTERM (PR_SET_PDEATHSIG). That signal is tied to the *thread* that called
// Start(): call Start() from a thread that outlives the cluster (e.g. main).
//
// When running as root, PostgreSQL refuses to start, so initdb and postgres
// run as the user "nobody", which then owns data_dir; every directory above
// data_dir must be searchable by that user.
//
// Thread safety: Start/Stop must not race with anything else on the object;
// url(), port(), UrlFor() and CreateDatabase() may be called concurrently.
class ScratchCluster {
 public:
  static Result<std::unique_ptr<ScratchCluster>> Start(const ScratchOptions& options);

  ScratchCluster(const ScratchCluster&) = delete;
  ScratchCluster& operator=(const ScratchCluster&) = delete;
  ~ScratchCluster();

  // "postgresql://cutover@127.0.0.1:PORT/DATABASE" for options.database.
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // Absolute path of the data directory.
  const std::string& data_dir() const { return data_dir_; }
  // Pid of the postmaster; -1 once stopped.
  pid_t pid() const { return pid_; }

  // URL of another database in this cluster; the name is percent-encoded.
  std::string UrlFor(const std::string& database) const;

  // CREATE DATABASE with `name` as a quoted identifier (any characters are
  // allowed). Fails if the database exists: the status then carries SQLSTATE
  // 42P04 (duplicate_database), so a caller that wants "create if absent" can
  // tell that case from a real failure.
  Status CreateDatabase(const std::string& name) const;

  // Fast shutdown (SIGINT: active sessions are rolled back and disconnected),
  // waits for the postmaster, then removes data_dir if ephemeral. Idempotent.
  // Called from a forked child of the owner it does nothing and fails: the
  // server belongs to the parent.
  Status Stop();

 private:
  ScratchCluster() = default;

  // Constant after Start().
  std::string data_dir_;
  std::string database_;
  std::string url_;
  bool ephemeral_ = false;
  int port_ = 0;
  pid_t owner_pid_ = -1;

  // Changed only by Stop().
  pid_t pid_ = -1;
  bool stopped_ = false;
};

// Creates a fresh directory "<temp_directory_path>/<prefix>XXXXXX" (mkdtemp,
// mode 0700) and returns its path.
Result<std::string> MakeTempDir(const std::string& prefix);

}  // namespace cutover::pg_store
