// A client write through the gateway ("WritePath design").
#include "gateway/write_path.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

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
  // A batch of one: the same steps, the same answer to a failed flush.
  return std::move(
      WriteLegacyFirstTogether(entity, {Item{op, key, payload}}, out.policy, batch)[0]);
}

std::vector<Result<WriteOutcome>> WritePath::WriteMany(control::Stage stage,
                                                       const std::string& entity,
                                                       const std::vector<Item>& items,
                                                       Batch* batch) {
  std::vector<Result<WriteOutcome>> out;
  const control::WritePolicy policy = control::WritesFor(stage);
  std::set<std::string_view> keys;
  for (const Item& item : items) keys.insert(item.key);
  if (!legacy_->Has(entity) || policy.primary == control::Store::kPostgres ||
      keys.size() != items.size()) {
    for (const Item& item : items) {
      out.push_back(Write(stage, entity, item.key, item.op, item.payload, batch));
    }
    return out;
  }
  // 1. Every key's lock, in address order: stripes are shared, and any two
  // batches take theirs in one order.
  std::vector<std::mutex*> stripes;
  for (const Item& item : items) stripes.push_back(&locks_->For(entity, item.key));
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> held;
  held.reserve(stripes.size());
  for (std::mutex* m : stripes) held.emplace_back(*m);
  return WriteLegacyFirstTogether(entity, items, policy, batch);
}

std::vector<Result<WriteOutcome>> WritePath::WriteLegacyFirstTogether(
    const std::string& entity, const std::vector<Item>& items, control::WritePolicy policy,
    Batch* batch) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Result<WriteOutcome>> out(items.size(), Internal("not written"));
  std::vector<JournalRecord> records(items.size());
  std::vector<size_t> staged;  // items the legacy writer took
  double legacy_seconds = 0;
  bool flushed_whole = true;  // false: the flush failed, maybe half way
  {
    const LegacySessions::Lease e = legacy_->Borrow(entity);
    store::Writer& writer = *e->writer;
    RowBatch row;
    row.AddColumn("$doc", ValueType::kJsonb);
    auto stage = [&](const Item& item) {
      if (item.op == Op::kPut) {
        row.Clear();
        row.columns[0].AppendBytes(item.payload);
        return writer.Upsert({item.key}, row, 0);
      }
      if (item.op == Op::kDelete) return writer.Delete({item.key});
      return writer.Modify({item.key}, item.payload);
    };
    // 2. Every write staged, then flushed at once. A write the writer
    // refuses is that item's error alone. A refused change may have staged
    // part of itself (an increment before a bad field), so then everything
    // is dropped and the writes taken so far staged again: nothing of it
    // can reach the store.
    for (size_t i = 0; i < items.size(); ++i) {
      Status st = stage(items[i]);
      if (st.ok()) {
        staged.push_back(i);
        continue;
      }
      out[i] = st;
      if (items[i].op != Op::kModify) continue;  // a put or delete stages whole or not at all
      writer.Discard();
      for (size_t j : staged) {
        // Staged once already, so it stages again; if it did not, nothing
        // of the batch is written rather than part of a write.
        if (Status again = stage(items[j]); !again.ok()) {
          writer.Discard();
          for (size_t k : staged)
            out[k] = Internal("staging a write again failed: " + again.message());
          staged.clear();
          break;
        }
      }
    }
    if (staged.empty()) {
      writer.Discard();
      return out;
    }
    Status flushed = writer.Flush();
    if (!flushed.ok() && !writer.MayLandInPart()) {
      // Nothing of it landed (a file replaced whole or not at all): the
      // error is every item's, and there is nothing to journal.
      writer.Discard();
      for (size_t i : staged) out[i] = flushed;
      return out;
    }
    if (!flushed.ok()) {
      // Each key is its own MULTI/EXEC, per master: some may have landed.
      // None is acknowledged; their keys are read back below and whatever
      // state they hold is journaled, so PostgreSQL follows the store.
      writer.Discard();
      flushed_whole = false;
      for (size_t i : staged) {
        out[i] = Status(flushed.code(),
                        flushed.message() +
                            "; not acknowledged, and the batch's writes may have landed in part "
                            "(their keys' states go to PostgreSQL as the store holds them)");
      }
    }
    if (flushed_whole) FailPoint("gateway.after_primary");
    const int64_t version = flushed_whole ? writer.flushed_version() : -1;
    // 3. What the writer read back in the step that wrote (a Redis key's
    // MULTI/EXEC)...
    static const std::map<store::RecordKey, store::Writer::Written> kNone;
    const std::map<store::RecordKey, store::Writer::Written>& written =
        flushed_whole ? writer.written() : kNone;
    std::map<std::string_view, size_t> read_at;  // key -> its record read back
    store::StoreBatch read;
    std::vector<store::RecordKey> keys;  // ... and the keys it did not, read here
    if (version < 0) {
      for (size_t i : staged) {
        if (!written.contains({items[i].key})) keys.push_back({items[i].key});
      }
    }
    if (!keys.empty()) {
      // 3'. Read back at once, as a backfill or a sync reads them.
      if (Status st = e->store->key_reader()->Read(keys, &read); !st.ok()) {
        if (flushed_whole) {
          for (size_t i : staged) out[i] = st;
        }
        return out;
      }
      for (size_t r = 0; r < read.size(); ++r) read_at.emplace(read.source_keys[r], r);
    }
    const int doc = read.rows.IndexOf("$doc");
    store::StoreBatch alone;
    for (size_t i : staged) {
      JournalRecord& record = records[i];
      record.entity = entity;
      record.key = items[i].key;
      record.owed_to = OwedTo::kPostgres;
      if (version >= 0) {
        // 3''. A store this process alone writes holds exactly what was staged.
        record.version = version;
        record.deleted = items[i].op == Op::kDelete;
        if (items[i].op == Op::kPut) record.state = items[i].payload;
        continue;
      }
      if (const auto w = written.find({items[i].key}); w != written.end()) {
        record.deleted = w->second.deleted;
        record.state = w->second.document;
        record.version = w->second.version;
        continue;
      }
      const auto at = read_at.find(items[i].key);
      if (at != read_at.end()) {
        record.state = std::string(read.rows.columns[static_cast<size_t>(doc)].BytesAt(at->second));
        record.version = read.versions[at->second];
        continue;
      }
      // A key found gone: its version is the clock of its own master before
      // the read, which a read of it alone gives (the batch's floor is the
      // earliest over every master read).
      record.deleted = true;
      record.version = read.versions_floor;
      if (Status st = e->store->key_reader()->Read({{items[i].key}}, &alone); !st.ok()) {
        if (flushed_whole) out[i] = st;
        record.entity.clear();  // not journaled: what the key holds is unknown
        continue;
      }
      if (alone.size() == 0) {
        record.version = alone.versions_floor;
      } else {  // written again by another writer since the batch's read
        record.deleted = false;
        record.state = std::string(
            alone.rows.columns[static_cast<size_t>(alone.rows.IndexOf("$doc"))].BytesAt(0));
        record.version = alone.versions[0];
      }
    }
    legacy_seconds = SecondsSince(start);
  }  // the session goes back before the journal
  for (size_t i : staged) {
    if (records[i].entity.empty()) continue;
    WriteOutcome one;
    one.policy = policy;
    one.legacy_seconds = legacy_seconds;  // what each of them waited for the store
    Result<WriteOutcome> done = Finish(std::move(records[i]), std::move(one), batch);
    if (flushed_whole || !done.ok()) out[i] = std::move(done);
  }
  return out;
}

Result<WriteOutcome> WritePath::Finish(JournalRecord record, WriteOutcome out, Batch* batch) {
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
