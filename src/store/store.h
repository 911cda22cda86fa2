// Store: what one configured store can do, reader first, every other
// capability nullable; one Store per source (or table) the spec names.
#pragma once

#include <string>

#include "common/status.h"
#include "store/change_stream.h"
#include "store/deduplication.h"
#include "store/key_reader.h"
#include "store/profiler.h"
#include "store/replacer.h"
#include "store/snapshot_reader.h"
#include "store/writer.h"

namespace cutover::store {

// Store protocol design
//
// One protocol for every store, legacy or PostgreSQL, so that each command
// is written once: backfill is snapshot(legacy) -> map -> writer(PostgreSQL),
// sync adds changes(legacy), and rollback is the same pipeline with the ends
// swapped, snapshot/changes(PostgreSQL) -> reverse map -> writer(legacy).
// Positions are opaque Cursors (cursor.h) that the adapter encodes and every
// ledger stores verbatim, so no component outside an adapter knows what a
// byte offset or an LSN is. Four rules carry the correctness:
//   - Partitions have ids stable across runs, and a reader opens at any
//     cursor a reader of the same partition returned: a killed read resumes.
//   - A change stream hands out Head() before the snapshot starts, so nothing
//     written during the copy is missed (DBLog, ghostferry).
//   - A gap in a change stream is kDataLoss, never skipped: the caller
//     re-scans.
//   - Writers are keyed and idempotent, so replaying a change, or applying
//     one the snapshot already saw, is harmless (at-least-once is enough).
//
// How the stores map onto it:
//
// JSON files (stores/json): a partition per file; the cursor is the next
// record's byte offset with its ordinal and line. No change stream (a file
// says nothing of its changes). Writer: keyed upserts and deletes rewritten
// into the file by atomic replace, in its own layout. Replacer: the whole
// file written anew from records in the order given (rollback's export).
//
// Parquet and CSV (stores/duckdb): partitions are runs of a file's row
// groups (CSV: row ranges); the cursor is the next row's ordinal in its file.
// Deduplication and Profiler come from DuckDB. No change stream. A folder of
// Parquet files read by key is an archive: its writer appends new files, its
// key reader finds a key's last row (stores/duckdb/parquet_archive.h).
//
// PostgreSQL (stores/postgres): snapshot in key order, one partition per
// table, the cursor is the last key read, so a killed read resumes at the
// next key. Writer: MergeWriter (COPY into staging, INSERT ... ON CONFLICT,
// idempotent by construction) plus DELETE by key, one transaction per Flush.
// Change stream (stores/postgres/pg_change_stream.h, for rollback): logical
// decoding with pgoutput over a replication connection; the cursor is an
// LSN; Head() creates the slot (its consistent point is the head);
// lossless and ordered per key; Ack(lsn) advances the slot's
// confirmed_flush_lsn only after the legacy store's writer flushed the
// change, so a crash replays rather than loses. A dropped slot, or a
// wal_status of "lost", is kDataLoss.
//
// Redis: a partition per master node (the cluster's topology, in slot
// order, ids from the node's slot ranges so they survive restarts); the
// cursor is the node's SCAN cursor, which guarantees every key present from
// the start to the end of a full iteration, and may return a key twice
// (harmless: writes are keyed). Changes: keyspace notifications, subscribed
// on every master, are dirty-key hints (kDirty; values = false), re-read by
// key through KeyReader (a missing key is a delete; TTL read with PTTL).
// They are fire-and-forget and per node, so guarantees().lossless is false
// and the stream detects gaps: a subscriber reconnect, a master_replid or
// run_id change, a failover or topology change are kDataLoss, after which
// the caller re-scans that node. Head() on a node is a marker published on
// the same connection the notifications travel, so "after the head" is
// well defined per node. Writer: the key pattern of the entity (user:{id})
// with its TTL, SET/HSET plus PEXPIRE in one MULTI, DEL for a delete.
//
// IoTDB (next): a partition is (device, time window), planned from the
// devices and their first/last timestamps; the cursor is the last timestamp
// read (time is unique per device row), paged over REST with
// `where time > c order by time limit row_limit-1`. Changes: polling past a
// watermark, the newest timestamp seen minus a lateness window, re-reading
// the window each poll; points overwritten within it are seen again (keyed
// writes make that harmless), but deletes are not: guarantees().lossless and
// .deletes are false, and a verify must repair what a delete left. Writer:
// insertTablet per device (BLOBs through SQL), keyed by (device, time).
//
// A Store is thread-safe as far as its parts say: the SnapshotReader is;
// a ChangeStream, a Writer and a KeyReader each belong to one thread.
// The Store owns its parts: the pointers it returns live as long as it does.
class Store {
 public:
  virtual ~Store() = default;

  // Every store can be copied out.
  virtual SnapshotReader& snapshot() = 0;

  // Optional capabilities: null means "this store cannot".
  virtual ChangeStream* changes() { return nullptr; }
  virtual Writer* writer() { return nullptr; }
  virtual Deduplication* dedup() { return nullptr; }
  virtual Profiler* profiler() { return nullptr; }
  virtual KeyReader* key_reader() { return nullptr; }
  virtual Replacer* replacer() { return nullptr; }

  // Whether the store can be reached now, cheaply (for /readyz: no scan, no
  // heavy connection). The error says what is wrong, precisely enough to
  // fix: "glob data/*.parquet matches no file", "connection refused".
  // Thread-safe.
  virtual Status Ping() = 0;
};

}  // namespace cutover::store
