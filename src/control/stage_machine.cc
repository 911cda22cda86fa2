// StageMachine: one transaction per transition (see the design note in
// stage_machine.h): lock the stage row, check, guard, update, audit, notify.
#include "control/stage_machine.h"

#include <fmt/format.h>

#include "control/stage_store.h"

namespace cutover::control {
namespace {

Status Audit(target::PgConnection* conn, const std::string& migration, const StageState& from,
             Stage to, int to_percent, const TransitionRequest& request, bool applied,
             const GuardReport& guards) {
  auto r = conn->Query(
      "INSERT INTO cutover.stage_audit (migration, from_stage, from_percent, to_stage, "
      "to_percent, who, why, forced, applied, guards) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)",
      {migration, std::string(StageName(from.stage)), std::to_string(from.percent),
       std::string(StageName(to)), std::to_string(to_percent), request.who, request.why,
       request.force && !guards.passed() ? "true" : "false", applied ? "true" : "false",
       guards.ToJson().dump()});
  if (!r.ok()) return r.status().WithContext("writing the stage audit");
  return Status::Ok();
}

Result<TransitionOutcome> TransitionLocked(target::PgConnection* conn,
                                           const spec::MigrationSpec& migration,
                                           const TransitionRequest& request) {
  // The row exists before it is locked, so that the first transition of a
  // migration serializes like every later one.
  auto seed = conn->Query(
      "INSERT INTO cutover.stage (migration, stage, percent, version, changed_by, reason) "
      "VALUES ($1, 'legacy', 0, 0, 'cutover', 'initial') ON CONFLICT (migration) DO NOTHING",
      {migration.name});
  if (!seed.ok()) return seed.status().WithContext("creating the stage row");
  RETURN_IF_ERROR(
      conn->Query("SELECT 1 FROM cutover.stage WHERE migration = $1 FOR UPDATE", {migration.name})
          .status());
  ASSIGN_OR_RETURN(const StageState before, ReadStage(conn, migration.name));

  if (request.to == Stage::kRollout && !request.percent) {
    return InvalidArgument("moving to 'rollout' needs a percent (--percent N)");
  }
  const int to_percent = request.percent.value_or(ImpliedPercent(request.to));
  RETURN_IF_ERROR(CheckLegal(before, request.to, to_percent));

  TransitionOutcome out;
  out.before = before;
  out.after = before;
  ASSIGN_OR_RETURN(out.guards, EvaluateGuards(conn, migration, before, request.to, to_percent));
  out.applied = out.guards.passed() || request.force;
  out.forced = out.applied && !out.guards.passed();
  RETURN_IF_ERROR(Audit(conn, migration.name, before, request.to, to_percent, request, out.applied,
                        out.guards));
  if (!out.applied) return out;

  auto updated = conn->Query(
      "UPDATE cutover.stage SET stage = $2, percent = $3, version = version + 1, "
      "changed_at = clock_timestamp(), changed_by = $4, reason = $5, forced = $6 "
      "WHERE migration = $1",
      {migration.name, std::string(StageName(request.to)), std::to_string(to_percent), request.who,
       request.why, out.forced ? "true" : "false"});
  if (!updated.ok()) return updated.status().WithContext("updating the stage");
  ASSIGN_OR_RETURN(out.after, ReadStage(conn, migration.name));
  const nlohmann::json payload = {{"migration", migration.name}, {"version", out.after.version}};
  RETURN_IF_ERROR(conn->Query("SELECT pg_notify($1, $2)", {kStageChannel, payload.dump()})
                      .status()
                      .WithContext("announcing the stage change"));
  return out;
}

}  // namespace

Result<TransitionOutcome> Transition(target::PgConnection* conn,
                                     const spec::MigrationSpec& migration,
                                     const TransitionRequest& request) {
  RETURN_IF_ERROR(EnsureStageSchema(conn));
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  Result<TransitionOutcome> out = TransitionLocked(conn, migration, request);
  // An illegal move writes nothing, not even an audit row: it was a typo, not
  // an attempt the guards judged.
  if (!out.ok()) {
    (void)conn->Exec("ROLLBACK");
    return out.status();
  }
  RETURN_IF_ERROR(conn->Exec("COMMIT").WithContext("committing the stage change"));
  return out;
}

}  // namespace cutover::control
