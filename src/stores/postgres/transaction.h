// An open PostgreSQL transaction as an object: BEGIN when made, COMMIT when
// asked, a quiet ROLLBACK when it goes out of scope without one.
#pragma once

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::pg_store {

// Transaction design
//
// A step that fails half-way (a refused statement, a lost connection, an
// early return of RETURN_IF_ERROR) must leave the session outside any
// transaction, so that the retry or the next step starts clean. The
// destructor makes that one decision for every caller: when Commit() was not
// called (or failed), it sends ROLLBACK if the connection is still healthy
// and ignores the outcome, since the step's own error is the one to report
// and a lost connection has rolled the transaction back already.
//
// Usage:
//   pg_store::Transaction tx(conn);
//   RETURN_IF_ERROR(tx.status());
//   ... statements ...
//   return tx.Commit();
//
// Ownership: borrows `conn`, which must outlive the object.
// Thread safety: none; one transaction belongs to the thread using `conn`.
class Transaction {
 public:
  // Sends BEGIN; status() says whether it worked.
  explicit Transaction(PgConnection* conn) : conn_(conn), begun_(conn->Exec("BEGIN")) {
    open_ = begun_.ok();
  }
  ~Transaction() {
    if (open_ && conn_->IsHealthy()) (void)conn_->Exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The outcome of BEGIN.
  const Status& status() const { return begun_; }

  // Sends COMMIT. REQUIRES: status().ok(), and Commit not called before.
  Status Commit() {
    open_ = false;
    return conn_->Exec("COMMIT");
  }

 private:
  PgConnection* conn_;
  Status begun_;
  bool open_ = false;
};

}  // namespace cutover::pg_store
