// PostgresPrimary: PostgreSQL as the store that takes a gateway write first
// (from `primary` on): the record's new state applied under a per-key lock.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/entity_sync.h"
#include "gateway/postgres_reader.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::gateway {

// What a write left in PostgreSQL.
struct PrimaryWrite {
  int64_t version = 0;   // PostgreSQL's clock (microseconds) when it was made
  bool deleted = false;  // the key holds nothing now
  std::string document;  // the record in the legacy writer's layout; "" when deleted
};

// PostgresPrimary design
//
// A write is the key's whole new state, mapped as a later read of the
// legacy store would map it (store::KeyReader::WrittenRecords), and applied
// by engine::EntitySync under the key-version claims, so a replay still owed
// from before the move (a legacy read, older) can never overwrite it. Every
// write of a key, through any gateway process, first takes a PostgreSQL
// advisory lock on (migration, entity, key) (catalog/key_locks.h, which
// rollback's copies take too) and only then reads the clock
// for its version: writes of one key are serialized across processes and
// their versions rise in that order, whatever the gateways' own clocks say.
// A change (an increment) reads the current record under the same lock
// and writes the state it makes, so two gateways incrementing one counter
// never lose an increment. A claim that still loses (a newer version was
// written by a replay or a sync of another clock) refuses the write
// (kUnavailable: nothing was acknowledged, a retry gets a later version).
// A record the mapper refuses is the client's error (kDataError naming the
// reason), and nothing was written. Sessions (a connection and the entity's
// appliers) are lent one per write. Thread-safe.
class PostgresPrimary {
 public:
  static Result<std::unique_ptr<PostgresPrimary>> Create(
      std::shared_ptr<const spec::MigrationSpec> migration, std::string url,
      const std::vector<std::string>& entity_names, PostgresReader* reader);
  ~PostgresPrimary();

  // `document` is the record in the legacy writer's layout; nullopt deletes.
  Result<PrimaryWrite> Write(const std::string& entity, const std::string& key,
                             const std::optional<std::string>& document);
  // A change as store::Writer::Modify takes it, applied to the current record
  // (gateway/record_body.h ApplyChange). REQUIRES: a write_back entity.
  Result<PrimaryWrite> Modify(const std::string& entity, const std::string& key,
                              const std::string& change);

 private:
  struct Session;
  PostgresPrimary() = default;
  Result<std::unique_ptr<Session>> NewSession();
  Result<PrimaryWrite> WriteLocked(Session* s, const std::string& entity, const std::string& key,
                                   const std::optional<std::string>& document);
  // Runs `write` with the key's advisory lock held on a borrowed session.
  Result<PrimaryWrite> Locked(const std::string& entity, const std::string& key,
                              const std::function<Result<PrimaryWrite>(Session*)>& write);

  std::shared_ptr<const spec::MigrationSpec> migration_;
  std::string url_;
  std::vector<std::string> entities_;
  PostgresReader* reader_ = nullptr;

  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_;  // guarded by mu_
};

}  // namespace cutover::gateway
