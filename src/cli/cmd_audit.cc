// `cutover audit SPEC`: what lives in the spec's Redis sources before
// anything moves, and whether the spec's stop conditions let the plan go on.
#include <fmt/format.h>

#include "cli/command.h"
#include "engine/audit/audit.h"

namespace cutover::cli {

CommandAction AddAuditCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::AuditRequest request;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  app->footer(
      "Scans every master of each redis source once (SCAN, never KEYS; TYPE and PTTL of every\n"
      "key, MEMORY USAGE of a sample) and reports keys per entity pattern, unmatched keys by\n"
      "prefix, types, estimated memory, a TTL histogram, the biggest keys and totals per\n"
      "priority. Then checks the stop conditions of the spec's `audit:` block: max_keys (keys\n"
      "the patterns match), max_memory (estimated, all keys), not_empty: [entity, ...], and\n"
      "entities: { E: { max_keys } }.\n"
      "Exit codes: 0 clean; 1 a key matches two patterns (the spec is ambiguous); 2 bad usage\n"
      "or spec, or no redis source; 3 a Redis server could not be read; 4 a stop condition was\n"
      "hit (or could not be evaluated). A stop condition outranks an overlap.");
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_flag("--json", o->json,
                "Print the report as one JSON document on stdout (stable field names, counts and "
                "bytes as numbers, null for what was not measured)");
  app->add_option("--sample", o->request.sample,
                  "Keys whose memory is measured with MEMORY USAGE, about: every Nth key of each "
                  "pattern (N = keys / sample), the first always; memory figures are the sampled "
                  "mean times the keys, an estimate unless every key was measured; 0 measures "
                  "none (default 1000)")
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app->add_option("--scan-count", o->request.scan_count,
                  "Keys asked for per SCAN round trip (SCAN COUNT; default 1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}));
  return [o]() -> int {
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return kExitUsage;
    auto report = engine::RunAudit(*migration, o->request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      return report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    if (o->json) {
      fmt::print("{}\n", engine::AuditReportJson(*report).dump(2));
    } else {
      fmt::print("{}", engine::FormatAuditReport(*report));
    }
    // With --json, the verdicts on stderr too, for whoever reads no JSON.
    for (const auto& c : report->stop_conditions) {
      if (o->json && c.hit) fmt::print(stderr, "STOP: {}\n", c.message);
    }
    for (const auto& ov : report->overlaps) {
      if (!o->json) continue;
      fmt::print(stderr,
                 "error: {} keys of source {} match both {} (entity {}) and {} (entity {}), "
                 "e.g. {}\n",
                 ov.keys, ov.source, ov.first_pattern, ov.first_entity, ov.second_pattern,
                 ov.second_entity, ov.example_key);
    }
    if (report->stop_hit()) return kExitStopCondition;
    if (!report->overlaps.empty()) return kExitDiffer;
    return kExitOk;
  };
}

}  // namespace cutover::cli
