// ChangeStream: the live side of a store. States its guarantees, hands out its
// head before a snapshot starts, and reports a gap as an error, never silently.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/status.h"
#include "store/cursor.h"
#include "store/writer.h"

namespace cutover::store {

// What a stream promises; the stage guards and the sync command read these
// instead of knowing the store.
struct ChangeGuarantees {
  // Every change made after Head() is delivered (or the stream fails with
  // kDataLoss). False for hints that may be dropped while nobody listens
  // (Redis keyspace notifications): callers must repair with a re-scan.
  bool lossless = false;
  // Two changes to one key arrive in the order they were made.
  bool ordered_per_key = false;
  // Deletes are delivered as deletes. False when a delete leaves no trace
  // the stream can see (IoTDB's time-watermark polling).
  bool deletes = false;
  // Changes carry the record's new value. False when a change only names a
  // key (a dirty-key hint) and the caller re-reads it, by key, from the store.
  bool values = false;
};

// One change. kDirty says "this key changed; re-read it" (the stream does not
// know how); the caller then reads the key and treats a missing record as a
// delete.
enum class ChangeKind { kUpsert, kDelete, kDirty };

struct Change {
  ChangeKind kind = ChangeKind::kDirty;
  RecordKey key;
  Cursor position;  // Ack(position) acknowledges this change and all before it
  // When the store committed it, where the store says (PostgreSQL's commit
  // timestamp); the epoch when it does not. For replication lag.
  std::chrono::system_clock::time_point committed_at{};
};

// changes[i].kind == kUpsert with guarantees().values: rows' row i is the new
// record, in the store's shape (snapshot_reader.h's RecordShape); otherwise
// rows' row i is NULL throughout, but for a kDelete's or kDirty's key
// columns, which a stream that knows them (PostgreSQL's) sets.
struct ChangeBatch {
  std::vector<Change> changes;
  RowBatch rows;
  // After the last change, or further when the stream knows that nothing
  // between them is owed (transactions it skipped, idle WAL): acknowledging
  // `end` once the batch is applied lets the store release that too.
  Cursor end;
};

// ChangeStream design
//
// The handshake with a snapshot (DBLog, ghostferry): take Head() first, then
// copy the snapshot, then Start() at that head and apply every change; a key
// the snapshot copied is overwritten by any later change to it, and because
// writers are keyed and idempotent (writer.h), applying a change the snapshot
// already saw is harmless. A stream that cannot deliver what lies between
// two positions (a subscriber disconnected, a replication slot was dropped,
// a failover lost a node's notifications) says so with kDataLoss from Next();
// the caller then re-scans (the whole store, or the partitions involved), it
// never carries on as if nothing happened.
//
// Positions are acknowledged, not implied: Ack(c) tells the store that
// everything up to c is durable downstream, so it may release it (advance a
// PostgreSQL slot's confirmed_flush_lsn, trim a Redis stream). A crash before
// Ack replays from the last acknowledged position: at-least-once.
//
// Not thread-safe: one stream belongs to one applying thread.
class ChangeStream {
 public:
  virtual ~ChangeStream() = default;

  virtual ChangeGuarantees guarantees() const = 0;

  // Where the stream stands now. Changes made after this call are delivered
  // by a stream started at it. Call before a snapshot starts.
  virtual Result<Cursor> Head() = 0;

  // Begins delivery after `from` (a Head() or an acknowledged position;
  // empty: Head() now). kDataLoss when the store no longer holds what
  // follows `from`.
  virtual Status Start(const Cursor& from) = 0;

  // Waits up to `wait` for changes and fills `out` (cleared first) with at
  // most `max_changes`; false when none arrived in time. kDataLoss on a gap,
  // naming it; kUnavailable when the store cannot be reached (Start again).
  // REQUIRES: Start() succeeded.
  virtual Result<bool> Next(size_t max_changes, std::chrono::milliseconds wait,
                            ChangeBatch* out) = 0;

  // Everything up to and including `upto` is durable downstream.
  // REQUIRES: `upto` came from this stream's batches, in order.
  virtual Status Ack(const Cursor& upto) = 0;
};

}  // namespace cutover::store
