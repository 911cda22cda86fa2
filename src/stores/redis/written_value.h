// WrittenValue: the value a key will hold once a record document is written to
// it, and the commands that write it; one source for the writer and for
// gateways that must know what a write leaves behind without reading it back.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/redis/redis_value.h"

namespace cutover::redis_store {

// A JSON scalar as the Redis string it stands for: a string's bytes (a
// {"$bytes": hex} object's decoded), a number's text, true/false.
Result<std::string> RedisString(simdjson::dom::element v);

// `document` ({"$value": ..., "$expires_at_ms": ...}, map::RecordBuilder's
// layout) as the key `key` of `entity` holds it after the write, as a read
// would return it: set members sorted and unique, a sorted set's members
// unique and in score order, a hash's fields unique (the last one given
// wins). type "none" when the write leaves no key: no value, an empty
// collection (Redis keeps none), or an expiry already past at `now_ms`.
// DataError when the value does not fit the entity's kind.
Result<RedisValue> WrittenValue(const spec::EntitySpec& entity, std::string_view key,
                                std::string_view document, int64_t now_ms,
                                simdjson::dom::parser* parser);

// The commands, run between MULTI and EXEC, that leave `value` at its key:
// DEL, then the value and its expiry; DEL alone for type "none".
std::vector<std::vector<std::string>> CommandsFor(const RedisValue& value);

}  // namespace cutover::redis_store
