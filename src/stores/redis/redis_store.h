// RedisStore: one entity's keys (its key pattern) on a Redis server or
// cluster, through the store protocol: SCAN per master, reads by key, changes.
#pragma once

#include <memory>

#include "common/status.h"
#include "spec/spec.h"
#include "store/store.h"
#include "stores/redis/redis_endpoint.h"
#include "stores/redis/shared_scan.h"

namespace cutover::redis_store {

struct RedisStoreOptions {
  // Keys asked of each SCAN call (its COUNT): more means fewer round trips
  // and longer server-side steps.
  int64_t scan_count = 1000;
  // The scan this entity reads beside others of its source, or null: its
  // own SCAN MATCH (stores/redis/shared_scan.h).
  std::shared_ptr<SharedScan> shared = nullptr;
};

// The store of `entity`'s keys in `source` (type redis). Cheap: nothing is
// contacted until a part is used. REQUIRES: entity.redis.
Result<std::unique_ptr<store::Store>> OpenRedisStore(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity,
                                                     const RedisStoreOptions& options = {});

// Where `source` (type redis) is and how to reach it: its url, and its
// `tls:` files for a rediss:// url. Errors name the source, never the url.
Result<RedisEndpoint> SourceEndpoint(const spec::SourceSpec& source);

// Connects to `endpoint`, logs in and sends PING.
Status PingRedis(const RedisEndpoint& endpoint);

}  // namespace cutover::redis_store
