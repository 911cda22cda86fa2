// RedisWriter: writes documents of an entity's keys (map::RecordBuilder's
// layout) back into Redis, each key replaced whole with its TTL.
#pragma once

#include <memory>

#include "spec/spec.h"
#include "store/writer.h"
#include "stores/redis/redis_endpoint.h"

namespace cutover::redis_store {

// RedisWriter design
//
// A write states a key's whole state, so it is applied as one MULTI/EXEC on
// the master that serves the key: DEL, then the value (SET, HSET, SADD,
// RPUSH or ZADD by the entity's kind), then PEXPIREAT when the record has an
// expiry. Applying it twice leaves the key as applying it once (the writer
// contract in store/writer.h), and no reader ever sees the key half
// written. A delete is DEL. Writes are pipelined at Flush(), per master.
// With ReadBackWrites() the key is read in the same transaction after its
// commands (TIME, TYPE, the value's first page, the expiry), and becomes the
// document and version the store's key reader would give. An error a
// command meets inside EXEC fails the Flush: Redis ran the transaction's
// other commands, so the caller must read the key to learn what it holds.
// Not thread-safe.
std::unique_ptr<store::Writer> NewRedisWriter(const RedisEndpoint& seed,
                                              const spec::EntitySpec& entity);

}  // namespace cutover::redis_store
