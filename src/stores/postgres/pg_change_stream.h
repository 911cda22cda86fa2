// PgChangeStream: the committed changes to one PostgreSQL table, by logical
// decoding (pgoutput) over a replication connection, as a store::ChangeStream.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/change_stream.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

struct pg_conn;

namespace cutover::pg_store {

struct PgChangeStreamOptions {
  std::string url;
  std::string slot;         // a logical replication slot, made by Head() if missing
  std::string publication;  // FOR TABLE `table`, made by Head() if missing
  TableShape table;         // schema-qualified; its key and column types
  // Transactions that begin with a transactional logical message of this
  // prefix are not handed out: cutover's own writes (catalog/own_writes.h),
  // so that nothing it carried into PostgreSQL comes back to it as a change.
  // Empty: every transaction.
  std::string skip_marker{};
};

// PgChangeStream design
//
// A slot holds the server's WAL from its confirmed position on, so nothing
// committed after Head() is lost while the slot exists: Head() creates the
// slot (its consistent point is the head) or, when it exists, returns the
// server's current WAL position. Changes arrive per transaction, in commit
// order, with values in binary (pgoutput's `binary` option), decoded by the
// table's column types exactly as a snapshot read (table_reader.h) decodes
// them. A change's position is its transaction's end LSN only for the
// transaction's last change; the others carry the previous transaction's,
// so acknowledging a position never confirms half a transaction. The
// server sends a transaction only once it committed (pgoutput without
// streaming), so its changes are handed out as they arrive, each held back
// only until the next one shows it was not the last: memory holds one
// change of the open transaction and what Next has not yet handed out,
// whatever the size of the transaction. Ack sends
// the position as flushed, and the server then may recycle the WAL before
// it: a crash before Ack replays from the last acknowledgement
// (at-least-once; writers are keyed, so a replay is harmless).
//
// A transaction marked with `skip_marker` is read and dropped whole;
// once nothing is held or waiting and no transaction is open, a batch's end
// moves to the last commit or keepalive position seen, so acknowledging it
// lets the server recycle WAL that holds nothing this stream owes.
//
// What the stream cannot deliver is kDataLoss, never skipped: the slot
// dropped (or its WAL removed, wal_status "lost"), or a TRUNCATE (pgoutput
// names no rows). An update that leaves a TOASTed value unchanged does not
// carry it: that change is kDirty, for the caller to re-read by key. The
// server decodes a commit once its WAL is flushed, which can be a moment
// before other sessions see it; so a kDirty change is handed out only once
// its transaction is visible to a new snapshot, and a re-read finds it.
//
// Not thread-safe: one applying thread.
class PgChangeStream : public store::ChangeStream {
 public:
  static Result<std::unique_ptr<PgChangeStream>> Open(PgChangeStreamOptions options);
  ~PgChangeStream() override;

  store::ChangeGuarantees guarantees() const override {
    return {.lossless = true, .ordered_per_key = true, .deletes = true, .values = true};
  }
  Result<store::Cursor> Head() override;
  Status Start(const store::Cursor& from) override;
  Result<bool> Next(size_t max_changes, std::chrono::milliseconds wait,
                    store::ChangeBatch* out) override;
  Status Ack(const store::Cursor& upto) override;

  // Drops the slot and the publication (a migration completed or abandoned):
  // the server keeps no more WAL for them. Missing ones are not an error.
  static Status Drop(const std::string& url, const std::string& slot,
                     const std::string& publication);

  // Rows decoded and not yet handed out: at most one change of the open
  // transaction beyond what the last Next left (for tests of the bound).
  size_t held_rows() const { return rows_.num_rows(); }
  // Changes dropped because their transaction carried skip_marker.
  int64_t skipped_changes() const { return skipped_changes_; }

  // "lsn=X/Y" and back.
  static std::string CursorOf(uint64_t lsn);
  static Result<uint64_t> LsnOf(const store::Cursor& cursor);

 private:
  struct Pending {
    store::Change change;
    size_t row = 0;    // in rows_ (a delete's row holds only its key)
    uint32_t xid = 0;  // of its transaction
  };
  explicit PgChangeStream(PgChangeStreamOptions options);
  // Reads one message if one is there; false when none arrived by `deadline`.
  Result<bool> Receive(std::chrono::steady_clock::time_point deadline);
  Status Handle(const char* data, size_t len);
  Status HandleLogical(const char* p, const char* end);
  Status SendStatus(bool reply_requested);
  // A tuple's values appended to rows_ (a column the tuple lacks is NULL);
  // `unchanged_toast` set when a value was left out as unchanged.
  Status DecodeTuple(const char*& p, const char* end, bool* unchanged_toast);
  // The change of rows_' last row, of the open transaction.
  Pending MakePending(store::ChangeKind kind);
  // Holds `pending` back, handing out the one held before it.
  void Queue(Pending pending);
  // Returns once transaction `xid` is visible to a new snapshot.
  Status WaitVisible(uint32_t xid);

  const PgChangeStreamOptions options_;
  std::unique_ptr<PgConnection> sql_;
  pg_conn* replication_ = nullptr;
  // The relation's columns in the table shape's order: column i of a tuple
  // is shape column order_[i] (-1: a column the shape does not read).
  std::vector<int> order_;
  uint32_t relation_id_ = 0;
  RowBatch rows_;              // decoded rows not yet handed out
  std::deque<Pending> ready_;  // changes with their positions, to hand out
  // The open transaction's latest change, held until the next change or the
  // commit says which position it carries.
  std::optional<Pending> held_;
  uint64_t last_commit_end_ = 0;  // end LSN of the last committed transaction seen
  // Past every transaction seen: the last commit's end or a keepalive's WAL
  // end received outside a transaction.
  uint64_t idle_position_ = 0;
  bool in_transaction_ = false;
  bool skipping_transaction_ = false;                    // it carries skip_marker
  std::chrono::system_clock::time_point commit_time_{};  // of the open transaction
  uint32_t xid_ = 0;                                     // of the open transaction
  int64_t skipped_changes_ = 0;
  uint64_t acked_ = 0;
  std::string scratch_;
};

}  // namespace cutover::pg_store
