// Journal: the gateway's local write-ahead log of acknowledged writes that the
// secondary store still owes, made durable by group commit before the answer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "gateway/journal_frame.h"

namespace cutover::gateway {

// GatewayJournal design
//
// The gateway answers a write only once the primary store took it and this
// journal holds it on disk, so a write the secondary store has not taken yet
// survives a crash, and survives the secondary (PostgreSQL, or Redis after
// `primary`) being down: that is why it is a local file and not a table.
//
// Files: <dir>/segment-<n>.log, append-only, a run of frames
// (journal_frame.h). A write frame holds the record's whole state; a landed
// frame says that write reached the secondary. Append queues a write frame
// and waits; the first waiting writer that finds no sync running leads: it
// takes everything queued, writes it with one write() and one fdatasync(),
// then wakes every writer it covered (group commit: one sync serves all the
// writes that arrived while the last one ran). The leader is a writer, not a
// flusher thread, so that a lone write costs no thread hand-off on each side
// of its sync, which on a busy machine is as long as the sync itself. A new
// segment's directory entry is synced before a frame in it is
// counted durable.
//
// Landed marks are written with the next write but waited for by no one
// (a background thread writes what no writer took within kIdleFlush; a
// batch of marks alone is not synced): a mark lost in a crash makes the
// replayer land that state once more, which full states make harmless. A segment whose every write
// landed, and which is not the one being appended to, is deleted.
//
// Recovery (Open) reads every segment in order. A crash can leave, after the
// last synced byte, a frame cut short, zeros, or a frame whose bytes were
// never all written: none of those was acknowledged, so the tail is cut off
// (and reported). Damage followed by a frame whose checksum holds is not a
// torn tail: the frames after it may be acknowledged writes, so Open refuses
// with the file and offset rather than drop them or replay a half-read one.
//
// Memory: the owed writes are indexed by sequence number (file, offset,
// size: about 50 bytes each); their states stay on disk until read.
// One process per directory (an flock on <dir>/LOCK).
struct JournalOptions {
  std::string dir;
  uint64_t segment_bytes = 64ull << 20;  // a new segment past this size
};

// What Open found.
struct JournalRecovery {
  int64_t segments = 0;
  int64_t writes = 0;      // write frames read
  int64_t owed = 0;        // of them, not marked landed
  int64_t torn_bytes = 0;  // cut from the tail (never acknowledged)
  std::string torn_at;     // "segment-3.log at byte 4096: a frame cut short"
};

struct JournalStats {
  uint64_t appended = 0;        // writes made durable by this process
  uint64_t landed = 0;          // marks given by this process
  uint64_t owed = 0;            // writes not landed, recovered ones included
  uint64_t group_commits = 0;   // fdatasync calls
  uint64_t segments = 0;        // files on disk
  uint64_t last_seq = 0;        // the newest write made durable (recovered ones included)
  uint64_t first_owed_seq = 0;  // the oldest write still owed; 0 when none is
  // Age of the oldest owed write by its written_at; 0 when none is owed.
  double oldest_owed_seconds = 0;
};

class Journal {
 public:
  // Opens (creating) the journal in options.dir and recovers it; `recovery`
  // may be null. kDataLoss when damage is followed by good frames.
  static Result<std::unique_ptr<Journal>> Open(const JournalOptions& options,
                                               JournalRecovery* recovery);
  ~Journal();  // syncs queued landed marks, stops the flusher
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Makes `record` durable and returns its sequence number (record.seq is
  // ignored). Thread-safe; blocks for one group commit. After a failed
  // write or sync every later call fails: what reached the disk is unknown.
  Result<uint64_t> Append(JournalRecord record);

  // Append in two halves, for writes that share one wait (a batch): Enqueue
  // queues `record` for the next group commit and returns its sequence
  // number at once; WaitDurable(seq) returns once it, and so every write
  // queued before it, is on disk. Nothing may be acknowledged in between.
  Result<uint64_t> Enqueue(JournalRecord record);
  Status WaitDurable(uint64_t seq);

  // The write `seq` reached the secondary store. Thread-safe, never blocks.
  void MarkLanded(uint64_t seq);

  // Up to `limit` owed writes, oldest first, read back from disk.
  Result<std::vector<JournalRecord>> Owed(size_t limit) const;

  // Whether a write of (entity, key) is owed: the write path then leaves the
  // key's newer writes to the replayer, so that they land in order.
  bool Owes(std::string_view entity, std::string_view key) const;

  JournalStats stats() const;

 private:
  struct Location {
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint32_t size = 0;
    uint64_t key_hash = 0;  // of (entity, key), for owed_keys_
    int64_t written_at_us = 0;
  };
  struct Segment {
    int fd = -1;
    uint64_t bytes = 0;
    uint64_t owed = 0;  // writes in it not landed
  };

  explicit Journal(JournalOptions options);
  Status Recover(JournalRecovery* recovery);
  Status OpenForAppend(uint64_t number);
  std::string SegmentPath(uint64_t number) const;
  void FlushLoop();
  // Writes and syncs everything queued. REQUIRES: `lock` holds mu_ and no
  // flush runs; releases it meanwhile.
  void FlushQueued(std::unique_lock<std::mutex>& lock);
  Status WriteBatch(const std::vector<JournalEntry>& batch,
                    std::vector<std::pair<uint64_t, Location>>* written);
  void DropLandedSegments();                        // REQUIRES: mu_ held
  void AddOwed(uint64_t seq, const Location& loc);  // REQUIRES: mu_ held

  const JournalOptions options_;
  int lock_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable flusher_wake_;
  std::condition_variable durable_;
  std::vector<JournalEntry> queued_;   // guarded by mu_
  uint64_t next_seq_ = 0;              // guarded by mu_: the last seq given
  uint64_t durable_seq_ = 0;           // guarded by mu_
  Status error_;                       // guarded by mu_: sticky once set
  bool stopping_ = false;              // guarded by mu_
  bool flushing_ = false;              // guarded by mu_: a group commit runs
  std::map<uint64_t, Location> owed_;  // guarded by mu_
  // Owed writes per hash of (entity, key); a collision only sends a write
  // to the replayer that the write path could have landed itself.
  std::map<uint64_t, uint32_t> owed_keys_;  // guarded by mu_
  std::map<uint64_t, Segment> segments_;    // guarded by mu_; the last is active
  JournalStats stats_;                      // guarded by mu_
  std::thread flusher_;
};

}  // namespace cutover::gateway
