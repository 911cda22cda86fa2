// The control tables of the stage machine: DDL, reading the current stage and
// the audit trail, and adding read statistics.
#include "control/stage_store.h"

#include <fmt/format.h>

#include "catalog/schema_manager.h"

namespace cutover::control {
namespace {

// `stage` keeps one row per migration; `stage_audit` is append-only.
// `read_stats` holds one row per (migration, entity, reporter, second).
constexpr std::string_view kStageDdl = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('cutover.ddl'));
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
  outcome      text CHECK (outcome IN ('applied', 'forced', 'refused', 'illegal', 'invalid')),
  detail       text NOT NULL DEFAULT ''
);
-- Tables made before every attempt was audited gain the outcome and detail
-- columns (old rows get the outcome their flags imply) and a nullable
-- to_percent; checked first so the usual run takes no table lock.
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
COMMIT;
)sql";

bool MissingRelation(const Status& st) {
  // 42P01 undefined_table, 3F000 invalid_schema_name: nothing was set up yet.
  return st.sqlstate() == "42P01" || st.sqlstate() == "3F000";
}

}  // namespace

Status EnsureStageSchema(pg_store::PgConnection* conn) {
  RETURN_IF_ERROR(catalog::EnsureControlSchema(conn));
  Status st = conn->Exec(kStageDdl);
  if (!st.ok()) {
    (void)conn->Exec("ROLLBACK");
    return st.WithContext("creating the stage tables");
  }
  return st;
}

Result<StageState> ReadStage(pg_store::PgConnection* conn, const std::string& migration) {
  auto rows = conn->Query(
      "SELECT stage, percent, version, "
      "to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), changed_by, "
      "reason, forced FROM cutover.stage WHERE migration = $1",
      {migration});
  if (!rows.ok()) {
    if (MissingRelation(rows.status())) return StageState{};
    return rows.status().WithContext("reading the stage of " + migration);
  }
  if (rows->rows.empty()) return StageState{};
  const auto& r = rows->rows[0];
  const std::optional<Stage> stage = ParseStage(r[0].value_or(""));
  if (!stage) return Internal("cutover.stage holds an unknown stage '" + r[0].value_or("") + "'");
  StageState state;
  state.stage = *stage;
  state.percent = std::stoi(r[1].value_or("0"));
  state.version = std::stoll(r[2].value_or("0"));
  state.changed_at = r[3].value_or("");
  state.changed_by = r[4].value_or("");
  state.reason = r[5].value_or("");
  state.forced = r[6].value_or("f") == "t";
  return state;
}

std::string_view AttemptOutcomeName(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kApplied:
      return "applied";
    case AttemptOutcome::kForced:
      return "forced";
    case AttemptOutcome::kRefused:
      return "refused";
    case AttemptOutcome::kIllegal:
      return "illegal";
    case AttemptOutcome::kInvalid:
      return "invalid";
  }
  return "invalid";
}

Status AppendAudit(pg_store::PgConnection* conn, const std::string& migration,
                   const AuditRecord& record) {
  const bool applied =
      record.outcome == AttemptOutcome::kApplied || record.outcome == AttemptOutcome::kForced;
  // An empty to_percent is stored as NULL: the request named none, or one
  // that was not a number in 0..100.
  const std::vector<std::string> params = {
      migration,
      std::string(StageName(record.from.stage)),
      std::to_string(record.from.percent),
      record.to_stage,
      record.to_percent ? std::to_string(*record.to_percent) : std::string(),
      record.who,
      record.why,
      record.outcome == AttemptOutcome::kForced ? "true" : "false",
      applied ? "true" : "false",
      record.guards.dump(),
      std::string(AttemptOutcomeName(record.outcome)),
      record.detail};
  auto r = conn->Query(
      "INSERT INTO cutover.stage_audit (migration, from_stage, from_percent, to_stage, "
      "to_percent, who, why, forced, applied, guards, outcome, detail) "
      "VALUES ($1, $2, $3, $4, NULLIF($5, '')::integer, $6, $7, $8, $9, $10::jsonb, $11, $12)",
      params);
  if (!r.ok()) return r.status().WithContext("writing the stage audit");
  return Status::Ok();
}

Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit) {
  auto rows = conn->Query(
      "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), from_stage, "
      "from_percent, to_stage, to_percent, who, why, forced, applied, guards::text, "
      "coalesce(outcome, ''), detail "
      "FROM cutover.stage_audit WHERE migration = $1 ORDER BY id DESC LIMIT $2",
      {migration, std::to_string(limit)});
  if (!rows.ok()) {
    if (MissingRelation(rows.status())) return std::vector<AuditEntry>{};
    return rows.status().WithContext("reading the stage audit of " + migration);
  }
  std::vector<AuditEntry> out;
  for (const auto& r : rows->rows) {
    AuditEntry e;
    e.id = std::stoll(r[0].value_or("0"));
    e.at = r[1].value_or("");
    e.from_stage = r[2].value_or("");
    e.from_percent = std::stoi(r[3].value_or("0"));
    e.to_stage = r[4].value_or("");
    if (r[5]) e.to_percent = std::stoi(*r[5]);
    e.who = r[6].value_or("");
    e.why = r[7].value_or("");
    e.forced = r[8].value_or("f") == "t";
    e.applied = r[9].value_or("f") == "t";
    e.guards = nlohmann::json::parse(r[10].value_or("[]"), nullptr, /*allow_exceptions=*/false);
    e.outcome = r[11].value_or("");
    e.detail = r[12].value_or("");
    out.push_back(std::move(e));
  }
  return out;
}

Status RecordReads(pg_store::PgConnection* conn, const std::string& migration,
                   const std::string& entity, const std::string& origin, const ReadCounts& counts) {
  auto r = conn->Query(
      "INSERT INTO cutover.read_stats AS s (migration, entity, origin, at, shadow_reads, "
      "shadow_mismatches, postgres_reads, fallbacks) "
      "VALUES ($1, $2, $3, date_trunc('second', clock_timestamp()), $4, $5, $6, $7) "
      "ON CONFLICT (migration, entity, origin, at) DO UPDATE SET "
      "shadow_reads = s.shadow_reads + excluded.shadow_reads, "
      "shadow_mismatches = s.shadow_mismatches + excluded.shadow_mismatches, "
      "postgres_reads = s.postgres_reads + excluded.postgres_reads, "
      "fallbacks = s.fallbacks + excluded.fallbacks",
      {migration, entity, origin, std::to_string(counts.shadow_reads),
       std::to_string(counts.shadow_mismatches), std::to_string(counts.postgres_reads),
       std::to_string(counts.fallbacks)});
  if (!r.ok()) return r.status().WithContext("recording read statistics");
  return Status::Ok();
}

}  // namespace cutover::control
