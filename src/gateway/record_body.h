// The body of a gateway write for a Redis entity, turned into the document
// the Redis writer takes: {"value": ..., "expires_at": "ISO 8601" | null}.
#pragma once

#include <string>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::gateway {

// {"$value": value, "$expires_at_ms": unix ms} from the client's body: the
// value as the key's kind holds it (a string or number for a string or
// counter, an object of fields for a hash, an array for a set or list,
// [{"member", "score"}] for a sorted set, any JSON for a json key), and an
// optional absolute expiry. InvalidArgument saying what is wrong with it.
Result<std::string> RedisDocumentFromBody(const std::string& body);

// The answer's {"value": ..., "expires_at": ISO 8601 | null} of a record in
// the legacy layout: a Redis read's document, or one rebuilt from
// PostgreSQL's row (map::RecordBuilder), made to read alike: values as
// Redis holds them (strings for a string, counter, hash field, set or list
// member; {"member", "score"} for a sorted set; any JSON for a json key)
// and the expiry to the millisecond. `document` must be a JSON object.
std::string AnswerRecord(spec::RedisKeySpec::Value kind, const std::string& document);

// The document a change (store::Writer::Modify's: {"increment": n} for a
// counter, {"increment": {field: n}} and {"set": {field: value}} for a hash)
// makes of `current` (a document in the writer's layout; "" when the key
// holds nothing), as Redis would apply it: a missing counter or field
// counts from 0, and the expiry stays. InvalidArgument for a change the
// kind does not take, DataError for a value that is not an integer where
// one is incremented.
Result<std::string> ApplyChange(spec::RedisKeySpec::Value kind, const std::string& current,
                                const std::string& change);

}  // namespace cutover::gateway
