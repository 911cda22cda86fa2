// ServerContext: what every HTTP handler of `cutover serve` shares: the spec
// (replaced on SIGHUP), the stage watcher, the connection pool, the metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "control/stage_watcher.h"
#include "gateway/gateway.h"
#include "server/metrics_registry.h"
#include "server/pg_pool.h"
#include "spec/spec.h"

namespace cutover::server {

class FileSyncScheduler;

// Owned by the serve loop (serve_runner.cc), which outlives every handler.
// Thread-safe: the spec pointer is swapped under a mutex and handlers keep
// the snapshot they took for the whole request.
class ServerContext {
 public:
  ServerContext(std::shared_ptr<const spec::MigrationSpec> spec, control::StageWatcher* watcher,
                PgPool* pool, MetricsRegistry* metrics, std::string origin)
      : spec_(std::move(spec)),
        watcher_(watcher),
        pool_(pool),
        metrics_(metrics),
        origin_(std::move(origin)) {}

  std::shared_ptr<const spec::MigrationSpec> spec() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spec_;
  }
  void set_spec(std::shared_ptr<const spec::MigrationSpec> spec) {
    std::lock_guard<std::mutex> lock(mu_);
    spec_ = std::move(spec);
  }

  control::StageWatcher& watcher() const { return *watcher_; }
  PgPool& pool() const { return *pool_; }
  MetricsRegistry& metrics() const { return *metrics_; }
  // The dual-write gateway, or null when the spec has no entity it writes.
  gateway::Gateway* gateway() const { return gateway_; }
  void set_gateway(gateway::Gateway* gateway) { gateway_ = gateway; }
  // Why this process runs no gateway though the spec has entities it would
  // serve ("" when it runs one, or has none to serve): entity requests are
  // answered 503 with it. Set once before the routes serve.
  const std::string& gateway_absent() const { return gateway_absent_; }
  // The file sync this process runs on the spec's schedule (or not: its
  // state says). Set once before the routes serve.
  const FileSyncScheduler* file_sync() const { return file_sync_; }
  void set_file_sync(const FileSyncScheduler* file_sync) { file_sync_ = file_sync; }
  void set_gateway_absent(std::string why) { gateway_absent_ = std::move(why); }

  // "host:pid": who reported read statistics, and the `origin` label.
  const std::string& origin() const { return origin_; }

  // Counts an acknowledged write and when it was ("" before the first),
  // for /v1/stats.
  void NoteWrite(bool postgres_first, const std::string& application) {
    (postgres_first ? writes_postgres_first : writes_legacy_first).fetch_add(1);
    const std::string now = fmt::format(
        "{:%FT%T}Z", std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    std::lock_guard<std::mutex> lock(mu_);
    last_write_ = now;
    ++writes_by_application_[application];
  }
  // Writes acknowledged per application (token name), since the start.
  std::map<std::string, int64_t> WritesByApplication() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_by_application_;
  }
  std::string LastWrite() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_write_;
  }

  // Writes acknowledged, by the store that took them first.
  std::atomic<int64_t> writes_legacy_first{0};
  std::atomic<int64_t> writes_postgres_first{0};

  // Set by SIGTERM: /readyz answers 503 so balancers stop sending traffic
  // while in-flight requests finish.
  std::atomic<bool> draining{false};

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const spec::MigrationSpec> spec_;  // protected by mu_
  control::StageWatcher* const watcher_;
  PgPool* const pool_;
  MetricsRegistry* const metrics_;
  const std::string origin_;
  gateway::Gateway* gateway_ = nullptr;                   // set once before the routes serve
  std::string gateway_absent_;                            // set once before the routes serve
  const FileSyncScheduler* file_sync_ = nullptr;          // set once before the routes serve
  std::string last_write_;                                // protected by mu_
  std::map<std::string, int64_t> writes_by_application_;  // protected by mu_
};

}  // namespace cutover::server
