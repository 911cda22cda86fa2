// RedisDocument: a key as read (RedisValue) turned into the JSON document an
// entity's mapper reads, following the entity's key pattern and value kind.
#pragma once

#include <string>

#include "spec/spec.h"
#include "stores/redis/redis_value.h"

namespace cutover::redis_store {

// The document layout is spec::RedisKeySpec's. A key the entity cannot read
// (its type is not the spec's, a JSON value that does not parse, a key the
// pattern does not match) still becomes a document, with "$error" saying
// why, so that the mapper rejects it with that reason and the record.
// REQUIRES: entity.redis.
void AppendDocument(const spec::EntitySpec& entity, const RedisValue& value, std::string* out);

// The document of a key without its value: "$key", "$type": "none" and the
// captures (the rows of a deleted key are found by its key columns), or
// "$error" for a capture spelled as its column does not take it (below).
void AppendKeyDocument(const spec::EntitySpec& entity, std::string_view key, std::string* out);

// Date captures design
//
// A capture read into a date column must be spelled YYYY-MM-DD, the one
// spelling its row turns back into (to_char's, write-back's): the date
// parser also takes a zero-padded year ("02026-11-30"), and two keys that
// spell one date would then share a row that only one of them can be
// rebuilt from. Such a key is a reject naming its spelling, in every reader
// (backfill, verify, sync: a delete of it leaves the canonical key's row
// alone), so a row's key is always its captures printed back, and a bulk
// load may rebuild the keys of rows it did not claim by SQL
// (engine/core/redis_key_sql.h).

// Unix milliseconds as ISO 8601 UTC with milliseconds ("2026-12-01T06:44:02.123Z").
std::string IsoMillis(int64_t unix_ms);

}  // namespace cutover::redis_store
