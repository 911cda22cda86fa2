// `cutover backfill`: selects the entities, runs each through the partition
// backfill, and prints the summary table.
#include "engine/backfill/backfill_command.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "catalog/ledger.h"
#include "catalog/rejects.h"
#include "catalog/schema.h"
#include "catalog/table_ddl.h"
#include "common/failpoint.h"
#include "engine/backfill/backfill_context.h"
#include "engine/backfill/entity_run.h"
#include "engine/backfill/lookup_dimension_run.h"
#include "engine/backfill/partition_backfill.h"
#include "engine/core/entity_selection.h"
#include "engine/core/reject_sink.h"
#include "engine/core/source_factory.h"
#include "engine/core/write_path.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {
namespace {

// Entities side by side
//
// One entity of a Redis source is loaded by one worker per master: a reader
// thread and one PostgreSQL session, which on a machine of several cores
// leaves most of it idle while the other waits on a round trip. So a run of
// consecutive entities that may load beside others (EntityRun::MayRunBeside:
// a Redis source, nothing shared with other entities) loads up to --jobs (one
// more than the cores) at a time, each on a coordinating connection of its
// own. They start in the run's order, so a critical entity is never behind a
// lower one. Those of one source that start together read it in one pass
// (store/shared_pass.h), and without --jobs there are lanes enough for all of
// them to start together (up to kMostDefaultLanes). Every entity still has
// its own ledger, claims and checkpoints, so a crash or a stop resumes each
// where it was. Rejects count for the whole run: every entity stops at its
// next checkpoint once the run's total passes --max-rejects, and none starts
// after.
struct EntityOutcome {
  bool ran = false;
  bool stopped_on_rejects = false;
};

Status RunSideBySide(std::vector<std::unique_ptr<EntityRun>>& runs, size_t first, size_t end,
                     size_t lanes_wanted, std::vector<EntityOutcome>* outcomes) {
  const size_t lanes = std::min(lanes_wanted, end - first);
  std::atomic<size_t> next{first};
  std::atomic<bool> halt{false};
  std::vector<Status> errors(lanes);
  std::vector<std::thread> threads;
  for (size_t lane = 0; lane < lanes; ++lane) {
    threads.emplace_back([&, lane] {
      for (;;) {
        const size_t k = next++;
        if (k >= end || halt.load()) return;
        EntityOutcome& outcome = (*outcomes)[k];
        outcome.ran = true;
        errors[lane] = runs[k]->UseOwnConnection();
        if (errors[lane].ok()) errors[lane] = runs[k]->Run(&outcome.stopped_on_rejects);
        if (!errors[lane].ok() || outcome.stopped_on_rejects) {
          halt = true;
          return;
        }
        FailPoint("backfill.between_entities");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& st : errors) RETURN_IF_ERROR(st);
  return Status::Ok();
}

// The most lanes opened by default so that every entity of a shared pass
// starts at once: each is a thread and a PostgreSQL session.
constexpr size_t kMostDefaultLanes = 8;

// Entities of one source that start together in [first, end) read it in one
// pass (store/shared_pass.h). Returns the lanes to run them with: `lanes`,
// or unless `lanes_given`, enough for every member to start at once (up to
// kMostDefaultLanes). An entity left for a later lane reads alone: the pass
// would have begun without it.
size_t ShareSourceReads(const spec::MigrationSpec& migration,
                        std::vector<std::unique_ptr<EntityRun>>& runs, size_t first, size_t end,
                        size_t lanes, bool lanes_given, int64_t batch_size) {
  std::vector<size_t> waiting;  // in start order; a done entity only passes through a lane
  for (size_t k = first; k < end; ++k) {
    if (!runs[k]->done()) waiting.push_back(k);
  }
  auto source_of = [&](size_t k) -> std::string {
    const spec::EntitySpec* e = runs[k]->ReadsSourceAs();
    return e == nullptr ? std::string() : e->source;
  };
  auto shares = [&](size_t w) {
    const std::string source = source_of(waiting[w]);
    if (source.empty()) return false;
    return std::count_if(waiting.begin(), waiting.end(),
                         [&](size_t k) { return source_of(k) == source; }) >= 2;
  };
  if (!lanes_given) {
    size_t needed = 0;
    for (size_t w = 0; w < waiting.size(); ++w) {
      if (shares(w)) needed = w + 1;
    }
    lanes = std::max(lanes, std::min(needed, kMostDefaultLanes));
  }
  std::map<std::string, std::vector<const spec::EntitySpec*>> members;
  for (size_t w = 0; w < waiting.size() && w < lanes; ++w) {
    const std::string source = source_of(waiting[w]);
    if (!source.empty()) members[source].push_back(runs[waiting[w]]->ReadsSourceAs());
  }
  for (auto& [source, entities] : members) {
    std::shared_ptr<store::SharedPass> pass = OpenSharedPass(migration, entities, batch_size);
    if (pass == nullptr) continue;
    std::vector<std::string> names;
    for (const auto* e : entities) names.push_back(e->name);
    spdlog::info("{}: {} read it in one pass", source, fmt::join(names, ", "));
    for (size_t w = 0; w < waiting.size() && w < lanes; ++w) {
      if (source_of(waiting[w]) == source) runs[waiting[w]]->ReadThrough(pass);
    }
  }
  return lanes;
}

}  // namespace

Result<BackfillReport> RunBackfill(const spec::MigrationSpec& migration,
                                   const std::string& target_url, const BackfillRequest& given) {
  // --priority and --pattern become the --entity names they select.
  BackfillRequest request = given;
  ASSIGN_OR_RETURN(request.entities, ApplyEntityFilter(migration, given.entities, given.filter));
  BackfillReport report;
  report.dry_run = request.dry_run;
  report.max_rejects = request.max_rejects.value_or(migration.backfill.max_rejects);
  report.reject_file = migration.backfill.reject_file;
  const int64_t batch_size =
      request.batch_size > 0 ? request.batch_size : migration.backfill.batch_size;

  // A child is read from its parent's records, and a dimension is filled
  // by its facts' lookups: neither loads alone, so the name to give is said.
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child()) {
      return InvalidArgument(
          fmt::format("--entity {}: a child of {}, loaded from its records: use --entity {}", name,
                      match.top_level->name, match.top_level->name));
    }
    if (match.is_dimension()) {
      std::vector<std::string> facts;
      for (const auto* f : match.filled_by) facts.push_back("--entity " + f->name);
      return InvalidArgument(
          facts.empty()
              ? fmt::format("--entity {}: it has no source and no lookup fills it", name)
              : fmt::format("--entity {}: filled by the lookups of other entities: use {}", name,
                            fmt::join(facts, " or ")));
    }
  }
  std::vector<const spec::EntitySpec*> selected;
  for (const auto& e : migration.entities) {
    if (request.entities.empty() || std::find(request.entities.begin(), request.entities.end(),
                                              e.name) != request.entities.end()) {
      selected.push_back(&e);
    }
  }

  std::unique_ptr<pg_store::PgConnection> conn;
  std::unique_ptr<RejectSink> sink;
  if (!request.dry_run) {
    RETURN_IF_ERROR(
        pg_store::RunWithRetry(&conn, target_url, request.retry_for, "preparing the cutover schema",
                               [&] { return catalog::EnsureControlSchema(conn.get()); }));
    ASSIGN_OR_RETURN(sink, RejectSink::Open(migration.backfill.reject_file));
  }

  std::atomic<int64_t> run_rejects{0};
  BackfillContext context{.migration = &migration,
                          .request = &request,
                          .batch_size = batch_size,
                          .conn = &conn,
                          .url = target_url,
                          .sink = sink.get(),
                          .run_rejects = &run_rejects,
                          .max_rejects = report.max_rejects};
  std::vector<std::unique_ptr<EntityRun>> runs;
  for (const auto* entity : selected) {
    if (entity->source.empty()) {
      runs.push_back(MakeLookupDimensionRun(context, *entity));
    } else {
      runs.push_back(MakePartitionBackfill(context, *entity));
    }
    RETURN_IF_ERROR(runs.back()->Prepare());
  }
  // A previous run that finished every entity is done: this is a new run.
  // Otherwise the entities it finished are skipped and the rest resume.
  // A new run (or --restart) resets every entity's ledger in one transaction
  // before the first one runs: were it interrupted, an entity it had not
  // reached yet would otherwise still be done from the previous run, and be
  // skipped when this one resumes.
  const bool all_done = std::all_of(runs.begin(), runs.end(), [](auto& r) { return r->done(); });
  if (!request.dry_run && (all_done || request.restart)) {
    RETURN_IF_ERROR(
        pg_store::RunWithRetry(&conn, target_url, request.retry_for, "starting a new run", [&] {
          pg_store::Transaction tx(conn.get());
          RETURN_IF_ERROR(tx.status());
          for (auto& run : runs) RETURN_IF_ERROR(run->ResetLedgers());
          return tx.Commit();
        }));
  }
  std::vector<bool> beside(runs.size(), false);
  for (size_t i = 0; i < runs.size(); ++i) {
    ASSIGN_OR_RETURN(beside[i], runs[i]->MayRunBeside());
  }
  std::vector<EntityOutcome> outcomes(runs.size());
  // A lane waits on Redis and PostgreSQL round trips as much as it computes:
  // one more lane than cores keeps the cores busy (3 of 3 interleaved rounds
  // on 2 cores, threadr's 1M keys, 2-13 % faster than one per core).
  const size_t lanes = static_cast<size_t>(request.jobs > 0 ? request.jobs : DefaultJobs() + 1);
  Status failed;
  for (size_t i = 0; i < runs.size() && failed.ok();) {
    size_t end = i;
    while (end < runs.size() && beside[end]) ++end;
    if (end - i >= 2 && lanes >= 2) {
      const size_t range_lanes =
          request.dry_run ? lanes
                          : ShareSourceReads(migration, runs, i, end, lanes,
                                             /*lanes_given=*/request.jobs > 0, batch_size);
      failed = RunSideBySide(runs, i, end, range_lanes, &outcomes);
      i = end;
    } else {
      outcomes[i].ran = true;
      failed = runs[i]->Run(&outcomes[i].stopped_on_rejects);
      if (failed.ok() && !outcomes[i].stopped_on_rejects) FailPoint("backfill.between_entities");
      ++i;
    }
    if (std::any_of(outcomes.begin(), outcomes.end(),
                    [](const EntityOutcome& o) { return o.stopped_on_rejects; })) {
      break;
    }
  }
  RETURN_IF_ERROR(failed);
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!outcomes[i].ran) continue;
    for (auto& s : runs[i]->Summaries()) report.tables.push_back(std::move(s));
    report.stopped_on_rejects = report.stopped_on_rejects || outcomes[i].stopped_on_rejects;
  }
  report.rejected_total = run_rejects.load();
  if (!request.dry_run) {
    report.rejected_total = 0;
    for (const auto& t : report.tables) report.rejected_total += t.rejected;
    // The file was appended to as batches committed: a resumed run, or a
    // batch retried after a lost connection, wrote some rejects twice.
    // cutover.rejects holds each once (keyed by position), so the file is
    // rewritten from it.
    sink.reset();
    RETURN_IF_ERROR(RewriteRejectFile(conn.get(), migration.name, report.reject_file));
  }
  return report;
}

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kDone:
      return "done";
    case RunState::kResumed:
      return "resumed";
    case RunState::kSkippedDone:
      return "skipped (done)";
    case RunState::kStopped:
      return "stopped";
    case RunState::kDryRun:
      return "dry run";
    case RunState::kNamesFromLookups:
      return "names from";
  }
  return "?";
}

std::string TableSummary::StateText() const {
  std::string text(RunStateName(state));
  if (state == RunState::kNamesFromLookups) text += " " + filled_by;
  return text;
}

std::string FormatBackfillSummary(const BackfillReport& report) {
  // "would_write" is one word so that the columns split on whitespace.
  std::string out = fmt::format("{:<24} {:>12} {:>12} {:>10} {:>11} {:>12}  {}\n", "entity", "read",
                                report.dry_run ? "would_write" : "migrated", "rejected",
                                "superseded", "rows/s", "state");
  bool unknown_superseded = false;
  for (const auto& t : report.tables) {
    std::string rate = t.seconds > 0 && t.state != RunState::kSkippedDone && !t.from_lookups
                           ? fmt::format("{:.0f}", t.read / t.seconds)
                           : "-";
    std::string superseded = "-";
    if (t.superseded_known && !t.from_lookups) {
      superseded = std::to_string(t.superseded);
    } else if (!t.from_lookups && !report.dry_run) {
      unknown_superseded = true;
    }
    out += fmt::format("{:<24} {:>12} {:>12} {:>10} {:>11} {:>12}  {}\n", t.entity,
                       t.from_lookups ? "-" : std::to_string(t.read), t.migrated,
                       t.from_lookups ? "-" : std::to_string(t.rejected), superseded, rate,
                       t.StateText());
  }
  if (unknown_superseded) {
    out +=
        "superseded \"-\": not counted on this run (it resumed, stopped early, or merged into a "
        "table that held rows), so rows that repeat a key are not told from new ones; migrated "
        "counts rows written\n";
  }
  if (report.dry_run) {
    int64_t rejected = 0;
    for (const auto& t : report.tables) rejected += t.rejected;
    out += fmt::format(
        "dry run: nothing was written. A real run would merge the rows above into their tables "
        "(created with --create-tables, else checked against the spec) and reject {} records{}\n",
        rejected,
        report.max_rejects >= 0 && rejected > report.max_rejects
            ? fmt::format(", more than --max-rejects {}, so it would stop and exit 1",
                          report.max_rejects)
            : "");
  }
  for (const auto& t : report.tables) {
    if (t.repeated_keys == 0) continue;
    out += fmt::format(
        "{}: {} {} an object that names a key twice; the last value was {}, as PostgreSQL's "
        "jsonb does, in columns and jsonb alike\n",
        t.entity, t.repeated_keys, t.repeated_keys == 1 ? "record holds" : "records hold",
        report.dry_run ? "would be used" : "used");
  }
  if (report.rejected_total > 0 && !report.dry_run) {
    out += fmt::format("{} rejected records are in {} and cutover.rejects\n", report.rejected_total,
                       report.reject_file);
  }
  return out;
}

}  // namespace cutover::engine
