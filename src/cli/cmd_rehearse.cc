// `cutover rehearse SPEC`: the whole migration on a throwaway PostgreSQL:
// start it, create the tables, backfill, verify (and the round trip of the
// entities that declare write_back), report, remove it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "cli/command.h"
#include "engine/backfill/backfill_command.h"
#include "engine/core/target_resolver.h"
#include "engine/verify/round_trip.h"
#include "engine/verify/verify_command.h"

namespace cutover::cli {

CommandAction AddRehearseCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    int64_t batch_size = 0;
    bool detailed = false;
    size_t max_listed = 20;
  };
  auto o = std::make_shared<Options>();
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--batch-size", o->batch_size, "Records per transaction (default: the spec's)")
      ->check(CLI::PositiveNumber);
  app->add_flag("--detailed", o->detailed, "Name the differing columns of changed keys");
  app->add_option("--max-listed", o->max_listed,
                  "Keys listed per kind of difference and entity (default 20; the counts are "
                  "always whole)");
  return [o]() -> int {
    int load_exit = kExitUsage;
    auto migration = LoadSpecWithSourcesOrReport(o->spec_path, &load_exit);
    if (!migration) return load_exit;
    // A rehearsal never touches the spec's real target.
    auto target = engine::ResolveTarget(*migration, engine::TargetChoice::kEphemeralScratch);
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
      fmt::print("rehearsal FAILED: the backfill did not finish\n");
      return kExitFailure;
    }
    fmt::print("== backfill\n{}", engine::FormatBackfillSummary(*loaded));
    // A stopped backfill left the tables part-loaded: verifying them would
    // only list every key it did not reach.
    if (!loaded->ok()) {
      fmt::print(
          "rehearsal FAILED: the backfill stopped after {} rejected records, more than "
          "max_rejects {} allows (see {}); nothing was verified\n",
          loaded->rejected_total, loaded->max_rejects, loaded->reject_file);
      return kExitDiffer;
    }

    engine::VerifyRequest verify;
    verify.detailed = o->detailed;
    verify.max_listed_keys = o->max_listed;
    auto verified = engine::RunVerify(*migration, target->url, verify);
    if (!verified.ok()) {
      fmt::print(stderr, "error: {}\n", verified.status().message());
      fmt::print("rehearsal FAILED: verify did not finish\n");
      return kExitFailure;
    }
    fmt::print("== verify\n{}", engine::FormatVerifyReport(*verified, o->detailed));
    if (!verified->clean()) {
      fmt::print("rehearsal FAILED: PostgreSQL and the source differ\n");
      return kExitDiffer;
    }
    // The way back is part of the plan when an entity declares it: prove
    // its rows turn back into their records before anyone relies on it.
    engine::RoundTripRequest trip_request;
    trip_request.max_listed_keys = o->max_listed;
    for (const auto& e : migration->entities) {
      // An entity whose source held nothing has nothing to turn back; the
      // round trip of nothing is never clean, and verify has said so.
      const bool read_some =
          std::any_of(loaded->tables.begin(), loaded->tables.end(),
                      [&](const auto& t) { return t.entity == e.name && t.read > 0; });
      if (e.write_back && !e.source.empty() && read_some) trip_request.entities.push_back(e.name);
    }
    if (!trip_request.entities.empty()) {
      auto trip = engine::RunRoundTrip(*migration, target->url, trip_request);
      if (!trip.ok()) {
        fmt::print(stderr, "error: {}\n", trip.status().message());
        fmt::print("rehearsal FAILED: the round trip did not finish\n");
        return kExitFailure;
      }
      fmt::print("== round trip (entities with write_back)\n{}",
                 engine::FormatRoundTripReport(*trip));
      if (!trip->clean()) {
        fmt::print(
            "rehearsal FAILED: rows turned back into legacy records differ from the records "
            "they came from, so the way back would not restore them\n");
        return kExitDiffer;
      }
    }
    if (loaded->rejected_total > 0) {
      fmt::print(
          "rehearsal passed: PostgreSQL holds every source record but the {} rejected ones "
          "(see {})\n",
          loaded->rejected_total, loaded->reject_file);
    } else {
      fmt::print("rehearsal passed: PostgreSQL holds exactly what the source holds\n");
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
