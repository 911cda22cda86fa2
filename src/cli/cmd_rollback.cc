// `cutover rollback SPEC`: writes PostgreSQL's state back into the legacy
// store and moves the stage back; with --tag T, removes what one tag wrote.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/redact.h"
#include "control/stage_machine.h"
#include "engine/core/target_resolver.h"
#include "engine/rollback/state_rollback.h"
#include "engine/rollback/tag_rollback.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::cli {

CommandAction AddRollbackCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::TagRollbackRequest request;
    engine::StateRollbackRequest state;
    int batch_size = 0;
    std::string retry_for = "60s";
    bool json = false;
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  CLI::Option* tag = app->add_option(
      "--tag", o->request.tag,
      "Instead of writing back: delete from PostgreSQL the rows written under this "
      "source tag (an entity's `tag:`; by default its name), with their child rows, "
      "from every entity that carries it. Refused from rollout on, when PostgreSQL "
      "answers reads");
  app->add_option("--entity", o->request.entities,
                  "Only this entity (repeatable). Without --tag: default every entity, which must "
                  "all declare write_back, and the stage then moves back to dual_write; with "
                  "--entity the stage stays. With --tag: default every entity tagged so");
  app->add_flag("--dry-run", o->request.dry_run,
                "Count what would be written and deleted, per entity or table, and change nothing");
  app->add_option("--batch-size", o->batch_size,
                  "Rows per transaction: parents deleted with --tag (default 10000), Redis keys "
                  "written back and checked without (default 1000); rows per page of a JSON "
                  "file's export (default 10000). A killed run keeps what it committed, and a "
                  "rerun finishes")
      ->check(CLI::Range(1, 10'000'000));
  app->add_option("--retry-for", o->retry_for,
                  "How long one outage of PostgreSQL is waited out before giving up (default 60s)");
  app->add_flag("--json", o->json, "Print the report as JSON on stdout");
  AddScratchFlag(app, &o->scratch);
  return [o, tag]() -> int {
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return kExitUsage;
    const auto retry_for = ParseDuration(o->retry_for);
    if (!retry_for) {
      fmt::print(stderr, "error: --retry-for {}: expected a duration such as 30s or 5m\n",
                 o->retry_for);
      return kExitUsage;
    }
    o->request.retry_for = *retry_for;
    o->request.who = OperatorName();
    engine::TargetHandle target;
    if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) return rc;
    auto failed = [](const Status& st) {
      fmt::print(stderr, "error: {}\n", RedactSecrets(st.message()));
      return st.code() == StatusCode::kInvalidArgument ||
                     st.code() == StatusCode::kFailedPrecondition
                 ? kExitUsage
                 : kExitFailure;
    };
    if (tag->count() > 0) {
      if (o->batch_size > 0) o->request.batch_size = o->batch_size;
      spdlog::info("rollback --tag {} of {} in {}{}", o->request.tag, migration->name,
                   target.Describe(), o->request.dry_run ? " (dry run)" : "");
      auto report = engine::RunTagRollback(*migration, target.url, o->request);
      if (!report.ok()) return failed(report.status());
      if (o->json) {
        fmt::print("{}\n", engine::TagRollbackReportJson(*report).dump(2));
      } else {
        fmt::print("{}", engine::FormatTagRollbackReport(*report));
      }
      return kExitOk;
    }

    engine::StateRollbackRequest& state = o->state;
    state.entities = o->request.entities;
    state.dry_run = o->request.dry_run;
    state.retry_for = o->request.retry_for;
    if (o->batch_size > 0) state.batch_size = o->batch_size;
    spdlog::info("rollback of {} in {}{}", migration->name, target.Describe(),
                 state.dry_run ? " (dry run)" : "");
    auto report = engine::RunStateRollback(*migration, target.url, state);
    if (!report.ok()) return failed(report.status());
    nlohmann::json j = engine::StateRollbackReportJson(*report);
    std::string text = engine::FormatStateRollbackReport(*report);
    if (report->whole && !report->dry_run) {
      // Every entity's legacy keys hold PostgreSQL's state: legacy takes
      // writes first again.
      auto conn = pg_store::PgConnection::ConnectWithRetry(target.url, o->request.retry_for);
      if (!conn.ok()) return failed(conn.status());
      control::TransitionRequest move;
      move.to = control::Stage::kDualWrite;
      move.who = o->request.who;
      move.why = "rollback: the legacy store holds PostgreSQL's state";
      move.legacy_holds_postgres_state = true;
      auto moved = control::Transition(conn->get(), *migration, move);
      if (!moved.ok()) return failed(moved.status());
      if (!moved->applied) {
        fmt::print(stderr,
                   "error: the legacy store holds PostgreSQL's state, but the stage did "
                   "not move back to dual_write\n");
        return kExitFailure;
      }
      j["stage_after"] = "dual_write";
      text += fmt::format("stage: {} -> dual_write\n", report->stage);
    } else if (!report->dry_run) {
      text += fmt::format("stage: stays {} (only some entities were rolled back)\n", report->stage);
    }
    if (o->json) {
      fmt::print("{}\n", j.dump(2));
    } else {
      fmt::print("{}", text);
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
