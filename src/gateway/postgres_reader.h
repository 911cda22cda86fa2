// PostgresReader: one key's row of an entity read from PostgreSQL, with its
// digest and, for write_back entities, the legacy record rebuilt from it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/family_reader.h"
#include "engine/core/row_hasher.h"
#include "map/document_builder.h"
#include "map/record_builder.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::gateway {

// What PostgreSQL holds for a key.
struct PostgresRow {
  bool found = false;
  uint64_t digest = 0;   // engine::RowHasher's digest of the entity's row
  std::string document;  // the record in the legacy store's layout; "" unless write_back
};

// PostgresReader design
//
// A key is found by its key columns, mapped from the key's name as a sync
// maps a deleted key (store::KeyReader::KeyRecords), through the table's key
// index. The row read is the entity's own table row; a shadow comparison
// covers the row only. A record rebuilt for the client is a Redis key's
// (RecordBuilder) or a JSON file's record with its children, read by the
// parents' keys in the same statement's snapshot order (engine::FamilyReader,
// map::DocumentBuilder). Each read runs under `statement_timeout`, so a slow PostgreSQL
// costs a reader at most the timeout; a read that cannot reach PostgreSQL
// marks it down for a second, during which reads fail at once instead of
// each waiting for a connection attempt: a fallback to legacy then costs
// nothing. Connections are lent one per read, up to `connections` side by
// side; more readers wait. Thread-safe.
class PostgresReader {
 public:
  struct Options {
    std::string url;  // never logged unredacted
    std::chrono::milliseconds timeout{200};
    int connections = 4;
  };

  // The entities of `entity_names` (the gateway's).
  static Result<std::unique_ptr<PostgresReader>> Create(
      std::shared_ptr<const spec::MigrationSpec> migration, Options options,
      const std::vector<std::string>& entity_names);
  ~PostgresReader();

  // kUnavailable when PostgreSQL cannot be reached or was not reachable a
  // moment ago; kDeadlineExceeded when the read took longer than the
  // timeout; kDataError when the key does not map to key columns.
  Result<PostgresRow> Read(const std::string& entity, const std::string& key);
  // The rows of several keys of one entity in one statement (a VALUES list
  // probed through the key index): what a shadow comparer reads per batch,
  // digests only unless `rebuild` (records too, for write_back entities).
  // A key without a row has found = false; one that does not map to key
  // columns is kDataError for the whole call.
  Result<std::map<std::string, PostgresRow>> ReadMany(const std::string& entity,
                                                      const std::vector<std::string>& keys,
                                                      bool rebuild = false);

  // The digest of the entity's row in `mapped` (a legacy record mapped by
  // the entity's mapper), comparable with PostgresRow::digest.
  uint64_t Digest(const std::string& entity, const RowBatch& rows, size_t row) const;

  // Whether records of `entity` can be rebuilt from its rows (write_back, a
  // Redis key or a JSON file's record).
  bool Rebuilds(const std::string& entity) const;

 private:
  struct Entity {
    pg_store::TableShape shape;
    std::unique_ptr<engine::RowHasher> hasher;
    std::unique_ptr<engine::RowHasher> key_hasher;  // over the key columns alone
    std::unique_ptr<map::RecordBuilder> builder;    // a Redis entity's, if write_back
    // A JSON entity's, if write_back: its record rebuilt with its children.
    std::unique_ptr<map::DocumentBuilder> document_builder;
    std::optional<engine::FamilyReader> family;
  };
  struct Session;

  PostgresReader() = default;
  Result<std::unique_ptr<Session>> NewSession();

  std::shared_ptr<const spec::MigrationSpec> migration_;
  Options options_;
  std::map<std::string, Entity> entities_;

  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_;  // guarded by mu_
  int open_ = 0;                                // sessions lent or idle; guarded by mu_
  std::condition_variable released_;
  std::chrono::steady_clock::time_point down_until_;  // guarded by mu_
  std::string down_reason_;                           // guarded by mu_
};

}  // namespace cutover::gateway
