// Discovery of a Redis deployment's masters and CRC16 key slots.
#include "stores/redis/redis_topology.h"

#include <algorithm>
#include <map>

namespace cutover::redis_store {
namespace {

uint16_t Crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char b : bytes) {
    crc ^= static_cast<uint16_t>(b) << 8;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

std::string InfoField(std::string_view info, std::string_view name) {
  size_t at = 0;
  while ((at = info.find(name, at)) != std::string_view::npos) {
    const bool line_start = at == 0 || info[at - 1] == '\n';
    const size_t colon = at + name.size();
    if (line_start && colon < info.size() && info[colon] == ':') {
      const size_t end = info.find_first_of("\r\n", colon);
      return std::string(info.substr(
          colon + 1, end == std::string_view::npos ? std::string_view::npos : end - colon - 1));
    }
    at = colon;
  }
  return "";
}

int KeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) & 16383;
}

std::string RedisNode::PartitionId() const {
  if (slots.empty()) return "db" + std::to_string(endpoint.db);
  return "slots:" + std::to_string(slots.front().first) + "-" +
         std::to_string(slots.front().second);
}

bool RedisNode::Serves(int slot) const {
  for (const auto& [lo, hi] : slots) {
    if (slot >= lo && slot <= hi) return true;
  }
  return false;
}

const RedisNode* RedisTopology::NodeFor(std::string_view key) const {
  if (!cluster) return masters.empty() ? nullptr : &masters.front();
  const int slot = KeySlot(key);
  for (const RedisNode& n : masters) {
    if (n.Serves(slot)) return &n;
  }
  return nullptr;
}

Result<RedisTopology> DiscoverTopology(const RedisEndpoint& seed) {
  RedisEndpoint login = seed;
  const int db = seed.db;
  login.db = 0;  // SELECT is refused in cluster mode; ask first
  ASSIGN_OR_RETURN(auto conn, RedisConnection::Connect(login));
  ASSIGN_OR_RETURN(Reply info, conn->Run({"INFO", "cluster"}));
  RedisTopology topology;
  topology.cluster = InfoField(ReplyText(info.get()), "cluster_enabled") == "1";
  if (!topology.cluster) {
    RedisNode node;
    node.endpoint = seed;
    topology.masters.push_back(std::move(node));
    return topology;
  }
  if (db != 0) {
    return InvalidArgument("redis " + seed.Describe() +
                           ": a Redis Cluster has only database 0; drop the /" +
                           std::to_string(db) + " from the url");
  }
  ASSIGN_OR_RETURN(Reply slots, conn->Run({"CLUSTER", "SLOTS"}));
  std::map<std::string, RedisNode> by_id;
  for (size_t i = 0; i < slots->elements; ++i) {
    const redisReply* range = slots->element[i];
    if (range->elements < 3) continue;
    const redisReply* master = range->element[2];
    if (master->elements < 3) continue;
    const std::string id(ReplyText(master->element[2]));
    RedisNode& node = by_id[id];
    node.id = id;
    node.endpoint = seed;
    std::string host(ReplyText(master->element[0]));
    // An empty host means "the address you reached me on".
    node.endpoint.host = host.empty() ? seed.host : host;
    node.endpoint.port = static_cast<int>(master->element[1]->integer);
    node.slots.emplace_back(static_cast<int>(range->element[0]->integer),
                            static_cast<int>(range->element[1]->integer));
  }
  for (auto& [id, node] : by_id) {
    std::sort(node.slots.begin(), node.slots.end());
    topology.masters.push_back(std::move(node));
  }
  std::sort(topology.masters.begin(), topology.masters.end(),
            [](const RedisNode& a, const RedisNode& b) { return a.slots < b.slots; });
  if (topology.masters.empty()) {
    return FailedPrecondition("redis " + seed.Describe() +
                              ": cluster mode, but CLUSTER SLOTS lists no master with slots");
  }
  return topology;
}

Result<RedisTopology> DiscoverTopology(const RedisEndpoint& seed,
                                       const std::vector<RedisNode>& others) {
  Result<RedisTopology> first = DiscoverTopology(seed);
  if (first.ok() || first.status().code() == StatusCode::kInvalidArgument) return first;
  for (const RedisNode& node : others) {
    if (node.endpoint.host == seed.host && node.endpoint.port == seed.port) continue;
    RedisEndpoint other = seed;  // the seed's login and database
    other.host = node.endpoint.host;
    other.port = node.endpoint.port;
    Result<RedisTopology> t = DiscoverTopology(other);
    if (t.ok() && t->cluster) return t;
  }
  return first;
}

std::string DescribeSlots(const RedisTopology& topology) {
  std::string s;
  for (const RedisNode& n : topology.masters) {
    s += n.endpoint.host + ":" + std::to_string(n.endpoint.port) + "=";
    for (const auto& [lo, hi] : n.slots) s += std::to_string(lo) + "-" + std::to_string(hi) + ",";
    s += ";";
  }
  return s;
}

}  // namespace cutover::redis_store
