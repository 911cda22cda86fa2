// Keyspace notifications as dirty-key hints, with gap detection per master.
#include "stores/redis/redis_change_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_topology.h"

namespace cutover::redis_store {
namespace {

using Clock = std::chrono::steady_clock;

std::string RandomToken() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return buf;
}

// A sentinel key whose slot `node` serves, so that each master holds its own.
std::string SentinelKey(const RedisNode& node) {
  for (int i = 0;; ++i) {
    std::string key = "cutover:sentinel:{" + std::to_string(i) + "}";
    if (node.slots.empty() || node.Serves(KeySlot(key))) return key;
  }
}

struct NodeWatch {
  RedisNode node;
  std::unique_ptr<RedisConnection> sub;  // subscribed to the keyspace channels
  std::unique_ptr<RedisConnection> ctl;  // checks and the sentinel
  std::string run_id, replid, sentinel_key, sentinel_token;
  std::string broken;  // why the node needs a new baseline; "" when healthy
};

class KeyspaceChangeStream : public store::ChangeStream {
 public:
  KeyspaceChangeStream(RedisEndpoint seed, std::vector<const spec::EntitySpec*> entities,
                       KeyspaceStreamOptions options)
      : seed_(std::move(seed)), entities_(std::move(entities)), options_(options) {}

  store::ChangeGuarantees guarantees() const override {
    store::ChangeGuarantees g;
    g.lossless = false;  // fire-and-forget; gaps are reported instead
    g.ordered_per_key = true;
    g.deletes = true;
    g.values = false;
    return g;
  }

  Result<store::Cursor> Head() override {
    if (session_.empty()) RETURN_IF_ERROR(Connect());
    return store::Cursor{"session=" + session_};
  }

  Status Start(const store::Cursor& from) override {
    if (session_.empty()) RETURN_IF_ERROR(Connect());
    if (!from.AtStart() && from.token != "session=" + session_) {
      return DataLoss("redis " + seed_.Describe() +
                      ": keyspace notifications are not kept, so the changes since an earlier "
                      "run's position cannot be replayed");
    }
    return Status::Ok();
  }

  Result<bool> Next(size_t max_changes, std::chrono::milliseconds wait,
                    store::ChangeBatch* out) override {
    out->changes.clear();
    out->rows = RowBatch();
    if (session_.empty()) RETURN_IF_ERROR(Connect());
    RETURN_IF_ERROR(Repair());
    if (Clock::now() >= next_check_) {
      for (NodeWatch& w : nodes_) Check(w);
      RETURN_IF_ERROR(CheckTopology());
      next_check_ = Clock::now() + options_.check_interval;
      RETURN_IF_ERROR(Repair());
    }
    std::set<std::string> seen;
    const auto deadline = Clock::now() + wait;
    // Waits (in slices over the nodes) only until the first message; then
    // takes what is already buffered and returns, so a change is applied as
    // soon as it arrives rather than when a batch fills.
    while (out->changes.size() < max_changes) {
      bool got = false;
      for (NodeWatch& w : nodes_) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        const auto slice =
            !out->changes.empty()
                ? std::chrono::milliseconds(0)
                : std::clamp(left / static_cast<int>(nodes_.size()), std::chrono::milliseconds(0),
                             std::chrono::milliseconds(20));
        Result<Reply> r = w.sub->ReadWithin(slice);
        if (!r.ok()) {
          w.broken = "the subscriber connection broke (" + r.status().message() + ")";
          RETURN_IF_ERROR(Repair());
          continue;
        }
        if (*r == nullptr) continue;
        got = true;
        std::string key;
        if (!KeyOf(r->get(), &key)) continue;
        if (!seen.insert(key).second) continue;
        store::Change c;
        c.kind = store::ChangeKind::kDirty;
        c.key = {key};
        c.position.token = "session=" + session_;
        out->changes.push_back(std::move(c));
        if (out->changes.size() >= max_changes) break;
      }
      if (!got && (!out->changes.empty() || Clock::now() >= deadline)) break;
    }
    out->end.token = "session=" + session_;
    return !out->changes.empty();
  }

  Status Ack(const store::Cursor&) override { return Status::Ok(); }

 private:
  // "pmessage <pattern> __keyspace@<db>__:<key> <event>": the key, when the
  // message is one and the key is one of the entities'.
  bool KeyOf(const redisReply* m, std::string* key) const {
    if (m->type != REDIS_REPLY_ARRAY || m->elements != 4) return false;
    if (ReplyText(m->element[0]) != "pmessage") return false;
    std::string_view channel = ReplyText(m->element[2]);
    const size_t colon = channel.find("__:");
    if (!channel.starts_with("__keyspace@") || colon == std::string_view::npos) return false;
    channel.remove_prefix(colon + 3);
    for (const spec::EntitySpec* e : entities_) {
      if (e->redis->pattern.Match(channel)) {
        key->assign(channel);
        return true;
      }
    }
    return false;
  }

  Status Connect() {
    session_ = RandomToken();
    ASSIGN_OR_RETURN(RedisTopology topology, DiscoverTopology(seed_));
    slots_ = Describe(topology);
    nodes_.clear();
    for (RedisNode& node : topology.masters) {
      NodeWatch w;
      w.node = std::move(node);
      w.sentinel_key = SentinelKey(w.node);
      RETURN_IF_ERROR(Baseline(w));
      nodes_.push_back(std::move(w));
    }
    next_check_ = Clock::now() + options_.check_interval;
    return Status::Ok();
  }

  static std::string Describe(const RedisTopology& t) {
    std::string s;
    for (const RedisNode& n : t.masters) {
      s += n.endpoint.host + ":" + std::to_string(n.endpoint.port) + "=";
      for (const auto& [lo, hi] : n.slots) s += std::to_string(lo) + "-" + std::to_string(hi) + ",";
      s += ";";
    }
    return s;
  }

  // Subscribes (first, so nothing after the baseline is missed), checks the
  // notification flags, and records the node's identity and a new sentinel.
  Status Baseline(NodeWatch& w) {
    w.sub.reset();
    w.ctl.reset();
    ASSIGN_OR_RETURN(w.ctl, RedisConnection::Connect(w.node.endpoint));
    RETURN_IF_ERROR(CheckFlags(*w.ctl));
    ASSIGN_OR_RETURN(w.sub, RedisConnection::Connect(w.node.endpoint));
    const std::string db = std::to_string(w.node.endpoint.db);
    std::vector<std::string> channels;
    for (const spec::EntitySpec* e : entities_) {
      channels.push_back("__keyspace@" + db + "__:" + e->redis->pattern.Glob());
    }
    std::vector<std::string_view> args = {"PSUBSCRIBE"};
    for (const auto& c : channels) args.push_back(c);
    w.sub->Append(args);
    for (size_t i = 0; i < channels.size(); ++i) {
      ASSIGN_OR_RETURN(Reply ok, w.sub->Read());
      if (ok->type == REDIS_REPLY_ERROR) {
        return FailedPrecondition("redis " + w.sub->where() +
                                  ": PSUBSCRIBE: " + std::string(ReplyText(ok.get())));
      }
    }
    w.sentinel_token = RandomToken();
    RETURN_IF_ERROR(w.ctl->Run({"SET", w.sentinel_key, w.sentinel_token}).status());
    ASSIGN_OR_RETURN(Reply server, w.ctl->Run({"INFO", "server"}));
    ASSIGN_OR_RETURN(Reply repl, w.ctl->Run({"INFO", "replication"}));
    w.run_id = InfoField(ReplyText(server.get()), "run_id");
    w.replid = InfoField(ReplyText(repl.get()), "master_replid");
    w.broken.clear();
    return Status::Ok();
  }

  Status CheckFlags(RedisConnection& ctl) {
    Result<Reply> got = ctl.Run({"CONFIG", "GET", "notify-keyspace-events"});
    if (!got.ok()) {
      return FailedPrecondition("redis " + ctl.where() + ": cannot read notify-keyspace-events (" +
                                got.status().message() + "); cutover sync needs it to include '" +
                                std::string(kNeededKeyspaceFlags) +
                                "'. Set it in the server's configuration");
    }
    const std::string have =
        (*got)->elements == 2 ? std::string(ReplyText((*got)->element[1])) : std::string();
    const std::string want = WithNeededKeyspaceFlags(have);
    if (want == have) return Status::Ok();
    if (!options_.configure) {
      return FailedPrecondition("redis " + ctl.where() + ": notify-keyspace-events is '" + have +
                                "', so changes would go unseen. Run: redis-cli -h " +
                                ctl.endpoint().host + " -p " + std::to_string(ctl.endpoint().port) +
                                " CONFIG SET notify-keyspace-events " + want +
                                " (or pass --configure to let cutover set it)");
    }
    RETURN_IF_ERROR(ctl.Run({"CONFIG", "SET", "notify-keyspace-events", want}).status());
    spdlog::info("redis {}: notify-keyspace-events set to '{}' (was '{}')", ctl.where(), want,
                 have);
    return Status::Ok();
  }

  // Marks `w` broken when its identity or sentinel changed.
  void Check(NodeWatch& w) {
    if (!w.broken.empty()) return;
    w.ctl->Append({"INFO", "server"});
    w.ctl->Append({"INFO", "replication"});
    w.ctl->Append({"GET", w.sentinel_key});
    Result<std::vector<Reply>> r = w.ctl->ReadAll();
    if (!r.ok()) {
      w.broken = "the control connection broke (" + r.status().message() + ")";
      return;
    }
    const std::string run_id = InfoField(ReplyText((*r)[0].get()), "run_id");
    const std::string replid = InfoField(ReplyText((*r)[1].get()), "master_replid");
    const redisReply* sentinel = (*r)[2].get();
    if (run_id != w.run_id) {
      w.broken = "the server restarted (run id changed), and keys it loaded were not notified";
    } else if (replid != w.replid) {
      w.broken = "the replication id changed (a failover or a full resync)";
    } else if (sentinel->type != REDIS_REPLY_STRING || ReplyText(sentinel) != w.sentinel_token) {
      w.broken =
          "the sentinel key vanished (FLUSHDB, FLUSHALL or SWAPDB, which send no notification)";
    }
  }

  Status CheckTopology() {
    if (nodes_.size() <= 1 && nodes_.front().node.slots.empty()) return Status::Ok();
    Result<RedisTopology> t = DiscoverTopology(seed_);
    if (!t.ok()) return Status::Ok();  // a node down shows as a broken connection
    if (Describe(*t) == slots_) return Status::Ok();
    topology_changed_ = true;
    return Status::Ok();
  }

  // Re-baselines every broken node (and all of them when the cluster's
  // slots moved); returns kDataLoss naming the gap once that succeeded.
  Status Repair() {
    std::string reasons;
    if (topology_changed_) {
      topology_changed_ = false;
      const std::string old = slots_;
      RETURN_IF_ERROR(Connect());
      return DataLoss("redis " + seed_.Describe() + ": the cluster's masters or slots changed");
    }
    for (NodeWatch& w : nodes_) {
      if (w.broken.empty()) continue;
      const std::string why = w.broken;
      Status st = Baseline(w);
      if (!st.ok()) {
        w.broken = why;  // still to repair; the same gap
        return Unavailable("redis " + w.node.endpoint.Describe() + ": " + why +
                           "; reconnecting: " + st.message());
      }
      reasons += (reasons.empty() ? "" : "; ") + w.node.endpoint.Describe() + ": " + why;
    }
    if (reasons.empty()) return Status::Ok();
    return DataLoss("redis " + reasons);
  }

  RedisEndpoint seed_;
  std::vector<const spec::EntitySpec*> entities_;
  KeyspaceStreamOptions options_;
  std::string session_;
  std::string slots_;
  bool topology_changed_ = false;
  std::vector<NodeWatch> nodes_;
  Clock::time_point next_check_;
};

}  // namespace

std::string WithNeededKeyspaceFlags(std::string_view have) {
  std::string out(have);
  const bool all = have.find('A') != std::string_view::npos;
  for (char c : kNeededKeyspaceFlags) {
    if (out.find(c) != std::string::npos) continue;
    if (all && c != 'K') continue;  // 'A' is g$lshzxe and more
    out.push_back(c);
  }
  return out;
}

std::unique_ptr<store::ChangeStream> NewKeyspaceChangeStream(
    const RedisEndpoint& seed, std::vector<const spec::EntitySpec*> entities,
    const KeyspaceStreamOptions& options) {
  return std::make_unique<KeyspaceChangeStream>(seed, std::move(entities), options);
}

std::unique_ptr<store::ChangeStream> NewKeyspaceChangeStream(const RedisEndpoint& seed,
                                                             const spec::EntitySpec& entity) {
  return NewKeyspaceChangeStream(seed, {&entity}, {});
}

}  // namespace cutover::redis_store
