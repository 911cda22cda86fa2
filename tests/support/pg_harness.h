// Test harness: one scratch PostgreSQL cluster per test binary, a fresh
// database per test, and helpers to run SQL and the cutover binary.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stores/postgres/scratch_cluster.h"

namespace cutover::testing {

// The cluster is ephemeral and started on first use (a binary that never asks
// for it pays nothing); a GoogleTest global environment stops it and removes
// its directory and every TempDir() after the last test. If it cannot start,
// each use adds a test failure carrying the reason, and the SQL helpers below
// refuse to run instead of reaching some other server.
//
// All functions may be called from several threads of one test.

// The cluster, or nullptr (after adding a failure) if it could not start.
pg_store::ScratchCluster* Cluster();

// URL of the cluster's default database ("cutover").
const std::string& ClusterUrl();

// Creates an empty database "t_<n>_<pid>" and returns its URL. Tests that use
// one each never see each other's tables.
std::string FreshDatabase();

// Drops a database FreshDatabase made (a test that makes hundreds keeps the
// cluster small).
void DropDatabase(const std::string& url);

// Runs `sql` (several statements allowed; the last one's rows are returned),
// each value as text, NULL as "\\N". On an error adds a test failure naming
// the SQL and PostgreSQL's message, and returns {}. One connection per call.
std::vector<std::vector<std::string>> Query(const std::string& url, const std::string& sql);

// First column of the first row; a failure and "" if there is no row.
std::string QueryValue(const std::string& url, const std::string& sql);

// Runs `sql`, adding a test failure on error.
void Exec(const std::string& url, const std::string& sql);

// exit_code is the process's exit status, or -signal when a signal ended it
// (term_signal is then that signal, 0 otherwise); 127 when it could not be
// executed, with the reason in `err`.
struct CommandResult {
  int exit_code = 0;
  int term_signal = 0;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] searched in PATH when it has no slash) with `env` added
// to this process's environment, in `cwd` if not empty, stdin from /dev/null;
// waits for it and captures both streams. No timeout: ctest's applies.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env = {},
                         const std::string& cwd = "");

// A fresh directory, removed after the last test. Mode 0755, so that a
// scratch cluster created beneath it by a root test run (its server runs as
// nobody) can reach its data directory.
std::string TempDir();

// Writes `content` to `path`, creating parent directories; failure on error.
void WriteFile(const std::string& path, std::string_view content);

// Path of the built cutover binary, and of the source tree.
std::string CutoverBinary();

// The built tools/duckdb_sql, which tests use to write and query Parquet.
std::string DuckdbSqlTool();
std::string SourceDir();

}  // namespace cutover::testing
