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

#include "common/status.h"
#include "gateway/journal.h"
#include "gateway/key_locks.h"

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
};

struct ReplayOptions {
  size_t batch = 1000;  // owed writes read per pass
  std::chrono::milliseconds first_backoff{50};
  std::chrono::milliseconds max_backoff{5000};
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
// costs one write when it is back). A key whose landing fails keeps all its
// writes owed, so nothing newer of it lands before them.
//
// The write path lands writes itself when the journal owes nothing for
// their key. Both hold the key's lock (KeyLocks) around the secondary write
// and the landed mark, and the write path checks Journal::Owes under it: so
// an older state never lands after a newer one from either side.
//
// After a pass with a failure the next waits first_backoff, doubling to
// max_backoff; a pass without one resets it. Wake() starts a pass early
// unless the replayer is backing off.
class Replayer {
 public:
  Replayer(Journal* journal, KeyLocks* locks, std::map<OwedTo, SecondaryStore*> stores,
           ReplayOptions options = {});
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
  KeyLocks* const locks_;
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
