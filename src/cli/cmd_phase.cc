// `cutover phase SPEC status | set STAGE`: where the migration stands and what
// each next step waits for; moves it, guarded, recorded in the audit table.
#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/way_back.h"
#include "cli/command.h"
#include "common/redact.h"
#include "control/guards.h"
#include "control/stage.h"
#include "control/stage_machine.h"
#include "control/stage_store.h"
#include "engine/core/target_resolver.h"
#include "engine/rollback/way_back.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/time_partitions.h"

namespace cutover::cli {
namespace {

std::string Describe(const control::StageState& s) {
  return s.stage == control::Stage::kRollout ? fmt::format("rollout {}%", s.percent)
                                             : std::string(control::StageName(s.stage));
}

void PrintGuards(const control::GuardReport& report) {
  if (report.results.empty()) fmt::print("    no guards\n");
  for (const auto& g : report.results) {
    fmt::print("    [{}] {}: {}\n", g.passed ? "ok" : g.evaluated ? "  " : "??", g.name, g.detail);
  }
}

// The forward moves worth showing from `s`: the next stage, and for rollout
// below 100% also raising the percent to 100.
std::vector<std::pair<control::Stage, int>> NextSteps(const control::StageState& s) {
  std::vector<std::pair<control::Stage, int>> steps;
  if (s.stage == control::Stage::kRollout && s.percent < 100) {
    steps.emplace_back(control::Stage::kRollout, 100);
  }
  for (control::Stage to : control::kAllStages) {
    if (to <= s.stage) continue;
    steps.emplace_back(to, to == control::Stage::kRollout ? 10 : control::ImpliedPercent(to));
  }
  return steps;
}

// WAL a slot holds, in KiB below a MiB and MiB above, rounded down.
std::string WalSize(int64_t bytes) {
  if (bytes < 1024 * 1024) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} MiB", bytes / (1024 * 1024));
}

int PrintStatus(const spec::MigrationSpec& migration, pg_store::PgConnection* conn, bool as_json) {
  // The guards read the ledger and verify tables; on a target nothing has
  // touched yet they are created empty rather than reported missing.
  if (Status st = control::EnsureStageSchema(conn); !st.ok()) {
    fmt::print(stderr, "error: {}\n", RedactSecrets(st.message()));
    return kExitFailure;
  }
  auto state = control::ReadStage(conn, migration.name);
  if (!state.ok()) {
    fmt::print(stderr, "error: {}\n", state.status().message());
    return kExitFailure;
  }
  auto audit = control::ReadAudit(conn, migration.name, 5);
  if (!audit.ok()) {
    fmt::print(stderr, "error: {}\n", audit.status().message());
    return kExitFailure;
  }
  nlohmann::json j = {
      {"migration", migration.name},     {"stage", control::StageName(state->stage)},
      {"percent", state->percent},       {"version", state->version},
      {"changed_at", state->changed_at}, {"changed_by", state->changed_by},
      {"forced", state->forced},         {"next", nlohmann::json::array()}};
  if (!as_json) {
    fmt::print("{}: {}", migration.name, Describe(*state));
    if (state->version > 0) {
      fmt::print(" since {} by {}{}{}", state->changed_at, state->changed_by,
                 state->reason.empty() ? "" : " (" + state->reason + ")",
                 state->forced ? ", forced" : "");
    }
    fmt::print("\n");
  }
  auto way_backs = catalog::LoadWayBacks(conn, migration.name);
  if (!way_backs.ok()) {
    fmt::print(stderr, "error: {}\n", way_backs.status().message());
    return kExitFailure;
  }
  j["way_back"] = nlohmann::json::array();
  for (const auto& w : *way_backs) {
    j["way_back"].push_back({{"entity", w.state.entity},
                             {"slot", w.state.slot},
                             {"slot_exists", w.slot_exists},
                             {"streaming", w.active},
                             {"wal_status", w.wal_status},
                             {"confirmed_lsn", w.confirmed_lsn},
                             {"retained_wal_bytes", w.retained_wal ? nlohmann::json(*w.retained_wal)
                                                                   : nlohmann::json(nullptr)},
                             {"reconciled", w.state.reconciled},
                             {"changes_applied", w.state.changes_applied},
                             {"lag_p99_ms", w.state.lag_p99_ms ? nlohmann::json(*w.state.lag_p99_ms)
                                                               : nlohmann::json(nullptr)}});
    if (as_json) continue;
    if (!w.slot_exists) {
      fmt::print(
          "way back: {}: slot {} is gone; the next `cutover sync` makes it again and "
          "reconciles\n",
          w.state.entity, w.state.slot);
      continue;
    }
    fmt::print("way back: {}: slot {} {}, holding {} of WAL, {} changes carried back{}{}{}\n",
               w.state.entity, w.state.slot, w.active ? "streaming" : "idle (no sync running)",
               WalSize(w.retained_wal.value_or(0)), w.state.changes_applied,
               w.state.reconciled ? "" : ", reconciliation unfinished",
               w.state.lag_p99_ms ? fmt::format(", lag p99 {:.1f} ms", *w.state.lag_p99_ms) : "",
               state->stage == control::Stage::kPrimary
                   ? ""
                   : " (left behind: the stage is no longer primary; `cutover phase set` drops "
                     "it)");
  }
  // Rows in a default partition have a time no partition covers: someone
  // wrote to the table around cutover, whose writers attach partitions first.
  j["default_partitions"] = nlohmann::json::array();
  for (const auto& e : migration.entities) {
    if (!e.partition) continue;
    const pg_store::TableShape shape = pg_store::ShapeOf(e, nullptr);
    const std::string name =
        pg_store::QualifiedName(shape.schema, pg_store::DefaultPartitionName(shape));
    auto exists = conn->Query("SELECT to_regclass($1) IS NOT NULL", {name});
    if (!exists.ok()) {
      fmt::print(stderr, "error: {}\n", exists.status().message());
      return kExitFailure;
    }
    if (exists->rows.empty() || exists->rows[0][0].value_or("f") != "t") continue;
    constexpr int64_t kCountUpTo = 1'000'000;
    auto rows = conn->Query(
        fmt::format("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) d", name, kCountUpTo + 1));
    if (!rows.ok()) {
      fmt::print(stderr, "error: {}\n", rows.status().message());
      return kExitFailure;
    }
    const int64_t n = std::stoll(rows->rows[0][0].value_or("0"));
    j["default_partitions"].push_back(
        {{"entity", e.name}, {"partition", name}, {"rows", n}, {"more", n > kCountUpTo}});
    if (n > 0 && !as_json) {
      fmt::print(
          "warning: {}: {}{} rows in its default partition {}: their times have no partition of "
          "their own (written around cutover?); move them out to let cutover attach one\n",
          e.name, n > kCountUpTo ? "more than " : "", std::min(n, kCountUpTo), name);
    }
  }
  if (state->stage == control::Stage::kPrimary) {
    for (const auto& e : migration.entities) {
      if (e.source.empty() || !engine::WhyCannotFlowBack(migration, e).empty()) continue;
      const bool has = std::any_of(way_backs->begin(), way_backs->end(),
                                   [&](const auto& w) { return w.state.entity == e.name; });
      if (!has && !as_json) {
        fmt::print(
            "way back: {}: no slot yet, so PostgreSQL's changes do not reach the legacy "
            "store; run `cutover sync`\n",
            e.name);
      }
    }
  }
  bool first = true;
  for (const auto& [to, percent] : NextSteps(*state)) {
    // Only the next step is judged against the present; later ones are shown
    // against it too, so a user sees every guard still ahead.
    auto guards = control::EvaluateGuards(conn, migration, *state, to, percent);
    if (!guards.ok()) {
      fmt::print(stderr, "error: {}\n", guards.status().message());
      return kExitFailure;
    }
    const std::string name = to == control::Stage::kRollout ? fmt::format("rollout {}%", percent)
                                                            : std::string(control::StageName(to));
    j["next"].push_back({{"stage", control::StageName(to)},
                         {"percent", percent},
                         {"ready", first && guards->passed()},
                         {"guards", guards->ToJson()}});
    if (!as_json) {
      if (first) {
        fmt::print("next: {} ({})\n", name, guards->passed() ? "ready" : "waiting");
      } else {
        fmt::print("then: {}\n", name);
      }
      PrintGuards(*guards);
    }
    first = false;
  }
  j["recent"] = nlohmann::json::array();
  for (const auto& a : *audit) {
    j["recent"].push_back(
        {{"at", a.at},
         {"from", a.from_stage},
         {"to", a.to_stage},
         {"percent", a.to_percent ? nlohmann::json(*a.to_percent) : nlohmann::json(nullptr)},
         {"outcome", a.outcome},
         {"who", a.who},
         {"why", a.why},
         {"forced", a.forced},
         {"applied", a.applied}});
  }
  if (as_json) {
    fmt::print("{}\n", j.dump(2));
    return kExitOk;
  }
  if (!audit->empty()) fmt::print("recent attempts:\n");
  for (const auto& a : *audit) {
    const std::string outcome = a.outcome.empty()
                                    ? (a.applied ? (a.forced ? "forced" : "") : "refused")
                                : a.outcome == "applied" ? ""
                                                         : a.outcome;
    fmt::print(
        "  {} {} -> {}{} by {}{}{}\n", a.at, a.from_stage, a.to_stage.empty() ? "?" : a.to_stage,
        a.to_stage == "rollout" && a.to_percent ? fmt::format(" {}%", *a.to_percent) : "", a.who,
        outcome.empty() ? "" : " [" + outcome + "]", a.why.empty() ? "" : ": " + a.why);
  }
  return kExitOk;
}

}  // namespace

CommandAction AddPhaseCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    bool json = false;
    std::string stage;
    int percent = -1;
    bool force = false;
    std::string reason;
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  AddScratchFlag(app, &o->scratch);
  app->require_subcommand(0, 1);
  CLI::App* status = app->add_subcommand(
      "status", "Show the stage, what each next step waits for, and recent changes (default)");
  status->add_flag("--json", o->json, "Print the status as JSON on stdout");
  status->fallthrough();  // --scratch may follow the subcommand
  CLI::App* set = app->add_subcommand(
      "set",
      "Move to STAGE (legacy, dual_write, shadow, rollout, primary, complete). Forward moves go "
      "one stage at a time and need their guards; backward moves are always allowed");
  set->add_option("stage", o->stage, "Target stage")
      ->required()
      ->check(CLI::IsMember({"legacy", "dual_write", "shadow", "rollout", "primary", "complete"}));
  set->add_option("--percent", o->percent,
                  "Share of keys (0-100) read from PostgreSQL; required for rollout, refused "
                  "otherwise (no default)")
      ->check(CLI::Range(0, 100));
  set->fallthrough();
  set->add_flag("--force", o->force,
                "Apply even though a guard is unmet; recorded as forced in cutover.stage_audit "
                "(default off; needs --reason)");
  set->add_option("--reason", o->reason,
                  "Why, recorded in cutover.stage_audit (default empty; required with --force)");

  return [o, set]() -> int {
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return kExitUsage;
    const bool setting = set->parsed();
    std::optional<control::Stage> to;
    // A forced move without a reason is refused by the stage machine, which
    // audits it like every other attempt (control::ValidateRequest).
    if (setting) to = control::ParseStage(o->stage);
    engine::TargetHandle target;
    if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) return rc;
    auto conn = pg_store::PgConnection::ConnectWithRetry(target.url, std::chrono::seconds(1));
    if (!conn.ok()) {
      fmt::print(stderr, "error: {}\n", conn.status().message());
      return kExitFailure;
    }
    if (!setting) return PrintStatus(*migration, conn->get(), o->json);

    control::TransitionRequest request;
    request.to = *to;
    if (o->percent >= 0) request.percent = o->percent;
    request.force = o->force;
    request.who = OperatorName();
    request.why = o->reason;
    auto outcome = control::Transition(conn->get(), *migration, request);
    if (!outcome.ok()) {
      fmt::print(stderr, "error: {}\n", RedactSecrets(outcome.status().message()));
      return outcome.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    if (!outcome->applied) {
      const control::GuardResult* unmet = outcome->guards.FirstUnmet();
      fmt::print(stderr, "refused: {} -> {}: guard {} is unmet: {}\n", Describe(outcome->before),
                 o->stage == "rollout" ? fmt::format("rollout {}%", o->percent) : o->stage,
                 unmet->name, unmet->detail);
      PrintGuards(outcome->guards);
      fmt::print(stderr, "(--force --reason TEXT overrides; the override is recorded)\n");
      return kExitDiffer;
    }
    fmt::print("{}: {} -> {}{}\n", migration->name, Describe(outcome->before),
               Describe(outcome->after), outcome->forced ? " (forced)" : "");
    if (outcome->forced) PrintGuards(outcome->guards);
    if (!outcome->way_back_slots_dropped.empty()) {
      fmt::print("way back: replication slot{} {} dropped\n",
                 outcome->way_back_slots_dropped.size() == 1 ? "" : "s",
                 fmt::join(outcome->way_back_slots_dropped, ", "));
    }
    if (!outcome->way_back_slots_kept.empty()) {
      fmt::print(stderr, "warning: the way back's slots were not dropped: {}\n",
                 outcome->way_back_slots_kept);
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
