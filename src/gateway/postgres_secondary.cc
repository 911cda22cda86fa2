// Journaled states applied to PostgreSQL through EntitySync.
#include "gateway/postgres_secondary.h"

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
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sync_.find(record.entity);
  if (it == sync_.end()) {
    return FailedPrecondition("entity '" + record.entity + "' is not written by this gateway");
  }
  if (conn_ == nullptr) RETURN_IF_ERROR(Connect());
  store::StoreBatch present;
  present.rows.AddColumn("$doc", ValueType::kJsonb);
  present.rows.AddColumn("$key", ValueType::kText);
  std::vector<std::string> missing;
  if (record.deleted) {
    missing.push_back(record.key);
  } else {
    present.rows.columns[0].AppendBytes(record.state);
    present.rows.columns[1].AppendBytes(record.key);
    // A Redis key has no position in a file; the journal's number stands
    // in for its ordinal in a reject.
    present.positions.push_back({-1, -1, static_cast<int64_t>(record.seq)});
    present.versions.push_back(record.version);
    present.source_keys.push_back(record.key);
  }
  present.versions_floor = record.version;
  Status st = it->second->Apply(conn_.get(), present, missing, record.version, &counts_);
  if (st.code() == StatusCode::kUnavailable) conn_.reset();
  return st;
}

engine::ApplyCounts PostgresSecondary::counts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_;
}

}  // namespace cutover::gateway
