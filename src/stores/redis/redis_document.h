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
// captures (the rows of a deleted key are found by its key columns).
void AppendKeyDocument(const spec::EntitySpec& entity, std::string_view key, std::string* out);

// Unix milliseconds as ISO 8601 UTC with milliseconds ("2026-12-01T06:44:02.123Z").
std::string IsoMillis(int64_t unix_ms);

}  // namespace cutover::redis_store
