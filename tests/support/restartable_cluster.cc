// A test's own scratch PostgreSQL, stopped and started on one port.
#include "support/restartable_cluster.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/pg_harness.h"

namespace cutover::testing {

bool RestartableCluster::Start(const std::string& database) {
  dir_ = TempDir() + "/pg";
  database_ = database;
  pg_store::ScratchOptions options;
  options.data_dir = dir_;
  options.database = database_;
  auto started = pg_store::ScratchCluster::Start(options);
  if (!started.ok()) {
    ADD_FAILURE() << started.status().ToString();
    return false;
  }
  pg_ = std::move(started).value();
  port_ = pg_->port();
  url_ = pg_->url();
  return true;
}

bool RestartableCluster::Stop() {
  Status stopped = pg_->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  pg_.reset();
  return stopped.ok();
}

bool RestartableCluster::Resume() {
  pg_store::ScratchOptions options;
  options.data_dir = dir_;
  options.database = database_;
  options.port = port_;
  auto started = pg_store::ScratchCluster::Start(options);
  if (!started.ok()) {
    ADD_FAILURE() << started.status().ToString();
    return false;
  }
  pg_ = std::move(started).value();
  return true;
}

bool RestartableCluster::Restart(std::chrono::milliseconds down) {
  if (!Stop()) return false;
  std::this_thread::sleep_for(down);
  return Resume();
}

}  // namespace cutover::testing
