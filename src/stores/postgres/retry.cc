// Which PostgreSQL errors a retry can fix, the time-bounded backoff, and the
// reconnect-and-run-again loop (see the design note in the header).
#include "stores/postgres/retry.h"

#include <algorithm>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cutover::pg_store {
namespace {

constexpr std::chrono::milliseconds kFirstDelay{100};
constexpr std::chrono::milliseconds kMaxDelay{2000};

std::string Seconds(std::chrono::milliseconds span) {
  return span.count() % 1000 == 0 ? fmt::format("{}s", span.count() / 1000)
                                  : fmt::format("{:.1f}s", span.count() / 1000.0);
}

}  // namespace

bool IsRetryable(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.sqlstate() == "40P01" ||
         st.sqlstate() == "40001";
}

bool RetryBudget::Again(const Status& failure, std::string_view what, Status* final) {
  const auto now = std::chrono::steady_clock::now();
  if (attempts_++ == 0) started_ = now;
  const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(now - started_);
  if (!IsRetryable(failure)) {
    *final = failure.WithContext(what);
    return false;
  }
  if (spent + delay_ / 2 > span_) {
    *final =
        failure.WithContext(fmt::format("{} (gave up after {} attempts over {}; --retry-for {})",
                                        what, attempts_, Seconds(spent), Seconds(span_)));
    return false;
  }
  thread_local std::mt19937 rng(std::random_device{}());
  const auto sleep = std::chrono::milliseconds(
      std::uniform_int_distribution<long>(delay_.count() / 2, delay_.count())(rng));
  spdlog::warn("{}: {}; retrying in {} ms (attempt {}, {} of --retry-for {} left)", what,
               failure.message(), sleep.count(), attempts_ + 1, Seconds(span_ - spent),
               Seconds(span_));
  std::this_thread::sleep_for(sleep);
  delay_ = std::min(delay_ * 2, kMaxDelay);
  return true;
}

Status RunWithRetry(std::unique_ptr<PgConnection>* conn, const std::string& url,
                    std::chrono::milliseconds span, std::string_view what,
                    const std::function<Status()>& attempt,
                    const std::function<Status()>& on_reconnect) {
  RetryBudget budget(span);
  for (;;) {
    Status st;
    if (*conn == nullptr || !(*conn)->IsHealthy()) {
      auto fresh = PgConnection::Connect(url);
      if (fresh.ok()) {
        *conn = std::move(fresh).value();
        if (on_reconnect) st = on_reconnect();
      } else {
        st = fresh.status();
      }
    }
    if (st.ok()) st = attempt();
    if (st.ok()) return st;
    // A step that opens its transactions with Transaction has rolled back
    // already; a second ROLLBACK would only make PostgreSQL warn "there is
    // no transaction in progress". One left open is rolled back here, and if
    // that fails the connection is not reused.
    if (*conn != nullptr && (*conn)->IsHealthy() && (*conn)->InTransaction() &&
        !(*conn)->Exec("ROLLBACK").ok()) {
      conn->reset();
    }
    // A server shutting down may leave the socket open a moment after its
    // error: a lost connection is never reused.
    if (st.code() == StatusCode::kUnavailable) conn->reset();
    Status final;
    if (!budget.Again(st, what, &final)) return final;
  }
}

}  // namespace cutover::pg_store
