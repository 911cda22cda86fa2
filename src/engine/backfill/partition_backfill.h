// The backfill of one entity from any store, as a class, for the files that
// hold its parts: partition_backfill.cc (ledger, workers) and bulk_load.cc.
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
#include "engine/core/batch_pipeline.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/write_path.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// Internal to engine/backfill: others make one with MakePartitionBackfill.
// Used from one thread, which starts the workers (RunWorker) and joins them;
// the members workers share are marked below.
class PartitionBackfill : public EntityRun {
 public:
  PartitionBackfill(const BackfillContext& shared, const spec::EntitySpec& entity);

  Status Prepare() override;
  Status Run(bool* stopped_on_rejects) override;
  std::vector<TableSummary> Summaries() const override;
  bool done() const override { return tables_[0].ledger.exists && tables_[0].ledger.done; }
  Status ResetLedgers() override;
  Result<bool> MayRunBeside() override;
  const spec::EntitySpec* ReadsSourceAs() const override { return &entity_; }
  void ReadThrough(std::shared_ptr<store::SharedPass> pass) override { pass_ = std::move(pass); }
  Status UseOwnConnection() override {
    control_ = &own_conn_;
    return Control("connecting for " + entity_.name, [] { return Status::Ok(); });
  }

 private:
  // The entity's table, or one of its children's (a JSON record's nested
  // lists), in the mapper's order: parents before children.
  struct Table {
    const spec::EntitySpec* entity = nullptr;
    pg_store::TableShape shape;
    catalog::LedgerEntry ledger;
    bool exact_types = true;     // every column has the type the spec's encodes
    bool direct_copy = false;    // this run tries the direct COPY (see Run)
    bool started_empty = false;  // empty, and nothing done, when this process started
    bool superseded_known = false;
  };
  struct Worker;
  enum class Step { kWorked, kWait, kFinished };

  pg_store::PgConnection* conn() { return control_->get(); }
  // Runs `step` on the coordinating connection, reconnecting and running it
  // again through an outage (see "Faults").
  Status Control(std::string_view what, const std::function<Status()>& step) {
    return pg_store::RunWithRetry(control_, shared_.url, request_.retry_for, what, step);
  }
  // `live`: a run that writes PostgreSQL, which reads the stage (a dry run
  // reads none).
  Status OpenStore(bool live);
  Status PlanLedger(const std::vector<store::Partition>& partitions);
  Status ReloadLedgers();
  // Fresh ledger entries for every table and no partition: the next Run
  // starts from each partition's first record. Inside the caller's transaction.
  Status ForgetProgress();
  // Whether this run may start or join an index-free load (see "Bulk mode");
  // call after SkipSupersededRows.
  Result<bool> MayBulkLoad();
  // Tells the store to skip rows that a later row with the same key
  // supersedes, when it can (keys_unique_).
  Status SkipSupersededRows();
  // Inside PlanLedger's transaction: decides bulk_ for this process.
  // Sets child tables' foreign keys aside at stage legacy (bulk_load.cc).
  Status DeferChildForeignKeys();
  // Whether child table `t`'s key may be set aside in a bulk load.
  bool ChildKeyMayWait(size_t t) const;
  Status DecideBulk(bool fresh, bool may_bulk);
  Status RunWorker(int index);
  // One step of a worker: a checkpoint of a partition committed, or one
  // deferred definition rebuilt (kWorked); nothing to do until other workers
  // finish theirs (kWait); the entity is loaded and, in bulk mode, rebuilt
  // (kFinished).
  Result<Step> WorkerStep(Worker* w);
  // Claims a partition and loads it up to its next checkpoint; false when
  // none is claimable.
  Result<bool> LoadToCheckpoint(Worker* w);
  // For a versioned store's batch, per record whether its state is the
  // newest written for its key (catalog::ClaimKeyVersions); empty otherwise.
  Result<std::vector<bool>> ClaimNewest(Worker* w, const store::StoreBatch& in);
  Status FinishLoad();
  Status RunDry();
  void Progress(int64_t records, int64_t units);

  const BackfillContext& shared_;
  const spec::MigrationSpec& migration_;
  const BackfillRequest& request_;
  const spec::EntitySpec& entity_;
  const int jobs_;
  // The coordinating connection: the command's, or own_conn_ once the entity
  // runs beside others.
  std::unique_ptr<pg_store::PgConnection>* control_;
  std::unique_ptr<pg_store::PgConnection> own_conn_;

  // Set by Prepare/Run on the calling thread, read-only while workers run.
  std::vector<Table> tables_;
  std::vector<pg_store::TableShape> dimension_shapes_;
  std::vector<const spec::EntitySpec*> dimensions_;
  std::string location_;
  std::unique_ptr<store::Store> store_;      // its SnapshotReader is thread-safe
  std::shared_ptr<store::SharedPass> pass_;  // read beside other entities; null: alone
  store::RecordShape record_shape_ = store::RecordShape::kColumns;
  std::map<std::string, store::Partition> partitions_by_id_;
  std::unique_ptr<LookupResolver> resolver_;  // thread-safe
  bool deferred_at_start_ = false;            // a bulk load of an earlier run is unfinished
  bool bulk_ = false;                         // this run appends index-free (see "Bulk mode")
  // Definitions set aside (a bulk load's, or only child foreign keys) are
  // rebuilt by the workers once no partition is pending.
  bool rebuild_deferred_ = false;
  bool keys_unique_ = false;  // the store yields each key once
  // A versioned store's claims let each source key through once in a bulk
  // load, its first claim winning (see "Bulk mode of a versioned store").
  bool claims_once_ = false;
  // In a bulk load, no claims at all: the key's rebuild keeps a repeated
  // key's last row, and sync finds the rows no claim names (see there).
  bool claim_free_ = false;
  // Per table: a child table whose key a bulk load sets aside, its rows
  // repeating a key refused by the write path ("Child keys set aside").
  std::vector<bool> child_key_aside_;
  std::string keys_unique_why_not_;
  bool progress_in_bytes_ = false;  // partitions' record counts unknown, sizes known
  // The ledger's counts move with each checkpoint (a document store), or are
  // summed from the partitions at the end (see the design note).
  bool ledger_each_checkpoint_ = true;
  int64_t rejects_before_ = 0;  // the entity's, committed before this process started
  RunState state_ = RunState::kDone;
  double seconds_ = 0;
  std::vector<int64_t> dimension_rows_;  // after the load, per dimensions_
  std::vector<map::TableCounts> dry_counts_;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rejects_here_{0};
  std::mutex mu_;  // guards the reject sink, progress_, dry_counts_ and records_done_
  int64_t records_done_ = 0;
  int64_t units_done_ = 0;
  std::unique_ptr<ProgressReporter> progress_;
};

// The backfill of one top-level entity with a source, and of its child
// tables (see the design note in the .cc file). `context` must outlive it.
std::unique_ptr<EntityRun> MakePartitionBackfill(const BackfillContext& context,
                                                 const spec::EntitySpec& entity);

}  // namespace cutover::engine
