// Keyspace notifications as dirty-key hints, with gap detection per master.
#include "stores/redis/redis_change_stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
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

// The `nth` sentinel key whose slot `node` serves, so that each master
// holds its own (a later one when an earlier one's slot is being migrated).
std::string SentinelKey(const RedisNode& node, int nth = 0) {
  for (int i = 0;; ++i) {
    std::string key = "cutover:sentinel:{" + std::to_string(i) + "}";
    if (node.slots.empty() || node.Serves(KeySlot(key))) {
      if (nth-- == 0) return key;
    }
  }
}

// A MOVED or ASK error reply: the key's slot is (being) served elsewhere.
bool IsRedirect(const redisReply* r) {
  if (r->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text = ReplyText(r);
  return text.starts_with("MOVED ") || text.starts_with("ASK ");
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
          // A repair may re-discover the masters and rebuild nodes_, so
          // this pass over them ends here (a repair that succeeds is a gap).
          RETURN_IF_ERROR(Repair());
          break;
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

  // The masters now: asked of the seed, else (the seed down) of the
  // masters last watched.
  Result<RedisTopology> Discover() {
    std::vector<RedisNode> known;
    for (const NodeWatch& w : nodes_) known.push_back(w.node);
    return DiscoverTopology(seed_, known);
  }

  // Subscribes to every master of `topology` (discovered now when null).
  // Nothing changes unless every master was baselined: a failure leaves the
  // stream as it was, to be connected again.
  Status Connect(std::optional<RedisTopology> topology = std::nullopt) {
    if (!topology) {
      ASSIGN_OR_RETURN(topology, Discover());
    }
    const std::string slots = DescribeSlots(*topology);
    std::vector<NodeWatch> nodes;
    for (RedisNode& node : topology->masters) {
      NodeWatch w;
      w.node = std::move(node);
      RETURN_IF_ERROR(Baseline(w));
      nodes.push_back(std::move(w));
    }
    slots_ = slots;
    nodes_ = std::move(nodes);
    session_ = RandomToken();
    next_check_ = Clock::now() + options_.check_interval;
    return Status::Ok();
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
    // A sentinel whose slot is being migrated away is refused (ASK), or
    // served elsewhere already (MOVED): the next key the node serves, then.
    for (int nth = 0;; ++nth) {
      w.sentinel_key = SentinelKey(w.node, nth);
      w.ctl->Append({"SET", w.sentinel_key, w.sentinel_token});
      ASSIGN_OR_RETURN(Reply set, w.ctl->Read());
      if (IsRedirect(set.get()) && nth >= 64) {
        // A replica now (a failover the seed has yet to hear of), or its
        // slots all gone: wait for the masters of now to be discovered.
        return Unavailable("redis " + w.ctl->where() + ": serves none of its slots any more");
      }
      if (!IsRedirect(set.get())) {
        if (set->type == REDIS_REPLY_ERROR && ReplyText(set.get()).starts_with("CLUSTERDOWN")) {
          return Unavailable("redis " + w.ctl->where() + ": " + std::string(ReplyText(set.get())));
        }
        if (set->type == REDIS_REPLY_ERROR) {
          return FailedPrecondition("redis " + w.ctl->where() + ": SET of the sentinel key: " +
                                    std::string(ReplyText(set.get())));
        }
        break;
      }
    }
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
    } else if (IsRedirect(sentinel)) {
      w.broken = "the sentinel key's slots moved to another node (a slot migration)";
    } else if (sentinel->type != REDIS_REPLY_STRING || ReplyText(sentinel) != w.sentinel_token) {
      w.broken =
          "the sentinel key vanished (FLUSHDB, FLUSHALL or SWAPDB, which send no notification)";
    }
  }

  bool Clustered() const { return !nodes_.empty() && !nodes_.front().node.slots.empty(); }

  Status CheckTopology() {
    if (!Clustered()) return Status::Ok();
    Result<RedisTopology> t = Discover();
    if (!t.ok()) return Status::Ok();  // a node down shows as a broken connection
    if (DescribeSlots(*t) == slots_) return Status::Ok();
    topology_changed_ = true;
    return Status::Ok();
  }

  // Re-baselines every broken node (and all of them when the cluster's
  // slots moved); returns kDataLoss naming the gap once that succeeded.
  // In a cluster, a broken node first has the masters discovered again: a
  // failover both changes the old master's replication id (or breaks its
  // connections) and moves its slots to the promoted replica, and the old
  // master, a replica now, can no longer be baselined. Whichever check saw
  // it first, it is one gap, reported once every master of now is
  // subscribed. (Were the seed to learn of the failover only after the
  // node's own check, it would show as two gaps: a broken node and, later,
  // changed slots.)
  Status Repair() {
    std::string reasons;
    for (const NodeWatch& w : nodes_) {
      if (!w.broken.empty()) {
        reasons += (reasons.empty() ? "" : "; ") + w.node.endpoint.Describe() + ": " + w.broken;
      }
    }
    std::optional<RedisTopology> now;
    if (!topology_changed_ && !reasons.empty() && Clustered()) {
      Result<RedisTopology> t = Discover();
      if (t.ok() && DescribeSlots(*t) != slots_) {
        topology_changed_ = true;
        now = std::move(*t);
      }
    }
    if (topology_changed_) {
      Status st = Connect(std::move(now));
      if (!st.ok()) {
        if (st.code() != StatusCode::kUnavailable) return st;
        return Unavailable("redis " + seed_.Describe() +
                           ": the cluster's masters or slots changed; subscribing to the new "
                           "masters: " +
                           st.message());
      }
      topology_changed_ = false;
      return DataLoss("redis " + seed_.Describe() + ": the cluster's masters or slots changed" +
                      (reasons.empty() ? "" : " (" + reasons + ")"));
    }
    reasons.clear();
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
