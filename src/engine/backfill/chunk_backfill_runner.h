// Backfill of entities whose source splits into chunks (Parquet, CSV): many
// workers, one PostgreSQL connection each, sharing one run through the ledger.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "engine/backfill/backfill_context.h"
#include "engine/backfill/entity_run.h"
#include "engine/core/reject_sink.h"
#include "engine/core/source_factory.h"
#include "spec/spec.h"
#include "store/chunked_source.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

// The parallel chunked backfill of one top-level entity (see the design
// comment in the .cc file).
std::unique_ptr<EntityRun> MakeChunkedEntityRun(const BackfillContext& context,
                                                const spec::EntitySpec& entity);

// An entity without a source: a dimension that lookups fill. Prepare creates
// or checks its table (unique `match`, generated `returns`); Run does nothing.
// Its indexes, and its line in the summary, come from the runs that look
// names up in it.
std::unique_ptr<EntityRun> MakeLookupDimensionRun(const BackfillContext& context,
                                                  const spec::EntitySpec& entity);

}  // namespace cutover::engine
