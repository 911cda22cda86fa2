// EntitySync: one transaction per set of changed keys, newest state per key.
#include "engine/core/entity_sync.h"

#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include <algorithm>

#include "catalog/key_versions.h"
#include "catalog/own_writes.h"
#include "catalog/rejects.h"
#include "common/utf8.h"
#include "engine/core/write_path.h"
#include "map/document_mapper.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {
namespace {

// Keys applied between truncations of the staging tables (see Apply).
constexpr int64_t kCompactEveryKeys = 10000;

// A reject of sync names its key: one row per key in cutover.rejects (its
// unique position is the key), the latest reason kept.
// The batch index of the record a reject names (by its position's ordinal),
// or SIZE_MAX.
size_t RecordOf(const store::StoreBatch& in, const Reject& r) {
  for (size_t i = 0; i < in.positions.size(); ++i) {
    if (in.positions[i].record_index == r.record_index) return i;
  }
  return SIZE_MAX;
}

void NameByKey(const store::StoreBatch& in, std::vector<Reject>* rejects) {
  // A store without keys keeps the reader's names (its record index must
  // then name the record whichever pass read it).
  if (in.source_keys.empty()) return;
  for (Reject& r : *rejects) {
    const size_t record = RecordOf(in, r);
    const std::string key =
        record < in.source_keys.size() ? EscapeInvalidUtf8(in.source_keys[record]) : "";
    r.source = "sync of key " + key;
    r.record_index = 0;
    r.byte_offset = -1;
    r.line = -1;
  }
}

std::vector<uint32_t> AllRows(const RowBatch& b) {
  std::vector<uint32_t> rows(b.num_rows());
  for (uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

}  // namespace

Status EntitySync::NoKeyReader() const {
  return FailedPrecondition(entity_->name +
                            ": its store cannot read records by key, so a key cannot be read "
                            "again or found gone");
}

Result<std::unique_ptr<EntitySync>> EntitySync::Create(const spec::MigrationSpec& migration,
                                                       const spec::EntitySpec& entity,
                                                       store::Store* store) {
  std::unique_ptr<EntitySync> s(new EntitySync());
  s->migration_ = &migration;
  s->entity_ = &entity;
  s->store_ = store;
  ASSIGN_OR_RETURN(s->plan_, PlanEntity(migration, entity));
  // The key-only entity maps a gone key's name to its key columns.
  s->key_entity_ = entity;
  s->key_entity_.children.clear();
  s->key_entity_.columns.clear();
  s->key_entity_.tag.reset();
  for (const auto& k : entity.key) s->key_entity_.columns.push_back(*entity.FindColumn(k));
  ASSIGN_OR_RETURN(auto key_mapper, map::DocumentMapper::Create(s->key_entity_));
  s->key_mapper_ = std::move(key_mapper);

  const auto& tables = s->plan_.tables;
  for (size_t t = 0; t < tables.size(); ++t) {
    s->writers_.push_back(std::make_unique<pg_store::MergeWriter>(tables[t].shape));
    s->writers_.back()->set_small_transactions(true);
  }
  s->key_deleter_ = std::make_unique<pg_store::RowDeleter>(tables[0].shape, entity.key);
  ASSIGN_OR_RETURN(s->children_, ChildReplacer::Create(entity, s->plan_));
  return s;
}

Status EntitySync::Prepare(pg_store::PgConnection* conn) {
  for (auto& w : writers_) RETURN_IF_ERROR(w->PrepareStaging(conn));
  RETURN_IF_ERROR(key_deleter_->PrepareStaging(conn));
  return children_->Prepare(conn);
}

Status EntitySync::Apply(pg_store::PgConnection* conn, const store::StoreBatch& present,
                         const std::vector<std::string>& missing, int64_t missing_version,
                         ApplyCounts* counts) {
  return Apply(conn, present, missing, std::vector<int64_t>(missing.size(), missing_version),
               counts);
}

Status EntitySync::Apply(pg_store::PgConnection* conn, const store::StoreBatch& present,
                         const std::vector<std::string>& missing,
                         const std::vector<int64_t>& missing_versions, ApplyCounts* counts) {
  if (present.size() == 0 && missing.empty()) return Status::Ok();
  if (missing_versions.size() != missing.size()) {
    return Internal(entity_->name + ": a missing key without its version");
  }
  // A store whose records carry no versions (IoTDB's points, keyed by
  // series and time) has nothing to order states by: every record is
  // applied, as a backfill applies it (see "Watermark sync design").
  const bool unversioned = present.versions.empty() && missing.empty();
  if (!unversioned && present.versions.size() != present.size()) {
    return Internal(entity_->name + ": the store's records carry no versions");
  }
  std::vector<catalog::KeyVersion> items;
  items.reserve(present.size() + missing.size());
  for (size_t i = 0; i < present.size() && !unversioned; ++i) {
    items.push_back({present.source_keys[i], present.versions[i], false});
  }
  for (size_t i = 0; i < missing.size(); ++i) {
    items.push_back({missing[i], missing_versions[i], true});
  }

  pg_store::Transaction tx(conn);
  RETURN_IF_ERROR(tx.status());
  if (marks_own_writes_) RETURN_IF_ERROR(catalog::MarkOwnWrite(conn));
  std::vector<bool> won(present.size(), true);
  if (!unversioned) {
    ASSIGN_OR_RETURN(won, catalog::ClaimKeyVersions(conn, migration_->name, entity_->name, items));
  }
  if (present.repeats_share_claim) {
    // A key the batch holds twice (a Parquet file's repeated rows): every
    // row follows the key's claim, and the merge picks among them by the
    // spec's dedup rule, as the backfill does.
    std::unordered_map<std::string_view, bool> claimed;
    for (size_t i = 0; i < present.size(); ++i) {
      claimed[present.source_keys[i]] = claimed[present.source_keys[i]] || won[i];
    }
    for (size_t i = 0; i < present.size(); ++i) won[i] = claimed[present.source_keys[i]];
  }
  ApplyCounts add;
  for (bool w : won) (w ? add.keys : add.superseded)++;

  // Present keys: replace their children, then merge their rows.
  plan_.mapper->Map(present, &mapped_);
  std::vector<Reject> rejects = mapped_.rejects;
  std::vector<std::vector<uint32_t>> rows(plan_.tables.size());
  for (size_t t = 0; t < plan_.tables.size(); ++t) {
    for (uint32_t r = 0; r < mapped_.tables[t].num_rows(); ++r) {
      if (won[mapped_.origins[t][r].record]) rows[t].push_back(r);
    }
  }
  RETURN_IF_ERROR(children_->DeleteChildrenOf(conn, mapped_.tables[0], rows[0]));
  std::vector<bool> refused_parents(present.size(), false);
  for (size_t t = 0; t < plan_.tables.size(); ++t) {
    const TableWrite target{.writer = writers_[t].get(),
                            .mode = WriteMode::kMerge,
                            .in = &present,
                            .mapped = &mapped_,
                            .table = t,
                            .mapper = plan_.mapper.get(),
                            .entity = plan_.tables[t].entity->name,
                            .refused_parents = &refused_parents};
    int64_t merged = 0;
    RETURN_IF_ERROR(MergeWithBisect(conn, target, rows[t], &merged, &rejects, &add.rows_changed));
  }
  std::vector<bool> record_rejected(present.size(), false);
  for (const Reject& r : rejects) {
    const size_t record = RecordOf(present, r);
    if (r.item.empty() && record < present.size()) record_rejected[record] = true;
  }
  for (size_t i = 0; i < present.size(); ++i) {
    if (!won[i]) continue;
    (record_rejected[i] ? add.rejected : add.upserted)++;
  }

  // Missing keys that won: delete their children, then their rows.
  std::vector<store::RecordKey> gone;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (won[present.size() + i]) gone.push_back({missing[i]});
  }
  if (!gone.empty()) {
    if (store_->key_reader() == nullptr) return NoKeyReader();
    RETURN_IF_ERROR(store_->key_reader()->KeyRecords(gone, &keys_));
    key_mapper_->Map(keys_, &key_rows_);
    if (!key_rows_.rejects.empty()) {
      const Reject& r = key_rows_.rejects.front();
      return DataError(fmt::format("{}: a gone key's name does not map to its key columns: {}",
                                   entity_->name, r.reason));
    }
    const RowBatch& keys = key_rows_.tables[0];
    RETURN_IF_ERROR(children_->DeleteChildrenOf(conn, keys, AllRows(keys)));
    ASSIGN_OR_RETURN(int64_t n, key_deleter_->Delete(conn, keys, AllRows(keys)));
    (void)n;
    add.deleted += static_cast<int64_t>(gone.size());
  }
  if (!rejects.empty()) {
    NameByKey(present, &rejects);
    RETURN_IF_ERROR(catalog::InsertRejects(conn, migration_->name, rejects));
  }
  RETURN_IF_ERROR(tx.Commit());
  // Staging tables are emptied by DELETE; truncating them now and then keeps
  // their dead rows from piling up (no autovacuum visits temporary tables).
  // By keys as well as by applies: every statement that reads a staging table
  // scans its dead rows too, so a reconciliation's full batches would
  // otherwise make each apply slower than the last.
  staged_since_compact_ += static_cast<int64_t>(present.size() + missing.size());
  if (++applies_ % 1000 == 0 || staged_since_compact_ >= kCompactEveryKeys) {
    staged_since_compact_ = 0;
    for (auto& w : writers_) RETURN_IF_ERROR(w->Compact(conn));
    RETURN_IF_ERROR(key_deleter_->Compact(conn));
    RETURN_IF_ERROR(children_->Compact(conn));
  }
  counts->keys += add.keys;
  counts->upserted += add.upserted;
  counts->deleted += add.deleted;
  counts->superseded += add.superseded;
  counts->rejected += add.rejected;
  counts->rows_changed += add.rows_changed;
  return Status::Ok();
}

Status EntitySync::Refresh(pg_store::PgConnection* conn, const std::vector<std::string>& keys,
                           ApplyCounts* counts) {
  if (keys.empty()) return Status::Ok();
  std::vector<store::RecordKey> wanted;
  wanted.reserve(keys.size());
  for (const auto& k : keys) wanted.push_back({k});
  if (store_->key_reader() == nullptr) return NoKeyReader();
  RETURN_IF_ERROR(store_->key_reader()->Read(wanted, &read_));
  std::vector<std::string> found(read_.source_keys.begin(), read_.source_keys.end());
  std::sort(found.begin(), found.end());
  std::vector<std::string> missing;
  for (const auto& k : keys) {
    if (!std::binary_search(found.begin(), found.end(), k)) missing.push_back(k);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  return Apply(conn, read_, missing, read_.versions_floor, counts);
}

}  // namespace cutover::engine
