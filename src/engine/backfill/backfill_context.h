// What every entity run of one `cutover backfill` shares: the spec, the
// request, the coordinating connection, the reject sink and the reject count.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/backfill/backfill_command.h"
#include "engine/core/reject_sink.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

// The connection is the command's coordinating one (ledger resets, planning,
// the finish); the workers that load partitions open their own. RunWithRetry
// may replace *conn after an outage, so runs read it through the pointer.
// All pointers outlive the runs. Entity runs side by side (backfill_command.cc)
// each use a coordinating connection of their own instead of `conn`; `sink`
// locks its writes, and `run_rejects` is atomic.
struct BackfillContext {
  const spec::MigrationSpec* migration = nullptr;
  const BackfillRequest* request = nullptr;
  int64_t batch_size = 0;
  std::unique_ptr<pg_store::PgConnection>* conn = nullptr;
  std::string url;
  RejectSink* sink = nullptr;  // null in a dry run
  // The run's rejects so far, every entity's, committed or (dry run) found.
  std::atomic<int64_t>* run_rejects = nullptr;
  int64_t max_rejects = 0;
};

}  // namespace cutover::engine
