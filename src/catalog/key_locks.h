// The advisory lock a writer of one key holds in PostgreSQL: the gateway's
// PostgreSQL-first writes and rollback's copies of a key serialize on it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// The lock's id for (migration, entity, key): XXH3 of the three, each
// length-prefixed so no two triples run together, whatever bytes a key
// holds (a Redis key may hold any, NUL included).
int64_t KeyLockId(std::string_view migration, std::string_view entity, std::string_view key);

// A session lock: held until UnlockKey or until the session ends.
Status LockKey(pg_store::PgConnection* conn, int64_t id);
Status UnlockKey(pg_store::PgConnection* conn, int64_t id);

// Transaction locks on every id, taken in ascending order (so two callers
// locking overlapping sets cannot deadlock), released at COMMIT or ROLLBACK.
// REQUIRES: an open transaction on `conn`.
Status LockKeysForTransaction(pg_store::PgConnection* conn, std::vector<int64_t> ids);

}  // namespace cutover::catalog
