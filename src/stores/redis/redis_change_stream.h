// Keyspace-notification change stream: dirty-key hints from every master of
// a Redis source, with the gaps Redis never announces detected and reported.
#pragma once

#include <memory>
#include <vector>

#include "spec/spec.h"
#include "store/change_stream.h"
#include "stores/redis/redis_endpoint.h"

namespace cutover::redis_store {

struct KeyspaceStreamOptions {
  // Set notify-keyspace-events on a master that lacks the flags cutover
  // needs (`sync --configure`); otherwise such a master is an error that
  // names the exact CONFIG SET to run.
  bool configure = false;
  // How often each master's identity (run id, replication id) and the
  // sentinel key are checked for a gap that left no other trace.
  std::chrono::milliseconds check_interval{200};
};

// KeyspaceChangeStream design
//
// Keyspace notifications say "this key changed" and nothing else, and only
// to a subscriber connected at that moment. So a change is a kDirty hint
// (the caller re-reads the key; a missing key is a delete), and the stream's
// job is to notice every moment it may have missed one and say so with
// kDataLoss, after which the caller reconciles by a scan. The moments:
//   - the subscriber connection broke (CLIENT KILL, the pubsub output
//     buffer limit, a network fault, a restart): read error or EOF;
//   - the server restarted or failed over (run_id or master_replid changed):
//     its data may be an older snapshot, and a restart loads keys without
//     notifications;
//   - FLUSHDB, FLUSHALL, SWAPDB (no notification at all): the sentinel key
//     cutover keeps in the watched database is gone or not its own;
//   - a cluster's slots moved to other masters (CLUSTER SLOTS changed), or
//     a master's sentinel key answers MOVED/ASK (its slot is migrating).
// In a cluster, a broken master first has the masters discovered again (on
// the seed, else on the masters last seen), so a failover, which both
// changes the old master's replication id and moves its slots, is one gap
// once every new master is subscribed. A migration of many slots is one gap
// per check that finds more of them moved: each is a real gap.
// On each, the stream first re-subscribes and takes a new baseline, and only
// then returns kDataLoss: every change after the error is delivered, so a
// scan started after it misses nothing. One fault is one gap, however many
// checks notice it (a restart breaks the connection and changes the run id).
// Not thread-safe.
std::unique_ptr<store::ChangeStream> NewKeyspaceChangeStream(
    const RedisEndpoint& seed, std::vector<const spec::EntitySpec*> entities,
    const KeyspaceStreamOptions& options = {});

// The same for one entity (Store::changes()).
std::unique_ptr<store::ChangeStream> NewKeyspaceChangeStream(const RedisEndpoint& seed,
                                                             const spec::EntitySpec& entity);

// The notify-keyspace-events classes cutover needs: keyspace channel (K),
// generic (g), string ($), list (l), set (s), hash (h), sorted set (z),
// expired (x) and evicted (e).
inline constexpr std::string_view kNeededKeyspaceFlags = "Kg$lshzxe";

// `have` (CONFIG GET notify-keyspace-events) with what is missing added;
// equal to `have` when nothing is missing.
std::string WithNeededKeyspaceFlags(std::string_view have);

}  // namespace cutover::redis_store
