// Replayer: lands the journal's owed writes in the secondary store, the
// newest state of each key, in order per key, backing off while it is down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "gateway/journal.h"

namespace cutover::gateway {

// A secondary store as the replayer writes it: keyed and idempotent, so a
// state put twice, or put after a newer one of the key landed through
// another path that checks versions, leaves the store as it was.
class SecondaryStore {
 public:
  virtual ~SecondaryStore() = default;
  // Puts `record`'s state (or its deletion) in place of the key's.
  // kUnavailable: the store is down, try again later. Any other error: the
  // store refuses this state; it stays owed, counted and logged.
  virtual Status Apply(const JournalRecord& record) = 0;

  // Puts every record's state in place, one record per key, all or none of
  // them as far as the store can (PostgreSQL: one transaction per entity).
  // The default applies them one by one; each is idempotent, so a failed
  // batch applied again leaves nothing wrong.
  virtual Status ApplyBatch(const std::vector<const JournalRecord*>& records) {
    for (const JournalRecord* r : records) RETURN_IF_ERROR(Apply(*r));
    return Status::Ok();
  }
};

struct ReplayOptions {
  size_t batch = 1000;       // owed writes read per pass
  size_t apply_batch = 500;  // keys per ApplyBatch (one transaction)
  std::chrono::milliseconds first_backoff{50};
  std::chrono::milliseconds max_backoff{5000};
  // Woken, it waits this long before a pass, so that a steady stream of
  // writes lands in batches (one PostgreSQL transaction, one WAL flush, for
  // many) instead of a pass per write, whose CPU and fsyncs the write path
  // competes with on a small machine. It adds at most this to the lag.
  std::chrono::milliseconds gather{10};
};

struct ReplayStats {
  uint64_t passes = 0;
  uint64_t applied = 0;    // states put in the secondary
  uint64_t landed = 0;     // journal writes marked landed (coalesced ones too)
  uint64_t failures = 0;   // applies that failed
  std::string last_error;  // names the entity and key, never the state
};

// What one pass did.
struct ReplayPass {
  size_t owed_seen = 0;
  size_t applied = 0;
  size_t landed = 0;
  size_t failed = 0;
};

// Replayer design
//
// A pass reads the oldest owed writes and groups them by (store, entity,
// key). Journal records are whole states, so only a key's newest owed state
// needs landing: once it has, every older owed write of the key is landed
// too (coalescing: a key written a thousand times while PostgreSQL was down
// costs one write when it is back). The newest states go to the store in
// batches of apply_batch keys, one transaction each; a batch that fails for
// another reason than the store being down is retried key by key, so one
// state the store refuses does not hold back the others. A key whose landing
// fails keeps all its writes owed, so nothing newer of it lands before them.
//
// The replayer is the only writer of the secondary for journaled writes, and
// one pass runs at a time: a key's states land in journal order.
//
// After a pass with a failure the next waits first_backoff, doubling to
// max_backoff; a pass without one resets it. Wake() starts a pass early,
// `gather` later so that the writes arriving meanwhile join it, unless the
// replayer is backing off.
class Replayer {
 public:
  Replayer(Journal* journal, std::map<OwedTo, SecondaryStore*> stores, ReplayOptions options = {});
  ~Replayer();  // Stop()s

  void Start();  // runs passes on a thread of its own
  void Stop();
  void Wake();

  // One pass, on the caller's thread (the background thread calls this).
  Result<ReplayPass> RunOnce();

  ReplayStats stats() const;

 private:
  void Loop();

  Journal* const journal_;
  const std::map<OwedTo, SecondaryStore*> stores_;
  const ReplayOptions options_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool woken_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  ReplayStats stats_;      // guarded by mu_
  std::mutex pass_mu_;     // one pass at a time
  std::thread thread_;
};

}  // namespace cutover::gateway
