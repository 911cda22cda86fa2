// ScanRedisKeyspace: every key of a Redis deployment read once for the audit
// (SCAN on each master, pipelined TYPE, PTTL and sampled MEMORY USAGE).
#pragma once

#include "common/status.h"
#include "store/keyspace_scan.h"
#include "stores/redis/redis_endpoint.h"

namespace cutover::redis_store {

// Scans the deployment `seed` belongs to: each master of a cluster
// (DiscoverTopology), or the server alone, once, with SCAN (never KEYS) and
// no MATCH, `options.scan_count` keys per round trip. For each page the
// visitor chooses the keys to measure (Admit), then one pipelined round trip
// reads TYPE and PTTL of every key and `MEMORY USAGE key SAMPLES 0` of those
// chosen, and the visitor sees the page (Visit). Memory is bounded by a page.
//
// A key SCAN returned that is gone by the time it is read comes back kGone.
// A cluster node importing a slot answers MOVED for keys it already holds;
// those are read again after ASKING, and are kElsewhere only if still
// refused. SCAN returns every key that lives through the scan at least once,
// and may return a key twice while the server resizes its table: counts are
// exact on a quiet server and within a few keys on a busy one.
//
// A lost connection is kUnavailable; an error reply to MEMORY USAGE (an ACL
// that forbids it) leaves that key unmeasured. Errors name the endpoint,
// never the password.
Status ScanRedisKeyspace(const RedisEndpoint& seed, const store::KeyspaceScanOptions& options,
                         store::KeyspaceVisitor& visitor);

}  // namespace cutover::redis_store
