// The record-stream run of one entity: a JSON source read in order on one
// thread, each batch and its ledger position committed in one transaction.
#include "engine/backfill/record_stream_run.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <numeric>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/ledger.h"
#include "catalog/rejects.h"
#include "catalog/schema.h"
#include "catalog/table_ddl.h"
#include "common/failpoint.h"
#include "engine/backfill/reject_limits.h"
#include "engine/core/batch_pipeline.h"
#include "engine/core/entity_plan.h"
#include "engine/core/post_load.h"
#include "engine/core/progress_reporter.h"
#include "engine/core/source_factory.h"
#include "engine/core/write_path.h"
#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {
namespace {

// RecordStreamRun design
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
// isolated by splitting the batch under savepoints and retrying the halves
// (MergeWithBisect, engine/core/write_path.h): O(k log N) statements for k
// bad rows among N; the good rows still land.
//
// Every step that touches PostgreSQL (preparing the tables, each batch's
// transaction, finishing the entity) runs through RetryStep (write_path.h), as
// the chunked runner's steps do: a lost connection, a restarted server, a
// deadlock or a serialization failure rolls the step back, and it runs again
// (on a new connection when the old one was lost) within --retry-for; the
// staging tables, which live in the session, are recreated on each new
// connection.

struct TableState {
  const spec::EntitySpec* entity = nullptr;
  std::unique_ptr<pg_store::MergeWriter> writer;
  catalog::LedgerEntry ledger;
  bool exact_types = true;  // every column's type is the one the spec's encodes
};

class RecordStreamRun : public EntityRun {
 public:
  RecordStreamRun(const BackfillContext& context, const spec::EntitySpec& entity)
      : migration_(*context.migration),
        entity_(entity),
        request_(*context.request),
        batch_size_(context.batch_size),
        conn_(context.conn),
        url_(context.url),
        sink_(context.sink),
        run_rejects_(context.run_rejects),
        max_rejects_(context.max_rejects) {}

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

  std::unique_ptr<map::RecordMapper> mapper_;
  std::vector<TableState> tables_;
  std::string location_;
  RunState state_ = RunState::kDone;
  double seconds_ = 0;
  std::vector<map::TableCounts> dry_counts_;
  // Per table: the run started fresh on an empty table, so whatever it holds
  // at the end is this run's, and its row count tells the repeated keys.
  std::vector<bool> started_empty_;
  std::vector<bool> superseded_counted_;  // per table: rows_merged is the rows stored
};

Status RecordStreamRun::Prepare() {
  ASSIGN_OR_RETURN(EntityPlan plan, PlanEntity(migration_, entity_));
  mapper_ = std::move(plan.mapper);
  ASSIGN_OR_RETURN(location_, SourceLocationOf(migration_, entity_));
  for (PlannedTable& table : plan.tables) {
    TableState t;
    t.entity = table.entity;
    t.writer = std::make_unique<pg_store::MergeWriter>(std::move(table.shape));
    t.ledger.entity = table.entity->name;
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

Status RecordStreamRun::PrepareStagingAll() {
  for (auto& t : tables_) RETURN_IF_ERROR(t.writer->PrepareStaging(conn_->get()));
  return Status::Ok();
}

Status RecordStreamRun::ResetLedgers() {
  for (auto& t : tables_) {
    RETURN_IF_ERROR(catalog::ResetLedger(conn_->get(), migration_.name, t.entity->name));
    t.ledger = catalog::LedgerEntry{.entity = t.entity->name, .source = location_};
    t.ledger.exists = true;
  }
  std::vector<catalog::LedgerEntry> fresh;
  for (auto& t : tables_) fresh.push_back(t.ledger);
  return SaveAll(fresh);
}

Status RecordStreamRun::SaveAll(const std::vector<catalog::LedgerEntry>& entries) {
  for (const auto& e : entries) {
    RETURN_IF_ERROR(catalog::SaveLedger(conn_->get(), migration_.name, e));
  }
  return Status::Ok();
}

Status RecordStreamRun::TryWriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped,
                                      std::vector<catalog::LedgerEntry>* next) {
  pg_store::PgConnection* conn = conn_->get();
  pg_store::Transaction tx(conn);
  RETURN_IF_ERROR(tx.status());
  std::vector<Reject> rejects = mapped.rejects;
  next->clear();
  for (size_t t = 0; t < tables_.size(); ++t) {
    std::vector<uint32_t> rows(mapped.tables[t].num_rows());
    std::iota(rows.begin(), rows.end(), 0u);
    int64_t accepted = 0;
    const size_t refused_before = rejects.size();
    const TableWrite target{.writer = tables_[t].writer.get(),
                            .mode = WriteMode::kMerge,
                            .in = &in,
                            .mapped = &mapped,
                            .table = t,
                            .mapper = mapper_.get(),
                            .entity = tables_[t].entity->name};
    RETURN_IF_ERROR(MergeWithBisect(conn, target, std::move(rows), &accepted, &rejects));
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
  return tx.Commit();
}

Status RecordStreamRun::RetryOnDisconnect(const std::string& what,
                                          const std::function<Status()>& attempt) {
  return RetryStep(conn_, url_, request_.retry_for, what, attempt,
                   [&] { return PrepareStagingAll(); });
}

Status RecordStreamRun::WriteBatch(const store::SourceBatch& in, const map::MappedBatch& mapped) {
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

Status RecordStreamRun::Run(bool* stopped_on_rejects) {
  const auto started = std::chrono::steady_clock::now();
  bool resume = false;
  if (!request_.dry_run) {
    const auto& head = tables_[0].ledger;
    const bool restart = request_.restart;
    if (head.exists && head.done && !restart) {
      state_ = RunState::kSkippedDone;
      return Status::Ok();
    }
    resume = head.exists && !head.done && !restart && head.record_index > 0;
    if (!resume) {
      RETURN_IF_ERROR(RetryOnDisconnect("starting " + entity_.name, [&] {
        pg_store::Transaction tx(conn_->get());
        RETURN_IF_ERROR(tx.status());
        RETURN_IF_ERROR(ResetLedgers());
        return tx.Commit();
      }));
    } else {
      spdlog::info("{}: resuming at record {} (line {}, byte {})", entity_.name, head.record_index,
                   head.line, head.byte_offset);
      for (const auto& t : tables_) *run_rejects_ += t.ledger.records_rejected;
    }
  }
  state_ = request_.dry_run ? RunState::kDryRun : resume ? RunState::kResumed : RunState::kDone;

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
          ASSIGN_OR_RETURN(empty, TableIsEmpty(conn_->get(), t.writer->shape()));
          direct = empty;
        }
        t.writer->set_direct_copy(direct && t.exact_types);
        started_empty_[&t - tables_.data()] = empty;
      }
      return Status::Ok();
    }));
  }

  ProgressReporter progress(entity_.name, reader->SizeHint(), "bytes");
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
      WarnWouldReject(mapped.rejects, run_rejects_);
    } else {
      RETURN_IF_ERROR(WriteBatch(in, mapped));
    }
    rows_this_run += static_cast<int64_t>(in.size());
    progress.Update(rows_this_run, in.end.byte_offset);
    if (!request_.dry_run && max_rejects_ >= 0 && *run_rejects_ > max_rejects_) {
      progress.Finish();
      LogStopOnRejects(entity_.name, *run_rejects_, max_rejects_, sink_->path());
      *stopped_on_rejects = true;
      state_ = RunState::kStopped;
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
      pg_store::Transaction tx(conn_->get());
      RETURN_IF_ERROR(tx.status());
      RETURN_IF_ERROR(SaveAll(finished));
      return tx.Commit();
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

std::vector<TableSummary> RecordStreamRun::Summaries() const {
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

std::unique_ptr<EntityRun> MakeRecordStreamRun(const BackfillContext& context,
                                               const spec::EntitySpec& entity) {
  return std::make_unique<RecordStreamRun>(context, entity);
}

}  // namespace cutover::engine
