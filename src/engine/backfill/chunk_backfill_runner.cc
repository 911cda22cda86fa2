#include "engine/backfill/chunk_backfill_runner.h"

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

#include "catalog/deferred_ddl.h"
#include "catalog/ledger.h"
#include "catalog/schema_manager.h"
#include "common/failpoint.h"
#include "engine/core/batch_pipeline.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/post_load.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/source_dedup.h"
#include "engine/core/source_factory.h"
#include "engine/core/source_schema_check.h"
#include "map/columnar_mapper.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/retry.h"
#include "stores/postgres/table_shape.h"
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
// Bulk mode: a first load into an empty table
//
// Maintaining a primary key, indexes and foreign keys row by row costs more
// than the COPY itself; building them once after the load is several times
// cheaper. So when a run starts fresh (no chunk planned yet), the table is
// empty, the migration is still at stage legacy (no application writes into
// the target yet), and the source can drop its own repeated keys, the
// planning transaction sets the table's indexes and constraints aside
// (catalog/deferred_ddl.h) and the workers COPY straight into it.
//
// Without a key, exactly-once rests on the chunk transaction alone: a
// chunk's rows commit with its 'done' mark or not at all, so no chunk lands
// twice. Repeated keys within the source are removed before they reach
// PostgreSQL: the source skips every row that a later one with the same key
// supersedes (the same rule as `dedup:` and as verify's deduplicated read),
// and a chunk's superseded rows count as read, not merged: the summary shows
// them apart, so that migrated is what the table holds. Once no chunk is
// pending, the workers of every
// process share the rebuild; the entity is done after it.
//
// A process that joins, or a rerun after a crash, finds the set-aside
// definitions and continues in bulk mode; --restart first rebuilds them and
// then merges as usual.
//
// Faults. Each step of a worker (a chunk, a poll, one rebuilt definition)
// and each step of the coordinating connection (planning, the ledger, the
// post-load work) is a transaction or safe to repeat. A deadlock (40P01)
// between workers upserting overlapping keys in different orders, a
// serialization failure (40001), a lost connection or a restarted server
// rolls the step back, reconnects when needed, and runs it again, within
// --retry-for per streak of failures (stores/postgres/retry.h). Any other error (a
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

pg_store::TableShape ShapeFor(const spec::MigrationSpec& migration,
                              const spec::EntitySpec& entity) {
  pg_store::TableShape shape = pg_store::ShapeOf(entity, nullptr);
  pg_store::MarkLookupTarget(migration, entity, &shape);
  return shape;
}

Result<catalog::TableFit> CreateOrCheck(pg_store::PgConnection* conn,
                                        const pg_store::TableShape& shape, bool create,
                                        const std::string& entity, bool indexes_deferred = false) {
  if (create) RETURN_IF_ERROR(catalog::CreateTable(conn, shape));
  auto fit = catalog::CheckTable(conn, shape, indexes_deferred);
  if (!fit.ok()) return fit.status().WithContext("entity " + entity);
  return fit;
}

class ChunkBackfill : public EntityRun {
 public:
  ChunkBackfill(const RunShared& shared, const spec::EntitySpec& entity)
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
    return pg_store::RunWithRetry(shared_.conn, shared_.url, request_.retry_for, what, step);
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
  Status Connect(Worker* w);
  enum class Step { kWorked, kWait, kFinished };
  // One step of a worker: a chunk loaded, or one deferred definition rebuilt
  // (kWorked); nothing to do until other workers finish theirs (kWait); the
  // entity is loaded and, in bulk mode, rebuilt (kFinished).
  Result<Step> WorkerStep(Worker* w);
  // Claims and loads one chunk; false when none is claimable.
  Result<bool> LoadOneChunk(Worker* w);
  Status MergeRows(Worker* w, const store::SourceBatch& in, const map::MappedBatch& mapped,
                   std::vector<uint32_t> rows, int64_t* accepted, std::vector<Reject>* refused);
  Result<int64_t> PendingChunks(pg_store::PgConnection* c);
  Status RunDry(const std::vector<store::ChunkRef>& chunks);
  void Progress(int64_t rows);

  const RunShared& shared_;
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
  std::string state_;
  double seconds_ = 0;
  std::vector<int64_t> dimension_rows_;  // after the load, per dimensions_
  TableSummary dry_;

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rows_done_{0};
  std::atomic<int64_t> rejects_here_{0};
  std::mutex mu_;  // guards the reject sink, progress_ and dry_
  std::unique_ptr<ProgressReporter> progress_;
};

Status ChunkBackfill::Prepare() {
  // Validates the plan now; workers compile their own.
  RETURN_IF_ERROR(map::ColumnarMapper::Create(entity_).status());
  ASSIGN_OR_RETURN(location_, SourceLocationOf(migration_, entity_));
  shape_ = ShapeFor(migration_, entity_);
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
  auto deleted =
      conn()->Query("DELETE FROM cutover.backfill_chunks WHERE migration = $1 AND entity = $2",
                    {migration_.name, entity_.name});
  if (!deleted.ok()) return deleted.status().WithContext("resetting the chunk ledger");
  ledger_ = catalog::LedgerEntry{.entity = entity_.name, .source = location_};
  ledger_.exists = true;
  return catalog::SaveLedger(conn(), migration_.name, ledger_);
}

Result<int64_t> ChunkBackfill::PlannedChunks() {
  ASSIGN_OR_RETURN(auto n, conn()->QueryValue("SELECT count(*) FROM cutover.backfill_chunks "
                                              "WHERE migration = $1 AND entity = $2",
                                              {migration_.name, entity_.name}));
  return n ? std::stoll(*n) : 0;
}

Result<bool> ChunkBackfill::MayBulkLoad() {
  // Planning and setting indexes aside commit together (PlanLedger), so a
  // planned entity with nothing deferred is loading with its indexes.
  ASSIGN_OR_RETURN(const int64_t planned, PlannedChunks());
  if (planned > 0) {
    ASSIGN_OR_RETURN(const int64_t deferred,
                     catalog::CountDeferred(conn(), migration_.name, entity_.name));
    if (deferred == 0) return false;  // else: join the bulk load under way
  } else {
    ASSIGN_OR_RETURN(auto any, conn()->QueryValue(fmt::format("SELECT 1 FROM {} LIMIT 1",
                                                              shape_.QualifiedName())));
    if (any) return false;
    ASSIGN_OR_RETURN(auto stages, conn()->QueryValue("SELECT to_regclass('cutover.stage')"));
    if (stages) {
      ASSIGN_OR_RETURN(auto stage,
                       conn()->QueryValue("SELECT stage FROM cutover.stage WHERE migration = $1",
                                          {migration_.name}));
      if (stage && *stage != "legacy") {
        spdlog::info(
            "{}: stage is {}: loading with the table's indexes in place (applications "
            "may already write to it)",
            entity_.name, *stage);
        return false;
      }
    }
  }
  if (!keys_unique_) {
    spdlog::info("{}: {}; loading with the table's indexes in place", entity_.name,
                 keys_unique_why_not_);
  }
  // A bulk load COPYs straight into the table, which needs its exact types.
  return keys_unique_ && exact_types_;
}

Status ChunkBackfill::SkipSupersededRows() {
  const std::optional<SourceDedup> dedup = SourceDedupOf(entity_);
  if (!dedup) {
    keys_unique_why_not_ = "a key column is not read from a plain source column";
    return Status::Ok();
  }
  Status skip = source_->SkipSupersededRows(dedup->key, dedup->order);
  keys_unique_ = skip.ok();
  if (skip.ok() || skip.code() == StatusCode::kFailedPrecondition ||
      skip.code() == StatusCode::kInvalidArgument) {
    keys_unique_why_not_ = skip.message();
    return Status::Ok();
  }
  return skip;
}

Status ChunkBackfill::DecideBulk(bool fresh, bool may_bulk) {
  if (!fresh) {
    // Another process (or an earlier run) decided; follow it.
    ASSIGN_OR_RETURN(const int64_t deferred,
                     catalog::CountDeferred(conn(), migration_.name, entity_.name));
    bulk_ = deferred > 0;
    if (bulk_ && !may_bulk) {
      return FailedPrecondition(entity_.name +
                                ": a bulk load of this entity is under way, but this process "
                                "cannot skip the source's repeated keys as it does");
    }
    return Status::Ok();
  }
  if (!may_bulk) return Status::Ok();
  RETURN_IF_ERROR(conn()->Exec("SAVEPOINT cutover_defer"));
  auto deferred = catalog::DeferTableIndexes(conn(), migration_.name, entity_.name, shape_);
  if (!deferred.ok() && deferred.status().code() == StatusCode::kFailedPrecondition) {
    RETURN_IF_ERROR(conn()->Exec("ROLLBACK TO SAVEPOINT cutover_defer"));
    spdlog::info("{}; loading with the table's indexes in place", deferred.status().message());
    return Status::Ok();
  }
  if (!deferred.ok()) return deferred.status();
  RETURN_IF_ERROR(conn()->Exec("RELEASE SAVEPOINT cutover_defer"));
  // The spec's indexes are built with the others, in parallel, rather than
  // one after another once the load is done.
  for (const auto& index : entity_.indexes) {
    RETURN_IF_ERROR(catalog::DeferIndex(conn(), migration_.name, entity_.name, index.name,
                                        CreateIndexSql(index, shape_.QualifiedName())));
  }
  bulk_ = true;
  spdlog::info(
      "{}: empty table at stage legacy: loading it without its key, indexes and constraints "
      "({} definitions set aside), which are built after the load",
      entity_.name, *deferred + static_cast<int>(entity_.indexes.size()));
  return Status::Ok();
}

Status ChunkBackfill::PlanLedger(const std::vector<store::ChunkRef>& chunks) {
  ASSIGN_OR_RETURN(const bool may_bulk, MayBulkLoad());
  RETURN_IF_ERROR(conn()->Exec("BEGIN"));
  auto body = [&]() -> Status {
    RETURN_IF_ERROR(conn()->Exec(fmt::format(
        "SELECT pg_advisory_xact_lock(hashtext({}))",
        pg_store::QuoteLiteral("cutover.chunks:" + migration_.name + ":" + entity_.name))));
    if (!ledger_.exists) {
      ledger_.exists = true;
      RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, ledger_));
    }
    ASSIGN_OR_RETURN(const int64_t planned, PlannedChunks());
    RETURN_IF_ERROR(DecideBulk(planned == 0, may_bulk));
    constexpr size_t kPerStatement = 500;
    for (size_t start = 0; start < chunks.size(); start += kPerStatement) {
      std::string values;
      for (size_t i = start; i < std::min(chunks.size(), start + kPerStatement); ++i) {
        const auto& c = chunks[i];
        if (!values.empty()) values += ",\n";
        values +=
            fmt::format("({}, {}, {}, {}, {}, {}, {})", pg_store::QuoteLiteral(migration_.name),
                        pg_store::QuoteLiteral(entity_.name), pg_store::QuoteLiteral(c.Id()), i,
                        pg_store::QuoteLiteral(c.file), c.first_row, c.row_count);
      }
      RETURN_IF_ERROR(conn()->Exec(
          "INSERT INTO cutover.backfill_chunks (migration, entity, chunk_id, seq, file, first_row, "
          "row_count) VALUES " +
          values + " ON CONFLICT DO NOTHING"));
    }
    return Status::Ok();
  };
  Status st = body();
  if (!st.ok()) {
    if (conn()->IsHealthy()) (void)conn()->Exec("ROLLBACK");
    return st.WithContext("planning the chunks of " + entity_.name);
  }
  return conn()->Exec("COMMIT");
}

Result<int64_t> ChunkBackfill::PendingChunks(pg_store::PgConnection* c) {
  ASSIGN_OR_RETURN(auto v, c->QueryValue("SELECT count(*) FROM cutover.backfill_chunks WHERE "
                                         "migration = $1 AND entity = $2 AND state = 'pending'",
                                         {migration_.name, entity_.name}));
  return v ? std::stoll(*v) : 0;
}

void ChunkBackfill::Progress(int64_t rows) {
  const int64_t done = rows_done_.fetch_add(rows) + rows;
  std::lock_guard<std::mutex> lock(mu_);
  if (progress_) progress_->Update(done, done);
}

Status ChunkBackfill::Connect(Worker* w) {
  ASSIGN_OR_RETURN(w->conn, pg_store::PgConnection::Connect(shared_.url));
  if (bulk_) return Status::Ok();
  return w->writer->PrepareStaging(w->conn.get());
}

Status ChunkBackfill::MergeRows(Worker* w, const store::SourceBatch& in,
                                const map::MappedBatch& mapped, std::vector<uint32_t> rows,
                                int64_t* accepted, std::vector<Reject>* refused) {
  if (rows.empty()) return Status::Ok();
  pg_store::PgConnection* c = w->conn.get();
  RETURN_IF_ERROR(c->Exec("SAVEPOINT cutover_merge"));
  // The whole batch may take the direct COPY; the halves of a split merge.
  const bool whole = rows.size() == mapped.tables[0].num_rows();
  Result<int64_t> merged = int64_t{0};
  if (bulk_) {
    Status appended = w->writer->Append(c, mapped.tables[0], rows);
    if (!appended.ok()) merged = appended;
  } else {
    merged = whole ? w->writer->Write(c, mapped.tables[0], rows)
                   : w->writer->Merge(c, mapped.tables[0], rows);
  }
  if (merged.ok()) {
    *accepted += static_cast<int64_t>(rows.size());
    return c->Exec("RELEASE SAVEPOINT cutover_merge");
  }
  if (merged.status().code() != StatusCode::kDataError) return merged.status();
  RETURN_IF_ERROR(c->Exec("ROLLBACK TO SAVEPOINT cutover_merge"));
  RETURN_IF_ERROR(c->Exec("RELEASE SAVEPOINT cutover_merge"));
  if (rows.size() == 1) {
    const uint32_t record = mapped.origins[0][rows[0]].record;
    const auto& pos = in.positions[record];
    Reject r;
    r.entity = entity_.name;
    r.source = in.origin;
    r.byte_offset = pos.byte_offset;
    r.line = pos.line;
    r.record_index = pos.record_index;
    r.reason = "PostgreSQL refused the row: " + merged.status().message();
    r.record = w->mapper->RecordText(in, record);
    refused->push_back(std::move(r));
    return Status::Ok();
  }
  // Split and retry: O(k log N) statements for k bad rows among N.
  const size_t half = rows.size() / 2;
  std::vector<uint32_t> second(rows.begin() + half, rows.end());
  rows.resize(half);
  RETURN_IF_ERROR(MergeRows(w, in, mapped, std::move(rows), accepted, refused));
  return MergeRows(w, in, mapped, std::move(second), accepted, refused);
}

Result<bool> ChunkBackfill::LoadOneChunk(Worker* w) {
  pg_store::PgConnection* c = w->conn.get();
  RETURN_IF_ERROR(c->Exec("BEGIN"));
  ASSIGN_OR_RETURN(auto claimed,
                   c->Query("UPDATE cutover.backfill_chunks SET worker = $3, updated_at = now() "
                            "WHERE migration = $1 AND entity = $2 AND chunk_id = ("
                            "SELECT chunk_id FROM cutover.backfill_chunks "
                            "WHERE migration = $1 AND entity = $2 AND state = 'pending' "
                            "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING chunk_id",
                            {migration_.name, entity_.name, w->name}));
  if (claimed.rows.empty()) {
    RETURN_IF_ERROR(c->Exec("COMMIT"));
    return false;
  }
  const std::string chunk_id = *claimed.rows[0][0];
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
      RETURN_IF_ERROR(MergeRows(w, work->in, mapped, std::move(rows), &counts.merged, &rejects));
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
  auto finished = c->Query(
      "UPDATE cutover.backfill_chunks SET state = 'done', rows_read = $4, rows_merged = $5, "
      "rows_rejected = $6, updated_at = now() "
      "WHERE migration = $1 AND entity = $2 AND chunk_id = $3",
      {migration_.name, entity_.name, chunk_id, std::to_string(counts.read),
       std::to_string(counts.merged), std::to_string(counts.rejected)});
  if (!finished.ok()) return finished.status();
  FailPoint("chunk.before_commit");
  RETURN_IF_ERROR(c->Exec("COMMIT"));
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
  std::optional<pg_store::RetryBudget> budget;  // the current streak of failures
  while (!stop_) {
    Result<Step> step = Step::kWait;
    if (w.conn == nullptr || !w.conn->IsHealthy()) {
      Status connected = Connect(&w);
      if (!connected.ok()) step = connected;
    }
    if (step.ok()) step = WorkerStep(&w);
    if (!step.ok()) {
      const Status st = step.status();
      if (w.conn != nullptr && w.conn->IsHealthy()) (void)w.conn->Exec("ROLLBACK");
      if (st.code() == StatusCode::kUnavailable) w.conn.reset();
      if (!budget) budget.emplace(request_.retry_for);
      Status final;
      if (!budget->Again(st, what, &final)) {
        stop_ = true;
        if (bulk_) {
          return final.WithContext(
              fmt::format("{}'s key, indexes and constraints still to build stay set aside in "
                          "cutover.deferred_ddl until a backfill finishes them",
                          entity_.name));
        }
        return final;
      }
      continue;
    }
    budget.reset();
    if (*step == Step::kFinished) return Status::Ok();
    if (*step == Step::kWait) std::this_thread::sleep_for(kPollInterval);
  }
  return Status::Ok();
}

Status ChunkBackfill::RunDry(const std::vector<store::ChunkRef>& chunks) {
  std::atomic<size_t> next{0};
  std::vector<Status> results(jobs_);
  std::vector<std::thread> threads;
  for (int t = 0; t < jobs_; ++t) {
    threads.emplace_back([&, t] {
      auto mapper = map::ColumnarMapper::Create(entity_);
      if (!mapper.ok()) {
        results[t] = mapper.status();
        return;
      }
      for (size_t i = next++; i < chunks.size() && !stop_; i = next++) {
        auto reader = source_->OpenChunk(chunks[i]);
        Status st = reader.ok() ? (*reader)->Open({}) : reader.status();
        store::SourceBatch in;
        map::MappedBatch mapped;
        while (st.ok()) {
          auto more = (*reader)->Next(static_cast<size_t>(shared_.batch_size), &in);
          if (!more.ok()) st = more.status();
          if (!st.ok() || !*more) break;
          (*mapper)->Map(in, &mapped);
          std::lock_guard<std::mutex> lock(mu_);
          dry_.read += mapped.counts[0].read;
          dry_.rejected += mapped.counts[0].rejected;
          for (const auto& r : mapped.rejects) {
            if (++*shared_.run_rejects <= 20) {
              spdlog::warn("would reject {} at {}: {}", r.entity, r.PositionText(), r.reason);
            }
          }
        }
        if (!st.ok()) {
          results[t] = st;
          stop_ = true;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : results) RETURN_IF_ERROR(st);
  dry_.migrated = dry_.read - dry_.rejected;
  return Status::Ok();
}

Status ChunkBackfill::Run(bool* stopped_on_rejects) {
  const auto started = std::chrono::steady_clock::now();
  auto finish_time = [&] {
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (!request_.dry_run && done()) {
    state_ = "skipped (done)";
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
  progress_ = std::make_unique<ProgressReporter>(entity_.name, planned_rows_);
  if (request_.dry_run) {
    state_ = "dry run";
    RETURN_IF_ERROR(RunDry(chunks));
    progress_->Finish();
    finish_time();
    return Status::Ok();
  }

  RETURN_IF_ERROR(SkipSupersededRows());
  RETURN_IF_ERROR(Control("planning the chunks of " + entity_.name, [&]() -> Status {
    const bool was_bulk = bulk_;
    Status planned = PlanLedger(chunks);
    if (!planned.ok()) bulk_ = was_bulk;  // rolled back: decided again next attempt
    return planned;
  }));
  pg_store::QueryResult before;
  RETURN_IF_ERROR(Control("reading the chunk ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(
        before, conn()->Query(
                    "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_rejected), 0) "
                    "FROM cutover.backfill_chunks "
                    "WHERE migration = $1 AND entity = $2 AND state = 'done'",
                    {migration_.name, entity_.name}));
    return Status::Ok();
  }));
  const int64_t done_chunks = std::stoll(*before.rows[0][0]);
  rows_done_ = std::stoll(*before.rows[0][1]);
  rejects_before_ = std::stoll(*before.rows[0][2]);
  state_ = done_chunks > 0 ? "resumed" : "done";
  if (done_chunks > 0) {
    spdlog::info("{}: resuming; {} of {} chunks already done", entity_.name, done_chunks,
                 chunks.size());
  }
  // The direct COPY pays off when keys are new: an empty table (whose
  // columns have the spec's types exactly).
  std::optional<std::string> any;
  RETURN_IF_ERROR(Control("reading " + shape_.QualifiedName(), [&]() -> Status {
    ASSIGN_OR_RETURN(
        any, conn()->QueryValue(fmt::format("SELECT 1 FROM {} LIMIT 1", shape_.QualifiedName())));
    return Status::Ok();
  }));
  direct_copy_ = !any.has_value() && exact_types_;
  started_empty_ = !any.has_value() && done_chunks == 0;

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

  pg_store::QueryResult totals;
  RETURN_IF_ERROR(Control("reading the chunk ledger of " + entity_.name, [&]() -> Status {
    ASSIGN_OR_RETURN(
        totals,
        conn()->Query("SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_merged), 0), "
                      "coalesce(sum(rows_rejected), 0), count(*) FILTER (WHERE state <> 'done') "
                      "FROM cutover.backfill_chunks WHERE migration = $1 AND entity = $2",
                      {migration_.name, entity_.name}));
    return Status::Ok();
  }));
  ledger_.records_read = std::stoll(*totals.rows[0][0]);
  ledger_.rows_merged = std::stoll(*totals.rows[0][1]);
  ledger_.records_rejected = std::stoll(*totals.rows[0][2]);
  ledger_.record_index = ledger_.records_read;
  superseded_known_ = keys_unique_;
  if (!keys_unique_ && started_empty_ && !stop_ && std::stoll(*totals.rows[0][3]) == 0) {
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
    spdlog::error("{}: {} records rejected, more than --max-rejects {}; stopping (see {})",
                  entity_.name, rejects_before_ + rejects_here_, shared_.max_rejects,
                  shared_.sink->path());
    if (bulk_) {
      spdlog::error("{}: its key and indexes stay set aside until a rerun finishes the load",
                    entity_.name);
    }
    *stopped_on_rejects = true;
    state_ = "stopped";
    finish_time();
    return Status::Ok();
  }
  if (std::stoll(*totals.rows[0][3]) != 0) {
    return Internal(fmt::format("{}: workers finished with chunks still pending", entity_.name));
  }
  ledger_.done = true;
  RETURN_IF_ERROR(Control("marking " + entity_.name + " done", [&]() -> Status {
    RETURN_IF_ERROR(conn()->Exec("BEGIN"));
    RETURN_IF_ERROR(catalog::SaveLedger(conn(), migration_.name, ledger_));
    return conn()->Exec("COMMIT");
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
    s.superseded_known = state_ == "skipped (done)" ? s.superseded > 0 : superseded_known_;
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
    d.state = "names from " + entity_.name;
    out.push_back(std::move(d));
  }
  return out;
}

class LookupDimension : public EntityRun {
 public:
  LookupDimension(const RunShared& shared, const spec::EntitySpec& entity)
      : shared_(shared), entity_(entity) {}

  Status Prepare() override {
    shape_ = ShapeFor(*shared_.migration, entity_);
    if (shared_.request->dry_run) return Status::Ok();
    return pg_store::RunWithRetry(shared_.conn, shared_.url, shared_.request->retry_for,
                                  "preparing the table of " + entity_.name, [&] {
                                    return CreateOrCheck(shared_.conn->get(), shape_,
                                                         shared_.request->create_tables,
                                                         entity_.name)
                                        .status();
                                  });
  }
  Status Run(bool*) override { return Status::Ok(); }
  // Reported by the runs that fill it, after they did.
  std::vector<TableSummary> Summaries() const override { return {}; }
  bool done() const override { return true; }  // holds no progress of its own
  Status ResetLedgers() override { return Status::Ok(); }

 private:
  const RunShared& shared_;
  const spec::EntitySpec& entity_;
  pg_store::TableShape shape_;
};

}  // namespace

std::unique_ptr<EntityRun> MakeChunkedEntityRun(const RunShared& shared,
                                                const spec::EntitySpec& entity) {
  return std::make_unique<ChunkBackfill>(shared, entity);
}

std::unique_ptr<EntityRun> MakeLookupDimensionRun(const RunShared& shared,
                                                  const spec::EntitySpec& entity) {
  return std::make_unique<LookupDimension>(shared, entity);
}

}  // namespace cutover::engine
