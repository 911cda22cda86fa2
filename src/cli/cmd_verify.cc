// `cutover verify SPEC`: compares both stores and prints (or emits as JSON)
// the per-entity report; exit 0 only when they agree.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "engine/core/target_resolver.h"
#include "engine/verify/round_trip.h"
#include "engine/verify/verify_command.h"

namespace cutover::cli {

CommandAction AddVerifyCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::VerifyRequest request;
    double tolerance = -1;
    bool json = false;
    bool scratch = false;
    bool round_trip = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--entity", o->request.entities,
                  "Verify only this entity (repeatable; default: all). A parent covers its "
                  "children; a child (e.g. tasks) is read through its parent and reported alone");
  app->add_option("--priority", o->request.filter.priority,
                  "Verify only the entities of this priority: critical, high, medium, low (or a "
                  "number)");
  app->add_option("--pattern", o->request.filter.pattern,
                  "Verify only the entities of Redis sources whose key pattern matches this glob "
                  "(or equals it). With --entity or --priority, the entities every option "
                  "selects; selecting none is an error");
  app->add_flag("--detailed", o->request.detailed, "Name the differing columns of changed keys");
  app->add_option("--jobs,-j", o->request.jobs,
                  "Threads reading a Parquet/CSV source (default: one per core)")
      ->check(CLI::Range(1, 256));
  app->add_flag("--json", o->json, "Print the report as JSON on stdout");
  app->add_option("--float-tolerance", o->tolerance,
                  "Relative tolerance for float8 columns, e.g. 0.001 for 0.1% "
                  "(default: the spec's verify.float_tolerance, 0 = exact)")
      ->check(CLI::Range(0.0, 1.0));
  app->add_option("--max-listed", o->request.max_listed_keys,
                  "Keys listed per kind of difference and entity (default 1000)");
  app->add_flag("--round-trip", o->round_trip,
                "Turn each PostgreSQL row back into its legacy record (as the gateway and "
                "rollback write it) and compare it field by field with the record it came from, "
                "so a mapping bug plain verify shares with backfill (a rounded number, a lost "
                "field, a shifted time) is found and named by key. Fields no column reads are "
                "listed, not reported. Redis entities with write_back only; any other selected "
                "entity is reported as not checked (exit 1)");
  AddScratchFlag(app, &o->scratch);
  return [o]() -> int {
    int load_exit = kExitUsage;
    auto migration = LoadSpecWithSourcesOrReport(o->spec_path, &load_exit);
    if (!migration) return load_exit;
    if (o->tolerance >= 0) o->request.float_tolerance = o->tolerance;
    engine::TargetHandle target;
    if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) return rc;
    spdlog::info("verify {} against {}", migration->name, target.Describe());
    if (o->round_trip) {
      if (o->request.detailed || !o->request.filter.priority.empty() ||
          !o->request.filter.pattern.empty() || o->tolerance >= 0) {
        fmt::print(stderr,
                   "error: --round-trip compares every field exactly; it takes --entity, "
                   "--max-listed and --json only\n");
        return kExitUsage;
      }
      auto trip = engine::RunRoundTrip(
          *migration, target.url,
          {.entities = o->request.entities, .max_listed_keys = o->request.max_listed_keys});
      if (!trip.ok()) {
        fmt::print(stderr, "error: {}\n", trip.status().message());
        return trip.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
      }
      if (o->json) {
        fmt::print("{}\n", engine::RoundTripReportJson(*trip).dump(2));
      } else {
        fmt::print("{}", engine::FormatRoundTripReport(*trip));
      }
      return trip->clean() ? kExitOk : kExitDiffer;
    }
    auto report = engine::RunVerify(*migration, target.url, o->request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      // As backfill: a spec that does not fit the source is bad usage.
      return report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    if (o->json) {
      fmt::print("{}\n", engine::VerifyReportJson(*report).dump(2));
    } else {
      fmt::print("{}", engine::FormatVerifyReport(*report, o->request.detailed));
    }
    return report->clean() ? kExitOk : kExitDiffer;
  };
}

}  // namespace cutover::cli
