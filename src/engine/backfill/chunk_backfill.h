// The chunked backfill of one entity as a class, for the files that hold its
// parts: chunk_backfill_runner.cc (ledger, workers) and bulk_load.cc.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/ledger.h"
#include "engine/backfill/backfill_context.h"
#include "engine/backfill/entity_run.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/write_path.h"
#include "map/columnar_mapper.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// Internal to engine/backfill: others make one with MakeChunkedEntityRun.
// Used from one thread, which starts the workers (RunWorker) and joins them;
// the members workers share are marked below.
class ChunkBackfill : public EntityRun {
 public:
  ChunkBackfill(const BackfillContext& shared, const spec::EntitySpec& entity)
      : shared_(shared),
        migration_(*shared.migration),
        request_(*shared.request),
        entity_(entity),
        jobs_(request_.jobs > 0 ? request_.jobs : DefaultJobs()) {}

  Status Prepare() override;
  Status Run(bool* stopped_on_rejects) override;
  std::vector<TableSummary> Summaries() const override;
  bool done() const override { return ledger_.exists && ledger_.done; }
  Status ResetLedgers() override;

 private:
  struct Worker {
    int index = 0;
    std::string name;
    std::unique_ptr<pg_store::PgConnection> conn;
    std::unique_ptr<pg_store::MergeWriter> writer;
    std::unique_ptr<map::ColumnarMapper> mapper;
  };
  struct ChunkCounts {
    int64_t read = 0;
    int64_t merged = 0;
    int64_t rejected = 0;
  };

  pg_store::PgConnection* conn() { return shared_.conn->get(); }
  // Runs `step` on the coordinating connection, reconnecting and running it
  // again through an outage (see "Faults").
  Status Control(std::string_view what, const std::function<Status()>& step) {
    return RetryStep(shared_.conn, shared_.url, request_.retry_for, what, step);
  }
  Status PlanLedger(const std::vector<store::ChunkRef>& chunks);
  // Whether this run may start or join an index-free load (see "Bulk mode");
  // call after SkipSupersededRows.
  Result<bool> MayBulkLoad();
  // Chunks in the ledger for this entity, done or not.
  Result<int64_t> PlannedChunks();
  // Tells the source to skip rows that a later row with the same key
  // supersedes, when it can (keys_unique_).
  Status SkipSupersededRows();
  // Inside PlanLedger's transaction: decides bulk_ for this process.
  Status DecideBulk(bool fresh, bool may_bulk);
  Status RunWorker(int index);
  enum class Step { kWorked, kWait, kFinished };
  // One step of a worker: a chunk loaded, or one deferred definition rebuilt
  // (kWorked); nothing to do until other workers finish theirs (kWait); the
  // entity is loaded and, in bulk mode, rebuilt (kFinished).
  Result<Step> WorkerStep(Worker* w);
  // Claims and loads one chunk; false when none is claimable.
  Result<bool> LoadOneChunk(Worker* w);
  Result<int64_t> PendingChunks(pg_store::PgConnection* c);
  Status RunDry();
  void Progress(int64_t rows);

  const BackfillContext& shared_;
  const spec::MigrationSpec& migration_;
  const BackfillRequest& request_;
  const spec::EntitySpec& entity_;
  const int jobs_;

  // Set by Prepare/Run on the calling thread, read-only while workers run.
  pg_store::TableShape shape_;
  std::vector<pg_store::TableShape> dimension_shapes_;
  std::vector<const spec::EntitySpec*> dimensions_;
  std::string location_;
  catalog::LedgerEntry ledger_;
  std::unique_ptr<store::ChunkedSource> source_;
  std::map<std::string, store::ChunkRef> chunks_by_id_;
  std::unique_ptr<LookupResolver> resolver_;  // thread-safe
  bool direct_copy_ = false;
  bool deferred_at_start_ = false;  // a bulk load of an earlier run is unfinished
  bool bulk_ = false;               // this run appends index-free (see "Bulk mode")
  bool keys_unique_ = false;        // the source yields each key once
  bool exact_types_ = true;         // every column has the type the spec's encodes
  // No chunk was done and the table was empty when this process started, so
  // every row it holds at the end is this run's (see superseded_known_).
  bool started_empty_ = false;
  // rows_merged is the rows stored, so read - merged - rejected is exactly
  // the superseded rows: the source skipped them (keys_unique_), or the
  // table's row count at the end (started_empty_) told them.
  bool superseded_known_ = false;
  std::string keys_unique_why_not_;
  int64_t planned_rows_ = 0;
  int64_t rejects_before_ = 0;  // in chunks done before this process started
  RunState state_ = RunState::kDone;
  double seconds_ = 0;
  std::vector<int64_t> dimension_rows_;  // after the load, per dimensions_
  TableSummary dry_;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rows_done_{0};
  std::atomic<int64_t> rejects_here_{0};
  std::mutex mu_;  // guards the reject sink, progress_ and dry_
  std::unique_ptr<ProgressReporter> progress_;
};

}  // namespace cutover::engine
