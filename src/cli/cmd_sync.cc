// `cutover sync SPEC`: keeps PostgreSQL in step with a live Redis until
// stopped (SIGINT/SIGTERM), an idle period, or a duration; then a summary.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "catalog/stage.h"
#include "cli/command.h"
#include "engine/core/target_resolver.h"
#include "engine/rollback/way_back.h"
#include "engine/sync/file_sync.h"
#include "engine/sync/sync_command.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::cli {
namespace {

std::string FormatSummary(const engine::SyncReport& report) {
  std::string out = fmt::format("{:<20} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>8} {:>9} {:>9}\n",
                                "source", "changes", "applied", "deleted", "superseded", "rejected",
                                "gaps", "repairs", "lag p50", "lag p99");
  for (const auto& s : report.sources) {
    out += fmt::format("{:<20} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6} {:>8} {:>7.1f}ms {:>7.1f}ms\n",
                       s.source, s.changes, s.counts.keys, s.counts.deleted, s.counts.superseded,
                       s.counts.rejected, s.gaps, s.repairs, s.lag_p50_ms, s.lag_p99_ms);
    for (size_t i = 0; i < s.gap_reasons.size(); ++i) {
      out += fmt::format("  gap {}: {} (repaired by a reconciliation)\n", i + 1, s.gap_reasons[i]);
    }
    if (s.polled) {
      out += fmt::format(
          "  polled {} times: {} points read (each pass reads the lateness window again), {} rows "
          "inserted or changed; lag is one pass's duration\n",
          s.passes, s.changes, s.counts.rows_changed);
    }
  }
  return out;
}

nlohmann::json SummaryJson(const engine::SyncReport& report) {
  nlohmann::json sources = nlohmann::json::array();
  for (const auto& s : report.sources) {
    sources.push_back({{"source", s.source},
                       {"changes", s.changes},
                       {"keys_applied", s.counts.keys},
                       {"upserted", s.counts.upserted},
                       {"deleted", s.counts.deleted},
                       {"superseded", s.counts.superseded},
                       {"rejected", s.counts.rejected},
                       {"rows_changed", s.counts.rows_changed},
                       {"polled", s.polled},
                       {"passes", s.passes},
                       {"gaps", s.gaps},
                       {"repairs", s.repairs},
                       {"gap_reasons", s.gap_reasons},
                       {"lag_ms", {{"p50", s.lag_p50_ms}, {"p99", s.lag_p99_ms}}},
                       {"lag_samples", s.lag_samples}});
  }
  return {{"sources", sources}};
}

// Whether this run is the file sync: the entities named (or, when none is,
// every entity of the spec with a source) are all of file sources.
bool IsFileSync(const spec::MigrationSpec& migration, const std::vector<std::string>& names) {
  bool any = false;
  for (const auto& e : migration.entities) {
    if (e.source.empty()) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), e.name) == names.end()) continue;
    if (!engine::IsFileEntity(migration, e)) return false;
    any = true;
  }
  return any;
}

// Passes of the file sync: one, or one every `every` until stopped (or
// --for). A failed pass is recorded and, on a schedule, the next one tries
// again; the exit code is the last pass's.
int RunFileSyncPasses(const spec::MigrationSpec& migration, const std::string& url,
                      const engine::FileSyncRequest& request, std::chrono::milliseconds every,
                      std::chrono::milliseconds run_for, bool json, const std::atomic<bool>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  int rc = kExitOk;
  for (;;) {
    Result<engine::FileSyncReport> report = engine::RunFileSync(migration, url, request);
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      rc = report.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
      if (rc == kExitUsage || every.count() == 0) return rc;
    } else {
      rc = kExitOk;
      if (json) {
        fmt::print("{}\n", engine::FileSyncReportJson(*report).dump(every.count() ? -1 : 2));
      } else {
        fmt::print("{}", engine::FormatFileSyncReport(*report));
      }
      std::fflush(stdout);
    }
    if (every.count() == 0) return rc;
    const auto next = Clock::now() + every;
    spdlog::info("sync: next pass in {} s", every.count() / 1000);
    while (Clock::now() < next) {
      if (stop.load()) return rc;
      if (run_for.count() > 0 && Clock::now() - started >= run_for) return rc;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace

CommandAction AddSyncCommand(CLI::App* app) {
  struct Options {
    std::string spec_path;
    engine::SyncRequest request;
    std::string run_for, idle_exit, retry_for = "60s", every;
    bool once = false;
    bool json = false;
    bool scratch = false;
  };
  auto o = std::make_shared<Options>();
  app->description(
      "Keeps the two stores in step, in the direction the stage says.\n"
      "Before primary: PostgreSQL follows a Redis the application still writes to. It "
      "subscribes to keyspace notifications on every master, reconciles once (every key read and "
      "applied, rows of keys gone deleted), then re-reads and applies each changed key. "
      "Notifications are fire-and-forget, so every moment one may have been missed (a dropped "
      "subscriber, a restart or failover, FLUSHDB/FLUSHALL/SWAPDB, moved cluster slots) is "
      "counted as a gap and repaired by another reconciliation.\n"
      "At primary (the way back): Redis follows PostgreSQL. Every change committed to "
      "PostgreSQL's tables of write_back entities, through the gateway or straight from an "
      "application, is read from a logical replication slot (made on first run, with one "
      "reconciliation) and written into Redis; the slot advances only once Redis holds the "
      "change, so going back to dual_write loses nothing. Needs wal_level = logical.\n"
      "Runs until SIGINT/SIGTERM, --for or --idle-exit.\n"
      "File sources (JSON, Parquet, CSV), which say nothing of their changes: a pass finds the "
      "files new or changed since the last pass (size, modification time, then a digest of the "
      "content) and applies only those: every row of a new Parquet or CSV file (the spec's "
      "dedup rule deciding against rows already loaded), and for a JSON file the records "
      "changed, added or removed since the last pass, diffed by key. One pass, or one every "
      "--every (or the spec's `sync: { every: 6h }`) until stopped; each pass is recorded for "
      "`GET /v1/sync`.\n"
      "IoTDB sources read over REST, which keep no change feed: the first pass reads every device "
      "whole, and each pass after it, every `poll` of the source (1s), reads each device from "
      "the newest time seen there less the source's `lateness` (5m), so a point written late "
      "within that window is caught and a point written twice is one row with the last value. "
      "Deletes, and points older than the window, are out of polling's reach: `cutover verify` "
      "finds them.");
  app->add_option("spec", o->spec_path, "Migration spec (YAML)")->required();
  app->add_option("--entity", o->request.entities,
                  "Sync only this top-level entity (repeatable; default: every entity of a "
                  "redis source, or of an iotdb source read over REST)");
  app->add_flag("--configure", o->request.configure,
                "Set notify-keyspace-events on masters that lack the flags sync needs "
                "(otherwise sync stops and prints the CONFIG SET to run)");
  app->add_option("--for", o->run_for, "Stop after this long: 30s, 5m, 1h (default: run on)");
  app->add_option("--every", o->every,
                  "File sources: run a pass now and then one every this long, e.g. 6h, until "
                  "stopped (default: the spec's sync.every, else one pass)");
  app->add_flag("--once", o->once, "File sources: one pass, whatever the spec's sync.every says");
  app->add_option("--idle-exit", o->idle_exit,
                  "Stop once no change arrived for this long, e.g. 5s (for scripts)");
  app->add_option("--batch-size", o->request.batch_size,
                  "Changed keys read and applied per transaction (default 1000)")
      ->check(CLI::Range(1, 100000));
  app->add_option("--retry-for", o->retry_for,
                  "How long one outage of PostgreSQL is waited out before sync fails (default "
                  "60s)");
  app->add_flag("--json", o->json, "Print the summary as JSON on stdout");
  AddScratchFlag(app, &o->scratch);
  return [o]() -> int {
    for (auto [text, dest] : {std::pair{&o->run_for, &o->request.run_for},
                              {&o->idle_exit, &o->request.idle_exit},
                              {&o->retry_for, &o->request.retry_for}}) {
      if (text->empty()) continue;
      const auto d = ParseDuration(*text);
      if (!d) {
        fmt::print(stderr, "error: {}: expected a duration such as 250ms, 30s, 5m or 1h\n", *text);
        return kExitUsage;
      }
      *dest = *d;
    }
    int load_exit = kExitUsage;
    auto migration = LoadSpecOrReport(o->spec_path);
    if (!migration) return load_exit;
    engine::TargetHandle target;
    if (int rc = ResolveTargetOrReport(*migration, o->scratch, &target); rc != kExitOk) return rc;
    spdlog::info("sync {} into {}", migration->name, target.Describe());

    // SIGINT and SIGTERM end the run after the step in flight; a thread
    // waits for them so no handler runs inside the engine.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    static std::atomic<bool> stop{false};
    static std::atomic<bool> finished{false};
    std::thread waiter([signals]() mutable {
      int sig = 0;
      sigwait(&signals, &sig);
      if (finished.load()) return;  // the run ended on its own; this wakes the waiter
      spdlog::info("{}: finishing the step in flight and stopping",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      stop.store(true);
    });
    // The stage says the direction: at primary, Redis follows PostgreSQL.
    std::string stage = "legacy";
    {
      auto conn = pg_store::PgConnection::ConnectWithRetry(target.url, o->request.retry_for);
      if (!conn.ok()) {
        fmt::print(stderr, "error: {}\n", conn.status().message());
        return kExitFailure;
      }
      auto row = catalog::ReadStageRow(conn->get(), migration->name);
      if (!row.ok()) {
        fmt::print(stderr, "error: {}\n", row.status().message());
        return kExitFailure;
      }
      if (*row) stage = (*row)->stage;
    }
    if (stage == "complete") {
      fmt::print(stderr,
                 "error: {} is complete: PostgreSQL alone holds the data and nothing is synced "
                 "either way\n",
                 migration->name);
      return kExitFailure;
    }
    std::optional<Result<engine::WayBackReport>> back;
    std::optional<Result<engine::SyncReport>> forward;
    if (stage != "primary" && IsFileSync(*migration, o->request.entities)) {
      std::chrono::milliseconds every{o->once ? 0 : migration->sync.every_ms};
      if (!o->every.empty()) {
        const auto d = ParseDuration(o->every);
        if (!d || d->count() < 1000) {
          fmt::print(stderr, "error: --every {}: expected a duration of at least 1s\n", o->every);
          return kExitUsage;
        }
        every = *d;
      }
      engine::FileSyncRequest request{.entities = o->request.entities,
                                      .batch_size = o->request.batch_size,
                                      .retry_for = o->request.retry_for};
      const int rc = RunFileSyncPasses(*migration, target.url, request, every, o->request.run_for,
                                       o->json, stop);
      finished.store(true);
      pthread_kill(waiter.native_handle(), SIGTERM);
      waiter.join();
      return rc;
    }
    if (stage == "primary") {
      spdlog::info("{} is at primary: carrying PostgreSQL's changes back into the legacy store",
                   migration->name);
      engine::WayBackRequest request{.entities = o->request.entities,
                                     .run_for = o->request.run_for,
                                     .idle_exit = o->request.idle_exit,
                                     .batch_size = o->request.batch_size,
                                     .retry_for = o->request.retry_for};
      back = engine::RunWayBack(*migration, target.url, request, stop);
    } else {
      forward = engine::RunSync(*migration, target.url, o->request, stop);
    }
    finished.store(true);
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
    if (back) {
      if (!back->ok()) {
        fmt::print(stderr, "error: {}\n", back->status().message());
        return back->status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
      }
      if (o->json) {
        fmt::print("{}\n", engine::WayBackReportJson(**back).dump(2));
      } else {
        fmt::print("{}", engine::FormatWayBackReport(**back));
      }
      return kExitOk;
    }
    auto& report = *forward;
    if (!report.ok()) {
      fmt::print(stderr, "error: {}\n", report.status().message());
      const StatusCode code = report.status().code();
      return code == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    if (o->json) {
      fmt::print("{}\n", SummaryJson(*report).dump(2));
    } else {
      fmt::print("{}", FormatSummary(*report));
    }
    return kExitOk;
  };
}

}  // namespace cutover::cli
