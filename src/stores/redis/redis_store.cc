// RedisStore: a partition per master, scanned by SCAN MATCH <glob> or shared (shared_scan.h);
// every key read with its type and absolute expiry and handed out as a document.
#include "stores/redis/redis_store.h"

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <charconv>
#include <chrono>
#include <map>
#include <mutex>

#include "common/utf8.h"
#include "stores/redis/redis_change_stream.h"
#include "stores/redis/redis_connection.h"
#include "stores/redis/redis_document.h"
#include "stores/redis/redis_topology.h"
#include "stores/redis/redis_value.h"
#include "stores/redis/redis_writer.h"
#include "stores/redis/written_value.h"

namespace cutover::redis_store {
namespace {

// The cursor: "run=<run_id> scan=<SCAN cursor> read=<keys so far>". A SCAN
// cursor is a position in one server process's hash table, whose hashing is
// seeded per process, so it is only good for the run id it came from.
struct ScanPosition {
  std::string run_id;
  std::string scan = "0";
  bool done = false;
  int64_t read = 0;
};

std::string Encode(const ScanPosition& p) {
  return "run=" + p.run_id + " scan=" + (p.done ? std::string("done") : p.scan) +
         " read=" + std::to_string(p.read);
}

Result<ScanPosition> Decode(const store::Cursor& cursor, const std::string& where) {
  ScanPosition p;
  if (cursor.AtStart()) return p;
  const std::string& t = cursor.token;
  const size_t scan = t.find(" scan=");
  const size_t read = t.find(" read=");
  if (!t.starts_with("run=") || scan == std::string::npos || read == std::string::npos ||
      read < scan) {
    return InvalidArgument(where + ": '" + t + "' is not a Redis scan cursor");
  }
  p.run_id = t.substr(4, scan - 4);
  p.scan = t.substr(scan + 6, read - scan - 6);
  p.done = p.scan == "done";
  const std::string n = t.substr(read + 6);
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), p.read);
  if (ec != std::errc() || end != n.data() + n.size()) {
    return InvalidArgument(where + ": '" + t + "' is not a Redis scan cursor");
  }
  return p;
}

// What every part of one store shares: the entity, the endpoints, and how
// to read values.
struct RedisContext {
  const spec::EntitySpec* entity = nullptr;
  RedisEndpoint seed;
  RedisStoreOptions options;
  std::string glob;

  std::mutex mu;
  std::optional<RedisTopology> topology;  // guarded by mu
  bool topology_stale = false;            // guarded by mu
  std::optional<ReadOptions> read;        // guarded by mu

  // The masters as last discovered; discovered again (on the seed, else on
  // the masters known) once TopologyChanged() said they may have moved.
  Result<RedisTopology> Topology() {
    std::lock_guard<std::mutex> lock(mu);
    if (!topology || topology_stale) {
      ASSIGN_OR_RETURN(
          RedisTopology t,
          DiscoverTopology(seed, topology ? topology->masters : std::vector<RedisNode>()));
      topology = std::move(t);
      topology_stale = false;
    }
    return *topology;
  }

  // A MOVED, or a node that could not be reached: a failover or a slot
  // migration happened, and keys read by the cached slot map would all
  // take a redirect (or fail) until it is discovered again.
  void TopologyChanged() {
    std::lock_guard<std::mutex> lock(mu);
    topology_stale = true;
  }

  Result<ReadOptions> Reading(RedisConnection& conn) {
    std::lock_guard<std::mutex> lock(mu);
    if (!read) {
      ASSIGN_OR_RETURN(std::string version, ServerVersion(conn));
      ReadOptions r;
      r.has_pexpiretime = std::atoi(version.c_str()) >= 7;
      r.expected_type = spec::RedisTypeName(entity->redis->value);
      read = r;
    }
    return *read;
  }

  std::string Origin(const RedisNode& node) const {
    return "redis " + node.endpoint.Describe() + " keys " + entity->redis->pattern.text();
  }
};

// Reads the keys a cluster node redirected elsewhere on the node named.
// A slot being migrated (ASK) is read there with ASKING before each command.
// A MOVED marks the context's topology out of date.
Status FollowRedirects(RedisContext& ctx, std::vector<RedisValue>& values,
                       std::map<std::string, std::unique_ptr<RedisConnection>>& others) {
  for (int hop = 0; hop < 5; ++hop) {
    bool any = false;
    for (RedisValue& v : values) {
      if (v.redirect.empty()) continue;
      any = true;
      if (!v.ask) ctx.TopologyChanged();
      const std::string address = v.redirect;
      auto& conn = others[address];
      if (conn == nullptr) {
        RedisEndpoint e = ctx.seed;
        const size_t colon = address.rfind(':');
        e.host = address.substr(0, colon);
        e.port = std::atoi(address.c_str() + colon + 1);
        Result<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(e);
        if (!c.ok()) {
          others.erase(address);
          return c.status();
        }
        conn = std::move(*c);
      }
      ASSIGN_OR_RETURN(ReadOptions read, ctx.Reading(*conn));
      read.asking = v.ask;
      Result<std::vector<RedisValue>> one = ReadValues(*conn, {v.key}, read);
      if (!one.ok()) {
        others.erase(address);  // reconnect next time
        return one.status();
      }
      v = std::move((*one)[0]);
    }
    if (!any) return Status::Ok();
  }
  return Unavailable("redis " + ctx.seed.Describe() + ": keys still redirected after 5 hops");
}

// A key's record_index: a 63-bit hash of the key, not its ordinal in the
// scan. Rejects are keyed by record_index, and SCAN order is no position: a
// scan that starts over (the server restarted) meets the keys in another
// order, and sync reads keys a few at a time. By ordinal, a key rejected
// twice was listed twice, and another key's reject at the same ordinal
// replaced it.
int64_t KeyIndex(std::string_view key) {
  return static_cast<int64_t>(XXH3_64bits(key.data(), key.size()) >> 1);
}

void AppendRecords(RedisContext& ctx, const std::vector<RedisValue>& values, int64_t* ordinal,
                   store::StoreBatch* out) {
  std::string doc;
  for (const RedisValue& v : values) {
    if (!v.exists()) continue;  // deleted since SCAN returned it
    doc.clear();
    AppendDocument(*ctx.entity, v, &doc);
    out->rows.columns[0].AppendBytes(doc);
    out->rows.columns[1].AppendBytes(EscapeInvalidUtf8(v.key));
    out->versions.push_back(v.version);
    out->source_keys.push_back(v.key);
    store::RecordPosition pos;
    pos.byte_offset = -1;
    pos.line = -1;
    pos.record_index = KeyIndex(v.key);
    ++*ordinal;
    out->positions.push_back(pos);
  }
}

class ScanBatchReader : public store::BatchReader {
 public:
  ScanBatchReader(std::shared_ptr<RedisContext> ctx, RedisNode node,
                  std::unique_ptr<RedisConnection> conn, ScanPosition at, ReadOptions read,
                  std::unique_ptr<SharedScan::Member> shared)
      : ctx_(std::move(ctx)),
        node_(std::move(node)),
        conn_(std::move(conn)),
        at_(std::move(at)),
        read_(read),
        shared_(std::move(shared)) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    out->origin = ctx_->Origin(node_);
    if (at_.done) {
      out->end.token = Encode(at_);
      return false;
    }
    // SCAN's COUNT is a hint, but asking for no more than the batch keeps a
    // small --batch-size small.
    const std::string count = std::to_string(
        std::min<int64_t>(ctx_->options.scan_count, static_cast<int64_t>(max_records)));
    std::vector<std::string> keys;
    // A batch ends on a SCAN page boundary: a cursor cannot point inside a
    // page, so a batch may exceed max_records by less than one page.
    while (!at_.done && keys.size() < max_records) {
      if (shared_ != nullptr) {
        ASSIGN_OR_RETURN(std::optional<ScanPage> page, shared_->Next(*conn_));
        if (!page) {
          shared_.reset();  // on alone, from the same cursor
          continue;
        }
        for (std::string& key : page->keys) keys.push_back(std::move(key));
        at_.scan = std::move(page->cursor_after);
        at_.done = at_.scan == "0";
        if (at_.done) shared_.reset();
        continue;
      }
      ASSIGN_OR_RETURN(Reply page,
                       conn_->Run({"SCAN", at_.scan, "MATCH", ctx_->glob, "COUNT", count}));
      if (page->type != REDIS_REPLY_ARRAY || page->elements != 2) {
        return Internal("redis " + conn_->where() + ": SCAN answered an unexpected reply");
      }
      at_.scan = std::string(ReplyText(page->element[0]));
      at_.done = at_.scan == "0";
      const redisReply* found = page->element[1];
      for (size_t i = 0; i < found->elements; ++i) keys.emplace_back(ReplyText(found->element[i]));
    }
    int64_t floor = 0;
    ASSIGN_OR_RETURN(std::vector<RedisValue> values, ReadValues(*conn_, keys, read_, &floor));
    out->versions_floor = floor;
    RETURN_IF_ERROR(FollowRedirects(*ctx_, values, others_));
    AppendRecords(*ctx_, values, &at_.read, out);
    out->end.token = Encode(at_);
    return true;
  }

 private:
  std::shared_ptr<RedisContext> ctx_;
  RedisNode node_;
  std::unique_ptr<RedisConnection> conn_;
  ScanPosition at_;
  ReadOptions read_;
  std::map<std::string, std::unique_ptr<RedisConnection>> others_;
  std::unique_ptr<SharedScan::Member> shared_;  // null: SCAN MATCH of its own
};

class RedisSnapshotReader : public store::SnapshotReader {
 public:
  explicit RedisSnapshotReader(std::shared_ptr<RedisContext> ctx) : ctx_(std::move(ctx)) {}

  store::RecordShape shape() const override { return store::RecordShape::kDocuments; }
  bool versioned() const override { return true; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    return std::vector<store::ColumnDescription>{{"$doc", ValueType::kJsonb},
                                                 {"$key", ValueType::kText}};
  }

  // Each plan discovers the masters anew (a reconciliation after a slot
  // move must scan the masters of now), and Open finds partitions in the
  // masters of the last plan, whatever the key reader rediscovered since.
  Result<std::vector<store::Partition>> Plan() override {
    ctx_->TopologyChanged();
    ASSIGN_OR_RETURN(RedisTopology topology, ctx_->Topology());
    {
      std::lock_guard<std::mutex> lock(mu_);
      planned_ = topology;
    }
    std::vector<store::Partition> partitions;
    for (const RedisNode& node : topology.masters) {
      partitions.push_back({node.PartitionId(), ctx_->Origin(node), -1, -1});
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    std::optional<RedisTopology> planned;
    {
      std::lock_guard<std::mutex> lock(mu_);
      planned = planned_;
    }
    if (!planned) {
      ASSIGN_OR_RETURN(planned, ctx_->Topology());
    }
    const RedisTopology& topology = *planned;
    const RedisNode* node = nullptr;
    for (const RedisNode& n : topology.masters) {
      if (n.PartitionId() == partition.id) node = &n;
    }
    if (node == nullptr) {
      return InvalidArgument("redis " + ctx_->seed.Describe() + ": no master serves partition '" +
                             partition.id + "' any more (the cluster's slots moved)");
    }
    ASSIGN_OR_RETURN(ScanPosition at, Decode(from, ctx_->Origin(*node)));
    ASSIGN_OR_RETURN(auto conn, RedisConnection::Connect(node->endpoint));
    ASSIGN_OR_RETURN(Reply info, conn->Run({"INFO", "server"}));
    const std::string run_id = InfoField(ReplyText(info.get()), "run_id");
    if (!at.run_id.empty() && at.run_id != run_id) {
      // The server restarted since: its SCAN cursor means nothing now. Keys
      // read before are read again, which keyed writes make harmless.
      spdlog::warn(
          "{}: the server restarted since the last run (run id changed); its scan "
          "starts over",
          ctx_->Origin(*node));
      at = ScanPosition();
    }
    at.run_id = run_id;
    ASSIGN_OR_RETURN(ReadOptions read, ctx_->Reading(*conn));
    std::unique_ptr<SharedScan::Member> shared;
    if (ctx_->options.shared != nullptr && !at.done) {
      shared = ctx_->options.shared->Join(ctx_->entity->name, partition.id, run_id, at.scan);
    }
    return std::unique_ptr<store::BatchReader>(
        new ScanBatchReader(ctx_, *node, std::move(conn), std::move(at), read, std::move(shared)));
  }

 private:
  std::shared_ptr<RedisContext> ctx_;
  std::mutex mu_;
  std::optional<RedisTopology> planned_;  // guarded by mu_
};

// Reads keys by name on the masters that serve them (sync's dirty keys).
class RedisKeyReader : public store::KeyReader {
 public:
  explicit RedisKeyReader(std::shared_ptr<RedisContext> ctx) : ctx_(std::move(ctx)) {}

  Status Read(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    ASSIGN_OR_RETURN(RedisTopology topology, ctx_->Topology());
    std::map<std::string, std::vector<std::string>> by_node;
    int64_t ordinal = 0;  // unique across nodes: a reject is found by it
    for (const store::RecordKey& k : keys) {
      if (k.empty()) continue;
      const RedisNode* node = topology.NodeFor(k[0]);
      if (node == nullptr) {
        return Unavailable("redis " + ctx_->seed.Describe() +
                           ": no master serves the slot of a key");
      }
      by_node[node->endpoint.host + ":" + std::to_string(node->endpoint.port)].push_back(k[0]);
    }
    for (auto& [address, node_keys] : by_node) {
      auto& conn = connections_[address];
      if (conn == nullptr) {
        const RedisNode* node = topology.NodeFor(node_keys[0]);
        Result<std::unique_ptr<RedisConnection>> c = RedisConnection::Connect(node->endpoint);
        if (!c.ok()) {
          connections_.erase(address);
          ctx_->TopologyChanged();  // the node may be down and replaced
          return c.status();
        }
        conn = std::move(*c);
      }
      ASSIGN_OR_RETURN(ReadOptions read, ctx_->Reading(*conn));
      int64_t floor = 0;
      Result<std::vector<RedisValue>> values = ReadValues(*conn, node_keys, read, &floor);
      if (values.ok() && (out->versions_floor < 0 || floor < out->versions_floor)) {
        out->versions_floor = floor;
      }
      if (!values.ok()) {
        connections_.erase(address);  // reconnect next time
        ctx_->TopologyChanged();
        return values.status();
      }
      RETURN_IF_ERROR(FollowRedirects(*ctx_, *values, connections_));
      AppendRecords(*ctx_, *values, &ordinal, out);
    }
    return Status::Ok();
  }

  Status KeyRecords(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    std::string doc;
    int64_t ordinal = 0;
    for (const store::RecordKey& k : keys) {
      if (k.empty()) continue;
      doc.clear();
      AppendKeyDocument(*ctx_->entity, k[0], &doc);
      out->rows.columns[0].AppendBytes(doc);
      out->rows.columns[1].AppendBytes(EscapeInvalidUtf8(k[0]));
      out->positions.push_back({-1, -1, ordinal++});
      out->source_keys.push_back(k[0]);
    }
    return Status::Ok();
  }

  Status WrittenRecords(const std::vector<store::RecordKey>& keys,
                        const std::vector<std::string>& documents, int64_t version,
                        store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    if (keys.size() != documents.size()) {
      return InvalidArgument("WrittenRecords: one document per key");
    }
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<RedisValue> values;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].size() != 1) return InvalidArgument("a Redis key has one part");
      ASSIGN_OR_RETURN(RedisValue v,
                       WrittenValue(*ctx_->entity, keys[i][0], documents[i], now_ms, &parser_));
      v.version = version;
      values.push_back(std::move(v));
    }
    int64_t ordinal = 0;
    AppendRecords(*ctx_, values, &ordinal, out);
    return Status::Ok();
  }

 private:
  simdjson::dom::parser parser_;
  std::shared_ptr<RedisContext> ctx_;
  std::map<std::string, std::unique_ptr<RedisConnection>> connections_;
};

class RedisStore : public store::Store {
 public:
  explicit RedisStore(std::shared_ptr<RedisContext> ctx) : ctx_(ctx), snapshot_(ctx), keys_(ctx) {}

  store::SnapshotReader& snapshot() override { return snapshot_; }
  store::KeyReader* key_reader() override { return &keys_; }
  // Only for entities that declare write_back: true (spec::InvertibilityProblem).
  store::Writer* writer() override {
    if (!ctx_->entity->write_back) return nullptr;
    if (writer_ == nullptr) writer_ = NewRedisWriter(ctx_->seed, *ctx_->entity);
    return writer_.get();
  }
  store::ChangeStream* changes() override {
    if (changes_ == nullptr) {
      changes_ = NewKeyspaceChangeStream(ctx_->seed, *ctx_->entity);
    }
    return changes_.get();
  }

  Status Ping() override { return PingRedis(ctx_->seed); }

 private:
  std::shared_ptr<RedisContext> ctx_;
  RedisSnapshotReader snapshot_;
  RedisKeyReader keys_;
  std::unique_ptr<store::ChangeStream> changes_;
  std::unique_ptr<store::Writer> writer_;
};

}  // namespace

Result<RedisEndpoint> SourceEndpoint(const spec::SourceSpec& source) {
  auto endpoint = ParseRedisUrl(source.url);
  if (!endpoint.ok()) {
    return InvalidArgument(source.where.ToString() + ": source '" + source.name +
                           "': " + endpoint.status().message());
  }
  endpoint->tls_options = {.ca_file = source.tls.ca_file,
                           .cert_file = source.tls.cert_file,
                           .key_file = source.tls.key_file,
                           .server_name = source.tls.server_name};
  return endpoint;
}

Status PingRedis(const RedisEndpoint& endpoint) {
  ASSIGN_OR_RETURN(auto conn, RedisConnection::Connect(endpoint, std::chrono::milliseconds(3000)));
  return conn->Run({"PING"}).status();
}

Result<std::unique_ptr<store::Store>> OpenRedisStore(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity,
                                                     const RedisStoreOptions& options) {
  if (!entity.redis) {
    return InvalidArgument(entity.where.ToString() + ": entity '" + entity.name +
                           "' of redis source '" + source.name + "' names no key pattern");
  }
  auto ctx = std::make_shared<RedisContext>();
  ctx->entity = &entity;
  ASSIGN_OR_RETURN(ctx->seed, SourceEndpoint(source));
  ctx->options = options;
  ctx->glob = entity.redis->pattern.Glob();
  return std::unique_ptr<store::Store>(new RedisStore(std::move(ctx)));
}

}  // namespace cutover::redis_store
