// A client write through the gateway ("WritePath design").
#include "gateway/write_path.h"

#include <chrono>

#include "common/failpoint.h"
#include "control/read_router.h"

namespace cutover::gateway {

WritePath::WritePath(Journal* journal, KeyLocks* locks, Replayer* replayer, LegacySessions* legacy)
    : journal_(journal), locks_(locks), replayer_(replayer), legacy_(legacy) {}

Result<WriteOutcome> WritePath::Put(control::Stage stage, const std::string& entity,
                                    const std::string& key, const std::string& document) {
  return Write(stage, entity, key, Op::kPut, document);
}

Result<WriteOutcome> WritePath::Delete(control::Stage stage, const std::string& entity,
                                       const std::string& key) {
  return Write(stage, entity, key, Op::kDelete, "");
}

Result<WriteOutcome> WritePath::Modify(control::Stage stage, const std::string& entity,
                                       const std::string& key, const std::string& change) {
  return Write(stage, entity, key, Op::kModify, change);
}

Result<WriteOutcome> WritePath::Write(control::Stage stage, const std::string& entity,
                                      const std::string& key, Op op, const std::string& payload) {
  if (!legacy_->Has(entity)) {
    return InvalidArgument("entity '" + entity + "' is not written through this gateway");
  }
  const control::WritePolicy policy = control::WritesFor(stage);
  if (policy.primary != control::Store::kLegacy) {
    return FailedPrecondition(
        "in stage " + std::string(control::StageName(stage)) +
        " PostgreSQL is the primary store; writes through the gateway in this stage are not "
        "built yet (they come with the reverse writers), so this one was not made");
  }
  std::lock_guard<std::mutex> key_lock(locks_->For(entity, key));
  WriteOutcome out;
  auto start = std::chrono::steady_clock::now();
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
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
  out.legacy_seconds = seconds_since(start);
  out.version = record.version;
  out.deleted = record.deleted;
  out.state = record.state;
  if (!policy.secondary) return out;  // legacy: the legacy store alone
  record.written_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // 4. Durable before the answer; 5. the replayer takes it to PostgreSQL.
  start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(out.journal_seq, journal_->Append(record));
  out.journal_seconds = seconds_since(start);
  FailPoint("gateway.after_journal");
  replayer_->Wake();
  FailPoint("gateway.before_answer");
  return out;
}

}  // namespace cutover::gateway
