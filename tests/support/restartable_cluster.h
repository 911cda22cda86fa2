// RestartableCluster: a scratch PostgreSQL of one test's own, which the test
// stops and starts again on the same port while cutover runs against it.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "stores/postgres/scratch_cluster.h"

namespace cutover::testing {

// The harness's cluster is shared by a binary's tests, so a test that takes
// PostgreSQL away makes its own. Start and Restart run on the test's main
// thread (the server's PR_SET_PDEATHSIG follows the thread that started it).
class RestartableCluster {
 public:
  // Adds a test failure and returns false when it cannot start.
  bool Start(const std::string& database = "faults");
  // Fast shutdown (every session is terminated, 57P01), `down` with nothing
  // listening, then the same cluster on the same port.
  bool Restart(std::chrono::milliseconds down);
  // Stop() and Resume() are Restart's halves, for a test that acts while
  // PostgreSQL is down.
  bool Stop();
  bool Resume();
  const std::string& url() const { return url_; }

 private:
  std::string dir_;
  std::string database_;
  int port_ = 0;
  std::string url_;
  std::unique_ptr<pg_store::ScratchCluster> pg_;
};

}  // namespace cutover::testing
