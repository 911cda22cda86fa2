// Writes that reach PostgreSQL first ("PostgresPrimary design").
#include "gateway/postgres_primary.h"

#include <functional>

#include "catalog/key_locks.h"
#include "engine/core/entity_plan.h"
#include "engine/core/source_factory.h"
#include "gateway/record_body.h"

namespace cutover::gateway {

struct PostgresPrimary::Session {
  std::unique_ptr<pg_store::PgConnection> conn;
  struct Entity {
    std::unique_ptr<store::Store> store;  // WrittenRecords reads nothing from it
    std::unique_ptr<engine::EntitySync> sync;
    std::unique_ptr<map::RecordMapper> mapper;  // checks a record before it is applied
    store::StoreBatch batch;
    map::MappedBatch mapped;
  };
  std::map<std::string, Entity> entities;
};

Result<std::unique_ptr<PostgresPrimary>> PostgresPrimary::Create(
    std::shared_ptr<const spec::MigrationSpec> migration, std::string url,
    const std::vector<std::string>& entity_names, PostgresReader* reader) {
  std::unique_ptr<PostgresPrimary> p(new PostgresPrimary());
  p->migration_ = std::move(migration);
  p->url_ = std::move(url);
  p->entities_ = entity_names;
  p->reader_ = reader;
  return p;
}

PostgresPrimary::~PostgresPrimary() = default;

Result<std::unique_ptr<PostgresPrimary::Session>> PostgresPrimary::NewSession() {
  auto s = std::make_unique<Session>();
  ASSIGN_OR_RETURN(s->conn, pg_store::PgConnection::Connect(url_));
  for (const std::string& name : entities_) {
    const spec::EntitySpec& e = *migration_->FindEntity(name);
    Session::Entity& entity = s->entities[name];
    ASSIGN_OR_RETURN(entity.store, engine::OpenEntityStore(*migration_, e, 1));
    ASSIGN_OR_RETURN(entity.sync, engine::EntitySync::Create(*migration_, e, entity.store.get()));
    // Not marked: the way back also carries these to the legacy store, which
    // covers a gateway that died between PostgreSQL's commit and its journal.
    entity.sync->set_marks_own_writes(false);
    RETURN_IF_ERROR(entity.sync->Prepare(s->conn.get()));
    ASSIGN_OR_RETURN(entity.mapper, engine::CreateMapper(*migration_, e));
  }
  return s;
}

Result<PrimaryWrite> PostgresPrimary::Locked(
    const std::string& entity, const std::string& key,
    const std::function<Result<PrimaryWrite>(Session*)>& write) {
  if (std::find(entities_.begin(), entities_.end(), entity) == entities_.end()) {
    return InvalidArgument("entity '" + entity + "' is not written through this gateway");
  }
  std::unique_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      session = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (session == nullptr) {
    ASSIGN_OR_RETURN(session, NewSession());
  }
  const int64_t lock_id = catalog::KeyLockId(migration_->name, entity, key);
  pg_store::PgConnection* conn = session->conn.get();
  // Held until unlocked below or the session closes; the lock is the
  // session's, so a lost connection releases it with the session.
  if (Status locked = catalog::LockKey(conn, lock_id); !locked.ok()) {
    return locked;  // the session is dropped
  }
  Result<PrimaryWrite> out = write(session.get());
  const Status unlocked = catalog::UnlockKey(conn, lock_id);
  if (unlocked.ok() && conn->IsHealthy()) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(session));
  }
  return out;
}

Result<PrimaryWrite> PostgresPrimary::WriteLocked(Session* s, const std::string& entity,
                                                  const std::string& key,
                                                  const std::optional<std::string>& document) {
  Session::Entity& e = s->entities.at(entity);
  ASSIGN_OR_RETURN(
      const std::optional<std::string> clock,
      s->conn->QueryValue("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"));
  PrimaryWrite out;
  out.version = std::stoll(clock.value_or("0"));
  if (document) {
    RETURN_IF_ERROR(
        e.store->key_reader()->WrittenRecords({{key}}, {*document}, out.version, &e.batch));
  } else {
    e.batch = store::StoreBatch();
  }
  out.deleted = e.batch.size() == 0;
  if (!out.deleted) {
    e.mapper->Map(e.batch, &e.mapped);
    if (!e.mapped.rejects.empty()) {
      const Reject& r = e.mapped.rejects.front();
      return DataError("the record does not map to " + entity + "'s rows" +
                       (r.field.empty() ? "" : " (field " + r.field + ")") + ": " + r.reason);
    }
    out.document = *document;
  }
  engine::ApplyCounts counts;
  const std::vector<std::string> missing =
      out.deleted ? std::vector<std::string>{key} : std::vector<std::string>{};
  RETURN_IF_ERROR(e.sync->Apply(s->conn.get(), e.batch, missing,
                                std::vector<int64_t>(missing.size(), out.version), &counts));
  if (counts.superseded > 0) {
    return Unavailable("a newer state of " + entity +
                       " key was written to PostgreSQL meanwhile (by a clock ahead of "
                       "PostgreSQL's); this write was not made, and a retry will be");
  }
  if (counts.rejected > 0) {
    return DataError(
        "PostgreSQL refused the record (its reason is in cutover.rejects); "
        "nothing was written");
  }
  return out;
}

Result<PrimaryWrite> PostgresPrimary::Write(const std::string& entity, const std::string& key,
                                            const std::optional<std::string>& document) {
  return Locked(entity, key, [&](Session* s) { return WriteLocked(s, entity, key, document); });
}

Result<PrimaryWrite> PostgresPrimary::Modify(const std::string& entity, const std::string& key,
                                             const std::string& change) {
  const spec::EntitySpec* e = migration_->FindEntity(entity);
  if (e == nullptr || !e->redis || !reader_->Rebuilds(entity)) {
    return FailedPrecondition("a change to '" + entity +
                              "' needs its current record from PostgreSQL, which only a "
                              "write_back entity of a redis source can rebuild and change");
  }
  return Locked(entity, key, [&](Session* s) -> Result<PrimaryWrite> {
    ASSIGN_OR_RETURN(const PostgresRow now, reader_->Read(entity, key));
    ASSIGN_OR_RETURN(const std::string next,
                     ApplyChange(e->redis->value, now.found ? now.document : "", change));
    return WriteLocked(s, entity, key, next);
  });
}

}  // namespace cutover::gateway
