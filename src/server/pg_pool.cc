// PgPool: lazily opened, bounded PostgreSQL connections with overflow and a
// wait timeout; its counters feed /health and /metrics.
#include "server/pg_pool.h"

#include <fmt/format.h>

namespace cutover::server {

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), discard_(other.discard_) {
  other.pool_ = nullptr;
}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_), discard_);
}

PgPool::PgPool(Options options)
    : url_(std::move(options.url)),
      size_(options.size),
      overflow_(options.overflow),
      wait_timeout_(options.wait_timeout) {}

Result<PgPool::Lease> PgPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + wait_timeout_;
  ++waiting_;
  const bool got = available_.wait_until(
      lock, deadline, [this] { return !idle_.empty() || open_ < size_ + overflow_; });
  --waiting_;
  if (!got) {
    ++timeouts_;
    return Unavailable(fmt::format(
        "no PostgreSQL connection free after {} ms ({} in use, pool size {} + overflow {})",
        wait_timeout_.count(), leased_, size_, overflow_));
  }
  if (!idle_.empty()) {
    std::unique_ptr<pg_store::PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    ++leased_;
    if (conn->IsHealthy()) return Lease(this, std::move(conn));
    // A connection that died while idle is replaced below, in the same slot.
    --leased_;
    --open_;
  }
  ++open_;  // reserve the slot before connecting outside the lock
  lock.unlock();
  auto conn = pg_store::PgConnection::Connect(url_);
  lock.lock();
  if (!conn.ok()) {
    --open_;
    ++connect_failures_;
    available_.notify_one();
    return conn.status();
  }
  ++leased_;
  return Lease(this, std::move(conn).value());
}

void PgPool::Return(std::unique_ptr<pg_store::PgConnection> conn, bool discard) {
  std::lock_guard<std::mutex> lock(mu_);
  --leased_;
  if (discard || !conn->IsHealthy() || open_ > size_) {
    --open_;  // an overflow connection, or a broken one: close it
  } else {
    idle_.push_back(std::move(conn));
  }
  available_.notify_one();
}

PgPool::Stats PgPool::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.size = size_;
  s.checked_in = static_cast<int>(idle_.size());
  s.checked_out = leased_;
  s.overflow = std::max(0, open_ - size_);
  s.waiting = waiting_;
  s.timeouts = timeouts_;
  s.connect_failures = connect_failures_;
  return s;
}

void PgPool::SetLimits(int size, int overflow, std::chrono::milliseconds wait_timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  size_ = size;
  overflow_ = overflow;
  wait_timeout_ = wait_timeout;
  available_.notify_all();
}

}  // namespace cutover::server
