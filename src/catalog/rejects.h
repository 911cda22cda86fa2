// cutover.rejects: every rejected record once, keyed by its source position,
// written in the transaction of the batch that refused it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/reject.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// Inserts rejects into cutover.rejects; a reject seen again (a retried batch)
// replaces the earlier row instead of duplicating it.
Status InsertRejects(pg_store::PgConnection* conn, const std::string& migration,
                     std::span<const Reject> rejects);

// Forgets every reject of (migration, entity).
Status DeleteRejects(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity);

// One page of the rejects of `migration` in id order: at most `limit` rows
// with id > *after_id; *after_id becomes the last id returned. An empty page
// is the end. A missing position (byte_offset, line) reads as -1.
Result<std::vector<Reject>> ReadRejectsPage(pg_store::PgConnection* conn,
                                            const std::string& migration, int64_t* after_id,
                                            int limit);

}  // namespace cutover::catalog
