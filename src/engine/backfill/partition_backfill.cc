// The backfill of one entity from any store: its partition ledger, the
// workers that claim partitions and checkpoint them, and the finish.
#include "engine/backfill/partition_backfill.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <numeric>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "catalog/deferred_ddl.h"
#include "catalog/key_versions.h"
#include "catalog/ledger.h"
#include "catalog/own_writes.h"
#include "catalog/partition_ledger.h"
#include "catalog/rejects.h"
#include "catalog/rollup_ddl.h"
#include "catalog/stage.h"
#include "catalog/table_ddl.h"
#include "common/failpoint.h"
#include "engine/backfill/lookup_dimension_run.h"
#include "engine/backfill/reject_limits.h"
#include "engine/core/child_replacer.h"
#include "engine/core/entity_plan.h"
#include "engine/core/post_load.h"
#include "engine/core/source_factory.h"
#include "engine/core/source_schema_check.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {

// Partition backfill design
//
// One runner for every store. The store's SnapshotReader plans partitions
// (a JSON file, a run of a Parquet file's row groups, later a Redis node or
// an IoTDB device's time window), one row each in cutover.backfill_partitions,
// inserted with ON CONFLICT DO NOTHING under an advisory lock: every process
// planning the same data agrees on the same rows, and a resumed run finds
// what is done. Each row keeps the store's cursor: where the partition's
// next unread record starts, as an opaque token only the adapter reads.
//
// A worker owns one connection and repeats, in ONE transaction:
//   claim:      UPDATE ... SET worker = me WHERE partition_id =
//                 (SELECT ... WHERE state = 'pending' ORDER BY (the one it
//                  has open) first, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
//   load:       batches from the claimed cursor on, each mapped and merged
//               into every table of the entity (parents first, so foreign
//               keys hold), its rejects into cutover.rejects
//   checkpoint: the partition's cursor moved past the last batch, its
//               counts, 'done' at its end; for a document store, each
//               table's ledger entry incremented by what the batches added
//   COMMIT
// The claim's row lock is held until COMMIT, so no other worker, in this
// process or another, loads the partition meanwhile (SKIP LOCKED passes over
// it), and the rows, rejects, cursor and counts commit together. A crash
// before COMMIT rolls all of them back and releases the lock: the next claim
// (a survivor or a rerun) resumes at the committed cursor. Since merges are
// upserts on the key, even batches redone after an ambiguous COMMIT write
// each key once. Hence no row lost, none doubled, and per entity
// read = merged + rejected + superseded.
//
// Where the checkpoint falls: a partition whose size the store knows (a
// Parquet row-group run, a CSV row range: seconds of work) is one
// transaction, so "done" means "every row merged" with no partial state; a
// partition of unknown size (a JSON file of any length) is checkpointed
// after every batch, so a crash redoes at most one batch. Between two
// checkpoints the worker keeps its reader and re-claims the same partition
// first; should another worker have taken it meanwhile (its lock was free
// between the two transactions), the claim returns another one, and the
// worker reopens at whatever cursor the ledger holds.
//
// Records of one store are loaded in the order they come, one worker, when
// the order decides the result: a document store's later record with a key
// replaces an earlier one, as it would in the application. Stores of
// columns resolve repeated keys themselves (SourceDedup) or by the merge's
// keep_last_by, so their partitions are shared by --jobs workers. Their
// entity has one table, whose ledger counts are the sums of its partitions'
// (written when the load ends), so that the workers' commits never queue on
// one ledger row: each commit flushes a partition's rows, and waiting for
// another's would serialize them.
//
// A worker that finds nothing to claim while partitions are still pending
// (held by workers of another process) polls until they are done or released
// (a killed process's transaction aborts when its connection drops, and the
// partition is claimable again), so every process returns only when the whole
// entity is loaded, and can then build indexes on a complete table.
//
// Bulk mode (a first load into an empty table, index-free) has its design
// note in bulk_load.cc, beside the code that decides it.
//
// Faults. Each step of a worker (a checkpoint, a poll, one rebuilt
// definition) and each step of the coordinating connection (planning, the
// ledger, the post-load work) is a transaction or safe to repeat. A deadlock
// (40P01) between workers upserting overlapping keys in different orders, a
// serialization failure (40001), a lost connection or a restarted server
// rolls the step back, reconnects when needed (recreating the staging
// tables, which live in the session), drops the worker's reader (its
// read-ahead was lost with the transaction), and runs the step again, within
// --retry-for per streak of failures (pg_store::RunWithRetry, stores/postgres/retry.h).
// Any other error (a broken source, an index that cannot be built) stops the
// run at once with its cause; what a bulk load set aside stays recorded in
// cutover.deferred_ddl, so a rerun finishes it.

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);

std::string WorkerName(int index) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}:{}:{}", host, getpid(), index);
}

}  // namespace

// A worker's connection, writers and mapper, and the partition it has open.
struct PartitionBackfill::Worker {
  int index = 0;
  std::string name;
  std::unique_ptr<pg_store::PgConnection> conn;
  std::vector<std::unique_ptr<pg_store::MergeWriter>> writers;  // per table
  std::unique_ptr<map::RecordMapper> mapper;
  // The partition open for reading and the committed cursor its reader
  // continues from; empty id when none is open.
  std::string open_id;
  std::string open_cursor;
  // Per partition, the progress units (bytes) this worker counted, so that
  // reopening one (after a retry, or after another process took it a while)
  // never counts a byte twice.
  std::map<std::string, int64_t> counted_units;
  std::unique_ptr<store::BatchReader> reader;
  std::unique_ptr<BatchPipeline> pipeline;
  // A versioned store's key claims: by COPY first, as most keys of a
  // backfill were never claimed (catalog/key_versions.h).
  catalog::ClaimStrategy claims{.copy_first = true};
  // A versioned store's key written again replaces its children: a sync or
  // the gateway may have written an older state of it with more of them.
  std::unique_ptr<ChildReplacer> children;

  void Close() {
    pipeline.reset();  // first: its thread reads through `reader`
    reader.reset();
    open_id.clear();
    open_cursor.clear();
  }
};

PartitionBackfill::PartitionBackfill(const BackfillContext& shared, const spec::EntitySpec& entity)
    : shared_(shared),
      migration_(*shared.migration),
      request_(*shared.request),
      entity_(entity),
      jobs_(request_.jobs > 0 ? request_.jobs : DefaultJobs()),
      control_(shared.conn) {
  tables_.resize(1);  // done() reads the entity's ledger before Prepare fills it
}

namespace {

Result<catalog::TableFit> CreateOrCheck(pg_store::PgConnection* conn,
                                        const pg_store::TableShape& shape, bool create,
                                        const std::string& entity, bool indexes_deferred = false) {
  if (create) RETURN_IF_ERROR(catalog::CreateTable(conn, shape));
  auto fit = catalog::CheckTable(conn, shape, indexes_deferred);
  if (!fit.ok()) return fit.status().WithContext("entity " + entity);
  return fit;
}

}  // namespace

Status PartitionBackfill::Prepare() {
  // Validates the mapping now; workers create mappers of their own.
  ASSIGN_OR_RETURN(EntityPlan plan, PlanEntity(migration_, entity_));
  ASSIGN_OR_RETURN(location_, SourceLocationOf(migration_, entity_));
  tables_.clear();
  for (PlannedTable& planned : plan.tables) {
    Table t;
    t.entity = planned.entity;
    t.shape = std::move(planned.shape);
    t.ledger.entity = t.entity->name;
    t.ledger.source = location_;
    tables_.push_back(std::move(t));
  }
  dry_counts_.assign(tables_.size(), {});
  ASSIGN_OR_RETURN(resolver_, LookupResolver::Create(migration_, entity_, shared_.url,
                                                     /*create_missing=*/true, request_.retry_for));
  dimensions_ = resolver_->Dimensions();
  for (const auto* dim : dimensions_) {
    dimension_shapes_.push_back(std::move(PlanTables(migration_, *dim)[0].shape));
  }
  if (request_.dry_run) return Status::Ok();
  return Control("preparing the tables of " + entity_.name, [&]() -> Status {
    // Dimensions first: the resolver inserts into them while facts load.
    for (size_t i = 0; i < dimensions_.size(); ++i) {
      RETURN_IF_ERROR(
          CreateOrCheck(conn(), dimension_shapes_[i], request_.create_tables, dimensions_[i]->name)
              .status());
    }
    ASSIGN_OR_RETURN(const int64_t deferred,
                     catalog::CountDeferred(conn(), migration_.name, entity_.name));
    deferred_at_start_ = deferred > 0;
    // A bulk load under way may have set aside the key of a child table as
    // well as the entity's ("Child keys set aside"); the rebuild restores it.
    for (Table& t : tables_) {
      ASSIGN_OR_RETURN(const catalog::TableFit fit,
                       CreateOrCheck(conn(), t.shape, request_.create_tables, t.entity->name,
                                     deferred_at_start_));
      t.exact_types = fit.exact();
      if (!t.exact_types) {
        spdlog::info(
            "{}: PostgreSQL casts {} from the spec's types: rows go through a staging table, "
            "never straight into the table",
            t.entity->name, fmt::join(fit.cast_columns, ", "));
      }
    }
    // Before the first row: a rollup is kept by triggers (catalog/rollup_ddl.h).
    for (const spec::RollupSpec& rollup : entity_.rollups) {
      RETURN_IF_ERROR(request_.create_tables
                          ? catalog::CreateRollup(conn(), tables_[0].shape, rollup)
                          : catalog::CheckRollup(conn(), tables_[0].shape, rollup));
    }
    return ReloadLedgers();
  });
}

Status PartitionBackfill::ReloadLedgers() {
  for (Table& t : tables_) {
    ASSIGN_OR_RETURN(t.ledger, catalog::LoadLedger(conn(), migration_.name, t.entity->name));
    t.ledger.source = location_;
  }
  return Status::Ok();
}

Status PartitionBackfill::ForgetProgress() {
  for (Table& t : tables_) {
    RETURN_IF_ERROR(catalog::ResetLedger(conn(), migration_.name, t.entity->name));
    t.ledger = catalog::LedgerEntry{.entity = t.entity->name, .source = location_};
    t.ledger.exists = true;
    RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, t.ledger));
  }
  return catalog::DeletePartitions(conn(), migration_.name, entity_.name);
}

Status PartitionBackfill::ResetLedgers() {
  if (deferred_at_start_) {
    spdlog::info("{}: finishing the index build an earlier bulk load left, before restarting",
                 entity_.name);
    RETURN_IF_ERROR(
        catalog::RebuildAllDeferred(conn(), migration_.name, entity_.name, tables_[0].shape));
    deferred_at_start_ = false;
  }
  return ForgetProgress();
}

Status PartitionBackfill::OpenStore(bool live) {
  // A JSON file's records, and a Parquet archive's rows, carry versions once
  // the gateway may write them and PostgreSQL (dual_write on), so that no
  // copied state lands over a newer write; before, nothing else writes the
  // table, and claims would only cost (the dual_write guard
  // file_backfills_finished keeps a copy started before from running on
  // after).
  bool file_versions = false;
  if (live) {
    ASSIGN_OR_RETURN(const std::optional<std::string> stage,
                     catalog::CurrentStage(conn(), migration_.name));
    file_versions = stage && *stage != "legacy";
  }
  ASSIGN_OR_RETURN(
      store_, OpenEntityStore(migration_, entity_, jobs_, file_versions, live ? pass_ : nullptr));
  store::SnapshotReader& reader = store_->snapshot();
  record_shape_ = reader.shape();
  if (record_shape_ == store::RecordShape::kColumns) {
    RETURN_IF_ERROR(CheckSourceSchema(*migration_.FindSource(entity_.source), entity_, &reader));
  }
  return Status::Ok();
}

Status PartitionBackfill::PlanLedger(const std::vector<store::Partition>& partitions) {
  ASSIGN_OR_RETURN(const bool may_bulk, MayBulkLoad());
  pg_store::Transaction tx(conn());
  RETURN_IF_ERROR(tx.status());
  auto body = [&]() -> Status {
    RETURN_IF_ERROR(catalog::LockPartitionPlan(conn(), migration_.name, entity_.name));
    ASSIGN_OR_RETURN(const int64_t planned,
                     catalog::CountPartitions(conn(), migration_.name, entity_.name));
    const bool fresh = planned == 0;
    // Nothing planned: no process is loading this entity, and whatever its
    // ledger holds (an interrupted run of a cutover that kept no partitions)
    // cannot be resumed from; merges are keyed, so reading again doubles
    // nothing.
    if (fresh) RETURN_IF_ERROR(ForgetProgress());
    RETURN_IF_ERROR(DecideBulk(fresh, may_bulk));
    std::vector<catalog::PlannedPartition> plan;
    plan.reserve(partitions.size());
    for (size_t i = 0; i < partitions.size(); ++i) {
      const auto& p = partitions[i];
      plan.push_back({p.id, static_cast<int64_t>(i), p.origin, p.records});
    }
    RETURN_IF_ERROR(catalog::InsertPartitions(conn(), migration_.name, entity_.name, plan));
    return ReloadLedgers();
  };
  Status st = body();
  if (!st.ok()) return st.WithContext("planning the partitions of " + entity_.name);
  return tx.Commit();
}

void PartitionBackfill::Progress(int64_t records, int64_t units) {
  std::lock_guard<std::mutex> lock(mu_);
  records_done_ += records;
  units_done_ += units;
  if (progress_) progress_->Update(records_done_, progress_in_bytes_ ? units_done_ : records_done_);
}

Result<std::vector<bool>> PartitionBackfill::ClaimNewest(Worker* w, const store::StoreBatch& in) {
  if (in.versions.empty() || (bulk_ && claim_free_)) return std::vector<bool>();
  std::vector<catalog::KeyVersion> items(in.versions.size());
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].key = in.source_keys[i];
    items[i].version = in.versions[i];
  }
  ASSIGN_OR_RETURN(
      std::vector<bool> won,
      catalog::ClaimKeyVersions(w->conn.get(), migration_.name, entity_.name, items, &w->claims));
  if (in.repeats_share_claim) {
    // Every occurrence of a key follows its claim, as every one would land
    // without versions.
    std::unordered_map<std::string_view, bool> key_won;
    for (size_t i = 0; i < items.size(); ++i)
      key_won[items[i].key] = key_won[items[i].key] || won[i];
    for (size_t i = 0; i < items.size(); ++i) won[i] = key_won[items[i].key];
  }
  return won;
}

Result<bool> PartitionBackfill::LoadToCheckpoint(Worker* w) {
  pg_store::PgConnection* c = w->conn.get();
  pg_store::Transaction tx(c);
  RETURN_IF_ERROR(tx.status());
  RETURN_IF_ERROR(catalog::MarkOwnWrite(c));
  ASSIGN_OR_RETURN(auto claimed,
                   catalog::ClaimPartition(c, migration_.name, entity_.name, w->name, w->open_id));
  if (!claimed) {
    RETURN_IF_ERROR(tx.Commit());
    w->Close();
    return false;
  }
  auto it = partitions_by_id_.find(claimed->partition_id);
  if (it == partitions_by_id_.end()) {
    return FailedPrecondition(fmt::format(
        "partition {} is in the ledger but the source no longer has it: the data changed during "
        "the run; run again with --restart",
        claimed->partition_id));
  }
  const store::Partition& partition = it->second;
  FailPoint("backfill.after_claim");
  if (w->pipeline == nullptr || w->open_id != partition.id || w->open_cursor != claimed->cursor) {
    w->Close();
    ASSIGN_OR_RETURN(w->reader, store_->snapshot().Open(partition, store::Cursor{claimed->cursor}));
    w->pipeline = std::make_unique<BatchPipeline>(w->reader.get(), w->mapper.get(),
                                                  static_cast<size_t>(shared_.batch_size));
    w->open_id = partition.id;
    w->open_cursor = claimed->cursor;
  }

  // A partition of unknown size is checkpointed after every batch (see
  // "Where the checkpoint falls").
  const bool checkpoint_each_batch = partition.records < 0;
  std::vector<catalog::LedgerDelta> added(tables_.size());
  std::vector<Reject> rejects;
  std::string cursor = claimed->cursor;
  bool at_end = false;
  bool wrote = false;
  // Progress is reported once the checkpoint commits: a step that fails and
  // runs again must not count its records twice.
  int64_t progress_records = 0;
  int64_t units_seen = w->counted_units[partition.id];
  for (;;) {
    ASSIGN_OR_RETURN(MappedWork * work, w->pipeline->Next());
    if (work == nullptr) {
      at_end = true;
      break;
    }
    RETURN_IF_ERROR(resolver_->Resolve(&work->mapped));
    const map::MappedBatch& mapped = work->mapped;
    rejects.insert(rejects.end(), mapped.rejects.begin(), mapped.rejects.end());
    // A versioned store (Redis; a JSON file or Parquet archive the gateway
    // writes): a record whose key a sync or the gateway already wrote in a
    // newer state is left out (catalog/key_versions.h); it counts as
    // superseded, read but neither merged nor rejected.
    ASSIGN_OR_RETURN(const std::vector<bool> newest, ClaimNewest(w, work->in));
    // Keys claimed for the first time have no rows yet, hence no children.
    // A bulk load's claim wins only a key nobody claimed, which has no rows.
    if (w->children != nullptr && !w->claims.last_copied && !bulk_) {
      std::vector<uint32_t> parents;
      for (uint32_t r = 0; r < mapped.tables[0].num_rows(); ++r) {
        if (newest.empty() || newest[mapped.origins[0][r].record]) parents.push_back(r);
      }
      RETURN_IF_ERROR(w->children->DeleteChildrenOf(c, mapped.tables[0], parents));
    }
    std::vector<bool> refused_parents(work->in.size(), false);
    for (size_t t = 0; t < tables_.size(); ++t) {
      std::vector<uint32_t> rows;
      rows.reserve(mapped.tables[t].num_rows());
      for (uint32_t r = 0; r < mapped.tables[t].num_rows(); ++r) {
        if (newest.empty() || newest[mapped.origins[t][r].record]) rows.push_back(r);
      }
      const size_t refused_before = rejects.size();
      const TableWrite target{
          .writer = w->writers[t].get(),
          .mode = bulk_ ? WriteMode::kAppend : WriteMode::kMerge,
          .in = &work->in,
          .mapped = &mapped,
          .table = t,
          .mapper = w->mapper.get(),
          .entity = tables_[t].entity->name,
          .refused_parents = &refused_parents,
          .refuse_repeated_key = bulk_ && t < child_key_aside_.size() && child_key_aside_[t]
                                     ? &tables_[t].shape.key
                                     : nullptr};
      RETURN_IF_ERROR(MergeWithBisect(c, target, std::move(rows), &added[t].merged, &rejects));
      FailPoint("backfill.after_merge");
      added[t].read += mapped.counts[t].read;
      added[t].rejected +=
          mapped.counts[t].rejected + static_cast<int64_t>(rejects.size() - refused_before);
      added[t].repeated_keys += mapped.counts[t].repeated_keys;
    }
    FailPoint("backfill.after_batch");
    cursor = work->in.end.token;
    wrote = true;
    progress_records += static_cast<int64_t>(work->in.size());
    if (!work->in.positions.empty()) {
      units_seen = std::max(units_seen, work->in.positions.back().byte_offset);
    }
    if (checkpoint_each_batch) break;
  }
  if (at_end) {
    // Rows that a later row with their key supersedes, which the store
    // skipped, count as read: read - merged - rejected tells them.
    int64_t superseded = 0;
    if (keys_unique_) {
      ASSIGN_OR_RETURN(superseded, store_->dedup()->SupersededRows(partition));
    }
    const int64_t read = claimed->counts.read + added[0].read + superseded;
    if (partition.records >= 0 && read != partition.records) {
      return Internal(fmt::format("partition {} yielded {} records and {} superseded, planned {}",
                                  partition.id, read - superseded, superseded, partition.records));
    }
    added[0].read += superseded;
    progress_records += superseded;
    units_seen = std::max(units_seen, partition.bytes);
  }
  if (!rejects.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      RETURN_IF_ERROR(shared_.sink->Write(rejects));
    }
    RETURN_IF_ERROR(catalog::InsertRejects(c, migration_.name, rejects));
  }
  RETURN_IF_ERROR(
      catalog::CheckpointPartition(c, migration_.name, entity_.name, partition.id, cursor,
                                   {added[0].read, added[0].merged, added[0].rejected}, at_end));
  int64_t rejected = 0;
  for (size_t t = 0; t < tables_.size(); ++t) {
    if (ledger_each_checkpoint_) {
      RETURN_IF_ERROR(catalog::AddToLedger(c, migration_.name, tables_[t].entity->name, added[t]));
    }
    rejected += added[t].rejected;
  }
  if (wrote) FailPoint("backfill.before_commit");
  RETURN_IF_ERROR(tx.Commit());
  if (wrote) FailPoint("backfill.after_commit");
  w->open_cursor = cursor;
  const int64_t units = progress_in_bytes_ ? units_seen - w->counted_units[partition.id] : 0;
  w->counted_units[partition.id] = units_seen;
  Progress(progress_records, units);
  if (at_end) w->Close();
  // --max-rejects counts the whole run's rejects, those of entities loading
  // beside this one included.
  rejects_here_ += rejected;
  const int64_t total = (*shared_.run_rejects += rejected);
  if (shared_.max_rejects >= 0 && total > shared_.max_rejects) stop_ = true;
  return true;
}

Result<PartitionBackfill::Step> PartitionBackfill::WorkerStep(Worker* w) {
  ASSIGN_OR_RETURN(const bool loaded, LoadToCheckpoint(w));
  if (loaded) return Step::kWorked;
  // Nothing claimable: done, or the rest is held by other workers.
  ASSIGN_OR_RETURN(const int64_t pending,
                   catalog::CountPendingPartitions(w->conn.get(), migration_.name, entity_.name));
  if (pending > 0) return Step::kWait;
  if (!rebuild_deferred_) return Step::kFinished;
  ASSIGN_OR_RETURN(const bool rebuilt, catalog::RebuildOneDeferred(w->conn.get(), migration_.name,
                                                                   entity_.name, tables_[0].shape));
  if (rebuilt) return Step::kWorked;
  ASSIGN_OR_RETURN(const int64_t left,
                   catalog::CountDeferred(w->conn.get(), migration_.name, entity_.name));
  return left == 0 ? Step::kFinished : Step::kWait;
}

Status PartitionBackfill::RunWorker(int index) {
  Worker w;
  w.index = index;
  w.name = WorkerName(index);
  for (const Table& t : tables_) {
    auto writer = std::make_unique<pg_store::MergeWriter>(t.shape);
    writer->set_direct_copy(t.direct_copy);
    writer->set_keys_unique(keys_unique_ && &t == &tables_[0]);
    w.writers.push_back(std::move(writer));
  }
  ASSIGN_OR_RETURN(w.mapper, CreateMapper(migration_, entity_));
  w.claims.first_only = bulk_;
  if (entity_.redis && tables_.size() > 1) {
    ASSIGN_OR_RETURN(EntityPlan plan, PlanEntity(migration_, entity_));
    ASSIGN_OR_RETURN(w.children, ChildReplacer::Create(entity_, plan));
  }
  const std::string what = fmt::format("worker {} loading {}", index, entity_.name);
  // A new connection needs its staging tables (not used in bulk mode).
  auto on_connect = [&]() -> Status {
    if (bulk_) return Status::Ok();
    for (auto& writer : w.writers) RETURN_IF_ERROR(writer->PrepareStaging(w.conn.get()));
    if (w.children != nullptr) RETURN_IF_ERROR(w.children->Prepare(w.conn.get()));
    return Status::Ok();
  };
  while (!stop_) {
    Step step = Step::kWait;
    // Each step starts a fresh streak of failures (see "Faults").
    Status st = pg_store::RunWithRetry(
        &w.conn, shared_.url, request_.retry_for, what,
        [&]() -> Status {
          if (stop_) {  // another worker failed or passed --max-rejects
            step = Step::kFinished;
            return Status::Ok();
          }
          Result<Step> next = WorkerStep(&w);
          if (!next.ok()) {
            w.Close();  // its read-ahead went with the rolled-back transaction
            return next.status();
          }
          step = *next;
          return Status::Ok();
        },
        on_connect);
    if (!st.ok()) {
      stop_ = true;
      if (rebuild_deferred_) {
        return st.WithContext(
            fmt::format("{}'s key, indexes and constraints still to build stay set aside in "
                        "cutover.deferred_ddl until a backfill finishes them",
                        entity_.name));
      }
      return st;
    }
    if (step == Step::kFinished) return Status::Ok();
    if (step == Step::kWait) std::this_thread::sleep_for(kPollInterval);
  }
  return Status::Ok();
}

Status PartitionBackfill::RunDry() {
  // The dry run maps every partition as the workers would, without
  // PostgreSQL: lookups are not resolved, names stay text.
  RETURN_IF_ERROR(OpenStore(/*live=*/false));
  const int readers = record_shape_ == store::RecordShape::kDocuments ? 1 : jobs_;
  ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions,
                   store_->snapshot().PlanScan(readers));
  const int threads = std::max(1, std::min<int>(readers, static_cast<int>(partitions.size())));
  std::atomic<size_t> next{0};
  std::vector<Status> results(threads);
  auto work = [&]() -> Status {
    ASSIGN_OR_RETURN(auto mapper, CreateMapper(migration_, entity_));
    for (size_t i = next++; i < partitions.size() && !stop_; i = next++) {
      ASSIGN_OR_RETURN(auto reader, store_->snapshot().Open(partitions[i], store::Cursor{}));
      BatchPipeline pipeline(reader.get(), mapper.get(), static_cast<size_t>(shared_.batch_size));
      for (;;) {
        ASSIGN_OR_RETURN(MappedWork * batch, pipeline.Next());
        if (batch == nullptr) break;
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t t = 0; t < tables_.size(); ++t) {
          dry_counts_[t].read += batch->mapped.counts[t].read;
          dry_counts_[t].rejected += batch->mapped.counts[t].rejected;
          dry_counts_[t].repeated_keys += batch->mapped.counts[t].repeated_keys;
        }
        WarnWouldReject(batch->mapped.rejects, shared_.run_rejects);
      }
    }
    return Status::Ok();
  };
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        results[t] = work();
        if (!results[t].ok()) stop_ = true;
      });
    }
    for (auto& thread : pool) thread.join();
  }
  for (const auto& st : results) RETURN_IF_ERROR(st);
  return Status::Ok();
}

Status PartitionBackfill::Run(bool* stopped_on_rejects) {
  const auto started = std::chrono::steady_clock::now();
  // However this run ends, the entities reading its source beside it stop
  // waiting for it.
  struct LeavePass {
    store::SharedPass* pass;
    const std::string& entity;
    ~LeavePass() {
      if (pass != nullptr) pass->Leave(entity);
    }
  } leave{pass_.get(), entity_.name};
  auto finish_time = [&] {
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (!request_.dry_run && done()) {
    state_ = RunState::kSkippedDone;
    return Status::Ok();
  }
  if (request_.dry_run) {
    state_ = RunState::kDryRun;
    RETURN_IF_ERROR(RunDry());
    finish_time();
    return Status::Ok();
  }
  RETURN_IF_ERROR(OpenStore(/*live=*/true));
  ledger_each_checkpoint_ = record_shape_ == store::RecordShape::kDocuments;
  ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, store_->snapshot().Plan());
  int64_t planned_records = 0, planned_bytes = 0;
  bool records_known = true, bytes_known = true;
  for (const auto& p : partitions) {
    partitions_by_id_[p.id] = p;
    records_known = records_known && p.records >= 0;
    bytes_known = bytes_known && p.bytes >= 0;
    planned_records += std::max<int64_t>(p.records, 0);
    planned_bytes += std::max<int64_t>(p.bytes, 0);
  }
  progress_in_bytes_ = !records_known && bytes_known;
  progress_ = std::make_unique<ProgressReporter>(entity_.name,
                                                 records_known        ? planned_records
                                                 : progress_in_bytes_ ? planned_bytes
                                                                      : int64_t{-1},
                                                 progress_in_bytes_ ? "bytes" : "rows");

  RETURN_IF_ERROR(SkipSupersededRows());
  RETURN_IF_ERROR(Control("planning the partitions of " + entity_.name, [&]() -> Status {
    const bool was_bulk = bulk_, was_rebuilding = rebuild_deferred_;
    Status planned = PlanLedger(partitions);
    if (!planned.ok()) {  // rolled back: decided again next attempt
      bulk_ = was_bulk;
      rebuild_deferred_ = was_rebuilding;
    }
    return planned;
  }));
  catalog::PartitionTotals before;
  RETURN_IF_ERROR(Control("reading the partition ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(before, catalog::SumPartitions(conn(), migration_.name, entity_.name));
    return Status::Ok();
  }));
  const bool resumed = before.all.read > 0 || before.done_partitions > 0;
  if (ledger_each_checkpoint_) {
    for (const Table& t : tables_) rejects_before_ += t.ledger.records_rejected;
  } else {
    rejects_before_ = before.all.rejected;
  }
  *shared_.run_rejects += rejects_before_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    records_done_ = before.all.read;
  }
  state_ = resumed ? RunState::kResumed : RunState::kDone;
  if (resumed) {
    spdlog::info("{}: resuming; {} of {} partitions done, {} records read before", entity_.name,
                 before.done_partitions, partitions.size(), before.all.read);
  }
  // The direct COPY pays off when keys are new: an empty table, or the part
  // of the source after a resume (a key that exists falls back to the merge).
  RETURN_IF_ERROR(Control("reading the tables of " + entity_.name, [&]() -> Status {
    for (Table& t : tables_) {
      ASSIGN_OR_RETURN(const bool empty, TableIsEmpty(conn(), t.shape));
      t.direct_copy = t.exact_types && (empty || resumed);
      t.started_empty = empty && !resumed;
    }
    return Status::Ok();
  }));

  // One worker for documents (see "Records of one store are loaded in the order").
  const int workers = record_shape_ == store::RecordShape::kDocuments
                          ? 1
                          : std::max(1, std::min<int>(jobs_, static_cast<int>(partitions.size())));
  spdlog::info("{}: {} partitions ({}), {} workers", entity_.name, partitions.size(),
               records_known ? fmt::format("{} records", planned_records)
                             : fmt::format("{} bytes", planned_bytes),
               workers);
  std::vector<Status> results(workers);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < workers; ++t) {
      threads.emplace_back([this, t, &results] { results[t] = RunWorker(t); });
    }
    for (auto& t : threads) t.join();
  }
  progress_->Finish();
  for (const auto& st : results) RETURN_IF_ERROR(st);

  catalog::PartitionTotals totals;
  RETURN_IF_ERROR(Control("reading the ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(totals, catalog::SumPartitions(conn(), migration_.name, entity_.name));
    return ReloadLedgers();
  }));
  if (!ledger_each_checkpoint_) {  // one table, whose counts the partitions hold
    catalog::LedgerEntry& e = tables_[0].ledger;
    e.records_read = e.record_index = totals.all.read;
    e.rows_merged = totals.all.merged;
    e.records_rejected = totals.all.rejected;
  }
  if (stop_) {
    LogStopOnRejects(entity_.name, shared_.run_rejects->load(), shared_.max_rejects,
                     shared_.sink->path());
    if (rebuild_deferred_) {
      spdlog::error("{}: its {} stay set aside until a rerun finishes the load", entity_.name,
                    bulk_ ? "key and indexes" : "child tables' foreign keys");
    }
    *stopped_on_rejects = true;
    state_ = RunState::kStopped;
    finish_time();
    return Status::Ok();
  }
  if (totals.unfinished_partitions != 0) {
    return Internal(
        fmt::format("{}: workers finished with partitions still pending", entity_.name));
  }
  RETURN_IF_ERROR(FinishLoad());
  finish_time();
  return Status::Ok();
}

Status PartitionBackfill::FinishLoad() {
  std::vector<catalog::LedgerEntry> finished;
  for (size_t i = 0; i < tables_.size(); ++i) {
    Table& t = tables_[i];
    catalog::LedgerEntry e = t.ledger;
    e.done = true;
    // The store skipped the rows a later one supersedes and counted them as
    // read: read - merged - rejected is exactly those.
    t.superseded_known = i == 0 && keys_unique_;
    // Otherwise a key repeated in the source was written once per
    // occurrence, each counted as merged. Where the table started empty,
    // what it holds now is the rows stored, and the difference was
    // superseded; more rows than written means rows came from elsewhere too
    // (an application writing meanwhile), and this run cannot tell them apart.
    // A bulk load's table, resumed or not, was empty when it was planned, and
    // only the load writes it.
    if (!t.superseded_known && (t.started_empty || bulk_)) {
      int64_t stored = 0;
      RETURN_IF_ERROR(Control("counting " + t.entity->name, [&]() -> Status {
        ASSIGN_OR_RETURN(auto n,
                         conn()->QueryValue("SELECT count(*) FROM " + t.shape.QualifiedName()));
        stored = n ? std::stoll(*n) : 0;
        return Status::Ok();
      }));
      if (stored <= e.rows_merged) {
        e.rows_merged = stored;
        t.superseded_known = true;
      }
    }
    finished.push_back(std::move(e));
  }
  RETURN_IF_ERROR(Control("marking " + entity_.name + " done", [&]() -> Status {
    pg_store::Transaction tx(conn());
    RETURN_IF_ERROR(tx.status());
    for (const auto& e : finished) RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, e));
    return tx.Commit();
  }));
  for (size_t i = 0; i < tables_.size(); ++i) tables_[i].ledger = finished[i];
  FailPoint("backfill.entity_done");
  for (size_t i = 0; i < dimensions_.size(); ++i) {
    RETURN_IF_ERROR(Control("finishing the load of " + dimensions_[i]->name, [&] {
      return FinishEntityLoad(conn(), *dimensions_[i], dimension_shapes_[i]);
    }));
  }
  for (const Table& t : tables_) {
    RETURN_IF_ERROR(Control("finishing the load of " + t.entity->name,
                            [&] { return FinishEntityLoad(conn(), *t.entity, t.shape); }));
  }
  for (size_t i = 0; i < dimensions_.size(); ++i) {
    RETURN_IF_ERROR(Control("recording the load of " + dimensions_[i]->name, [&]() -> Status {
      ASSIGN_OR_RETURN(auto n, conn()->QueryValue("SELECT count(*) FROM " +
                                                  dimension_shapes_[i].QualifiedName()));
      // The dimension is loaded when its facts are: the stage guards read this.
      catalog::LedgerEntry dim{.entity = dimensions_[i]->name, .source = "lookup"};
      dim.rows_merged = n ? std::stoll(*n) : 0;
      dim.done = true;
      dim.exists = true;
      RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, dim));
      dimension_rows_.resize(i + 1);
      dimension_rows_[i] = dim.rows_merged;
      return Status::Ok();
    }));
  }
  return Status::Ok();
}

std::vector<TableSummary> PartitionBackfill::Summaries() const {
  std::vector<TableSummary> out;
  for (size_t i = 0; i < tables_.size(); ++i) {
    const Table& t = tables_[i];
    TableSummary s;
    s.entity = t.entity->name;
    if (request_.dry_run) {
      s.read = dry_counts_[i].read;
      s.rejected = dry_counts_[i].rejected;
      s.repeated_keys = dry_counts_[i].repeated_keys;
      s.migrated = s.read - s.rejected;
      s.superseded_known = false;
    } else {
      s.read = t.ledger.records_read;
      s.migrated = t.ledger.rows_merged;
      s.rejected = t.ledger.records_rejected;
      s.repeated_keys = t.ledger.records_repeated_keys;
      s.superseded = s.read - s.migrated - s.rejected;
      // An entity skipped as done shows an earlier run's ledger, which holds
      // a count only if that run made one, and a positive difference only then.
      s.superseded_known = state_ == RunState::kSkippedDone ? s.superseded > 0 : t.superseded_known;
    }
    s.seconds = seconds_;
    s.state = state_;
    out.push_back(std::move(s));
  }
  // The dimensions this load filled, with their sizes after it.
  for (size_t i = 0; i < dimension_rows_.size(); ++i) {
    TableSummary d;
    d.entity = dimensions_[i]->name;
    d.migrated = dimension_rows_[i];
    d.from_lookups = true;
    d.state = RunState::kNamesFromLookups;
    d.filled_by = entity_.name;
    out.push_back(std::move(d));
  }
  return out;
}

std::unique_ptr<EntityRun> MakePartitionBackfill(const BackfillContext& context,
                                                 const spec::EntitySpec& entity) {
  return std::make_unique<PartitionBackfill>(context, entity);
}

}  // namespace cutover::engine
