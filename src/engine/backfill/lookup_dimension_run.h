// The part of `cutover backfill` for an entity without a source: a dimension
// that the lookups of other entities fill.
#pragma once

#include <memory>

#include "engine/backfill/backfill_context.h"
#include "engine/backfill/entity_run.h"
#include "spec/spec.h"

namespace cutover::engine {

// Prepare creates or checks the dimension's table (unique `match`, generated
// `returns`); Run does nothing. Its indexes, and its line in the summary,
// come from the runs that look names up in it.
std::unique_ptr<EntityRun> MakeLookupDimensionRun(const BackfillContext& context,
                                                  const spec::EntitySpec& entity);

}  // namespace cutover::engine
