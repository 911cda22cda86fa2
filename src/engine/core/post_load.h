// What follows an entity's load: the spec's indexes, ANALYZE, and sequences
// moved past the ids the load wrote, so the application's inserts never collide.
#pragma once

#include "common/status.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"

namespace cutover::engine {

// CREATE INDEX IF NOT EXISTS for each of entity.indexes (gist for geometry),
// then ANALYZE, then setval() for every key column with a sequence (serial
// or identity) to the largest loaded value. Idempotent, and serialized by an
// advisory lock, so several processes finishing one run may all call it.
// Runs outside any transaction (each statement commits on its own): an index
// over a large table is the slow part, and holding a transaction open across
// several builds would only widen what a crash loses.
Status FinishEntityLoad(pg_store::PgConnection* conn, const spec::EntitySpec& entity,
                        const pg_store::TableShape& shape);

}  // namespace cutover::engine
