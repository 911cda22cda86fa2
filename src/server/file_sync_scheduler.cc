// FileSyncScheduler: a pass, then a wait on a condition variable until the
// next one is due or Stop wakes it.
#include "server/file_sync_scheduler.h"

#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"
#include "engine/sync/file_sync.h"

namespace cutover::server {
namespace {

std::string Iso(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

}  // namespace

FileSyncScheduler::FileSyncScheduler(std::string target_url,
                                     std::shared_ptr<const spec::MigrationSpec> spec)
    : url_(std::move(target_url)), spec_(std::move(spec)) {
  bool files = false;
  for (const auto& e : spec_->entities) files = files || engine::IsFileEntity(*spec_, e);
  state_.scheduled = files && spec_->sync.every_ms > 0;
  state_.every_ms = spec_->sync.every_ms;
}

FileSyncScheduler::~FileSyncScheduler() {
  Stop();
}

void FileSyncScheduler::Start() {
  if (!state_.scheduled || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void FileSyncScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

FileSyncScheduler::State FileSyncScheduler::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

void FileSyncScheduler::Loop() {
  const auto every = std::chrono::milliseconds(spec_->sync.every_ms);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      state_.running = true;
      state_.next_run.clear();
    }
    Result<engine::FileSyncReport> report = engine::RunFileSync(*spec_, url_, {});
    const auto next = std::chrono::system_clock::now() + every;
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_.running = false;
      state_.next_run = Iso(next);
      state_.last_error = report.ok() ? "" : RedactSecrets(report.status().message());
    }
    if (report.ok()) {
      spdlog::info("sync: pass {} done; next at {}", report->run, Iso(next));
    } else {
      spdlog::warn("sync: pass failed: {}; next at {}", RedactSecrets(report.status().message()),
                   Iso(next));
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_until(lock, next, [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace cutover::server
