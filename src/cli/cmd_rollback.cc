// `cutover rollback SPEC --tag T`: removes from PostgreSQL exactly the rows
// one source tag wrote, or with --dry-run says how many it would remove.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "common/redact.h"
#include "engine/core/target_resolver.h"
#include "engine/rollback/tag_rollback.h"

namespace cutover::cli {

CommandAction AddRollbackCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::TagRollbackRequest request;
    std::string retry_for = "60s";
    bool json = false;
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--tag", o->request.tag,
                  "Delete the rows written under this source tag (an entity's `tag:`; by default "
                  "its name), with their child rows, from every entity that carries it. Refused "
                  "from rollout on, when PostgreSQL answers reads")
      ->required();
  app->add_option("--entity", o->request.entities,
                  "Only this entity (repeatable; default: every entity tagged so). It must carry "
                  "the tag");
  app->add_flag("--dry-run", o->request.dry_run,
                "Count the rows that would be deleted, per table, and delete nothing");
  app->add_option("--batch-size", o->request.batch_size,
                  "Parent rows deleted per transaction (default 10000); a killed run keeps the "
                  "batches it committed, and a rerun deletes the rest")
      ->check(CLI::Range(1, 10'000'000));
  app->add_option("--retry-for", o->retry_for,
                  "How long one outage of PostgreSQL is waited out before giving up (default 60s)");
  app->add_flag("--json", o->json, "Print the report as JSON on stdout");
  AddScratchFlag(app, &o->scratch);
  return [o]() -> int {
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
    spdlog::info("rollback --tag {} of {} in {}{}", o->request.tag, migration->name,
                 target.Describe(), o->request.dry_run ? " (dry run)" : "");
    auto report = engine::RunTagRollback(*migration, target.url, o->request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", RedactSecrets(report.status().message()));
      const StatusCode code = report.status().code();
      return code == StatusCode::kInvalidArgument || code == StatusCode::kFailedPrecondition
                 ? kExitUsage
                 : kExitFailure;
    }
    if (o->json) {
      fmt::print("{}\n", engine::TagRollbackReportJson(*report).dump(2));
    } else {
      fmt::print("{}", engine::FormatTagRollbackReport(*report));
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
