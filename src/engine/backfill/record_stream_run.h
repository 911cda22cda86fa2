// The backfill of an entity whose source is a stream of records (JSON): read
// in order on one thread, checkpointed by position after every batch.
#pragma once

#include <memory>

#include "engine/backfill/backfill_context.h"
#include "engine/backfill/entity_run.h"
#include "spec/spec.h"

namespace cutover::engine {

// The record-stream run of one top-level entity and its child tables (see
// the design note in the .cc file). `context` must outlive the run.
std::unique_ptr<EntityRun> MakeRecordStreamRun(const BackfillContext& context,
                                               const spec::EntitySpec& entity);

}  // namespace cutover::engine
