// Orphans: rows whose `references:` column names a parent row that is not
// there (the runbook's orphaned-subscriptions query), counted and named.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "engine/verify/verify_report.h"
#include "spec/spec.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine::verify {

// Fills verdict->orphans with one check per `references:` column of
// `entity`'s table, in PostgreSQL (which a clean verify shows equal to the
// source): rows whose value is not NULL and matches no row of the referenced
// entity's table, counted, and up to `max_listed` of them named by key.
Status CheckReferences(pg_store::PgConnection* conn, const spec::MigrationSpec& migration,
                       const spec::EntitySpec& entity, int64_t max_listed, TableVerdict* verdict);

}  // namespace cutover::engine::verify
