// The chunked backfill of one entity: its chunk ledger, the workers that claim
// and load chunks, and the finish (indexes, dimensions) once all are done.
#include "engine/backfill/chunk_backfill_runner.h"

#include "engine/backfill/chunk_backfill.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/chunk_ledger.h"
#include "catalog/deferred_ddl.h"
#include "catalog/ledger.h"
#include "catalog/rejects.h"
#include "catalog/stage.h"
#include "catalog/table_ddl.h"
#include "common/failpoint.h"
#include "engine/backfill/reject_limits.h"
#include "engine/core/batch_pipeline.h"
#include "engine/core/chunked_scan.h"
#include "engine/core/entity_plan.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/post_load.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/source_dedup.h"
#include "engine/core/source_factory.h"
#include "engine/core/source_schema_check.h"
#include "engine/core/write_path.h"
#include "map/columnar_mapper.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/table_shape.h"
#include "stores/postgres/transaction.h"
#include "stores/registry.h"

namespace cutover::engine {
namespace {

// Chunk ledger design
//
// The source is planned into chunks (file x row range, ChunkedSource::
// PlanChunks), one row each in cutover.backfill_chunks, inserted with ON
// CONFLICT DO NOTHING under an advisory lock: every process planning the same
// files agrees on the same rows, and a resumed run finds the ones already done.
//
// A worker owns one connection and repeats, in ONE transaction:
//   claim:  UPDATE ... SET worker = me WHERE chunk_id =
//             (SELECT chunk_id ... WHERE state = 'pending' ORDER BY seq
//              LIMIT 1 FOR UPDATE SKIP LOCKED)
//   merge:  every batch of the chunk (binary COPY + merge, as the JSON
//           runner does), its rejects into cutover.rejects
//   finish: UPDATE ... SET state = 'done', rows_read, rows_merged, rows_rejected
//   COMMIT
// The claim's row lock is held until COMMIT, so no other worker, in this
// process or another, can take the chunk meanwhile (SKIP LOCKED passes over
// it), and the chunk's rows, rejects and 'done' commit together. A crash
// anywhere before COMMIT rolls all three back and releases the lock; the
// chunk is pending again and the next claim (by a survivor or a rerun)
// redoes it whole. After COMMIT it is never touched again. Since merges are
// upserts on the key, even a redo over rows that did land (an ambiguous
// COMMIT) writes each key once. Hence exactly-once rows per key, and
// rows_read = rows_merged + rows_rejected + superseded per chunk, summed over
// chunks (superseded: rows the source skipped for a later row with their key).
//
// A chunk larger than a batch is merged batch by batch inside its one
// transaction, rather than recording a position inside the chunk. Memory
// stays bounded by (pipeline depth + 2) batches; only the transaction is
// longer. We chose this over intra-chunk checkpoints because a chunk is at
// most a Parquet row group (~120k rows from DuckDB, ~1M from other writers)
// or csv_chunk_rows, i.e. seconds of work: a crash redoes at most that per
// worker, and in exchange there is one invariant (chunk done <=> all its
// rows merged) and no partial state that two processes could disagree on.
//
// A worker that finds nothing to claim while chunks are still pending (held
// by workers of another process) polls until they are done or released (a
// killed process's transaction aborts when its connection drops, and the
// chunk is claimable again), so every process returns only when the whole
// entity is loaded, and can then build indexes on a complete table.
//
// Bulk mode (a first load into an empty table, index-free) has its design
// note in bulk_load.cc, beside the code that decides it.
//
// Faults. Each step of a worker (a chunk, a poll, one rebuilt definition)
// and each step of the coordinating connection (planning, the ledger, the
// post-load work) is a transaction or safe to repeat. A deadlock (40P01)
// between workers upserting overlapping keys in different orders, a
// serialization failure (40001), a lost connection or a restarted server
// rolls the step back, reconnects when needed, and runs it again, within
// --retry-for per streak of failures (RetryStep, engine/core/write_path.h). Any other error (a
// row-independent COPY failure, an index that cannot be built) stops the
// run at once with its cause; what a bulk load set aside stays recorded in
// cutover.deferred_ddl, so a rerun finishes it.

constexpr auto kPollInterval = std::chrono::milliseconds(200);

std::string WorkerName(int index) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}:{}:{}", host, getpid(), index);
}

Result<std::unique_ptr<store::ChunkedSource>> DefaultOpener(const spec::SourceSpec& source,
                                                            const std::string& path, int jobs,
                                                            int64_t chunk_rows) {
  store::ChunkedSourceOptions options;
  if (chunk_rows > 0) options.csv_chunk_rows = options.parquet_chunk_rows = chunk_rows;
  // Each worker reads one chunk at a time: one DuckDB thread per worker
  // keeps the cores for the mapping and for PostgreSQL.
  options.threads = std::max(1, jobs);
  return stores::OpenChunkedSource(source, path, options);
}

// The table of a chunked entity or a dimension: it has no children.
pg_store::TableShape ShapeFor(const spec::MigrationSpec& migration,
                              const spec::EntitySpec& entity) {
  return std::move(PlanTables(migration, entity)[0].shape);
}

Result<catalog::TableFit> CreateOrCheck(pg_store::PgConnection* conn,
                                        const pg_store::TableShape& shape, bool create,
                                        const std::string& entity, bool indexes_deferred = false) {
  if (create) RETURN_IF_ERROR(catalog::CreateTable(conn, shape));
  auto fit = catalog::CheckTable(conn, shape, indexes_deferred);
  if (!fit.ok()) return fit.status().WithContext("entity " + entity);
  return fit;
}

}  // namespace

Status ChunkBackfill::Prepare() {
  // Validates the mapping now; workers create mappers of their own.
  ASSIGN_OR_RETURN(EntityPlan plan, PlanEntity(migration_, entity_));
  ASSIGN_OR_RETURN(location_, SourceLocationOf(migration_, entity_));
  shape_ = std::move(plan.tables[0].shape);
  ASSIGN_OR_RETURN(resolver_, LookupResolver::Create(migration_, entity_, shared_.url,
                                                     /*create_missing=*/true, request_.retry_for));
  dimensions_ = resolver_->Dimensions();
  for (const auto* dim : dimensions_) dimension_shapes_.push_back(ShapeFor(migration_, *dim));
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
    ASSIGN_OR_RETURN(
        const catalog::TableFit fit,
        CreateOrCheck(conn(), shape_, request_.create_tables, entity_.name, deferred_at_start_));
    exact_types_ = fit.exact();
    if (!exact_types_) {
      spdlog::info(
          "{}: PostgreSQL casts {} from the spec's types: rows go through a staging table, "
          "never straight into the table",
          entity_.name, fmt::join(fit.cast_columns, ", "));
    }
    ASSIGN_OR_RETURN(ledger_, catalog::LoadLedger(conn(), migration_.name, entity_.name));
    ledger_.source = location_;
    return Status::Ok();
  });
}

Status ChunkBackfill::ResetLedgers() {
  if (deferred_at_start_) {
    spdlog::info("{}: finishing the index build an earlier bulk load left, before restarting",
                 entity_.name);
    RETURN_IF_ERROR(catalog::RebuildAllDeferred(conn(), migration_.name, entity_.name, shape_));
    deferred_at_start_ = false;
  }
  RETURN_IF_ERROR(catalog::ResetLedger(conn(), migration_.name, entity_.name));
  RETURN_IF_ERROR(catalog::DeleteChunks(conn(), migration_.name, entity_.name));
  ledger_ = catalog::LedgerEntry{.entity = entity_.name, .source = location_};
  ledger_.exists = true;
  return catalog::SaveLedger(conn(), migration_.name, ledger_);
}

Result<int64_t> ChunkBackfill::PlannedChunks() {
  return catalog::CountChunks(conn(), migration_.name, entity_.name);
}

Status ChunkBackfill::PlanLedger(const std::vector<store::ChunkRef>& chunks) {
  ASSIGN_OR_RETURN(const bool may_bulk, MayBulkLoad());
  pg_store::Transaction tx(conn());
  RETURN_IF_ERROR(tx.status());
  auto body = [&]() -> Status {
    RETURN_IF_ERROR(catalog::LockChunkPlan(conn(), migration_.name, entity_.name));
    if (!ledger_.exists) {
      ledger_.exists = true;
      RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, ledger_));
    }
    ASSIGN_OR_RETURN(const int64_t planned, PlannedChunks());
    RETURN_IF_ERROR(DecideBulk(planned == 0, may_bulk));
    std::vector<catalog::PlannedChunk> plan;
    plan.reserve(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      const auto& c = chunks[i];
      plan.push_back({c.Id(), static_cast<int64_t>(i), c.file, c.first_row, c.row_count});
    }
    return catalog::InsertChunks(conn(), migration_.name, entity_.name, plan);
  };
  Status st = body();
  if (!st.ok()) return st.WithContext("planning the chunks of " + entity_.name);
  return tx.Commit();
}

Result<int64_t> ChunkBackfill::PendingChunks(pg_store::PgConnection* c) {
  return catalog::CountPendingChunks(c, migration_.name, entity_.name);
}

void ChunkBackfill::Progress(int64_t rows) {
  const int64_t done = rows_done_.fetch_add(rows) + rows;
  std::lock_guard<std::mutex> lock(mu_);
  if (progress_) progress_->Update(done, done);
}

Result<bool> ChunkBackfill::LoadOneChunk(Worker* w) {
  pg_store::PgConnection* c = w->conn.get();
  pg_store::Transaction tx(c);
  RETURN_IF_ERROR(tx.status());
  ASSIGN_OR_RETURN(auto claimed, catalog::ClaimChunk(c, migration_.name, entity_.name, w->name));
  if (!claimed) {
    RETURN_IF_ERROR(tx.Commit());
    return false;
  }
  const std::string chunk_id = *claimed;
  auto it = chunks_by_id_.find(chunk_id);
  if (it == chunks_by_id_.end()) {
    return FailedPrecondition(fmt::format(
        "chunk {} is in the ledger but not in the source any more: the files changed during "
        "the run; run again with --restart",
        chunk_id));
  }
  FailPoint("chunk.after_claim");
  ASSIGN_OR_RETURN(auto reader, source_->OpenChunk(it->second));
  RETURN_IF_ERROR(reader->Open({}));

  ChunkCounts counts;
  std::vector<Reject> rejects;
  {
    BatchPipeline pipeline(reader.get(), w->mapper.get(), static_cast<size_t>(shared_.batch_size));
    for (;;) {
      ASSIGN_OR_RETURN(MappedWork * work, pipeline.Next());
      if (work == nullptr) break;
      RETURN_IF_ERROR(resolver_->Resolve(&work->mapped));
      const auto& mapped = work->mapped;
      counts.read += mapped.counts[0].read;
      counts.rejected += mapped.counts[0].rejected;
      rejects.insert(rejects.end(), mapped.rejects.begin(), mapped.rejects.end());
      std::vector<uint32_t> rows(mapped.tables[0].num_rows());
      std::iota(rows.begin(), rows.end(), 0u);
      const size_t refused_before = rejects.size();
      const TableWrite target{.writer = w->writer.get(),
                              .mode = bulk_ ? WriteMode::kAppend : WriteMode::kMerge,
                              .in = &work->in,
                              .mapped = &mapped,
                              .table = 0,
                              .mapper = w->mapper.get(),
                              .entity = entity_.name};
      RETURN_IF_ERROR(MergeWithBisect(c, target, std::move(rows), &counts.merged, &rejects));
      counts.rejected += static_cast<int64_t>(rejects.size() - refused_before);
      FailPoint("chunk.after_batch");
      Progress(static_cast<int64_t>(work->in.size()));
    }
  }
  // Rows a later row with the same key supersedes, which the source skipped,
  // are read; rows_read - rows_merged - rows_rejected counts them.
  ASSIGN_OR_RETURN(const int64_t superseded, source_->SupersededRows(it->second));
  if (counts.read + superseded != it->second.row_count) {
    return Internal(fmt::format("chunk {} yielded {} rows and {} superseded, planned {}", chunk_id,
                                counts.read, superseded, it->second.row_count));
  }
  counts.read += superseded;
  if (superseded > 0) Progress(superseded);
  if (!rejects.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      RETURN_IF_ERROR(shared_.sink->Write(rejects));
    }
    RETURN_IF_ERROR(catalog::InsertRejects(c, migration_.name, rejects));
  }
  RETURN_IF_ERROR(catalog::FinishChunk(c, migration_.name, entity_.name, chunk_id,
                                       {counts.read, counts.merged, counts.rejected}));
  FailPoint("chunk.before_commit");
  RETURN_IF_ERROR(tx.Commit());
  FailPoint("chunk.after_commit");
  const int64_t total = rejects_before_ + (rejects_here_ += counts.rejected);
  if (shared_.max_rejects >= 0 && total > shared_.max_rejects) stop_ = true;
  return true;
}

Result<ChunkBackfill::Step> ChunkBackfill::WorkerStep(Worker* w) {
  ASSIGN_OR_RETURN(const bool loaded, LoadOneChunk(w));
  if (loaded) return Step::kWorked;
  // Nothing claimable: done, or the rest is held by other workers.
  ASSIGN_OR_RETURN(const int64_t pending, PendingChunks(w->conn.get()));
  if (pending > 0) return Step::kWait;
  if (!bulk_) return Step::kFinished;
  ASSIGN_OR_RETURN(const bool rebuilt, catalog::RebuildOneDeferred(w->conn.get(), migration_.name,
                                                                   entity_.name, shape_));
  if (rebuilt) return Step::kWorked;
  ASSIGN_OR_RETURN(const int64_t left,
                   catalog::CountDeferred(w->conn.get(), migration_.name, entity_.name));
  return left == 0 ? Step::kFinished : Step::kWait;
}

Status ChunkBackfill::RunWorker(int index) {
  Worker w;
  w.index = index;
  w.name = WorkerName(index);
  w.writer = std::make_unique<pg_store::MergeWriter>(shape_);
  w.writer->set_direct_copy(direct_copy_);
  w.writer->set_keys_unique(keys_unique_);
  ASSIGN_OR_RETURN(w.mapper, map::ColumnarMapper::Create(entity_));
  const std::string what = fmt::format("worker {} loading {}", index, entity_.name);
  // A new connection needs its staging table (not used in bulk mode).
  auto on_connect = [&]() -> Status {
    return bulk_ ? Status::Ok() : w.writer->PrepareStaging(w.conn.get());
  };
  while (!stop_) {
    Step step = Step::kWait;
    // Each step starts a fresh streak of failures (see "Faults").
    Status st = RetryStep(
        &w.conn, shared_.url, request_.retry_for, what,
        [&]() -> Status {
          if (stop_) {  // another worker failed or passed --max-rejects
            step = Step::kFinished;
            return Status::Ok();
          }
          ASSIGN_OR_RETURN(step, WorkerStep(&w));
          return Status::Ok();
        },
        on_connect);
    if (!st.ok()) {
      stop_ = true;
      if (bulk_) {
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

Status ChunkBackfill::RunDry() {
  // The dry run maps every chunk as the workers would, without PostgreSQL:
  // lookups are not resolved (url empty), names stay text.
  ChunkedScanOptions options;
  options.threads = jobs_;
  options.batch_rows = static_cast<size_t>(shared_.batch_size);
  options.opener = shared_.opener;
  RETURN_IF_ERROR(ScanChunkedSource(migration_, entity_, options,
                                    [&](int, int64_t, const store::SourceBatch&,
                                        const map::MappedBatch& mapped) -> Status {
                                      std::lock_guard<std::mutex> lock(mu_);
                                      dry_.read += mapped.counts[0].read;
                                      dry_.rejected += mapped.counts[0].rejected;
                                      WarnWouldReject(mapped.rejects, shared_.run_rejects);
                                      return Status::Ok();
                                    })
                      .status());
  dry_.migrated = dry_.read - dry_.rejected;
  return Status::Ok();
}

Status ChunkBackfill::Run(bool* stopped_on_rejects) {
  const auto started = std::chrono::steady_clock::now();
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
  const spec::SourceSpec* source_spec = migration_.FindSource(entity_.source);
  const ChunkedSourceOpener& opener = shared_.opener ? shared_.opener : DefaultOpener;
  ASSIGN_OR_RETURN(source_, opener(*source_spec, location_, jobs_, migration_.backfill.chunk_rows));
  RETURN_IF_ERROR(CheckSourceSchema(*source_spec, entity_, source_.get()));
  ASSIGN_OR_RETURN(const std::vector<store::ChunkRef> chunks, source_->PlanChunks());
  for (const auto& c : chunks) {
    chunks_by_id_[c.Id()] = c;
    planned_rows_ += c.row_count;
  }
  progress_ = std::make_unique<ProgressReporter>(entity_.name, planned_rows_, "rows");

  RETURN_IF_ERROR(SkipSupersededRows());
  RETURN_IF_ERROR(Control("planning the chunks of " + entity_.name, [&]() -> Status {
    const bool was_bulk = bulk_;
    Status planned = PlanLedger(chunks);
    if (!planned.ok()) bulk_ = was_bulk;  // rolled back: decided again next attempt
    return planned;
  }));
  catalog::ChunkTotals before;
  RETURN_IF_ERROR(Control("reading the chunk ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(before, catalog::SumChunks(conn(), migration_.name, entity_.name));
    return Status::Ok();
  }));
  const int64_t done_chunks = before.done_chunks;
  rows_done_ = before.done.read;
  rejects_before_ = before.done.rejected;
  state_ = done_chunks > 0 ? RunState::kResumed : RunState::kDone;
  if (done_chunks > 0) {
    spdlog::info("{}: resuming; {} of {} chunks already done", entity_.name, done_chunks,
                 chunks.size());
  }
  // The direct COPY pays off when keys are new: an empty table (whose
  // columns have the spec's types exactly).
  bool empty = false;
  RETURN_IF_ERROR(Control("reading " + shape_.QualifiedName(), [&]() -> Status {
    ASSIGN_OR_RETURN(empty, TableIsEmpty(conn(), shape_));
    return Status::Ok();
  }));
  direct_copy_ = empty && exact_types_;
  started_empty_ = empty && done_chunks == 0;

  const int workers = std::max(1, std::min<int>(jobs_, static_cast<int>(chunks.size())));
  spdlog::info("{}: {} chunks ({} rows), {} workers", entity_.name, chunks.size(), planned_rows_,
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

  catalog::ChunkTotals totals;
  RETURN_IF_ERROR(Control("reading the chunk ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(totals, catalog::SumChunks(conn(), migration_.name, entity_.name));
    return Status::Ok();
  }));
  ledger_.records_read = totals.all.read;
  ledger_.rows_merged = totals.all.merged;
  ledger_.records_rejected = totals.all.rejected;
  ledger_.record_index = ledger_.records_read;
  superseded_known_ = keys_unique_;
  if (!keys_unique_ && started_empty_ && !stop_ && totals.unfinished_chunks == 0) {
    // Repeated keys went through the merge, each occurrence counted as
    // merged; the table, empty at the start, holds one row per key.
    ASSIGN_OR_RETURN(auto stored,
                     conn()->QueryValue("SELECT count(*) FROM " + shape_.QualifiedName()));
    const int64_t rows = stored ? std::stoll(*stored) : 0;
    if (rows <= ledger_.rows_merged) {  // more: an application wrote too
      ledger_.rows_merged = rows;
      superseded_known_ = true;
    }
  }
  *shared_.run_rejects += ledger_.records_rejected;
  if (stop_) {
    LogStopOnRejects(entity_.name, rejects_before_ + rejects_here_, shared_.max_rejects,
                     shared_.sink->path());
    if (bulk_) {
      spdlog::error("{}: its key and indexes stay set aside until a rerun finishes the load",
                    entity_.name);
    }
    *stopped_on_rejects = true;
    state_ = RunState::kStopped;
    finish_time();
    return Status::Ok();
  }
  if (totals.unfinished_chunks != 0) {
    return Internal(fmt::format("{}: workers finished with chunks still pending", entity_.name));
  }
  ledger_.done = true;
  RETURN_IF_ERROR(Control("marking " + entity_.name + " done", [&]() -> Status {
    pg_store::Transaction tx(conn());
    RETURN_IF_ERROR(tx.status());
    RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, ledger_));
    return tx.Commit();
  }));
  FailPoint("chunk.entity_done");
  for (size_t i = 0; i < dimensions_.size(); ++i) {
    RETURN_IF_ERROR(Control("finishing the load of " + dimensions_[i]->name, [&] {
      return FinishEntityLoad(conn(), *dimensions_[i], dimension_shapes_[i]);
    }));
  }
  RETURN_IF_ERROR(Control("finishing the load of " + entity_.name,
                          [&] { return FinishEntityLoad(conn(), entity_, shape_); }));
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
  finish_time();
  return Status::Ok();
}

std::vector<TableSummary> ChunkBackfill::Summaries() const {
  TableSummary s;
  s.entity = entity_.name;
  if (request_.dry_run) {
    s = dry_;
    s.entity = entity_.name;
    s.superseded_known = false;
  } else {
    s.read = ledger_.records_read;
    s.migrated = ledger_.rows_merged;
    s.rejected = ledger_.records_rejected;
    s.superseded = s.read - s.migrated - s.rejected;
    // An entity skipped as done shows an earlier run's ledger: a positive
    // difference is a count that run made.
    s.superseded_known = state_ == RunState::kSkippedDone ? s.superseded > 0 : superseded_known_;
  }
  s.seconds = seconds_;
  s.state = state_;
  std::vector<TableSummary> out{s};
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

namespace {

class LookupDimension : public EntityRun {
 public:
  LookupDimension(const BackfillContext& shared, const spec::EntitySpec& entity)
      : shared_(shared), entity_(entity) {}

  Status Prepare() override {
    shape_ = ShapeFor(*shared_.migration, entity_);
    if (shared_.request->dry_run) return Status::Ok();
    return RetryStep(shared_.conn, shared_.url, shared_.request->retry_for,
                     "preparing the table of " + entity_.name, [&] {
                       return CreateOrCheck(shared_.conn->get(), shape_,
                                            shared_.request->create_tables, entity_.name)
                           .status();
                     });
  }
  Status Run(bool*) override { return Status::Ok(); }
  // Reported by the runs that fill it, after they did.
  std::vector<TableSummary> Summaries() const override { return {}; }
  bool done() const override { return true; }  // holds no progress of its own
  Status ResetLedgers() override { return Status::Ok(); }

 private:
  const BackfillContext& shared_;
  const spec::EntitySpec& entity_;
  pg_store::TableShape shape_;
};

}  // namespace

std::unique_ptr<EntityRun> MakeChunkedEntityRun(const BackfillContext& context,
                                                const spec::EntitySpec& entity) {
  return std::make_unique<ChunkBackfill>(context, entity);
}

std::unique_ptr<EntityRun> MakeLookupDimensionRun(const BackfillContext& context,
                                                  const spec::EntitySpec& entity) {
  return std::make_unique<LookupDimension>(context, entity);
}

}  // namespace cutover::engine
