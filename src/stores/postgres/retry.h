// Retrying PostgreSQL work through outages: which errors a retry can fix, and
// a time budget (--retry-for) that bounds how long one outage is waited out.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::pg_store {

// Retry design
//
// A step of a run (a batch's transaction, a chunk, one index rebuild, a
// ledger update) either succeeds whole or rolls back, so running it again on
// a fresh connection is always safe. Only errors that a later attempt can
// outlive are retried: the connection lost or refused, the server shutting
// down, starting up or out of connection slots (kUnavailable), and a
// deadlock or serialization failure (40P01, 40001). Everything else (a
// refused login, a missing database or role, a protocol or data error, a
// program limit) would fail the same way again, so it ends the step at once,
// with its cause.
//
// The budget is time, not a number of attempts: an outage of up to
// --retry-for (default 60 s) is waited out whatever the backoff, and a
// streak of failures longer than that ends the run, naming what was being
// done, how many attempts were made and the last error. Each step starts a
// fresh streak, so a long run survives any number of separate outages.
// Backoff doubles from 100 ms to at most 2 s, with jitter, so a restarted
// server is noticed within about 2 s of coming back.

inline constexpr std::chrono::milliseconds kDefaultRetryFor{60'000};

// True when another attempt (after a reconnect, when the connection was
// lost) may succeed.
bool IsRetryable(const Status& st);

// One streak of failures of one step. Not thread-safe: one per step.
class RetryBudget {
 public:
  explicit RetryBudget(std::chrono::milliseconds span) : span_(span) {}

  // After a failed attempt of `what`: when the error is retryable and the
  // streak is still within the budget, logs a warning, sleeps the backoff
  // and returns true. Otherwise returns false and sets *final to the error
  // to report (with `what`, and the attempts made when there were several).
  bool Again(const Status& failure, std::string_view what, Status* final);

  int attempts() const { return attempts_; }

 private:
  const std::chrono::milliseconds span_;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::milliseconds delay_{100};
  int attempts_ = 0;
};

// Runs `attempt` (a whole transaction, or statements safe to repeat) on
// *conn. On a retryable failure it rolls back a transaction the attempt
// left open (one opened with Transaction has rolled back itself),
// reconnects when the connection was lost (then runs `on_reconnect`, e.g.
// to recreate session state such as staging tables), and runs `attempt`
// again, within `span` per streak of failures; any other error ends it at
// once with `what` as context. *conn may be null on entry: it is connected
// first.
Status RunWithRetry(std::unique_ptr<PgConnection>* conn, const std::string& url,
                    std::chrono::milliseconds span, std::string_view what,
                    const std::function<Status()>& attempt,
                    const std::function<Status()>& on_reconnect = nullptr);

}  // namespace cutover::pg_store
