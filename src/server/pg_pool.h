// PgPool: a bounded pool of PostgreSQL connections for the server's request
// threads, with the size/overflow/wait-timeout model of SQLAlchemy's QueuePool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::server {

// Up to `size` connections are kept open once opened; when all are checked
// out, up to `overflow` more are opened and closed again on return; beyond
// that a caller waits up to `wait_timeout` and then gets kUnavailable.
// Connections open lazily, so a server starts while PostgreSQL is down. A
// connection returned broken (or marked with Discard) is closed, not reused.
//
// Thread-safe. Leases must not outlive the pool.
class PgPool {
 public:
  struct Options {
    std::string url;
    int size = 5;
    int overflow = 10;
    std::chrono::milliseconds wait_timeout{30000};
  };

  // The figures /health and /metrics report, named as in the runbooks.
  struct Stats {
    int size = 0;         // configured persistent connections
    int checked_in = 0;   // open and idle
    int checked_out = 0;  // leased
    int overflow = 0;     // open beyond `size`
    int waiting = 0;      // callers blocked in Acquire
    int64_t timeouts = 0;
    int64_t connect_failures = 0;
  };

  // A leased connection; returns itself to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pg_store::PgConnection* operator->() const { return conn_.get(); }
    pg_store::PgConnection* get() const { return conn_.get(); }
    // Closes the connection instead of reusing it (after an error that may
    // have left it mid-transaction).
    void Discard() { discard_ = true; }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<pg_store::PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    PgPool* pool_;
    std::unique_ptr<pg_store::PgConnection> conn_;
    bool discard_ = false;
  };

  explicit PgPool(Options options);

  Result<Lease> Acquire();
  Stats stats() const;
  // For SIGHUP: new limits apply from the next Acquire/return; open
  // connections are kept (overflow ones close as they come back).
  void SetLimits(int size, int overflow, std::chrono::milliseconds wait_timeout);

 private:
  void Return(std::unique_ptr<pg_store::PgConnection> conn, bool discard);

  const std::string url_;  // constant after construction

  mutable std::mutex mu_;
  std::condition_variable available_;
  // Protected by mu_.
  int size_;
  int overflow_;
  std::chrono::milliseconds wait_timeout_;
  std::vector<std::unique_ptr<pg_store::PgConnection>> idle_;
  int open_ = 0;  // idle + leased + being opened
  int leased_ = 0;
  int waiting_ = 0;
  int64_t timeouts_ = 0;
  int64_t connect_failures_ = 0;
};

}  // namespace cutover::server
