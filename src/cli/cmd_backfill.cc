// `cutover backfill SPEC`: options, then the backfill engine, then the summary.
#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "engine/backfill/backfill_command.h"
#include "engine/core/target_resolver.h"

namespace cutover::cli {

CommandAction AddBackfillCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::BackfillRequest request;
    int64_t max_rejects = -2;  // -2: not given
    std::string retry_for = "60s";
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_flag("--dry-run", o->request.dry_run,
                "Read, map and validate every record; write nothing; report what would happen");
  app->add_option("--entity", o->request.entities,
                  "Backfill only this top-level entity, with its children (repeatable; "
                  "default: all)");
  app->add_option("--priority", o->request.filter.priority,
                  "Backfill only the entities of this priority: critical, high, medium, low "
                  "(or a number), e.g. --priority critical moves the revenue-critical keys first");
  app->add_option("--pattern", o->request.filter.pattern,
                  "Backfill only the entities of Redis sources whose key pattern matches this "
                  "glob, e.g. 'threadr:usage:*' (or equals it: 'threadr:usage:{ip}:{day}'). With "
                  "--entity or --priority, the entities that every option selects; selecting "
                  "none is an error");
  app->add_option("--batch-size", o->request.batch_size,
                  "Records per transaction (default: the spec's backfill.batch_size, 10000). "
                  "Larger batches are faster; smaller ones redo less after a crash")
      ->check(CLI::PositiveNumber);
  app->add_option("--max-rejects", o->max_rejects,
                  "Stop, and exit 1, once more records than this were rejected; -1: never "
                  "(default: the spec's backfill.max_rejects, 0)")
      ->check(CLI::Range(int64_t{-1}, INT64_MAX));
  app->add_flag("--create-tables", o->request.create_tables,
                "Create missing tables from the spec (otherwise they are checked against it)");
  app->add_option("--jobs,-j", o->request.jobs,
                  "Parallel workers for Parquet/CSV sources (default: one per core), and "
                  "entities of Redis sources loading side by side (default: one more than the "
                  "cores, or all of a source's entities, up to 8, which then read it in one "
                  "pass), each with its own PostgreSQL connection. More jobs load faster until "
                  "PostgreSQL or the disk is the "
                  "bottleneck; several backfill processes may share one run")
      ->check(CLI::Range(1, 256));
  app->add_flag("--restart", o->request.restart,
                "Ignore the checkpoint ledger and start over (rows already written are merged "
                "again, not duplicated)");
  app->add_option("--retry-for", o->retry_for,
                  "How long one outage of PostgreSQL (lost connections, a restart) is waited "
                  "out, reconnecting and retrying the step it interrupted, before the run fails: "
                  "250ms, 30s, 5m, 1h (default 60s). Errors no retry can fix (authentication, a "
                  "missing database or role, data PostgreSQL refuses) fail at once");
  AddScratchFlag(app, &o->scratch);
  return [o]() -> int {
    const auto retry_for = ParseDuration(o->retry_for);
    if (!retry_for) {
      fmt::print(stderr,
                 "error: --retry-for {}: expected a duration such as 250ms, 30s, 5m or 1h\n",
                 o->retry_for);
      return kExitUsage;
    }
    o->request.retry_for = *retry_for;
    int load_exit = kExitUsage;
    auto migration = LoadSpecWithSourcesOrReport(o->spec_path, &load_exit);
    if (!migration) return load_exit;
    if (o->max_rejects != -2) o->request.max_rejects = o->max_rejects;
    engine::TargetHandle target;
    if (!o->request.dry_run) {
      if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) {
        return rc;
      }
      spdlog::info("backfill {} into {}", migration->name, target.Describe());
    }
    auto report = engine::RunBackfill(*migration, target.url, o->request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      return report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    fmt::print("{}", engine::FormatBackfillSummary(*report));
    return report->ok() ? kExitOk : kExitDiffer;
  };
}

}  // namespace cutover::cli
