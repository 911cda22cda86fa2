// `cutover sync`: keeps PostgreSQL in step with a live legacy store through
// its change stream, repairing by reconciliation every gap the stream reports.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/entity_sync.h"
#include "spec/spec.h"

namespace cutover::engine {

struct SyncRequest {
  // Top-level entities to keep in step; empty: every entity of every source
  // that has a change stream (Redis).
  std::vector<std::string> entities;
  // Set notify-keyspace-events on masters that lack the needed flags.
  bool configure = false;
  // Stop after this long (0: until stopped).
  std::chrono::milliseconds run_for{0};
  // Stop once no change arrived for this long after the first reconciliation
  // (0: never). For scripts and tests that sync until a writer is done.
  std::chrono::milliseconds idle_exit{0};
  int batch_size = 1000;  // changed keys read and applied per transaction
  std::chrono::milliseconds retry_for{60'000};
};

// One source's run, as `sync` reports it.
struct SourceSyncReport {
  std::string source;
  int64_t changes = 0;  // change notifications received (hints, before dedup)
  int64_t gaps = 0;     // moments the stream may have missed a change
  int64_t repairs = 0;  // reconciliations run (one at start, one per gap)
  std::vector<std::string> gap_reasons;
  ApplyCounts counts;                     // all entities of the source
  double lag_p50_ms = 0, lag_p99_ms = 0;  // notification received -> committed
  int64_t lag_samples = 0;
  // A source polled past a watermark (IoTDB): `changes` counts the points
  // each pass read, the window's again included; counts.rows_changed the
  // rows they inserted or changed; lag is the time one pass took.
  bool polled = false;
  int64_t passes = 0;
};

struct SyncReport {
  std::vector<SourceSyncReport> sources;
};

// Syncs until `stop` is set, run_for passes or idle_exit is reached.
// Sync design
//
// Start: subscribe first (the stream's Head), then reconcile: every key of
// every entity is read and applied, and the keys written before that the
// scan no longer found are re-read (a delete if gone). After that, every
// change hint is re-read and applied. When the stream reports a gap, the
// stream has already re-subscribed, so a reconciliation started then, plus
// the hints after it, covers everything: nothing changed during the gap can
// stay wrong. Hints arriving during a reconciliation wait in a set and are
// applied after it. Each key's newest read wins (EntitySync), so the order
// in which the scan and the hints reach PostgreSQL does not matter, and a
// concurrent backfill cannot overwrite a newer state.
Result<SyncReport> RunSync(const spec::MigrationSpec& migration, const std::string& target_url,
                           const SyncRequest& request, const std::atomic<bool>& stop);

}  // namespace cutover::engine
