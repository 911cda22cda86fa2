// KeyLockId and the advisory lock calls that take it.
#include "catalog/key_locks.h"

#include <xxhash.h>

#include <algorithm>

namespace cutover::catalog {

int64_t KeyLockId(std::string_view migration, std::string_view entity, std::string_view key) {
  std::string text;
  for (std::string_view part : {migration, entity, key}) {
    text += std::to_string(part.size());
    text += ':';
    text += part;
  }
  return static_cast<int64_t>(XXH3_64bits(text.data(), text.size()));
}

Status LockKey(pg_store::PgConnection* conn, int64_t id) {
  return conn->Query("SELECT pg_advisory_lock($1::bigint)", {std::to_string(id)}).status();
}

Status UnlockKey(pg_store::PgConnection* conn, int64_t id) {
  return conn->Query("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(id)}).status();
}

Status LockKeysForTransaction(pg_store::PgConnection* conn, std::vector<int64_t> ids) {
  if (ids.empty()) return Status::Ok();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) array += ',';
    array += std::to_string(ids[i]);
  }
  array += '}';
  // unnest keeps the array's order, so the locks are taken ascending.
  return conn
      ->Query("SELECT count(pg_advisory_xact_lock(id)) FROM unnest($1::bigint[]) AS id", {array})
      .status();
}

}  // namespace cutover::catalog
