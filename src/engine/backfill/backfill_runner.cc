#include "engine/backfill/backfill_runner.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <numeric>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/ledger.h"
#include "catalog/schema_manager.h"
#include "common/failpoint.h"
#include "engine/backfill/chunk_backfill_runner.h"
#include "engine/backfill/entity_run.h"
#include "engine/core/batch_pipeline.h"
#include "engine/core/entity_selection.h"
#include "engine/core/post_load.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/reject_sink.h"
#include "engine/core/source_factory.h"
#include "map/entity_mapper.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

// Backfill design
//
// Each source batch is mapped, then written in ONE transaction: the merges of
// the entity's table and of its child tables (parents first, so foreign keys
// hold), the batch's rejects, and the ledger rows that move the entity's
// position past the batch. A crash before COMMIT leaves the previous position
// and none of the batch; a crash after leaves both. The rerun reads from the
// ledger's position, and because the merge is an upsert keyed on the spec's
// key, even a batch replayed after an ambiguous commit (connection lost while
// COMMIT was in flight) lands once. Hence: no duplicates, no gaps.
//
// A row PostgreSQL refuses (a constraint, a value out of a column's range) is
// isolated by splitting the batch under savepoints and retrying the halves:
// O(k log N) statements for k bad rows among N; the good rows still land.
//
// Every step that touches PostgreSQL (preparing the tables, each batch's
// transaction, finishing the entity) runs through pg_store::RunWithRetry: a
// lost connection or a restarted server is reconnected to and the step run
// again, within --retry-for; the staging tables, which live in the session,
// are recreated on each new connection.

struct TableState {
  const spec::EntitySpec* entity = nullptr;
  std::unique_ptr<pg_store::MergeWriter> writer;
  catalog::LedgerEntry ledger;
  bool exact_types = true;  // every column's type is the one the spec's encodes
};

class EntityBackfill : public EntityRun {
 public:
  EntityBackfill(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                 const BackfillRequest& request, int64_t batch_size,
                 std::unique_ptr<pg_store::PgConnection>* conn, const std::string& url,
                 RejectSink* sink, int64_t* run_rejects, int64_t max_rejects)
      : migration_(migration),
        entity_(entity),
        request_(request),
        batch_size_(batch_size),
        conn_(conn),
        url_(url),
        sink_(sink),
        run_rejects_(run_rejects),
        max_rejects_(max_rejects) {}

  Status Prepare() override;
  // Runs (or resumes, or skips when done) the entity; fills the summaries.
  Status Run(bool* stopped_on_rejects) override;
  std::vector<TableSummary> Summaries() const override;
  bool done() const override { return !tables_.empty() && tables_[0].ledger.done; }
  // Forgets the ledger position and rejects of the entity's tables, inside
  // the caller's transaction: the next Run starts from the first record.
  Status ResetLedgers() override;

 private:
  Status WriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped);
  Status TryWriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped,
                       std::vector<catalog::LedgerEntry>* next);
  Status MergeRows(size_t table, const store::SourceBatch& in, const map::MappedBatch& mapped,
                   std::vector<uint32_t> rows, int64_t* accepted, std::vector<Reject>* refused);
  // Recreates the staging tables of every table on a new connection.
  Status PrepareStagingAll();
  // Runs `attempt` (a whole transaction, or statements safe to repeat); when
  // PostgreSQL cannot be reached, reconnects with backoff and runs it again.
  Status RetryOnDisconnect(const std::string& what, const std::function<Status()>& attempt);
  Status SaveAll(const std::vector<catalog::LedgerEntry>& entries);

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const BackfillRequest& request_;
  const int64_t batch_size_;
  std::unique_ptr<pg_store::PgConnection>* conn_;
  const std::string& url_;
  RejectSink* sink_;
  int64_t* run_rejects_;
  const int64_t max_rejects_;

  std::unique_ptr<map::EntityMapper> mapper_;
  std::vector<TableState> tables_;
  std::string location_;
  std::string state_;
  double seconds_ = 0;
  std::vector<map::TableCounts> dry_counts_;
  // Per table: the run started fresh on an empty table, so whatever it holds
  // at the end is this run's, and its row count tells the repeated keys.
  std::vector<bool> started_empty_;
  std::vector<bool> superseded_counted_;  // per table: rows_merged is the rows stored
};

Status EntityBackfill::Prepare() {
  ASSIGN_OR_RETURN(mapper_, map::EntityMapper::Create(entity_));
  ASSIGN_OR_RETURN(location_, SourceLocationOf(migration_, entity_));
  const auto& entities = mapper_->tables();
  for (size_t i = 0; i < entities.size(); ++i) {
    TableState t;
    t.entity = entities[i];
    int parent = mapper_->ParentOf(i);
    auto shape = pg_store::ShapeOf(*entities[i], parent >= 0 ? entities[parent] : nullptr);
    t.writer = std::make_unique<pg_store::MergeWriter>(std::move(shape));
    t.ledger.entity = entities[i]->name;
    t.ledger.source = location_;
    tables_.push_back(std::move(t));
  }
  dry_counts_.assign(tables_.size(), {});
  if (request_.dry_run) return Status::Ok();

  return RetryOnDisconnect("preparing the tables of " + entity_.name, [&]() -> Status {
    pg_store::PgConnection* conn = conn_->get();
    for (auto& t : tables_) {
      const auto& shape = t.writer->shape();
      if (request_.create_tables) RETURN_IF_ERROR(catalog::CreateTable(conn, shape));
      // Checked also when created: a table that existed already may differ.
      auto fit = catalog::CheckTable(conn, shape);
      if (!fit.ok()) return fit.status().WithContext("entity " + t.entity->name);
      // Columns PostgreSQL must cast cannot take the direct binary COPY.
      t.exact_types = fit->exact();
      RETURN_IF_ERROR(t.writer->PrepareStaging(conn));
      ASSIGN_OR_RETURN(t.ledger, catalog::LoadLedger(conn, migration_.name, t.entity->name));
      t.ledger.source = location_;
    }
    return Status::Ok();
  });
}

Status EntityBackfill::PrepareStagingAll() {
  for (auto& t : tables_) RETURN_IF_ERROR(t.writer->PrepareStaging(conn_->get()));
  return Status::Ok();
}

Status EntityBackfill::ResetLedgers() {
  for (auto& t : tables_) {
    RETURN_IF_ERROR(catalog::ResetLedger(conn_->get(), migration_.name, t.entity->name));
    t.ledger = catalog::LedgerEntry{.entity = t.entity->name, .source = location_};
    t.ledger.exists = true;
  }
  std::vector<catalog::LedgerEntry> fresh;
  for (auto& t : tables_) fresh.push_back(t.ledger);
  return SaveAll(fresh);
}

Status EntityBackfill::SaveAll(const std::vector<catalog::LedgerEntry>& entries) {
  for (const auto& e : entries) {
    RETURN_IF_ERROR(catalog::SaveLedger(conn_->get(), migration_.name, e));
  }
  return Status::Ok();
}

Status EntityBackfill::MergeRows(size_t table, const store::SourceBatch& in,
                                 const map::MappedBatch& mapped, std::vector<uint32_t> rows,
                                 int64_t* accepted, std::vector<Reject>* refused) {
  pg_store::PgConnection* conn = conn_->get();
  RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_merge"));
  // The whole batch may take the direct COPY; the halves of a split merge.
  const bool whole = rows.size() == mapped.tables[table].num_rows();
  auto merged = whole ? tables_[table].writer->Write(conn, mapped.tables[table], rows)
                      : tables_[table].writer->Merge(conn, mapped.tables[table], rows);
  if (merged.ok()) {
    *accepted += static_cast<int64_t>(rows.size());
    return conn->Exec("RELEASE SAVEPOINT cutover_merge");
  }
  if (merged.status().code() != StatusCode::kDataError) return merged.status();
  RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_merge"));
  RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_merge"));
  if (rows.size() == 1) {
    const auto& origin = mapped.origins[table][rows[0]];
    const auto& pos = in.positions[origin.record];
    Reject r;
    r.entity = tables_[table].entity->name;
    r.source = in.origin;
    r.byte_offset = pos.byte_offset;
    r.line = pos.line;
    r.record_index = pos.record_index;
    r.item = origin.item;
    r.reason = "PostgreSQL refused the row: " + merged.status().message();
    r.record = std::string(in.rows.columns[0].BytesAt(origin.record));
    refused->push_back(std::move(r));
    return Status::Ok();
  }
  const size_t half = rows.size() / 2;
  std::vector<uint32_t> second(rows.begin() + half, rows.end());
  rows.resize(half);
  RETURN_IF_ERROR(MergeRows(table, in, mapped, std::move(rows), accepted, refused));
  return MergeRows(table, in, mapped, std::move(second), accepted, refused);
}

Status EntityBackfill::TryWriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped,
                                     std::vector<catalog::LedgerEntry>* next) {
  pg_store::PgConnection* conn = conn_->get();
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  std::vector<Reject> rejects = mapped.rejects;
  next->clear();
  for (size_t t = 0; t < tables_.size(); ++t) {
    std::vector<uint32_t> rows(mapped.tables[t].num_rows());
    std::iota(rows.begin(), rows.end(), 0u);
    int64_t accepted = 0;
    const size_t refused_before = rejects.size();
    RETURN_IF_ERROR(MergeRows(t, in, mapped, std::move(rows), &accepted, &rejects));
    FailPoint("backfill.after_merge");
    catalog::LedgerEntry e = tables_[t].ledger;
    e.byte_offset = in.end.byte_offset;
    e.record_index = in.end.record_index;
    e.line = in.end.line;
    e.records_read += mapped.counts[t].read;
    e.rows_merged += accepted;
    e.records_rejected +=
        mapped.counts[t].rejected + static_cast<int64_t>(rejects.size() - refused_before);
    e.records_repeated_keys += mapped.counts[t].repeated_keys;
    next->push_back(std::move(e));
  }
  if (!rejects.empty()) {
    RETURN_IF_ERROR(sink_->Write(rejects));
    RETURN_IF_ERROR(catalog::InsertRejects(conn, migration_.name, rejects));
  }
  RETURN_IF_ERROR(SaveAll(*next));
  FailPoint("backfill.before_commit");
  return conn->Exec("COMMIT");
}

Status EntityBackfill::RetryOnDisconnect(const std::string& what,
                                         const std::function<Status()>& attempt) {
  return pg_store::RunWithRetry(conn_, url_, request_.retry_for, what, attempt,
                                [&] { return PrepareStagingAll(); });
}

Status EntityBackfill::WriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped) {
  std::vector<catalog::LedgerEntry> next;
  RETURN_IF_ERROR(
      RetryOnDisconnect(fmt::format("writing a batch of {} at record {}", entity_.name,
                                    in.positions.empty() ? 0 : in.positions[0].record_index),
                        [&] { return TryWriteBatch(in, mapped, &next); }));
  int64_t added = 0;
  for (size_t t = 0; t < tables_.size(); ++t) {
    added += next[t].records_rejected - tables_[t].ledger.records_rejected;
    tables_[t].ledger = std::move(next[t]);
  }
  *run_rejects_ += added;
  FailPoint("backfill.after_commit");
  return Status::Ok();
}

Status EntityBackfill::Run(bool* stopped_on_rejects) {
  const auto started = std::chrono::steady_clock::now();
  bool resume = false;
  if (!request_.dry_run) {
    const auto& head = tables_[0].ledger;
    const bool restart = request_.restart;
    if (head.exists && head.done && !restart) {
      state_ = "skipped (done)";
      return Status::Ok();
    }
    resume = head.exists && !head.done && !restart && head.record_index > 0;
    if (!resume) {
      RETURN_IF_ERROR(RetryOnDisconnect("starting " + entity_.name, [&] {
        RETURN_IF_ERROR(conn_->get()->Exec("BEGIN"));
        RETURN_IF_ERROR(ResetLedgers());
        return conn_->get()->Exec("COMMIT");
      }));
    } else {
      spdlog::info("{}: resuming at record {} (line {}, byte {})", entity_.name, head.record_index,
                   head.line, head.byte_offset);
      for (const auto& t : tables_) *run_rejects_ += t.ledger.records_rejected;
    }
  }
  state_ = request_.dry_run ? "dry run" : resume ? "resumed" : "done";

  ASSIGN_OR_RETURN(auto reader, OpenSource(migration_, entity_));
  const auto& head = tables_[0].ledger;
  store::ResumePoint from;
  if (resume) from = {head.byte_offset, head.record_index, head.line};
  RETURN_IF_ERROR(reader->Open(from));

  started_empty_.assign(tables_.size(), false);
  superseded_counted_.assign(tables_.size(), false);
  if (!request_.dry_run) {
    RETURN_IF_ERROR(RetryOnDisconnect("preparing " + entity_.name, [&]() -> Status {
      for (auto& t : tables_) {
        // A reconnect during an earlier entity recreated only that entity's
        // staging tables; this one's were lost with the old connection.
        RETURN_IF_ERROR(t.writer->PrepareStaging(conn_->get()));
        // The direct COPY pays off when keys are new: a resumed run, or an
        // empty table. A table that already holds rows is merged from the start.
        bool direct = resume;
        bool empty = false;
        if (!direct) {
          ASSIGN_OR_RETURN(
              auto any, conn_->get()->QueryValue(fmt::format("SELECT 1 FROM {} LIMIT 1",
                                                             t.writer->shape().QualifiedName())));
          direct = empty = !any.has_value();
        }
        t.writer->set_direct_copy(direct && t.exact_types);
        started_empty_[&t - tables_.data()] = empty;
      }
      return Status::Ok();
    }));
  }

  ProgressReporter progress(entity_.name, reader->SizeHint());
  BatchPipeline pipeline(reader.get(), mapper_.get(), static_cast<size_t>(batch_size_));
  int64_t rows_this_run = 0;
  for (;;) {
    ASSIGN_OR_RETURN(MappedWork * work, pipeline.Next());
    if (work == nullptr) break;
    const store::SourceBatch& in = work->in;
    const map::MappedBatch& mapped = work->mapped;
    if (request_.dry_run) {
      for (size_t t = 0; t < tables_.size(); ++t) {
        dry_counts_[t].read += mapped.counts[t].read;
        dry_counts_[t].rejected += mapped.counts[t].rejected;
        dry_counts_[t].repeated_keys += mapped.counts[t].repeated_keys;
      }
      for (const auto& r : mapped.rejects) {
        if (++*run_rejects_ <= 20) {
          spdlog::warn("would reject {} at {}: {}", r.entity, r.PositionText(), r.reason);
        }
      }
    } else {
      RETURN_IF_ERROR(WriteBatch(in, mapped));
    }
    rows_this_run += static_cast<int64_t>(in.size());
    progress.Update(rows_this_run, in.end.byte_offset);
    if (!request_.dry_run && max_rejects_ >= 0 && *run_rejects_ > max_rejects_) {
      progress.Finish();
      spdlog::error("{}: {} records rejected, more than --max-rejects {}; stopping (see {})",
                    entity_.name, *run_rejects_, max_rejects_, sink_->path());
      *stopped_on_rejects = true;
      state_ = "stopped";
      seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return Status::Ok();
    }
  }
  progress.Finish();
  if (!request_.dry_run) {
    std::vector<catalog::LedgerEntry> finished;
    for (size_t i = 0; i < tables_.size(); ++i) {
      finished.push_back(tables_[i].ledger);
      finished.back().done = true;
      // rows_merged counts rows written; a key repeated across batches was
      // written once per occurrence. Where the table started empty, what it
      // holds now is the rows stored, and the difference was superseded.
      if (!started_empty_[i]) continue;
      int64_t stored = 0;
      RETURN_IF_ERROR(RetryOnDisconnect("counting " + tables_[i].entity->name, [&]() -> Status {
        ASSIGN_OR_RETURN(auto n,
                         conn_->get()->QueryValue("SELECT count(*) FROM " +
                                                  tables_[i].writer->shape().QualifiedName()));
        stored = n ? std::stoll(*n) : 0;
        return Status::Ok();
      }));
      // More rows than written means rows came from elsewhere too (an
      // application writing meanwhile): then this run cannot tell them apart.
      auto& e = finished.back();
      if (stored <= e.rows_merged) {
        e.rows_merged = stored;
        superseded_counted_[i] = true;
      }
    }
    RETURN_IF_ERROR(RetryOnDisconnect("finishing " + entity_.name, [&] {
      RETURN_IF_ERROR(conn_->get()->Exec("BEGIN"));
      RETURN_IF_ERROR(SaveAll(finished));
      return conn_->get()->Exec("COMMIT");
    }));
    for (size_t i = 0; i < tables_.size(); ++i) tables_[i].ledger = finished[i];
    FailPoint("backfill.entity_done");
    for (const auto& t : tables_) {
      RETURN_IF_ERROR(RetryOnDisconnect("finishing the load of " + t.entity->name, [&] {
        return FinishEntityLoad(conn_->get(), *t.entity, t.writer->shape());
      }));
    }
  }
  seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return Status::Ok();
}

std::vector<TableSummary> EntityBackfill::Summaries() const {
  std::vector<TableSummary> out;
  for (size_t t = 0; t < tables_.size(); ++t) {
    TableSummary s;
    s.entity = tables_[t].entity->name;
    if (request_.dry_run) {
      s.read = dry_counts_[t].read;
      s.rejected = dry_counts_[t].rejected;
      s.repeated_keys = dry_counts_[t].repeated_keys;
      s.migrated = s.read - s.rejected;
      s.superseded_known = false;
    } else {
      s.read = tables_[t].ledger.records_read;
      s.rejected = tables_[t].ledger.records_rejected;
      s.repeated_keys = tables_[t].ledger.records_repeated_keys;
      s.migrated = tables_[t].ledger.rows_merged;
      s.superseded = s.read - s.migrated - s.rejected;
      // A run that started on an empty table counts its rows when it
      // finishes. One skipped as done shows an earlier run's ledger, which
      // holds a count only if that run made one, and a positive difference
      // only then.
      s.superseded_known =
          t < superseded_counted_.size() ? superseded_counted_[t] : s.superseded > 0;
    }
    s.seconds = seconds_;
    s.state = state_;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<BackfillReport> RunBackfill(const spec::MigrationSpec& migration,
                                   const std::string& target_url, const BackfillRequest& request) {
  BackfillReport report;
  report.dry_run = request.dry_run;
  report.max_rejects = request.max_rejects.value_or(migration.backfill.max_rejects);
  report.reject_file = migration.backfill.reject_file;
  const int64_t batch_size =
      request.batch_size > 0 ? request.batch_size : migration.backfill.batch_size;

  // A child is read from its parent's records, and a dimension is filled
  // by its facts' lookups: neither loads alone, so the name to give is said.
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child()) {
      return InvalidArgument(
          fmt::format("--entity {}: a child of {}, loaded from its records: use --entity {}", name,
                      match.top_level->name, match.top_level->name));
    }
    if (match.is_dimension()) {
      std::vector<std::string> facts;
      for (const auto* f : match.filled_by) facts.push_back("--entity " + f->name);
      return InvalidArgument(
          facts.empty()
              ? fmt::format("--entity {}: it has no source and no lookup fills it", name)
              : fmt::format("--entity {}: filled by the lookups of other entities: use {}", name,
                            fmt::join(facts, " or ")));
    }
  }
  std::vector<const spec::EntitySpec*> selected;
  for (const auto& e : migration.entities) {
    if (request.entities.empty() || std::find(request.entities.begin(), request.entities.end(),
                                              e.name) != request.entities.end()) {
      selected.push_back(&e);
    }
  }

  std::unique_ptr<pg_store::PgConnection> conn;
  std::unique_ptr<RejectSink> sink;
  if (!request.dry_run) {
    RETURN_IF_ERROR(
        pg_store::RunWithRetry(&conn, target_url, request.retry_for, "preparing the cutover schema",
                               [&] { return catalog::EnsureControlSchema(conn.get()); }));
    ASSIGN_OR_RETURN(sink, RejectSink::Open(migration.backfill.reject_file));
  }

  RunShared shared{.migration = &migration,
                   .request = &request,
                   .batch_size = batch_size,
                   .conn = &conn,
                   .url = target_url,
                   .sink = sink.get(),
                   .run_rejects = &report.rejected_total,
                   .max_rejects = report.max_rejects,
                   .opener = {}};
  std::vector<std::unique_ptr<EntityRun>> runs;
  for (const auto* entity : selected) {
    if (entity->source.empty()) {
      runs.push_back(MakeLookupDimensionRun(shared, *entity));
    } else if (IsChunkedEntity(migration, *entity)) {
      runs.push_back(MakeChunkedEntityRun(shared, *entity));
    } else {
      runs.push_back(std::make_unique<EntityBackfill>(migration, *entity, request, batch_size,
                                                      &conn, target_url, sink.get(),
                                                      &report.rejected_total, report.max_rejects));
    }
    RETURN_IF_ERROR(runs.back()->Prepare());
  }
  // A previous run that finished every entity is done: this is a new run.
  // Otherwise the entities it finished are skipped and the rest resume.
  // A new run (or --restart) resets every entity's ledger in one transaction
  // before the first one runs: were it interrupted, an entity it had not
  // reached yet would otherwise still be done from the previous run, and be
  // skipped when this one resumes.
  const bool all_done = std::all_of(runs.begin(), runs.end(), [](auto& r) { return r->done(); });
  if (!request.dry_run && (all_done || request.restart)) {
    RETURN_IF_ERROR(
        pg_store::RunWithRetry(&conn, target_url, request.retry_for, "starting a new run", [&] {
          RETURN_IF_ERROR(conn->Exec("BEGIN"));
          for (auto& run : runs) RETURN_IF_ERROR(run->ResetLedgers());
          return conn->Exec("COMMIT");
        }));
  }
  for (auto& run : runs) {
    RETURN_IF_ERROR(run->Run(&report.stopped_on_rejects));
    for (auto& s : run->Summaries()) report.tables.push_back(std::move(s));
    if (report.stopped_on_rejects) break;
    FailPoint("backfill.between_entities");
  }
  if (!request.dry_run) {
    report.rejected_total = 0;
    for (const auto& t : report.tables) report.rejected_total += t.rejected;
    // The file was appended to as batches committed: a resumed run, or a
    // batch retried after a lost connection, wrote some rejects twice.
    // cutover.rejects holds each once (keyed by position), so the file is
    // rewritten from it.
    sink.reset();
    RETURN_IF_ERROR(RewriteRejectFile(conn.get(), migration.name, report.reject_file));
  }
  return report;
}

std::string FormatBackfillSummary(const BackfillReport& report) {
  // "would_write" is one word so that the columns split on whitespace.
  std::string out = fmt::format("{:<24} {:>12} {:>12} {:>10} {:>11} {:>12}  {}\n", "entity", "read",
                                report.dry_run ? "would_write" : "migrated", "rejected",
                                "superseded", "rows/s", "state");
  bool unknown_superseded = false;
  for (const auto& t : report.tables) {
    std::string rate = t.seconds > 0 && t.state != "skipped (done)" && !t.from_lookups
                           ? fmt::format("{:.0f}", t.read / t.seconds)
                           : "-";
    std::string superseded = "-";
    if (t.superseded_known && !t.from_lookups) {
      superseded = std::to_string(t.superseded);
    } else if (!t.from_lookups && !report.dry_run) {
      unknown_superseded = true;
    }
    out +=
        fmt::format("{:<24} {:>12} {:>12} {:>10} {:>11} {:>12}  {}\n", t.entity,
                    t.from_lookups ? "-" : std::to_string(t.read), t.migrated,
                    t.from_lookups ? "-" : std::to_string(t.rejected), superseded, rate, t.state);
  }
  if (unknown_superseded) {
    out +=
        "superseded \"-\": not counted on this run (it resumed, stopped early, or merged into a "
        "table that held rows), so rows that repeat a key are not told from new ones; migrated "
        "counts rows written\n";
  }
  if (report.dry_run) {
    int64_t rejected = 0;
    for (const auto& t : report.tables) rejected += t.rejected;
    out += fmt::format(
        "dry run: nothing was written. A real run would merge the rows above into their tables "
        "(created with --create-tables, else checked against the spec) and reject {} records{}\n",
        rejected,
        report.max_rejects >= 0 && rejected > report.max_rejects
            ? fmt::format(", more than --max-rejects {}, so it would stop and exit 1",
                          report.max_rejects)
            : "");
  }
  for (const auto& t : report.tables) {
    if (t.repeated_keys == 0) continue;
    out += fmt::format(
        "{}: {} {} an object that names a key twice; the last value was {}, as PostgreSQL's "
        "jsonb does, in columns and jsonb alike\n",
        t.entity, t.repeated_keys, t.repeated_keys == 1 ? "record holds" : "records hold",
        report.dry_run ? "would be used" : "used");
  }
  if (report.rejected_total > 0 && !report.dry_run) {
    out += fmt::format("{} rejected records are in {} and cutover.rejects\n", report.rejected_total,
                       report.reject_file);
  }
  return out;
}

}  // namespace cutover::engine
