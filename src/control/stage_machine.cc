// StageMachine: one transaction per transition (see the design note in
// stage_machine.h): lock the stage row, check, guard, update, audit, notify.
#include "control/stage_machine.h"

#include <fmt/format.h>

#include "catalog/stage.h"
#include "catalog/way_back.h"
#include "control/gateway_drain.h"
#include "control/stage_store.h"

namespace cutover::control {
namespace {

Result<TransitionOutcome> TransitionLocked(pg_store::PgConnection* conn,
                                           const spec::MigrationSpec& migration,
                                           const TransitionRequest& request,
                                           const std::optional<GuardResult>& drained) {
  // The row exists before it is locked, so that the first transition of a
  // migration serializes like every later one.
  RETURN_IF_ERROR(catalog::LockStageRow(conn, migration.name));
  ASSIGN_OR_RETURN(const StageState before, ReadStage(conn, migration.name));

  TransitionOutcome out;
  out.before = before;
  out.after = before;
  // Only a rollout without a percent leaves the percent unknown.
  const std::optional<int> asked_percent = request.percent || request.to == Stage::kRollout
                                               ? request.percent
                                               : std::optional<int>(ImpliedPercent(request.to));
  AuditRecord audit;
  audit.from = before;
  audit.to_stage = std::string(StageName(request.to));
  audit.to_percent = asked_percent;
  audit.who = request.who;
  audit.why = request.why;

  Status legal = request.to == Stage::kRollout && !request.percent
                     ? InvalidArgument("moving to 'rollout' needs a percent (--percent N)")
                     : Status::Ok();
  const int to_percent = request.percent.value_or(ImpliedPercent(request.to));
  if (legal.ok()) legal = CheckLegal(before, request.to, to_percent);
  if (!legal.ok()) {
    audit.outcome = AttemptOutcome::kIllegal;
    audit.detail = legal.message();
    RETURN_IF_ERROR(AppendAudit(conn, migration.name, audit));
    out.illegal = legal.message();
    return out;
  }

  ASSIGN_OR_RETURN(out.guards, EvaluateGuards(conn, migration, before, request.to, to_percent));
  if (drained) out.guards.results.push_back(*drained);
  out.applied = out.guards.passed() || request.force;
  out.forced = out.applied && !out.guards.passed();
  audit.guards = out.guards.ToJson();
  if (!out.applied) {
    const GuardResult* unmet = out.guards.FirstUnmet();
    audit.outcome = AttemptOutcome::kRefused;
    audit.detail = fmt::format("guard {} is unmet: {}", unmet->name, unmet->detail);
  } else {
    audit.outcome = out.forced ? AttemptOutcome::kForced : AttemptOutcome::kApplied;
  }
  RETURN_IF_ERROR(AppendAudit(conn, migration.name, audit));
  if (!out.applied) return out;

  RETURN_IF_ERROR(catalog::UpdateStageRow(conn, migration.name, std::string(StageName(request.to)),
                                          to_percent, request.who, request.why, out.forced));
  ASSIGN_OR_RETURN(out.after, ReadStage(conn, migration.name));
  const nlohmann::json payload = {{"migration", migration.name}, {"version", out.after.version}};
  RETURN_IF_ERROR(conn->Query("SELECT pg_notify($1, $2)", {kStageChannel, payload.dump()})
                      .status()
                      .WithContext("announcing the stage change"));
  return out;
}

}  // namespace

Status ValidateRequest(const TransitionRequest& request) {
  if (request.who.empty()) return InvalidArgument("a stage change needs to know who asks");
  if (request.why.size() > kMaxReasonBytes) {
    return InvalidArgument(fmt::format("the reason is {} bytes; at most {} are kept",
                                       request.why.size(), kMaxReasonBytes));
  }
  for (size_t i = 0; i < request.why.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(request.why[i]);
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(fmt::format(
          "the reason holds a control character (0x{:02x}) at byte {}; write it on one line", c,
          i));
    }
  }
  if (request.force && request.why.empty()) {
    return InvalidArgument(
        "a forced move needs a reason (--reason, or \"reason\" in the body), which the audit "
        "table keeps");
  }
  return Status::Ok();
}

namespace {

// The way back's slots, before the stage leaves primary (see Transition).
Status CheckWayBackLeft(pg_store::PgConnection* conn, const spec::MigrationSpec& migration,
                        const TransitionRequest& request) {
  ASSIGN_OR_RETURN(const std::vector<catalog::WayBackSlotStatus> slots,
                   catalog::LoadWayBacks(conn, migration.name));
  bool any = false;
  for (const auto& w : slots) {
    if (!w.slot_exists) continue;
    any = true;
    if (w.active) {
      return FailedPrecondition(fmt::format(
          "a `cutover sync` is carrying PostgreSQL's changes of {} back into the legacy store "
          "(slot {}); stop it before the stage leaves primary, or the legacy store would take "
          "writes from both sides",
          w.state.entity, w.state.slot));
    }
  }
  if (any && !request.legacy_holds_postgres_state && !request.force) {
    return FailedPrecondition(
        "the way back's slots may hold PostgreSQL changes the legacy store lacks: `cutover "
        "rollback` writes PostgreSQL's state into it and then moves the stage back; --force "
        "--reason moves it anyway and drops the slots");
  }
  return Status::Ok();
}

}  // namespace

Result<TransitionOutcome> Transition(pg_store::PgConnection* conn,
                                     const spec::MigrationSpec& migration,
                                     const TransitionRequest& request) {
  RETURN_IF_ERROR(EnsureStageSchema(conn));
  if (Status valid = ValidateRequest(request); !valid.ok()) {
    RETURN_IF_ERROR(
        RecordInvalidAttempt(conn, migration, request.who.empty() ? "unknown" : request.who,
                             std::string(StageName(request.to)), request.percent, valid.message()));
    return valid;
  }
  // The cut-over barrier waits outside the transaction, so the stage row is
  // not locked for as long as gateways take to drain.
  std::optional<GuardResult> drained;
  ASSIGN_OR_RETURN(const StageState now, ReadStage(conn, migration.name));
  const int to_percent = request.percent.value_or(ImpliedPercent(request.to));
  const bool more_reads_from_postgres = request.to == Stage::kRollout ||
                                        request.to == Stage::kPrimary ||
                                        request.to == Stage::kComplete;
  if (more_reads_from_postgres && (request.to != Stage::kRollout || request.percent) &&
      CheckLegal(now, request.to, to_percent).ok() &&
      DirectionOf(now, request.to, to_percent) == Direction::kForward) {
    // Forced moves wait too: --force overrides evidence, and the barrier is
    // no evidence but the reads' correctness; the timeout bounds the wait.
    ASSIGN_OR_RETURN(
        drained, WaitForGatewayDrain(conn, migration.name,
                                     std::chrono::milliseconds(migration.stages.drain_timeout_ms)));
  }
  if (now.stage == Stage::kPrimary && request.to < Stage::kPrimary) {
    RETURN_IF_ERROR(CheckWayBackLeft(conn, migration, request));
  }
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  Result<TransitionOutcome> out = TransitionLocked(conn, migration, request, drained);
  if (!out.ok()) {
    (void)conn->Exec("ROLLBACK");
    return out.status();
  }
  // An illegal move commits its audit row and nothing else.
  RETURN_IF_ERROR(conn->Exec("COMMIT").WithContext("committing the stage change"));
  if (!out->illegal.empty()) return InvalidArgument(out->illegal);
  if (out->applied && out->after.stage != Stage::kPrimary) {
    // After the commit: the stage has moved whatever happens to the slots.
    Result<std::vector<std::string>> dropped = catalog::DropWayBacks(conn, migration.name);
    if (dropped.ok()) {
      out->way_back_slots_dropped = std::move(*dropped);
    } else {
      out->way_back_slots_kept = std::string(dropped.status().message());
    }
  }
  return out;
}

Status RecordInvalidAttempt(pg_store::PgConnection* conn, const spec::MigrationSpec& migration,
                            const std::string& who, const std::string& to_stage,
                            std::optional<int> to_percent, const std::string& problem) {
  RETURN_IF_ERROR(EnsureStageSchema(conn));
  ASSIGN_OR_RETURN(const StageState now, ReadStage(conn, migration.name));
  AuditRecord record;
  record.from = now;
  record.to_stage = to_stage;
  record.to_percent = to_percent;
  record.who = who;
  record.outcome = AttemptOutcome::kInvalid;
  record.detail = problem;
  return AppendAudit(conn, migration.name, record);
}

}  // namespace cutover::control
