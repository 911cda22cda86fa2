// A client write through the gateway ("WritePath design").
#include "gateway/write_path.h"

#include <chrono>

#include "common/failpoint.h"
#include "control/read_router.h"

namespace cutover::gateway {

WritePath::WritePath(Journal* journal, KeyLocks* locks, Replayer* replayer,
                     std::map<std::string, std::vector<Session>> entities)
    : journal_(journal), locks_(locks), replayer_(replayer) {
  for (auto& [name, sessions] : entities) {
    Slot& slot = entities_[name];
    slot.sessions = std::move(sessions);
    for (size_t i = 0; i < slot.sessions.size(); ++i) slot.free.push_back(i);
    slot.mu = std::make_unique<std::mutex>();
    slot.released = std::make_unique<std::condition_variable>();
  }
}

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
  auto slot = entities_.find(entity);
  if (slot == entities_.end()) {
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
  JournalRecord record;
  record.entity = entity;
  record.key = key;
  record.owed_to = OwedTo::kPostgres;
  {
    // A session of the entity's own for the legacy part, given back on
    // every way out of this block.
    Slot& s = slot->second;
    size_t mine = 0;
    {
      std::unique_lock<std::mutex> lock(*s.mu);
      s.released->wait(lock, [&] { return !s.free.empty(); });
      mine = s.free.back();
      s.free.pop_back();
    }
    struct GiveBack {
      Slot& s;
      size_t i;
      ~GiveBack() {
        {
          std::lock_guard<std::mutex> lock(*s.mu);
          s.free.push_back(i);
        }
        s.released->notify_one();
      }
    } give_back{s, mine};
    const Session& e = s.sessions[mine];
    // 2. The legacy store, the primary: its error is the client's, and
    // nothing of the write stays staged for a later Flush to land.
    Status staged;
    if (op == Op::kPut) {
      RowBatch row;
      row.AddColumn("$doc", ValueType::kJsonb);
      row.columns[0].AppendBytes(payload);
      staged = e.writer->Upsert({key}, row, 0);
    } else if (op == Op::kDelete) {
      staged = e.writer->Delete({key});
    } else {
      staged = e.writer->Modify({key}, payload);
    }
    if (staged.ok()) staged = e.writer->Flush();
    if (!staged.ok()) {
      e.writer->Discard();
      return staged;
    }
    FailPoint("gateway.after_primary");
    // 3. Read back as a backfill or a sync would read it.
    store::StoreBatch read;
    RETURN_IF_ERROR(e.store->key_reader()->Read({{key}}, &read));
    if (read.size() == 0) {
      record.deleted = true;
      record.version = read.versions_floor;
    } else {
      record.state = std::string(read.rows.columns[read.rows.IndexOf("$doc")].BytesAt(0));
      record.version = read.versions[0];
    }
  }
  out.version = record.version;
  out.deleted = record.deleted;
  out.state = record.state;
  if (!policy.secondary) return out;  // legacy: the legacy store alone
  record.written_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // 4. Durable before the answer; 5. the replayer takes it to PostgreSQL.
  ASSIGN_OR_RETURN(out.journal_seq, journal_->Append(record));
  FailPoint("gateway.after_journal");
  replayer_->Wake();
  FailPoint("gateway.before_answer");
  return out;
}

}  // namespace cutover::gateway
