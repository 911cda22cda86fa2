// `cutover inspect SPEC`: what each legacy source holds and the tables the
// spec (or, without entities, the source itself) implies; text or --json.
#include <fmt/format.h>

#include "cli/command.h"
#include "engine/inspect/inspector.h"

namespace cutover::cli {

CommandAction AddInspectCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::InspectRequest request;
    bool json = false;
    bool no_stats = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_flag("--json", o->json, "Print the report as JSON on stdout");
  app->add_option("--source", o->request.source, "Inspect only this source (default: all)");
  app->add_option("--sample", o->request.sample_rows, "Sample rows shown per source (default 5)")
      ->check(CLI::Range(0, 1000));
  app->add_flag("--no-stats", o->no_stats,
                "Skip the full scan behind null %, distinct estimates and min/max");
  return [o]() -> int {
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return kExitUsage;
    o->request.statistics = !o->no_stats;
    auto report = engine::RunInspect(*migration, o->request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      return kExitUsage;
    }
    if (o->json) {
      fmt::print("{}\n", engine::InspectReportJson(*report).dump(2));
    } else {
      fmt::print("{}", engine::FormatInspectReport(*report));
    }
    for (const auto& s : report->sources) {
      if (!s.error.empty()) return kExitFailure;
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
