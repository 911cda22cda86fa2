// The `cutover` schema as a whole: every table's DDL, the catalog version,
// and the in-place upgrade of a schema an older cutover created.
#pragma once

#include <optional>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// Catalog version design
//
// cutover.schema_version holds one row: the version of the catalog that last
// shaped the schema. Version 1 is the schema cutover made before the catalog
// was versioned (no schema_version table; its tables exist); version 2 adds
// schema_version itself, the write journal (made when a gateway first needs
// it, see journal.h) and an index for "the latest verify run per entity";
// version 3 turns the chunk ledger into the partition ledger
// (backfill_partitions, with the store's cursor per partition); version 4
// adds key_versions (the newest version written per key of a Redis source)
// and sync_state (a sync's gaps, repairs and lag); version 5 adds
// gateway_journals (what each gateway's local journal still owes); version 6
// lets stage_audit record rollbacks (outcome `rollback`); version 7 adds
// way_back (the way back's slots); version 8 adds file_sync_files,
// file_sync_keys and file_sync_runs (what the file sync loaded, by file and
// by key, and each of its runs); version 9 keys key_versions by a scope
// number (key_scopes) for each (migration, entity) instead of the two names:
// an index entry led by an integer is found without comparing strings, and a
// COPY of a million claims took a third less time.
// kCatalogVersion is the version this binary writes.
//
// EnsureControlSchema reads the version first; when it equals
// kCatalogVersion it returns at once (one SELECT, no lock). Otherwise, in one
// transaction under the advisory lock every cutover DDL takes, it reads the
// version again (another process may have upgraded meanwhile) and runs the
// whole DDL, every statement idempotent (CREATE ... IF NOT EXISTS, ADD COLUMN
// IF NOT EXISTS), then records kCatalogVersion. So a fresh database, a
// version-1 run and a half-upgraded one (a crash rolls the transaction back)
// all end at kCatalogVersion with every row kept, and two processes
// upgrading at once serialize on the lock; the second finds nothing to do.
//
// A version greater than kCatalogVersion means a newer cutover reshaped the
// schema: this binary does not know what its tables now mean, so it refuses
// (FailedPrecondition naming both versions, which the CLI turns into exit 3,
// a runtime failure: the spec and the command line are fine, the binary is
// the wrong one for this database) and writes nothing.
//
// An upgrade to version N+1 adds its statements to the DDL in schema.cc,
// written so they are no-ops on a schema already at N+1, and bumps
// kCatalogVersion; a statement that cannot be written that way runs under
// `IF version < N+1` in the same transaction.
inline constexpr int kCatalogVersion = 9;

// Creates schema `cutover` and its tables, or upgrades an older catalog in
// place (see above). Safe to run from several processes at once. Fails with
// FailedPrecondition, changing nothing, when the schema is newer than this
// binary.
Status EnsureControlSchema(pg_store::PgConnection* conn);

// The catalog version the database records; nullopt when there is no
// cutover.schema_version table (nothing yet, or a version-1 schema).
Result<std::optional<int>> ReadCatalogVersion(pg_store::PgConnection* conn);

// The refusal EnsureControlSchema returns for a schema at catalog version
// `found` > kCatalogVersion: FailedPrecondition naming both versions and
// what to do.
Status NewerCatalogError(int found);

// EnsureControlSchema, then cutover.journal (journal.h) if absent. Only the
// process that journals writes (the dual-write gateway) calls this: until it
// does, no table says whether every dual write reached both stores, and the
// journal_empty guard reports that instead of an empty journal.
Status EnsureJournalSchema(pg_store::PgConnection* conn);

// True when `st` is the failure of a query on a cutover table or schema that
// does not exist yet (42P01 undefined_table, 3F000 invalid_schema_name): a
// reader treats it as "nothing recorded", so it needs no write privilege.
bool IsMissingRelation(const Status& st);

}  // namespace cutover::catalog
