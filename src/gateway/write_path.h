// WritePath: one client write through the gateway: the primary store, the
// journal, then the secondary, answered only once nothing can lose it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/read_router.h"
#include "control/stage.h"
#include "gateway/journal.h"
#include "gateway/key_locks.h"
#include "gateway/legacy_sessions.h"
#include "gateway/postgres_primary.h"
#include "gateway/replayer.h"

namespace cutover::gateway {

// What a write did, for the answer.
struct WriteOutcome {
  uint64_t journal_seq = 0;  // the journal's number for it; 0 when not journaled (stage legacy)
  int64_t version = 0;       // the primary's version of the state written
  bool deleted = false;      // the key holds nothing now
  std::string state;         // the record as read back (the legacy store's document); "" if deleted
  // Seconds each part took, -1 when not done: the legacy write with its
  // read-back, and the journal append with its group commit.
  double legacy_seconds = -1;
  double postgres_seconds = -1;
  double journal_seconds = -1;
  // Where the write went: the primary store, and the secondary (journaled
  // for the replayer), if the stage has one.
  control::WritePolicy policy;
};

// WritePath design
//
// While the legacy store is primary (dual_write, shadow, rollout), a write:
//   1. takes the key's lock (KeyLocks), so writes to one key through this
//      process are applied one after another in every store;
//   2. writes the record to the legacy store (a Redis key replaced whole,
//      with its expiry, in one MULTI/EXEC; a JSON file replaced atomically,
//      in a group commit with other requests' writes). A failure here is the
//      client's error and nothing else happened;
//   3. reads the key back: the state and its version (Redis's clock at the
//      read) are exactly what a backfill or a sync would read, so
//      PostgreSQL gets the same rows whichever of them lands it, and the
//      version orders it against theirs (catalog/key_versions.h). Redis
//      reads it inside the write's own MULTI/EXEC (Writer::ReadBackWrites),
//      so no other client's command falls between and the answer waits for
//      one round trip, not three; a collection too big for one page is read
//      after, with the store's key reader (another gateway's write in
//      between is read too, with a later version: both stores still end at
//      Redis's state).
//      A JSON file or a Parquet archive has no other writer (one process
//      holds its lock), so the state is the record written, and the version
//      is the writer's clock after the replace or the new file
//      (stores/json/json_file_committer.h, stores/duckdb/parquet_archive.h).
//      An IoTDB point is spelled from the value written, as a read would
//      spell it, versioned by the gateway's clock after the write; a FLOAT,
//      a series IoTDB has not confirmed the type of, or a document naming
//      another point is read back (stores/iotdb/iotdb_writer.cc);
//   4. appends that state to the journal and waits for its group commit
//      (the writes of one batch request each append under their key's lock,
//      so the journal keeps every key's order, and wait once, for the
//      last of them, before any of them is answered);
//   5. answers, and wakes the replayer, which lands the journal's states in
//      PostgreSQL in batches, in order per key (replayer.h). PostgreSQL is
//      never on the answer's path: its speed and its outages change how far
//      it lags, not what the client waits for or whether the write stands.
// A crash after 2 and before 4 loses no acknowledged write (none was
// acknowledged) and leaves Redis ahead of PostgreSQL, as any write the
// application made straight to Redis would: a sync or verify finds it. After
// 4 the journal holds it until PostgreSQL has it.
//
// From `primary` on the order reverses: under the key's lock the write goes
// to PostgreSQL first (postgres_primary.h: a per-key advisory lock across
// processes, PostgreSQL's clock as the version, the state mapped as a read
// of the legacy store would map it); then, in `primary`, the state is
// journaled owed to the legacy store and answered, and the replayer writes
// it back whole (legacy_secondary.h). In `complete` PostgreSQL alone takes
// it. A crash before the journal append loses no acknowledged write and
// leaves PostgreSQL ahead of legacy, which from `primary` on is the
// direction rollback repairs; after the append the journal holds it until
// legacy has it. A change (an increment) is read, applied and written under
// the advisory lock, so it is never lost between gateways, and what is
// journaled is again the state, never the change.
class WritePath {
 public:
  // Every pointer must outlive the WritePath.
  WritePath(Journal* journal, KeyLocks* locks, Replayer* replayer, LegacySessions* legacy,
            PostgresPrimary* postgres);

  // `document` is the record as the legacy store's writer takes it (a Redis
  // key: {"$value": ..., "$expires_at_ms": ...}); `key` the store's key.
  // kInvalidArgument for an entity the gateway does not write.
  //
  // With `batch`, the write's journal append is queued and not waited for
  // (Journal::Enqueue): the write is not durable, and must not be answered,
  // until AwaitBatch(*batch) succeeded, which waits once for every write of
  // the batch (a bulk writer's request pays for one group commit, not one
  // per write).
  struct Batch {
    uint64_t last_seq = 0;  // the last journal append queued
  };
  Result<WriteOutcome> Put(control::Stage stage, const std::string& entity, const std::string& key,
                           const std::string& document, Batch* batch = nullptr);
  Result<WriteOutcome> Delete(control::Stage stage, const std::string& entity,
                              const std::string& key, Batch* batch = nullptr);
  // A change the legacy store applies in place (store::Writer::Modify: an
  // increment, fields set). Not idempotent, so never retried: what is
  // journaled is the state read back after it, never the change, and a
  // replay cannot apply it twice. An error from the legacy store may leave
  // the change applied or not; the client is told so.
  Result<WriteOutcome> Modify(control::Stage stage, const std::string& entity,
                              const std::string& key, const std::string& change,
                              Batch* batch = nullptr);

  // Returns once every write of `batch` is durable (then they may be
  // answered), or the journal's error, for all of them.
  Status AwaitBatch(const Batch& batch);

  enum class Op { kPut, kDelete, kModify };
  struct Item {
    Op op = Op::kPut;
    std::string key;
    std::string payload;  // the document of a put, the change of a modify
  };
  // The writes of one batch request to one entity, each item's outcome in
  // its place, queued in `batch` as the single writes are. While the legacy
  // store is primary and no key repeats, they are applied together: every
  // key's lock taken (in one order, so two batches cannot deadlock), every
  // write staged and flushed to the legacy store at once (one pipelined
  // round trip per master, each key still its own MULTI/EXEC), every key
  // read back at once, then each journaled under its lock. A write the
  // writer refuses is that item's error, and nothing of it is flushed. A
  // failed flush fails every item of it (none is acknowledged); where it
  // may have landed in part (Writer::MayLandInPart: Redis, IoTDB), the keys
  // are read back and their states journaled all the same, so PostgreSQL
  // follows what the store holds.
  // Otherwise (PostgreSQL first, or a key written twice) they go one by one.
  std::vector<Result<WriteOutcome>> WriteMany(control::Stage stage, const std::string& entity,
                                              const std::vector<Item>& items, Batch* batch);

 private:
  Result<WriteOutcome> Write(control::Stage stage, const std::string& entity,
                             const std::string& key, Op op, const std::string& payload,
                             Batch* batch);
  // The legacy store first, for one write or WriteMany's together; the keys'
  // locks are held.
  std::vector<Result<WriteOutcome>> WriteLegacyFirstTogether(const std::string& entity,
                                                             const std::vector<Item>& items,
                                                             control::WritePolicy policy,
                                                             Batch* batch);
  Result<WriteOutcome> WritePostgresFirst(const std::string& entity, const std::string& key, Op op,
                                          const std::string& payload, WriteOutcome out,
                                          Batch* batch);
  // After the legacy store took the write (`out.legacy_seconds` set): the
  // answer's figures, then steps 4 and 5 if the stage has a secondary.
  Result<WriteOutcome> Finish(JournalRecord record, WriteOutcome out, Batch* batch);
  // Steps 4 and 5 of either order: `record` made durable (or queued, for a
  // batch), the replayer woken.
  Status JournalAndWake(JournalRecord record, WriteOutcome* out, Batch* batch);

  Journal* const journal_;
  KeyLocks* const locks_;
  Replayer* const replayer_;
  LegacySessions* const legacy_;
  PostgresPrimary* const postgres_;
};

}  // namespace cutover::gateway
