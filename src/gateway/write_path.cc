// A client write through the gateway ("WritePath design").
#include "gateway/write_path.h"

#include <algorithm>
#include <chrono>

#include "common/failpoint.h"

namespace cutover::gateway {
namespace {
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

WritePath::WritePath(Journal* journal, KeyLocks* locks, Replayer* replayer, LegacySessions* legacy,
                     PostgresPrimary* postgres)
    : journal_(journal), locks_(locks), replayer_(replayer), legacy_(legacy), postgres_(postgres) {}

Result<WriteOutcome> WritePath::Put(control::Stage stage, const std::string& entity,
                                    const std::string& key, const std::string& document,
                                    Batch* batch) {
  return Write(stage, entity, key, Op::kPut, document, batch);
}

Result<WriteOutcome> WritePath::Delete(control::Stage stage, const std::string& entity,
                                       const std::string& key, Batch* batch) {
  return Write(stage, entity, key, Op::kDelete, "", batch);
}

Result<WriteOutcome> WritePath::Modify(control::Stage stage, const std::string& entity,
                                       const std::string& key, const std::string& change,
                                       Batch* batch) {
  return Write(stage, entity, key, Op::kModify, change, batch);
}

Status WritePath::AwaitBatch(const Batch& batch) {
  if (batch.last_seq == 0) return Status::Ok();  // nothing journaled
  RETURN_IF_ERROR(journal_->WaitDurable(batch.last_seq));
  FailPoint("gateway.after_journal");
  FailPoint("gateway.before_answer");
  return Status::Ok();
}

Result<WriteOutcome> WritePath::Write(control::Stage stage, const std::string& entity,
                                      const std::string& key, Op op, const std::string& payload,
                                      Batch* batch) {
  if (!legacy_->Has(entity)) {
    return InvalidArgument("entity '" + entity + "' is not written through this gateway");
  }
  WriteOutcome out;
  out.policy = control::WritesFor(stage);
  // 1. Writes to one key through this process, one after another in every store.
  std::lock_guard<std::mutex> key_lock(locks_->For(entity, key));
  if (out.policy.primary == control::Store::kPostgres) {
    return WritePostgresFirst(entity, key, op, payload, std::move(out), batch);
  }
  return WriteLegacyFirst(entity, key, op, payload, std::move(out), batch);
}

Result<WriteOutcome> WritePath::WriteLegacyFirst(const std::string& entity, const std::string& key,
                                                 Op op, const std::string& payload,
                                                 WriteOutcome out, Batch* batch) {
  const auto start = std::chrono::steady_clock::now();
  JournalRecord record;
  record.entity = entity;
  record.key = key;
  record.owed_to = OwedTo::kPostgres;
  {
    // A session of the entity's own for the legacy part, given back on
    // every way out of this block.
    const LegacySessions::Lease e = legacy_->Borrow(entity);
    // 2. The legacy store, the primary: its error is the client's, and
    // nothing of the write stays staged for a later Flush to land.
    Status staged;
    if (op == Op::kPut) {
      RowBatch row;
      row.AddColumn("$doc", ValueType::kJsonb);
      row.columns[0].AppendBytes(payload);
      staged = e->writer->Upsert({key}, row, 0);
    } else if (op == Op::kDelete) {
      staged = e->writer->Delete({key});
    } else {
      staged = e->writer->Modify({key}, payload);
    }
    if (staged.ok()) staged = e->writer->Flush();
    if (!staged.ok()) {
      e->writer->Discard();
      return staged;
    }
    FailPoint("gateway.after_primary");
    if (const int64_t version = e->writer->flushed_version(); version >= 0) {
      // 3'. A store this process alone writes (a JSON file) holds exactly
      // what was staged, as of the version its writer gives.
      record.version = version;
      record.deleted = op == Op::kDelete;
      if (op == Op::kPut) record.state = payload;
    } else {
      // 3. Read back as a backfill or a sync would read it.
      store::StoreBatch read;
      RETURN_IF_ERROR(e->store->key_reader()->Read({{key}}, &read));
      if (read.size() == 0) {
        record.deleted = true;
        record.version = read.versions_floor;
      } else {
        record.state = std::string(read.rows.columns[read.rows.IndexOf("$doc")].BytesAt(0));
        record.version = read.versions[0];
      }
    }
  }  // the session goes back before the journal's group commit
  return Finish(std::move(record), start, std::move(out), batch);
}

Result<WriteOutcome> WritePath::Finish(JournalRecord record,
                                       std::chrono::steady_clock::time_point start,
                                       WriteOutcome out, Batch* batch) {
  out.legacy_seconds = SecondsSince(start);
  out.version = record.version;
  out.deleted = record.deleted;
  out.state = record.state;
  if (!out.policy.secondary) return out;  // legacy: the legacy store alone
  RETURN_IF_ERROR(JournalAndWake(std::move(record), &out, batch));
  return out;
}

Result<WriteOutcome> WritePath::WritePostgresFirst(const std::string& entity,
                                                   const std::string& key, Op op,
                                                   const std::string& payload, WriteOutcome out,
                                                   Batch* batch) {
  const auto start = std::chrono::steady_clock::now();
  // 2. PostgreSQL, the primary: its error is the client's.
  ASSIGN_OR_RETURN(const PrimaryWrite written,
                   op == Op::kPut      ? postgres_->Write(entity, key, payload)
                   : op == Op::kDelete ? postgres_->Write(entity, key, std::nullopt)
                                       : postgres_->Modify(entity, key, payload));
  out.postgres_seconds = SecondsSince(start);
  FailPoint("gateway.after_primary");
  out.version = written.version;
  out.deleted = written.deleted;
  out.state = written.document;
  if (!out.policy.secondary) return out;  // complete: PostgreSQL alone
  JournalRecord record;
  record.entity = entity;
  record.key = key;
  record.owed_to = OwedTo::kLegacy;
  record.deleted = written.deleted;
  record.state = written.document;
  record.version = written.version;
  RETURN_IF_ERROR(JournalAndWake(std::move(record), &out, batch));
  return out;
}

Status WritePath::JournalAndWake(JournalRecord record, WriteOutcome* out, Batch* batch) {
  record.written_at_us = NowMicros();
  const auto start = std::chrono::steady_clock::now();
  if (batch != nullptr) {
    // 4. Queued under the key's lock, so the journal keeps the order of the
    // key's writes; durable, for the whole batch, in AwaitBatch.
    ASSIGN_OR_RETURN(out->journal_seq, journal_->Enqueue(std::move(record)));
    batch->last_seq = std::max(batch->last_seq, out->journal_seq);
    out->journal_seconds = SecondsSince(start);
    replayer_->Wake();
    return Status::Ok();
  }
  // 4. Durable before the answer; 5. the replayer takes it to the secondary.
  ASSIGN_OR_RETURN(out->journal_seq, journal_->Append(std::move(record)));
  out->journal_seconds = SecondsSince(start);
  FailPoint("gateway.after_journal");
  replayer_->Wake();
  FailPoint("gateway.before_answer");
  return Status::Ok();
}

}  // namespace cutover::gateway
