// Index-free bulk loading: a table's indexes and constraints set aside while
// it is filled, recorded in cutover.deferred_ddl so any process can rebuild.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::catalog {

// Deferred DDL design
//
// Filling an empty table and building its indexes afterwards is several times
// faster than maintaining them row by row (one sort per index instead of a
// B-tree descent per row and index, and no foreign-key trigger per row).
//
// DeferTableIndexes runs inside the caller's transaction: it saves what is
// needed to rebuild every index and every primary-key, unique, exclusion and
// foreign-key constraint of the table, then drops them. Saving and dropping
// commit together, so either the table is whole or the recipe to make it
// whole is in cutover.deferred_ddl; no crash loses an index.
//
// The rebuild has three steps, each finished before the next begins:
//   0  CREATE [UNIQUE] INDEX for every index, including those that back a
//      key or unique constraint: these may run in parallel (they only share
//      a SHARE lock on the table);
//   1  ALTER TABLE ... ADD CONSTRAINT ... USING INDEX (a catalog change) for
//      keys and unique constraints, and exclusion constraints;
//   2  foreign keys, which validate with one join each.
// The key's index, usually the slowest to build (it checks uniqueness), is
// claimed first, so that the other builds fill the time beside it.
// Each definition is claimed with FOR UPDATE SKIP LOCKED, executed and
// deleted in one transaction, so parallel workers and several processes
// share the rebuild, and a crash redoes only the definition it interrupted.
//
// Repeated keys. The loader feeds one row per source key, but two source keys
// may still map to one target key (two spellings of one number, say), and a
// Redis load without claims lands a key SCAN returns twice twice. Then the
// unique index on the entity's key fails (23505); the rebuild removes the
// repeats, keeping the row with the greatest keep_last_by and, among equals,
// the one written last (the latest transaction, whose read came later: a
// source partition's batches commit in order), logs how many it removed, and
// builds the index again.
// Any other unique index that fails is reported as the error it is.

// What the rebuild does when the key of a table set aside meets a repeat.
enum class KeyRepeats {
  kRemoved,  // the entity's table: one row per key is kept ("Repeated keys")
  kRefused,  // a child table whose loader lets no repeat through: an error
};

// Saves and drops every index and constraint of `shape`'s table (see above)
// under (migration, entity); returns how many definitions it saved. Fails
// with FailedPrecondition, changing nothing, when another table's foreign key
// references this one, or, for KeyRepeats::kRefused, when a unique index or
// exclusion constraint other than the key's would have to be rebuilt (the
// loader guards the key alone). Must run inside a transaction.
Result<int> DeferTableIndexes(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity, const pg_store::TableShape& shape,
                              KeyRepeats repeats = KeyRepeats::kRemoved);

// Saves and drops the foreign keys of `shape`'s table that reference
// `parent`'s (step 2, each validated with one join when rebuilt) under
// (migration, entity); returns how many. A child table loaded with its
// parent checks each row's parent by a lookup and a row lock otherwise,
// which costs more than the row itself. Must run inside a transaction.
Result<int> DeferForeignKeys(pg_store::PgConnection* conn, const std::string& migration,
                             const std::string& entity, const pg_store::TableShape& shape,
                             const pg_store::TableShape& parent);

// Definitions of keys and indexes (steps 0 and 1) still to rebuild for
// (migration, entity): a bulk load under way, where foreign keys alone are not.
Result<int64_t> CountDeferredKeys(pg_store::PgConnection* conn, const std::string& migration,
                                  const std::string& entity);

// Adds one more index to build with the deferred ones (step 0), unless a
// definition of that name is already saved; inside a transaction.
Status DeferIndex(pg_store::PgConnection* conn, const std::string& migration,
                  const std::string& entity, const std::string& name,
                  const std::string& create_sql);

// Definitions still to rebuild for (migration, entity); 0 when none.
Result<int64_t> CountDeferred(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity);

// The entities of `migration` with definitions still to rebuild, in name
// order; nullopt when cutover.deferred_ddl does not exist.
Result<std::optional<std::vector<std::string>>> EntitiesWithDeferred(pg_store::PgConnection* conn,
                                                                     const std::string& migration);

// Names of the definitions still set aside for (migration, entity), in
// rebuild order; none when cutover.deferred_ddl does not exist.
Result<std::vector<std::string>> DeferredNames(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity);

// Claims one definition of the earliest unfinished step, runs it and deletes
// it in one transaction (which this opens). False when nothing is claimable:
// everything is rebuilt, or the rest is held by other workers.
Result<bool> RebuildOneDeferred(pg_store::PgConnection* conn, const std::string& migration,
                                const std::string& entity, const pg_store::TableShape& shape);

// Rebuilds everything still deferred for (migration, entity) on one
// connection, waiting for definitions other workers hold.
Status RebuildAllDeferred(pg_store::PgConnection* conn, const std::string& migration,
                          const std::string& entity, const pg_store::TableShape& shape);

}  // namespace cutover::catalog
