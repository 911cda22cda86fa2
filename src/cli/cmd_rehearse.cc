// `cutover rehearse SPEC`: the whole migration on a throwaway PostgreSQL:
// start it, create the tables, backfill, verify, report, remove it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/command.h"
#include "engine/backfill_runner.h"
#include "engine/bucket_verifier.h"
#include "engine/target_resolver.h"

namespace cutover::cli {

CommandAction AddRehearseCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    int64_t batch_size = 0;
    bool detailed = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--batch-size", o->batch_size, "Records per transaction (default: the spec's)")
      ->check(CLI::PositiveNumber);
  app->add_flag("--detailed", o->detailed, "Name the differing columns of changed keys");
  return [o]() -> int {
    int load_exit = kExitUsage;
    auto migration = LoadSpecWithSourcesOrReport(o->spec_path, &load_exit);
    if (!migration) return load_exit;
    // A rehearsal never touches the spec's real target.
    migration->target.url.reset();
    auto target = engine::ResolveTarget(*migration, /*ephemeral=*/true);
    if (!target.ok()) {
      fmt::print(stderr, "error: {}\n", target.status().message());
      return kExitFailure;
    }
    spdlog::info("rehearsing {} on {}", migration->name, target->Describe());

    engine::BackfillRequest backfill;
    backfill.create_tables = true;
    backfill.batch_size = o->batch_size;
    auto loaded = engine::RunBackfill(*migration, target->url, backfill);
    if (!loaded.ok()) {
      fmt::print(stderr, "error: {}\n", loaded.status().message());
      return kExitFailure;
    }
    fmt::print("== backfill\n{}", engine::FormatBackfillSummary(*loaded));

    engine::VerifyRequest verify;
    verify.detailed = o->detailed;
    auto verified = engine::RunVerify(*migration, target->url, verify);
    if (!verified.ok()) {
      fmt::print(stderr, "error: {}\n", verified.status().message());
      return kExitFailure;
    }
    fmt::print("== verify\n{}", engine::FormatVerifyReport(*verified, o->detailed));
    const bool ok = loaded->ok() && verified->clean();
    fmt::print("rehearsal {}\n",
               ok ? "passed: PostgreSQL holds exactly what the source holds" : "FAILED");
    return ok ? kExitOk : kExitDiffer;
  };
}

}  // namespace cutover::cli
