// StageWatcher: a thread that LISTENs for stage changes and re-reads the
// stage on every notification, every poll interval, and after reconnecting.
#include "control/stage_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/redact.h"
#include "control/stage_store.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::control {

StageWatcher::StageWatcher(Options options)
    : url_(std::move(options.url)),
      migration_(std::move(options.migration)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      poll_interval_(options.poll_interval),
      stale_after_(options.stale_after) {}

StageWatcher::~StageWatcher() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void StageWatcher::Start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void StageWatcher::Stop() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

StageWatcher::Snapshot StageWatcher::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s = snap_;
  if (s.state) {
    const auto age = std::chrono::steady_clock::now() - last_ok_;
    s.age_seconds = std::chrono::duration<double>(age).count();
    s.fresh = age <= stale_after_;
  }
  return s;
}

void StageWatcher::SetIntervals(std::chrono::milliseconds poll_interval,
                                std::chrono::milliseconds stale_after) {
  std::lock_guard<std::mutex> lock(mu_);
  poll_interval_ = poll_interval;
  stale_after_ = stale_after;
}

bool StageWatcher::WaitForFirstRead(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return first_read_.wait_for(lock, timeout, [this] { return snap_.state.has_value(); });
}

void StageWatcher::RecordRead(std::optional<StageState> state) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state) {
    ++snap_.reads_failed;
    return;
  }
  ++snap_.reads_ok;
  last_ok_ = std::chrono::steady_clock::now();
  if (!snap_.state || state->version > snap_.state->version) {
    if (snap_.state) {
      spdlog::info("stage of {} is now {} {}% (version {})", migration_, StageName(state->stage),
                   state->percent, state->version);
    }
    ++snap_.changes;
    snap_.state = std::move(state);
    first_read_.notify_all();
  }
}

void StageWatcher::Run() {
  std::unique_ptr<pg_store::PgConnection> conn;
  std::string last_error;  // logged once per distinct failure, not every poll
  auto fail = [&](const Status& st) {
    if (st.message() != last_error) {
      spdlog::warn("stage watcher: {}; keeping the last known stage", RedactSecrets(st.message()));
      last_error = st.message();
    }
    RecordRead(std::nullopt);
    conn.reset();
    std::lock_guard<std::mutex> lock(mu_);
    snap_.listening = false;
  };
  auto reread = [&]() {
    auto state = ReadStage(conn.get(), migration_);
    if (!state.ok()) return fail(state.status());
    last_error.clear();
    RecordRead(std::move(state).value());
  };

  auto next_read = std::chrono::steady_clock::now();
  while (!stopping_) {
    std::chrono::milliseconds poll_interval;
    {
      std::lock_guard<std::mutex> lock(mu_);
      poll_interval = poll_interval_;
    }
    if (conn == nullptr) {
      auto connected = pg_store::PgConnection::Connect(url_);
      if (connected.ok()) {
        conn = std::move(connected).value();
        Status st = conn->Listen(kStageChannel);
        if (!st.ok()) {
          fail(st);
        } else {
          {
            std::lock_guard<std::mutex> lock(mu_);
            snap_.listening = true;
            ++snap_.reconnects;
          }
          // Anything announced while we were away is only in the table.
          reread();
          next_read = std::chrono::steady_clock::now() + poll_interval;
        }
      } else {
        fail(connected.status());
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (conn != nullptr && now >= next_read) {
      reread();
      next_read = now + poll_interval;
    }
    if (conn == nullptr) next_read = now + poll_interval;  // retry connecting then

    const int timeout_ms =
        static_cast<int>(std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  next_read - std::chrono::steady_clock::now())
                                                  .count()));
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn ? conn->socket() : -1, POLLIN, 0}};
    const int n = poll(fds, 2, timeout_ms);
    if (n <= 0 || stopping_ || conn == nullptr || fds[1].revents == 0) continue;

    auto notes = conn->ConsumeNotifications();
    if (!notes.ok()) {
      fail(notes.status().WithContext("the stage listener"));
      continue;
    }
    bool ours = false;
    for (const std::string& note : *notes) {
      auto payload = nlohmann::json::parse(note, nullptr, false);
      if (payload.is_object() && payload.value("migration", "") == migration_) ours = true;
    }
    if (ours) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++snap_.notifications;
      }
      reread();
    }
  }
}

}  // namespace cutover::control
