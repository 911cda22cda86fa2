// StageWatcher: keeps a process's view of the shared stage current, by
// LISTEN/NOTIFY for the instant path and a periodic re-read as the safety net.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "control/stage.h"

namespace cutover::control {

// StageWatcher design (propagation)
//
// Invariant: within one poll interval of a transition committing, every
// watcher that can reach PostgreSQL holds the new state; usually within a few
// milliseconds.
//
// Why it holds: the transition NOTIFYs in its own transaction (see
// StageMachine design), so a watcher LISTENing on a live connection wakes at
// commit and re-reads. A notification is lost for good when the listening
// connection drops (pg_terminate_backend, a restarted server, a NAT that
// silently forgets the socket), and a dead socket may look alive for minutes;
// hence every `poll_interval` the watcher re-reads regardless, and a failed
// read or a closed socket makes it reconnect, LISTEN again and re-read. A
// notification only says "re-read"; the state always comes from the table,
// so duplicates, reordering and loss cannot install a wrong state, and a
// read that returns an older version than held (impossible by the row lock,
// but cheap to refuse) is ignored.
//
// When PostgreSQL cannot be reached the watcher keeps the last state it read
// and reports its age: callers (the server's /readyz) decide when it is too
// stale to act on (`stale_after`).
//
// Cost: one idle connection per process, one small query per poll interval.
//
// Thread safety: Snapshot() and SetIntervals() may be called from any thread;
// Start/Stop from the owner only.
class StageWatcher {
 public:
  struct Options {
    std::string url;  // never logged unredacted
    std::string migration;
    std::chrono::milliseconds poll_interval{5000};
    std::chrono::milliseconds stale_after{15000};
  };

  struct Snapshot {
    std::optional<StageState> state;  // null until the first successful read
    bool fresh = false;               // read within stale_after
    double age_seconds = -1;          // since the last successful read; -1 never
    bool listening = false;           // a LISTEN connection is up
    int64_t reads_ok = 0;
    int64_t reads_failed = 0;
    int64_t notifications = 0;
    int64_t changes = 0;  // times a new version was installed
    int64_t reconnects = 0;
  };

  explicit StageWatcher(Options options);
  ~StageWatcher();  // stops the thread
  StageWatcher(const StageWatcher&) = delete;
  StageWatcher& operator=(const StageWatcher&) = delete;

  void Start();
  void Stop();

  Snapshot Current() const;
  // For SIGHUP: new intervals apply from the next wait.
  void SetIntervals(std::chrono::milliseconds poll_interval, std::chrono::milliseconds stale_after);
  // Blocks until a state has been read or `timeout` passes; true if read.
  bool WaitForFirstRead(std::chrono::milliseconds timeout) const;

 private:
  void Run();
  void RecordRead(std::optional<StageState> state);

  // Constant after construction.
  const std::string url_;
  const std::string migration_;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the thread out of poll()

  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Protected by mu_.
  mutable std::mutex mu_;
  mutable std::condition_variable first_read_;
  std::chrono::milliseconds poll_interval_;
  std::chrono::milliseconds stale_after_;
  Snapshot snap_;
  std::chrono::steady_clock::time_point last_ok_;
};

}  // namespace cutover::control
