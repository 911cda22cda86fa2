// Checks a Parquet or CSV source against what an entity reads before any row
// is read: the columns exist with convertible types in every file of a glob.
#pragma once

#include "common/status.h"
#include "spec/spec.h"
#include "store/snapshot_reader.h"

namespace cutover::engine {

// The union of the files' columns must hold every column the entity reads,
// with a type that converts (else a "did you mean"), and each file must hold
// them too: a file that lacks one (its schema drifted from the others') is
// an error naming the file and the column, unless the source says
// `on_missing_column: null`; then the files are named in a warning and the
// column reads as NULL there. Chunk readers then yield only the columns the
// entity reads. Backfill and verify both call it, so that they never
// disagree about such a file.
Status CheckSourceSchema(const spec::SourceSpec& source_spec, const spec::EntitySpec& entity,
                         store::SnapshotReader* source);

}  // namespace cutover::engine
