// Dispatch from the spec's source type to the adapter that reads it.
#include "stores/registry.h"

#include <algorithm>

#include "stores/duckdb/duckdb_store.h"
#include "stores/duckdb/parquet_archive.h"
#include "stores/iotdb/iotdb_store.h"
#include "stores/json/json_file_committer.h"
#include "stores/json/json_store.h"
#include "stores/postgres/pg_table_store.h"
#include "stores/redis/redis_audit_scan.h"
#include "stores/redis/redis_change_stream.h"
#include "stores/redis/redis_endpoint.h"
#include "stores/redis/redis_store.h"
#include "stores/redis/redis_writer.h"

namespace cutover::stores {

const std::vector<std::string>& KnownStoreTypes() {
  static const std::vector<std::string> kTypes = {"csv", "iotdb", "json", "parquet", "redis"};
  return kTypes;
}

Result<std::unique_ptr<store::Store>> OpenStore(const spec::SourceSpec& source,
                                                const std::string& path_or_glob,
                                                const StoreOptions& options) {
  if (source.type == "json") {
    return json_store::OpenJsonStore(
        source, path_or_glob, {.key_field = options.key_field, .versioned = options.versioned});
  }
  if (source.type == "parquet" || source.type == "csv") {
    duckdb_store::ChunkedSourceOptions chunking;
    if (options.chunk_rows > 0) {
      chunking.csv_chunk_rows = chunking.parquet_chunk_rows = options.chunk_rows;
    }
    chunking.threads = options.threads;
    return duckdb_store::OpenDuckDbStore(source, path_or_glob, chunking, options.key_columns,
                                         options.versioned);
  }
  if (source.type == "redis") {
    if (options.entity == nullptr) {
      return InvalidArgument("source '" + source.name +
                             "': a redis store is opened for an entity (its key pattern)");
    }
    redis_store::RedisStoreOptions redis;
    redis.shared = std::dynamic_pointer_cast<redis_store::SharedScan>(options.pass);
    return redis_store::OpenRedisStore(source, *options.entity, redis);
  }
  if (source.type == "iotdb") {
    if (options.entity == nullptr) {
      return InvalidArgument("source '" + source.name +
                             "': an iotdb store is opened for an entity (its series pattern)");
    }
    return iotdb_store::OpenIotdbStore(source, *options.entity);
  }
  std::string known;
  for (const auto& type : KnownStoreTypes()) known += (known.empty() ? "" : ", ") + type;
  return InvalidArgument("source '" + source.name + "': unknown store type '" + source.type +
                         "'; known types: " + known);
}

std::shared_ptr<store::SharedPass> OpenSharedPass(
    const spec::SourceSpec& source, const std::vector<const spec::EntitySpec*>& entities,
    int64_t batch_size) {
  if (source.type != "redis" || entities.size() < 2) return nullptr;
  for (const spec::EntitySpec* e : entities) {
    if (!e->redis) return nullptr;
  }
  redis_store::SharedScan::Limits limits;
  // As a scan of its own would: a small --batch-size stays small.
  limits.count = std::min(limits.count, std::max<int64_t>(1, batch_size));
  return std::make_shared<redis_store::SharedScan>(entities, limits);
}

Result<std::unique_ptr<store::Writer>> OpenRecordWriter(const spec::SourceSpec& source,
                                                        const spec::EntitySpec& entity) {
  if (source.type != "redis" || !entity.redis) {
    return FailedPrecondition("entity '" + entity.name + "': the gateway writes " + source.type +
                              " sources not yet; redis sources only");
  }
  ASSIGN_OR_RETURN(const redis_store::RedisEndpoint endpoint, redis_store::SourceEndpoint(source));
  return redis_store::NewRedisWriter(endpoint, entity);
}

std::vector<FileWriteCounts> LegacyFileWrites() {
  std::vector<FileWriteCounts> out;
  for (const auto& c : json_store::JsonFileCommitter::AllCounts()) {
    out.push_back({c.path, c.replaces, c.changes});
  }
  for (const auto& c : duckdb_store::ArchiveWriteCounts()) {
    out.push_back({c.dir, c.files, c.records});
  }
  return out;
}

Status PingSource(const spec::SourceSpec& source) {
  if (source.type == "redis") {
    ASSIGN_OR_RETURN(const redis_store::RedisEndpoint endpoint,
                     redis_store::SourceEndpoint(source));
    return redis_store::PingRedis(endpoint);
  }
  if (source.type == "iotdb") return iotdb_store::PingIotdb(source);
  ASSIGN_OR_RETURN(auto store, OpenStore(source, source.path));
  return store->Ping();
}

Result<std::unique_ptr<store::ChangeStream>> OpenSourceChanges(
    const spec::SourceSpec& source, const std::vector<const spec::EntitySpec*>& entities,
    bool configure) {
  if (source.type != "redis") {
    return FailedPrecondition("source '" + source.name + "' (" + source.type +
                              ") has no change stream; only redis sources do yet");
  }
  ASSIGN_OR_RETURN(redis_store::RedisEndpoint endpoint, redis_store::SourceEndpoint(source));
  redis_store::KeyspaceStreamOptions options;
  options.configure = configure;
  return redis_store::NewKeyspaceChangeStream(endpoint, entities, options);
}

Status ScanSourceKeyspace(const spec::SourceSpec& source, const store::KeyspaceScanOptions& options,
                          store::KeyspaceVisitor& visitor) {
  if (source.type != "redis") {
    return InvalidArgument("source '" + source.name + "' (" + source.type +
                           ") is not a key-value store; only redis sources are audited");
  }
  ASSIGN_OR_RETURN(const redis_store::RedisEndpoint endpoint, redis_store::SourceEndpoint(source));
  return redis_store::ScanRedisKeyspace(endpoint, options, visitor);
}

Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const pg_store::TableShape& shape) {
  return pg_store::OpenTableStore(url, shape);
}

}  // namespace cutover::stores
