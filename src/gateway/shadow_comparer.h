// ShadowComparer: compares, off the request path, what a legacy read answered
// with what PostgreSQL holds for the key, and counts and logs each mismatch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/journal.h"
#include "gateway/legacy_sessions.h"
#include "gateway/postgres_reader.h"
#include "gateway/read_tally.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "store/store.h"

namespace cutover::gateway {

struct ShadowMismatch {
  std::string entity;
  std::string key;  // keys only: a mismatch is never logged with row data
  std::string at;   // ISO 8601 UTC
};

struct ShadowStats {
  int64_t compared = 0;                // comparisons made, matches and mismatches
  int64_t mismatched = 0;              // of those, the stores differed (after a second look)
  int64_t in_flight = 0;               // skipped: the journal still owed the key to PostgreSQL
  int64_t failed = 0;                  // skipped: PostgreSQL did not answer in time, or erred
  int64_t dropped = 0;                 // skipped: the queue was full
  std::vector<ShadowMismatch> recent;  // the newest mismatches, newest last
};

// ShadowComparer design
//
// A shadow read answers from legacy at once and hands the record it read
// to this comparer's one thread (at a lower CPU priority than the request
// threads), through a bounded queue: a queue that is
// full drops the comparison (counted), so shadow reads never slow the
// answers or grow memory. The thread lets reads gather for up to 50 ms,
// takes up to 256 of them, and reads PostgreSQL's rows for them in one
// statement per entity, so the comparisons cost PostgreSQL one query per
// batch, not one per read. The thread maps the
// legacy record as a backfill would and compares its row digest with PostgreSQL's row for the key.
// A difference is not yet a mismatch, since the stores may simply be
// moments apart: a key the local journal still owes to PostgreSQL is
// skipped as in flight, and otherwise both stores are read again and only a
// difference that is still there counts, logged by entity and key. Counts
// go to the ReadTally, from which the stage guards take the mismatch rate.
class ShadowComparer {
 public:
  struct Options {
    size_t queue_limit = 10000;
    size_t recent_limit = 100;
  };

  // Every pointer must outlive the comparer.
  static Result<std::unique_ptr<ShadowComparer>> Create(
      std::shared_ptr<const spec::MigrationSpec> migration,
      const std::vector<std::string>& entities, LegacySessions* legacy, PostgresReader* postgres,
      const Journal* journal, ReadTally* tally, Options options);
  ~ShadowComparer();  // stops the thread; queued comparisons are dropped

  void Start();
  void Stop();

  // Queues a comparison of `legacy_read` (the key's record as the legacy
  // store answered, or no record) with PostgreSQL.
  void Submit(const std::string& entity, const std::string& key, store::StoreBatch legacy_read);

  ShadowStats stats() const;

  // Blocks until the queue is empty and the thread idle, or `timeout` passes;
  // true if drained (tests and shutdown).
  bool WaitIdle(std::chrono::milliseconds timeout) const;

 private:
  struct Job {
    std::string entity;
    std::string key;
    store::StoreBatch legacy;
  };
  enum class Verdict { kMatch, kMismatch, kInFlight, kFailed };

  ShadowComparer() = default;
  void Run();
  // Verdicts for `jobs` (one entity's): PostgreSQL read once for all of them,
  // a second look for each that differs.
  std::vector<Verdict> CompareAll(const std::vector<Job*>& jobs);
  // Both stores read again for one key.
  Verdict SecondLook(const Job& job);
  void Record(const Job& job, Verdict verdict);
  // The digest of the legacy record in `read` (0 rows: none).
  Result<std::optional<uint64_t>> LegacyDigest(const std::string& entity,
                                               const store::StoreBatch& read);

  std::shared_ptr<const spec::MigrationSpec> migration_;
  LegacySessions* legacy_ = nullptr;
  PostgresReader* postgres_ = nullptr;
  const Journal* journal_ = nullptr;
  ReadTally* tally_ = nullptr;
  Options options_;
  std::map<std::string, std::unique_ptr<map::RecordMapper>> mappers_;  // the thread's own
  map::MappedBatch mapped_;                                            // the thread's own

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::deque<Job> queue_;  // guarded by mu_
  bool busy_ = false;      // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  ShadowStats stats_;      // guarded by mu_
  std::thread thread_;
};

}  // namespace cutover::gateway
