// Guards on moving a migration forward: each one a query over the control
// tables (ledger, verify runs, stage audit, read statistics, journal).
#include "control/guards.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <optional>

#include "catalog/deferred_ddl.h"
#include "catalog/journal.h"
#include "catalog/ledger.h"
#include "catalog/read_stats.h"
#include "catalog/stage.h"
#include "catalog/stage_audit.h"
#include "catalog/verify_runs.h"

namespace cutover::control {
namespace {

void CollectEntityNames(const std::vector<spec::EntitySpec>& entities,
                        std::vector<std::string>* out) {
  for (const auto& e : entities) {
    out->push_back(e.name);
    CollectEntityNames(e.children, out);
  }
}

std::string JoinList(const std::vector<std::string>& items, size_t max_shown = 5) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max_shown; ++i) {
    out += (i ? ", " : "") + items[i];
  }
  if (items.size() > max_shown) out += fmt::format(" and {} more", items.size() - max_shown);
  return out;
}

// A guard whose evidence does not exist: it fails, and says so.
GuardResult NotEvaluated(std::string name, const std::string& why) {
  return GuardResult{std::move(name), false, "cannot be evaluated: " + why, false};
}

Result<GuardResult> BackfillDone(pg_store::PgConnection* conn, const spec::MigrationSpec& m) {
  ASSIGN_OR_RETURN(const std::vector<std::string> done_entities,
                   catalog::DoneEntities(conn, m.name));
  std::vector<std::string> names;
  CollectEntityNames(m.entities, &names);
  if (names.empty()) return NotEvaluated("backfill_done", "the spec has no entities");
  std::vector<std::string> pending;
  for (const auto& name : names) {
    bool done = false;
    for (const auto& d : done_entities) done = done || d == name;
    if (!done) pending.push_back(name);
  }
  if (pending.empty()) {
    return GuardResult{"backfill_done", true,
                       fmt::format("all {} entities are backfilled", names.size())};
  }
  return GuardResult{
      "backfill_done", false,
      fmt::format("not backfilled yet: {}; run `cutover backfill`", JoinList(pending))};
}

// Applications write into the target from dual_write on; their upserts need
// the keys a bulk load sets aside until it finishes (catalog/deferred_ddl.h).
Result<GuardResult> IndexesInPlace(pg_store::PgConnection* conn, const spec::MigrationSpec& m) {
  ASSIGN_OR_RETURN(const std::optional<std::vector<std::string>> deferred,
                   catalog::EntitiesWithDeferred(conn, m.name));
  if (!deferred.has_value()) {
    return NotEvaluated("indexes_in_place",
                        "cutover.deferred_ddl does not exist, so nothing tells whether a bulk "
                        "load has keys set aside");
  }
  const std::vector<std::string>& waiting = *deferred;
  if (waiting.empty()) {
    return GuardResult{"indexes_in_place", true, "no bulk load has keys or indexes set aside"};
  }
  return GuardResult{"indexes_in_place", false,
                     fmt::format("a bulk load of {} has its keys and indexes set aside until it "
                                 "finishes; run `cutover backfill` to completion",
                                 JoinList(waiting))};
}

// A backfill of a file the gateway writes (a JSON file addressed by key, a
// Parquet archive) started at stage legacy copies without versions; were it
// to run on into dual_write, a state it read before a gateway write could
// land after it. It must finish first (or run again afterwards with
// --restart, versioned).
Result<GuardResult> FileBackfillsFinished(pg_store::PgConnection* conn,
                                          const spec::MigrationSpec& m) {
  std::vector<std::string> midway;
  for (const spec::EntitySpec& e : m.entities) {
    const spec::SourceSpec* source = m.FindSource(e.source);
    if (source == nullptr) continue;
    std::error_code ec;
    const bool gateway_writes =
        (source->type == "json" && spec::JsonKeyField(e)) ||
        (source->type == "parquet" && !e.file.empty() &&
         std::filesystem::is_directory(std::filesystem::path(source->path) / e.file, ec));
    if (!gateway_writes) continue;
    ASSIGN_OR_RETURN(const catalog::LedgerEntry ledger, catalog::LoadLedger(conn, m.name, e.name));
    if (ledger.exists && !ledger.done) midway.push_back(e.name);
  }
  if (midway.empty()) {
    return GuardResult{"file_backfills_finished", true,
                       "no backfill of a JSON file or Parquet archive is under way from stage "
                       "legacy"};
  }
  return GuardResult{
      "file_backfills_finished", false,
      fmt::format("the backfill of {} began at stage legacy and has not finished; it copies "
                  "without versions, so gateway writes could be overwritten by what it read "
                  "before them: let it finish, or move and run it again with --restart",
                  JoinList(midway))};
}

Result<GuardResult> VerifyClean(pg_store::PgConnection* conn, const spec::MigrationSpec& m) {
  ASSIGN_OR_RETURN(const std::vector<catalog::VerifyRun> runs,
                   catalog::LatestVerifyRuns(conn, m.name));
  std::vector<std::string> names;
  CollectEntityNames(m.entities, &names);
  if (names.empty()) return NotEvaluated("verify_clean", "the spec has no entities");
  std::vector<std::string> problems;
  for (const auto& name : names) {
    const catalog::VerifyRun* last = nullptr;
    for (const auto& r : runs) {
      if (r.entity == name) last = &r;
    }
    if (last == nullptr) {
      problems.push_back(name + " never verified");
    } else if (!last->clean) {
      problems.push_back(fmt::format("{} differs ({} missing, {} extra, {} changed)", name,
                                     last->missing, last->extra, last->changed));
    }
  }
  if (problems.empty()) {
    return GuardResult{"verify_clean", true,
                       fmt::format("the last verify of all {} entities was clean", names.size())};
  }
  return GuardResult{"verify_clean", false,
                     "last verify not clean: " + JoinList(problems) + "; run `cutover verify`"};
}

// Seconds since the migration last crossed from below shadow to shadow or
// later: shadow evidence has accumulated continuously since then.
Result<std::optional<int64_t>> SecondsSinceShadowBegan(pg_store::PgConnection* conn,
                                                       const std::string& migration) {
  const std::vector<std::string> before_shadow = {std::string(StageName(Stage::kLegacy)),
                                                  std::string(StageName(Stage::kDualWrite))};
  auto since = catalog::SecondsSinceAppliedMoveOutOf(conn, migration, before_shadow);
  if (!since.ok()) return since.status().WithContext("reading when shadow reads began");
  return *since;
}

using WindowSums = catalog::ReadCounts;

Result<WindowSums> SumReads(pg_store::PgConnection* conn, const std::string& migration,
                            int64_t window_seconds) {
  return catalog::SumReads(conn, migration, window_seconds);
}

Status AddRolloutGuards(pg_store::PgConnection* conn, const spec::MigrationSpec& m,
                        GuardReport* report) {
  const auto& o = m.stages;
  ASSIGN_OR_RETURN(const std::optional<int64_t> since, SecondsSinceShadowBegan(conn, m.name));
  if (!since) {
    report->results.push_back({"shadow_window", false, "shadow reads have not begun"});
  } else {
    report->results.push_back(
        {"shadow_window", *since >= o.window_seconds,
         fmt::format("shadow has run {} of the {} window", FormatSeconds(*since),
                     FormatSeconds(o.window_seconds))});
  }
  ASSIGN_OR_RETURN(const WindowSums sums, SumReads(conn, m.name, o.window_seconds));
  if (sums.shadow_reads == 0) {
    // A rate of nothing is not a low rate, whatever shadow_min_reads says.
    report->results.push_back(
        NotEvaluated("shadow_mismatch_rate",
                     fmt::format("no shadow reads were reported over the last {} (POST /v1/reads)",
                                 FormatSeconds(o.window_seconds))));
    return Status::Ok();
  }
  const double rate = sums.shadow_reads > 0 ? static_cast<double>(sums.shadow_mismatches) /
                                                  static_cast<double>(sums.shadow_reads)
                                            : 0.0;
  const bool enough = sums.shadow_reads >= o.shadow_min_reads;
  const bool under = rate <= o.shadow_mismatch_rate;
  std::string detail = fmt::format(
      "{} mismatches in {} shadow reads over the last {} (rate {:.4g}, "
      "bound {:.4g})",
      sums.shadow_mismatches, sums.shadow_reads, FormatSeconds(o.window_seconds), rate,
      o.shadow_mismatch_rate);
  if (!enough) detail += fmt::format("; needs at least {} shadow reads", o.shadow_min_reads);
  report->results.push_back({"shadow_mismatch_rate", enough && under, detail});
  return Status::Ok();
}

Status AddPrimaryGuards(pg_store::PgConnection* conn, const spec::MigrationSpec& m,
                        const StageState& from, GuardReport* report) {
  const auto& o = m.stages;
  const bool full = from.stage == Stage::kRollout && from.percent == 100;
  report->results.push_back({"rollout_full", full,
                             full ? "rollout is at 100%"
                                  : fmt::format("rollout must reach 100% first (now {} {}%)",
                                                StageName(from.stage), from.percent)});
  if (full) {
    auto held = catalog::SecondsSinceStageChanged(conn, m.name);
    if (!held.ok()) return held.status().WithContext("reading how long rollout has held 100%");
    const int64_t seconds = held->value_or(0);
    report->results.push_back(
        {"fallback_window", seconds >= o.fallback_window_seconds,
         fmt::format("100% has held {} of the {} window", FormatSeconds(seconds),
                     FormatSeconds(o.fallback_window_seconds))});
  } else {
    report->results.push_back({"fallback_window", false, "starts once rollout is at 100%"});
  }
  ASSIGN_OR_RETURN(const WindowSums sums, SumReads(conn, m.name, o.fallback_window_seconds));
  if (sums.postgres_reads == 0) {
    // No read served by PostgreSQL is no evidence that none fell back.
    report->results.push_back(NotEvaluated(
        "no_fallbacks",
        fmt::format("no reads from PostgreSQL were reported over the last {} (POST /v1/reads)",
                    FormatSeconds(o.fallback_window_seconds))));
    return Status::Ok();
  }
  report->results.push_back({"no_fallbacks", sums.fallbacks == 0,
                             fmt::format("{} fallbacks to legacy over the last {}", sums.fallbacks,
                                         FormatSeconds(o.fallback_window_seconds))});
  return Status::Ok();
}

Result<GuardResult> JournalEmpty(pg_store::PgConnection* conn) {
  ASSIGN_OR_RETURN(const std::optional<int64_t> unreplayed, catalog::CountUnreplayed(conn));
  if (!unreplayed.has_value()) {
    // No table is not an empty journal: nothing has recorded whether every
    // dual write reached both stores.
    return NotEvaluated("journal_empty",
                        "cutover.journal does not exist, so nothing records whether every dual "
                        "write reached both stores; once you know it did, move with --force "
                        "--reason");
  }
  const int64_t pending = *unreplayed;
  return GuardResult{"journal_empty", pending == 0,
                     fmt::format("{} journaled writes still to replay", pending)};
}

}  // namespace

bool GuardReport::passed() const {
  return FirstUnmet() == nullptr;
}

const GuardResult* GuardReport::FirstUnmet() const {
  for (const auto& g : results) {
    if (!g.passed) return &g;
  }
  return nullptr;
}

nlohmann::json GuardReport::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& g : results) {
    out.push_back(
        {{"name", g.name}, {"passed", g.passed}, {"evaluated", g.evaluated}, {"detail", g.detail}});
  }
  return out;
}

Result<GuardReport> EvaluateGuards(pg_store::PgConnection* conn,
                                   const spec::MigrationSpec& migration, const StageState& from,
                                   Stage to, int to_percent) {
  GuardReport report;
  if (DirectionOf(from, to, to_percent) != Direction::kForward) return report;
  switch (to) {
    case Stage::kLegacy:
      break;
    case Stage::kDualWrite: {
      ASSIGN_OR_RETURN(GuardResult indexes, IndexesInPlace(conn, migration));
      report.results.push_back(std::move(indexes));
      ASSIGN_OR_RETURN(GuardResult files, FileBackfillsFinished(conn, migration));
      report.results.push_back(std::move(files));
      break;
    }
    case Stage::kShadow: {
      ASSIGN_OR_RETURN(GuardResult backfill, BackfillDone(conn, migration));
      report.results.push_back(std::move(backfill));
      ASSIGN_OR_RETURN(GuardResult verify, VerifyClean(conn, migration));
      report.results.push_back(std::move(verify));
      break;
    }
    case Stage::kRollout:
      RETURN_IF_ERROR(AddRolloutGuards(conn, migration, &report));
      break;
    case Stage::kPrimary:
      RETURN_IF_ERROR(AddPrimaryGuards(conn, migration, from, &report));
      break;
    case Stage::kComplete: {
      ASSIGN_OR_RETURN(GuardResult journal, JournalEmpty(conn));
      report.results.push_back(std::move(journal));
      ASSIGN_OR_RETURN(GuardResult verify, VerifyClean(conn, migration));
      report.results.push_back(std::move(verify));
      break;
    }
  }
  return report;
}

std::string FormatSeconds(int64_t seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  // Hours, never days, so a window reads as the runbooks write it ("48h").
  const int64_t h = seconds / 3600, m = seconds % 3600 / 60, s = seconds % 60;
  std::string out;
  if (h > 0) out += fmt::format("{}h", h);
  if (m > 0) out += fmt::format("{}m", m);
  if (s > 0) out += fmt::format("{}s", s);
  return out;
}

}  // namespace cutover::control
