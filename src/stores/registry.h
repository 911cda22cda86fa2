// The one place that knows which adapter reads which kind of store: engine
// and server ask here by the spec's source type and never include an adapter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/keyspace_scan.h"
#include "store/shared_pass.h"
#include "store/store.h"
#include "stores/postgres/table_shape.h"

namespace cutover::stores {

// What a store needs besides its spec.
struct StoreOptions {
  // Rows per partition of a Parquet or CSV store (consecutive row groups are
  // joined up to it; a CSV file is cut in ranges of it); 0: the store's
  // defaults (stores/duckdb/chunked_source.h).
  int64_t chunk_rows = 0;
  // DuckDB threads shared by a Parquet or CSV store's readers; 0: every
  // core. Default 1: parallel workers already use the cores.
  int threads = 1;
  // The dotted path of a record's key inside a JSON record, for the writer
  // of an array or lines file (the entity's key column's `from`).
  std::string key_field;
  // A JSON file whose records are addressed by key (an entity of one file
  // and one key column), or a Parquet archive: its reads carry versions
  // (stores/json/json_store.h, stores/duckdb/duckdb_store.h).
  bool versioned = false;
  // The source columns of an entity's key, for a Parquet folder the gateway
  // appends to (stores/duckdb/parquet_archive.h); empty: not one.
  std::vector<std::string> key_columns = {};
  // The entity whose keys a Redis store holds (its key pattern and value
  // kind); required for a redis source, ignored by the others.
  const spec::EntitySpec* entity = nullptr;
  // A pass this entity reads beside others of its source (OpenSharedPass),
  // or null.
  std::shared_ptr<store::SharedPass> pass = nullptr;
};

// The source types OpenStore knows, sorted ("csv", "json", "parquet").
const std::vector<std::string>& KnownStoreTypes();

// The store of `source` over `path_or_glob` (the source's path, or an
// entity's file under it): a file, a directory or a glob. Cheap: nothing is
// read until a part of the store is used, so opening a store to Ping it
// costs a few system calls. InvalidArgument naming the known types for a
// type no adapter reads.
Result<std::unique_ptr<store::Store>> OpenStore(const spec::SourceSpec& source,
                                                const std::string& path_or_glob,
                                                const StoreOptions& options = {});

// One read of `source` that `entities` (two or more, starting together)
// take their records from, given to each one's OpenStore as options.pass
// (store/shared_pass.h), in steps of at most `batch_size` records; null
// when the source's type reads each entity apart anyway (every type but
// redis).
std::shared_ptr<store::SharedPass> OpenSharedPass(
    const spec::SourceSpec& source, const std::vector<const spec::EntitySpec*>& entities,
    int64_t batch_size);

// Whether `source` can be reached now (Store::Ping of its store, without an
// entity): a file source's path, a Redis source's server.
Status PingSource(const spec::SourceSpec& source);

// The change stream of a Redis source for all of `entities` (its entities
// the command handles): one subscription per master, whatever the number of
// entities, so that one fault is one gap. `configure` lets it set
// notify-keyspace-events where the flags it needs are missing.
Result<std::unique_ptr<store::ChangeStream>> OpenSourceChanges(
    const spec::SourceSpec& source, const std::vector<const spec::EntitySpec*>& entities,
    bool configure);

// Scans every key of a redis source once, for `cutover audit` (every master
// of a cluster; stores/redis/redis_audit_scan.h says what each page holds).
// InvalidArgument for a source of another type or a url that does not parse;
// kUnavailable when the server cannot be reached. Never prints the password.
Status ScanSourceKeyspace(const spec::SourceSpec& source, const store::KeyspaceScanOptions& options,
                          store::KeyspaceVisitor& visitor);

// A writer of `entity`'s records into its legacy store `source`, whatever the
// spec says of write-back (the gateway writes the records clients send, not
// rows mapped back): Redis only yet; FailedPrecondition for other stores.
// Per legacy file this process writes by group commit (a JSON file of the
// gateway): the replaces done and the writes they carried; per Parquet
// archive (a directory), the files written and the writes they carried.
struct FileWriteCounts {
  std::string path;
  int64_t replaces = 0;
  int64_t writes = 0;
};
std::vector<FileWriteCounts> LegacyFileWrites();

Result<std::unique_ptr<store::Writer>> OpenRecordWriter(const spec::SourceSpec& source,
                                                        const spec::EntitySpec& entity);

// The PostgreSQL table `shape` names, in the database at `url`, as a store
// (pg_table_store.h): the source of a rollback, the target of a writer.
Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const pg_store::TableShape& shape);

}  // namespace cutover::stores
