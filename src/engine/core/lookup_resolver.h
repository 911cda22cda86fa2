// Turns the names of lookup columns into the ids of their dimension rows,
// inserting names the dimension lacks exactly once, across every worker.
#pragma once

#include <chrono>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/string_hash.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

// LookupResolver design
//
// A lookup column leaves the mapper holding names (text). Before a batch is
// merged, Resolve() replaces each such column by the dimension's `returns`
// values. Names not in the cache are sent in one round trip per column:
//   INSERT INTO dim (match) SELECT unnest($1) ORDER BY 1 ON CONFLICT (match) DO NOTHING;
//   SELECT match, returns FROM dim WHERE match = ANY($1);
// The unique index on `match` (created with the table) makes a name exist
// once however many workers or processes insert it at the same moment: the
// loser of a race waits for the winner's row and then reads it.
//
// The inserts run on the resolver's own connection, in autocommit, not in
// the worker's chunk transaction. Inside it, a new name would stay locked
// until the chunk commits, so every other worker meeting that name (in the
// agriprofit data: every worker, for every commodity) would wait for it, or
// deadlock on two names taken in opposite orders. Committed at once, a name
// costs one short transaction, ever. The price: a chunk killed before its
// commit may leave names that no fact references yet; its redo references
// them, so after a complete run none is orphaned unless every fact naming it
// was rejected by PostgreSQL itself (mapper rejects never reach the resolver).
//
// Resolved names are cached (dimensions are small next to facts), so after
// warm-up a batch costs no round trip. Thread-safe: one resolver per entity,
// shared by all workers; cache hits share a reader lock, misses take it
// exclusively (and so are serialized, which keeps the resolver one connection).
class LookupResolver {
 public:
  // `create_missing` false (verify): unknown names resolve to NULL and
  // nothing is written.
  static Result<std::unique_ptr<LookupResolver>> Create(
      const spec::MigrationSpec& migration, const spec::EntitySpec& entity, std::string url,
      bool create_missing, std::chrono::milliseconds retry_for = std::chrono::seconds(60));

  // True when the entity has no lookup column (Resolve does nothing).
  bool empty() const { return columns_.empty(); }

  // Replaces the lookup columns of mapped->tables[0] by the ids. A NULL name
  // stays NULL (the mapper already rejected it if the column is required).
  Status Resolve(map::MappedBatch* mapped);

  // The dimension entities this entity looks names up in.
  std::vector<const spec::EntitySpec*> Dimensions() const;

 private:
  struct LookupColumn {
    int index = -1;  // in the mapped table
    ValueType type;  // of the ids
    const spec::EntitySpec* dimension = nullptr;
    std::string table;    // qualified
    std::string match;    // quoted
    std::string returns;  // quoted
    // name -> id: `number` for integer ids, `bytes` (16) for uuids.
    struct Id {
      int64_t number = 0;
      std::string bytes;
    };
    StringMap<Id> cache;  // guarded by mu_
  };

  LookupResolver(std::string url, bool create_missing)
      : url_(std::move(url)), create_missing_(create_missing) {}
  // How long a lost PostgreSQL is waited out (stores/postgres/retry.h).
  std::chrono::milliseconds retry_for_{60'000};
  // Fetches (and creates) the ids of `names` into column.cache; mu_ held
  // exclusively.
  Status Fetch(LookupColumn& column, const std::vector<std::string>& names);

  const std::string url_;
  const bool create_missing_;

  std::shared_mutex mu_;  // protects everything below
  std::vector<LookupColumn> columns_;
  std::unique_ptr<pg_store::PgConnection> conn_;
};

}  // namespace cutover::engine
