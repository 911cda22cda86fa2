// PostgresSecondary: PostgreSQL as the store that follows the legacy one: a
// journaled state applied to the entity's tables as sync applies a read.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/core/entity_sync.h"
#include "gateway/replayer.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::gateway {

// A record's state lands through engine::EntitySync: the row upserted, its
// children replaced, a deletion deleting them, all under the key's version
// claim (catalog/key_versions.h), so a backfill or a sync racing the gateway
// never puts back an older state or a deleted key, and replaying a state
// twice changes nothing. One connection, one write at a time (the journal
// already made the gateway's answer independent of this store's speed).
// Thread-safe.
class PostgresSecondary : public SecondaryStore {
 public:
  // `stores` maps each entity name the gateway writes to its legacy store
  // (which must outlive this object).
  static Result<std::unique_ptr<PostgresSecondary>> Create(
      std::shared_ptr<const spec::MigrationSpec> migration, std::string url,
      const std::map<std::string, store::Store*>& stores);

  // kUnavailable when PostgreSQL cannot be reached (the connection is
  // dropped and made again at the next call).
  Status Apply(const JournalRecord& record) override;
  // One transaction per entity among `records`.
  Status ApplyBatch(const std::vector<const JournalRecord*>& records) override;

  // What was applied so far (keys, upserts, deletes, superseded states).
  engine::ApplyCounts counts() const;

 private:
  PostgresSecondary() = default;
  Status Connect();
  // REQUIRES: mu_ held; records of one entity, one per key.
  Status ApplyEntity(engine::EntitySync* sync, const std::vector<const JournalRecord*>& records);

  std::shared_ptr<const spec::MigrationSpec> migration_;
  std::string url_;
  mutable std::mutex mu_;
  std::unique_ptr<pg_store::PgConnection> conn_;                     // guarded by mu_
  std::map<std::string, std::unique_ptr<engine::EntitySync>> sync_;  // guarded by mu_
  engine::ApplyCounts counts_;                                       // guarded by mu_
};

}  // namespace cutover::gateway
