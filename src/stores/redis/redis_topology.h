// RedisTopology: the masters a Redis deployment writes on (one for a
// standalone server, every master of a cluster) and the slot of a key.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "stores/redis/redis_connection.h"

namespace cutover::redis_store {

struct RedisNode {
  RedisEndpoint endpoint;
  std::string id;                          // the cluster node id; "" standalone
  std::vector<std::pair<int, int>> slots;  // served slot ranges; empty standalone

  // Stable across restarts and failovers (a promoted replica serves the
  // same slots): "db0" standalone, "slots:0-5460" (first range) in a cluster.
  std::string PartitionId() const;
  bool Serves(int slot) const;
};

struct RedisTopology {
  bool cluster = false;
  std::vector<RedisNode> masters;  // in slot order

  // The master serving `key`'s slot; the only master when standalone.
  const RedisNode* NodeFor(std::string_view key) const;
};

// Asks `seed` whether it runs in cluster mode and, if so, for the masters
// and their slots (CLUSTER SLOTS). A cluster url must name database 0.
Result<RedisTopology> DiscoverTopology(const RedisEndpoint& seed);

// DiscoverTopology on `seed`, and when it cannot answer (down, or its
// answer fails), on each of `others` in turn (the masters last seen): a
// cluster stays discoverable while its seed node is down. The error is the
// seed's when none answers.
Result<RedisTopology> DiscoverTopology(const RedisEndpoint& seed,
                                       const std::vector<RedisNode>& others);

// The masters and slot ranges as text ("host:port=lo-hi,...;" each), for
// telling whether two discoveries agree.
std::string DescribeSlots(const RedisTopology& topology);

// The cluster slot of `key`: CRC16 (XMODEM) of the key, or of its hash tag
// (the text between the first '{' and the next '}', when not empty), mod 16384.
int KeySlot(std::string_view key);

// INFO's "name:value" field, "" when absent.
std::string InfoField(std::string_view info, std::string_view name);

}  // namespace cutover::redis_store
