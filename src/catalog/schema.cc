// Every CREATE and ALTER of the `cutover` schema, and the versioned upgrade
// that runs them (see the catalog version design in schema.h).
#include "catalog/schema.h"

#include <fmt/format.h>

namespace cutover::catalog {
namespace {

// Serializes every DDL cutover runs on the target (control schema and entity
// tables), across processes.
constexpr std::string_view kDdlLock = "SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'))";

// The whole control schema at kCatalogVersion. Every statement is a no-op on
// a schema that already has it, so this upgrades any older version in place.
// One section per table; the functions that read and write each table are
// in the file of its name (ledger.cc for backfill_ledger, and so on).
constexpr std::string_view kControlSchemaDdl = R"sql(
CREATE SCHEMA IF NOT EXISTS cutover;

-- schema_version (v2): one row, the catalog version that last shaped the schema.
CREATE TABLE IF NOT EXISTS cutover.schema_version (
  only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  version     integer NOT NULL,
  upgraded_at timestamptz NOT NULL DEFAULT now()
);

-- backfill_ledger (ledger.h): one row per (migration, entity), the resume point.
CREATE TABLE IF NOT EXISTS cutover.backfill_ledger (
  migration        text NOT NULL,
  entity           text NOT NULL,
  source           text NOT NULL DEFAULT '',
  byte_offset      bigint NOT NULL DEFAULT 0,
  record_index     bigint NOT NULL DEFAULT 0,
  line             bigint NOT NULL DEFAULT 1,
  records_read     bigint NOT NULL DEFAULT 0,
  rows_merged      bigint NOT NULL DEFAULT 0,
  records_rejected bigint NOT NULL DEFAULT 0,
  done             boolean NOT NULL DEFAULT false,
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity)
);
-- Records in which an object names a key twice (the last value is used).
ALTER TABLE cutover.backfill_ledger
  ADD COLUMN IF NOT EXISTS records_repeated_keys bigint NOT NULL DEFAULT 0;

-- rejects (rejects.h): each rejected record once, keyed by its position.
CREATE TABLE IF NOT EXISTS cutover.rejects (
  id           bigserial PRIMARY KEY,
  migration    text NOT NULL,
  entity       text NOT NULL,
  source       text NOT NULL,
  byte_offset  bigint,
  line         bigint,
  record_index bigint NOT NULL,
  item         text NOT NULL DEFAULT '',
  field        text,
  reason       text NOT NULL,
  record       bytea,
  rejected_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (migration, entity, source, record_index, item)
);

-- backfill_partitions (partition_ledger.h, v3): the backfill's plan, one row per
-- partition of the source, and each one's progress as the store's cursor
-- (opaque bytes). Version 2 called it backfill_chunks and knew only row
-- ranges of files; its rows keep their ids (the same partitions' ids) and state.
DO $$
BEGIN
  IF to_regclass('cutover.backfill_chunks') IS NOT NULL
     AND to_regclass('cutover.backfill_partitions') IS NULL THEN
    ALTER TABLE cutover.backfill_chunks RENAME TO backfill_partitions;
    ALTER TABLE cutover.backfill_partitions RENAME COLUMN chunk_id TO partition_id;
    ALTER TABLE cutover.backfill_partitions RENAME COLUMN file TO origin;
    ALTER TABLE cutover.backfill_partitions RENAME COLUMN row_count TO records;
    ALTER TABLE cutover.backfill_partitions DROP COLUMN first_row;
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS cutover.backfill_partitions (
  migration     text NOT NULL,
  entity        text NOT NULL,
  partition_id  text NOT NULL,
  seq           integer NOT NULL,
  origin        text NOT NULL,
  records       bigint NOT NULL DEFAULT -1,
  state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
  rows_read     bigint NOT NULL DEFAULT 0,
  rows_merged   bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  worker        text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity, partition_id)
);
ALTER TABLE cutover.backfill_partitions ADD COLUMN IF NOT EXISTS cursor bytea NOT NULL DEFAULT '';

-- key_scopes (key_versions.h, v9): a small number for each (migration,
-- entity) whose keys have versions, so that key_versions' rows and index
-- entries lead with an integer rather than two strings.
CREATE TABLE IF NOT EXISTS cutover.key_scopes (
  scope     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration text NOT NULL,
  entity    text NOT NULL,
  UNIQUE (migration, entity)
);

-- key_versions (key_versions.h, v4; keyed by scope since v9): per key of a
-- versioned source (Redis), the version of the newest state written to
-- PostgreSQL, and whether that state is a deletion (a tombstone), so an older
-- read never overwrites it. Versions 4 to 8 keyed it by (migration, entity,
-- key); their rows move over with the scope of their pair.
DO $$
BEGIN
  -- pg_attribute, not information_schema: that hides tables this role has
  -- no privilege on, and the upgrade would then record a version it did not make.
  IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('cutover.key_versions')
             AND attname = 'migration' AND NOT attisdropped) THEN
    INSERT INTO cutover.key_scopes (migration, entity)
      SELECT DISTINCT migration, entity FROM cutover.key_versions
      ON CONFLICT (migration, entity) DO NOTHING;
    ALTER TABLE cutover.key_versions RENAME TO key_versions_v8;
    ALTER TABLE cutover.key_versions_v8 RENAME CONSTRAINT key_versions_pkey TO key_versions_v8_pkey;
    CREATE TABLE cutover.key_versions (
      scope   integer NOT NULL,
      key     bytea NOT NULL,
      version bigint NOT NULL,
      deleted boolean NOT NULL,
      PRIMARY KEY (scope, key)
    );
    INSERT INTO cutover.key_versions (scope, key, version, deleted)
      SELECT s.scope, k.key, k.version, k.deleted
      FROM cutover.key_versions_v8 k JOIN cutover.key_scopes s USING (migration, entity);
    DROP TABLE cutover.key_versions_v8;
  END IF;
END
$$;
CREATE TABLE IF NOT EXISTS cutover.key_versions (
  scope   integer NOT NULL,
  key     bytea NOT NULL,
  version bigint NOT NULL,
  deleted boolean NOT NULL,
  PRIMARY KEY (scope, key)
);

-- sync_state (sync_state.h, v4): one row per (migration, source) a sync
-- keeps in step: the gaps it detected, the repairs it ran, changes applied.
CREATE TABLE IF NOT EXISTS cutover.sync_state (
  migration        text NOT NULL,
  source           text NOT NULL,
  gaps             bigint NOT NULL DEFAULT 0,
  repairs          bigint NOT NULL DEFAULT 0,
  changes_applied  bigint NOT NULL DEFAULT 0,
  rows_deleted     bigint NOT NULL DEFAULT 0,
  last_gap         text,
  last_gap_at      timestamptz,
  lag_p50_ms       double precision,
  lag_p99_ms       double precision,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, source)
);

-- way_back (way_back.h, v7): one row per (migration, entity) whose changes
-- in PostgreSQL flow back into the legacy store: its replication slot,
-- whether the legacy store was reconciled once the slot existed, and what
-- the way back applied.
CREATE TABLE IF NOT EXISTS cutover.way_back (
  migration        text NOT NULL,
  entity           text NOT NULL,
  slot             text NOT NULL,
  reconciled       boolean NOT NULL DEFAULT false,
  changes_applied  bigint NOT NULL DEFAULT 0,
  keys_written     bigint NOT NULL DEFAULT 0,
  keys_deleted     bigint NOT NULL DEFAULT 0,
  own_skipped      bigint NOT NULL DEFAULT 0,
  lag_p50_ms       double precision,
  lag_p99_ms       double precision,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity)
);

-- file_sync_files (file_sync.h, v8): per file of a file source that
-- `cutover sync` loaded, what it was when loaded: a file whose size and
-- modification time match is not read again, and one whose digest matches
-- is not loaded again.
CREATE TABLE IF NOT EXISTS cutover.file_sync_files (
  migration  text NOT NULL,
  entity     text NOT NULL,
  path       text NOT NULL,
  size       bigint NOT NULL,
  mtime_ns   bigint NOT NULL,
  digest     text NOT NULL,
  records    bigint NOT NULL,
  synced_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (migration, entity, path)
);

-- file_sync_keys (file_sync.h, v8): per record of a JSON file that sync
-- diffs by key, a hash of the record as last applied, and the run that last
-- saw it (the keys no run saw are the records removed).
CREATE TABLE IF NOT EXISTS cutover.file_sync_keys (
  migration    text NOT NULL,
  entity       text NOT NULL,
  path         text NOT NULL,
  key          bytea NOT NULL,
  record_hash  bigint NOT NULL,
  seen_run     bigint NOT NULL,
  PRIMARY KEY (migration, entity, path, key)
);

-- file_sync_runs (file_sync.h, v8): each run of the file sync, what it
-- found and applied, or why it failed; `GET /v1/sync` answers from it.
CREATE TABLE IF NOT EXISTS cutover.file_sync_runs (
  id             bigserial PRIMARY KEY,
  migration      text NOT NULL,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  files_seen     bigint NOT NULL DEFAULT 0,
  files_changed  bigint NOT NULL DEFAULT 0,
  upserted       bigint NOT NULL DEFAULT 0,
  deleted        bigint NOT NULL DEFAULT 0,
  rejected       bigint NOT NULL DEFAULT 0,
  error          text
);
CREATE INDEX IF NOT EXISTS file_sync_runs_latest ON cutover.file_sync_runs (migration, id DESC);

-- deferred_ddl (deferred_ddl.h): indexes and constraints a bulk load set aside.
CREATE TABLE IF NOT EXISTS cutover.deferred_ddl (
  migration     text NOT NULL,
  entity        text NOT NULL,
  step          integer NOT NULL,
  name          text NOT NULL,
  ddl           text NOT NULL,
  entity_key    boolean NOT NULL DEFAULT false,
  PRIMARY KEY (migration, entity, step, name)
);

-- verify_runs (verify_runs.h): one row per entity per recorded verify.
CREATE TABLE IF NOT EXISTS cutover.verify_runs (
  id            bigserial PRIMARY KEY,
  migration     text NOT NULL,
  entity        text NOT NULL,
  source_rows   bigint NOT NULL,
  target_rows   bigint NOT NULL,
  missing       bigint NOT NULL,
  extra         bigint NOT NULL,
  changed       bigint NOT NULL,
  clean         boolean NOT NULL,
  finished_at   timestamptz NOT NULL DEFAULT now()
);
-- (v2) The guards read the latest run of each entity.
CREATE INDEX IF NOT EXISTS verify_runs_latest_idx
  ON cutover.verify_runs (migration, entity, id DESC);

-- stage (stage.h): one row per migration, the stage it stands at.
CREATE TABLE IF NOT EXISTS cutover.stage (
  migration  text PRIMARY KEY,
  stage      text NOT NULL CHECK (stage IN ('legacy', 'dual_write', 'shadow', 'rollout',
                                            'primary', 'complete')),
  percent    integer NOT NULL CHECK (percent BETWEEN 0 AND 100),
  version    bigint NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text NOT NULL,
  reason     text NOT NULL DEFAULT '',
  forced     boolean NOT NULL DEFAULT false
);

-- stage_audit (stage_audit.h): append-only, every attempt to move the stage.
CREATE TABLE IF NOT EXISTS cutover.stage_audit (
  id           bigserial PRIMARY KEY,
  migration    text NOT NULL,
  at           timestamptz NOT NULL DEFAULT now(),
  from_stage   text NOT NULL,
  from_percent integer NOT NULL,
  to_stage     text NOT NULL,
  to_percent   integer,
  who          text NOT NULL,
  why          text NOT NULL DEFAULT '',
  forced       boolean NOT NULL,
  applied      boolean NOT NULL,
  guards       jsonb NOT NULL DEFAULT '[]',
  outcome      text CHECK (outcome IN ('applied', 'forced', 'refused', 'illegal', 'invalid',
                                     'rollback')),
  detail       text NOT NULL DEFAULT ''
);
-- Tables made before every attempt was audited gain the outcome and detail
-- columns (old rows get the outcome their flags imply) and a nullable
-- to_percent.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'cutover'
                 AND table_name = 'stage_audit' AND column_name = 'outcome') THEN
    ALTER TABLE cutover.stage_audit
      ADD COLUMN outcome text
        CHECK (outcome IN ('applied', 'forced', 'refused', 'illegal', 'invalid')),
      ADD COLUMN detail text NOT NULL DEFAULT '',
      ALTER COLUMN to_percent DROP NOT NULL;
    UPDATE cutover.stage_audit SET outcome = CASE WHEN applied AND forced THEN 'forced'
      WHEN applied THEN 'applied' ELSE 'refused' END;
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS stage_audit_migration_idx ON cutover.stage_audit (migration, id);
-- v6: a rollback that deletes rows is audited beside the stage moves.
ALTER TABLE cutover.stage_audit DROP CONSTRAINT IF EXISTS stage_audit_outcome_check;
ALTER TABLE cutover.stage_audit ADD CONSTRAINT stage_audit_outcome_check
  CHECK (outcome IN ('applied', 'forced', 'refused', 'illegal', 'invalid', 'rollback'));

-- read_stats (read_stats.h): one row per (migration, entity, reporter, second).
CREATE TABLE IF NOT EXISTS cutover.read_stats (
  migration         text NOT NULL,
  entity            text NOT NULL,
  origin            text NOT NULL,
  at                timestamptz NOT NULL,
  shadow_reads      bigint NOT NULL DEFAULT 0,
  shadow_mismatches bigint NOT NULL DEFAULT 0,
  postgres_reads    bigint NOT NULL DEFAULT 0,
  fallbacks         bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (migration, entity, origin, at)
);

-- gateway_journals (gateway_journals.h, v5): one row per gateway process
-- (origin) and journal directory, replaced each second it runs.
CREATE TABLE IF NOT EXISTS cutover.gateway_journals (
  migration      text NOT NULL,
  origin         text NOT NULL,
  journal_dir    text NOT NULL,
  last_seq       bigint NOT NULL,
  first_owed_seq bigint NOT NULL,
  owed           bigint NOT NULL,
  reported_at    timestamptz NOT NULL,
  PRIMARY KEY (migration, journal_dir)
);
)sql";

// journal (journal.h, v2): the writes a dual write still owes one store, in
// the order they were acknowledged. Made by EnsureJournalSchema only.
constexpr std::string_view kJournalDdl = R"sql(
CREATE TABLE IF NOT EXISTS cutover.journal (
  id              bigserial PRIMARY KEY,
  migration       text NOT NULL,
  entity          text NOT NULL,
  key             text NOT NULL,
  operation       text NOT NULL CHECK (operation IN ('upsert', 'delete')),
  state           jsonb,
  owed_to         text NOT NULL CHECK (owed_to IN ('legacy', 'postgres')),
  written_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts        integer NOT NULL DEFAULT 0,
  last_error      text NOT NULL DEFAULT '',
  next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((operation = 'delete') = (state IS NULL))
);
CREATE INDEX IF NOT EXISTS journal_key_idx ON cutover.journal (migration, entity, key, id);
)sql";

}  // namespace

Status NewerCatalogError(int found) {
  return FailedPrecondition(fmt::format(
      "the cutover schema in this database is at catalog version {}, but this cutover knows "
      "catalog versions up to {}: a newer cutover has upgraded it. Run this migration with that "
      "newer cutover (or a later one); this one refuses to touch tables whose meaning it does "
      "not know, and changed nothing",
      found, kCatalogVersion));
}

namespace {

// Runs `ddl` in one transaction under the DDL lock, unless the version read
// under the lock is already current (then nothing runs). Refuses a newer one.
Status UpgradeLocked(pg_store::PgConnection* conn, std::string_view ddl, bool always) {
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  auto body = [&]() -> Status {
    RETURN_IF_ERROR(conn->Exec(kDdlLock));
    ASSIGN_OR_RETURN(const std::optional<int> found, ReadCatalogVersion(conn));
    if (found && *found > kCatalogVersion) return NewerCatalogError(*found);
    if (found && *found == kCatalogVersion && !always) return Status::Ok();
    RETURN_IF_ERROR(conn->Exec(kControlSchemaDdl));
    if (!ddl.empty()) RETURN_IF_ERROR(conn->Exec(ddl));
    auto set = conn->Query(
        "INSERT INTO cutover.schema_version (only_row, version) VALUES (true, $1) "
        "ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version, upgraded_at = now() "
        "WHERE cutover.schema_version.version <> EXCLUDED.version",
        {std::to_string(kCatalogVersion)});
    return set.status();
  };
  Status st = body();
  if (!st.ok()) {
    if (conn->IsHealthy()) (void)conn->Exec("ROLLBACK");
    if (st.code() == StatusCode::kFailedPrecondition) return st;
    return st.WithContext(fmt::format(
        "creating or upgrading the cutover schema to catalog version {}", kCatalogVersion));
  }
  return conn->Exec("COMMIT");
}

}  // namespace

bool IsMissingRelation(const Status& st) {
  return st.sqlstate() == "42P01" || st.sqlstate() == "3F000";
}

Result<std::optional<int>> ReadCatalogVersion(pg_store::PgConnection* conn) {
  // to_regclass rather than catching 42P01: inside a transaction an error
  // would abort it.
  ASSIGN_OR_RETURN(auto table, conn->QueryValue("SELECT to_regclass('cutover.schema_version')"));
  if (!table) return std::optional<int>();
  ASSIGN_OR_RETURN(auto v, conn->QueryValue("SELECT version FROM cutover.schema_version"));
  if (!v) return std::optional<int>();
  return std::optional<int>(std::stoi(*v));
}

Status EnsureControlSchema(pg_store::PgConnection* conn) {
  auto found = ReadCatalogVersion(conn);
  if (!found.ok()) return found.status().WithContext("reading the cutover catalog version");
  if (*found && **found == kCatalogVersion) return Status::Ok();
  if (*found && **found > kCatalogVersion) return NewerCatalogError(**found);
  return UpgradeLocked(conn, {}, /*always=*/false);
}

Status EnsureJournalSchema(pg_store::PgConnection* conn) {
  RETURN_IF_ERROR(EnsureControlSchema(conn));
  ASSIGN_OR_RETURN(auto journal, conn->QueryValue("SELECT to_regclass('cutover.journal')"));
  if (journal) return Status::Ok();
  return UpgradeLocked(conn, kJournalDdl, /*always=*/true);
}

}  // namespace cutover::catalog
