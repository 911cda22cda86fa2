// Backfill of entities whose source splits into chunks (Parquet, CSV): many
// workers, one PostgreSQL connection each, sharing one run through the ledger.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/backfill/backfill_runner.h"
#include "engine/backfill/entity_run.h"
#include "engine/core/reject_sink.h"
#include "engine/core/source_factory.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

// What every entity run of one `cutover backfill` shares. The connection is
// the runner's control connection (ledger resets, planning); workers open
// their own. All pointers outlive the runs.
struct RunShared {
  const spec::MigrationSpec* migration = nullptr;
  const BackfillRequest* request = nullptr;
  int64_t batch_size = 0;
  std::unique_ptr<pg_store::PgConnection>* conn = nullptr;
  std::string url;
  RejectSink* sink = nullptr;  // null in a dry run
  int64_t* run_rejects = nullptr;
  int64_t max_rejects = 0;
  ChunkedSourceOpener opener;  // empty: stores::OpenChunkedSource
};

// The parallel chunked backfill of one top-level entity (see the design
// comment in the .cc file).
std::unique_ptr<EntityRun> MakeChunkedEntityRun(const RunShared& shared,
                                                const spec::EntitySpec& entity);

// An entity without a source: a dimension that lookups fill. Prepare creates
// or checks its table (unique `match`, generated `returns`); Run does nothing.
// Its indexes, and its line in the summary, come from the runs that look
// names up in it.
std::unique_ptr<EntityRun> MakeLookupDimensionRun(const RunShared& shared,
                                                  const spec::EntitySpec& entity);

}  // namespace cutover::engine
