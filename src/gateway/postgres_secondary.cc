// Journaled states applied to PostgreSQL through EntitySync.
#include "gateway/postgres_secondary.h"

#include <algorithm>
#include <climits>

namespace cutover::gateway {

Result<std::unique_ptr<PostgresSecondary>> PostgresSecondary::Create(
    std::shared_ptr<const spec::MigrationSpec> migration, std::string url,
    const std::map<std::string, store::Store*>& stores) {
  std::unique_ptr<PostgresSecondary> p(new PostgresSecondary());
  p->migration_ = std::move(migration);
  p->url_ = std::move(url);
  for (const auto& [name, store] : stores) {
    const spec::EntitySpec* entity = p->migration_->FindEntity(name);
    if (entity == nullptr) return InvalidArgument("unknown entity '" + name + "'");
    ASSIGN_OR_RETURN(p->sync_[name], engine::EntitySync::Create(*p->migration_, *entity, store));
  }
  return p;
}

Status PostgresSecondary::Connect() {
  ASSIGN_OR_RETURN(conn_, pg_store::PgConnection::Connect(url_));
  for (auto& [name, sync] : sync_) {
    Status st = sync->Prepare(conn_.get());
    if (!st.ok()) {
      conn_.reset();
      return st;
    }
  }
  return Status::Ok();
}

Status PostgresSecondary::Apply(const JournalRecord& record) {
  return ApplyBatch({&record});
}

Status PostgresSecondary::ApplyBatch(const std::vector<const JournalRecord*>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<const JournalRecord*>> by_entity;
  for (const JournalRecord* r : records) by_entity[r->entity].push_back(r);
  for (const auto& [entity, mine] : by_entity) {
    auto it = sync_.find(entity);
    if (it == sync_.end()) {
      return FailedPrecondition("entity '" + entity + "' is not written by this gateway");
    }
    if (conn_ == nullptr) RETURN_IF_ERROR(Connect());
    Status st = ApplyEntity(it->second.get(), mine);
    if (st.code() == StatusCode::kUnavailable) conn_.reset();
    RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

Status PostgresSecondary::ApplyEntity(engine::EntitySync* sync,
                                      const std::vector<const JournalRecord*>& records) {
  std::vector<std::string> missing;
  std::vector<int64_t> missing_versions;
  std::vector<const JournalRecord*> written;
  int64_t floor = INT64_MAX;
  for (const JournalRecord* r : records) {
    floor = std::min(floor, r->version);
    if (r->deleted) {
      missing.push_back(r->key);
      missing_versions.push_back(r->version);
    } else {
      written.push_back(r);
    }
  }
  store::StoreBatch present;
  if (sync->store()->snapshot().shape() == store::RecordShape::kColumns) {
    // A columnar store's records (a Parquet archive's rows) are cast to its
    // column types as a read of the store would cast them.
    std::vector<store::RecordKey> keys;
    std::vector<std::string> documents;
    for (const JournalRecord* r : written) {
      keys.push_back({r->key});
      documents.push_back(r->state);
    }
    // Their key versions are named by the key columns' values, as a
    // backfill of the same store names them (source_keys).
    RETURN_IF_ERROR(sync->store()->key_reader()->WrittenRecords(keys, documents, 0, &present));
    present.versions.clear();
    for (const JournalRecord* r : written) present.versions.push_back(r->version);
  } else {
    present.rows.AddColumn("$doc", ValueType::kJsonb);
    present.rows.AddColumn("$key", ValueType::kText);
    for (const JournalRecord* r : written) {
      present.rows.columns[0].AppendBytes(r->state);
      present.rows.columns[1].AppendBytes(r->key);
      present.versions.push_back(r->version);
      present.source_keys.push_back(r->key);
    }
  }
  present.positions.clear();
  for (const JournalRecord* r : written) {
    // A gateway write has no position in a file; the journal's number
    // stands in for its ordinal in a reject.
    present.positions.push_back({-1, -1, static_cast<int64_t>(r->seq)});
  }
  present.versions_floor = floor;
  return sync->Apply(conn_.get(), present, missing, missing_versions, &counts_);
}

engine::ApplyCounts PostgresSecondary::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

}  // namespace cutover::gateway
