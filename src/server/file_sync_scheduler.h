// FileSyncScheduler: the file sync run inside `cutover serve` every
// `sync.every` of the spec, and what `GET /v1/sync` says of it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "spec/spec.h"

namespace cutover::server {

// One thread: a pass at start (so a restart catches up), then one every
// `sync.every`, until Stop. A pass is engine::RunFileSync, which records
// itself in cutover.file_sync_runs (its error too); a pass that fails before
// it could (PostgreSQL unreachable) keeps its error here. Nothing runs when
// the spec has no `sync.every` or no entity of a file source. Thread-safe.
class FileSyncScheduler {
 public:
  FileSyncScheduler(std::string target_url, std::shared_ptr<const spec::MigrationSpec> spec);
  ~FileSyncScheduler();
  FileSyncScheduler(const FileSyncScheduler&) = delete;
  FileSyncScheduler& operator=(const FileSyncScheduler&) = delete;

  void Start();
  void Stop();

  struct State {
    bool scheduled = false;  // this process runs passes
    int64_t every_ms = 0;
    bool running = false;      // a pass is under way
    std::string next_run{};    // ISO 8601 UTC; empty when none is planned
    std::string last_error{};  // of the last pass, when it failed before recording itself
  };
  State state() const;

 private:
  void Loop();

  const std::string url_;
  const std::shared_ptr<const spec::MigrationSpec> spec_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // protected by mu_
  State state_;        // protected by mu_
  std::thread thread_;
};

}  // namespace cutover::server
