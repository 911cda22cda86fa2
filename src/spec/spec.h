// The migration spec: what a user declares in cutover.yaml, after ${VAR}
// expansion and validation. Plain data; LoadSpec in spec_loader.h builds it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/time_zone.h"
#include "common/value_type.h"
#include "spec/key_pattern.h"
#include "spec/series_pattern.h"

namespace cutover::spec {

// Where a value came from in the spec file, for error messages (1-based).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "file:line:column"
};

// How a timestamptz column's source values are written.
enum class TimeFormat { kIso8601, kEpochSeconds, kEpochMillis };

struct ColumnSpec {
  std::string name;  // target column
  // Dotted path into the source record ("profile.email"); "$key" is the key
  // of an object-keyed JSON file; defaults to `name`.
  std::string from;
  ValueType type = ValueType::kText;
  bool required = false;
  // Literal used when the source value is absent or null; converted with the
  // same rules as source values.
  std::optional<std::string> default_value;
  TimeFormat time_format = TimeFormat::kIso8601;
  // timestamptz: the zone whose wall clock a value without a UTC offset shows
  // (spec `timezone:` on the column, else on its source). Null: none named,
  // and such values are rejected rather than read as UTC.
  std::shared_ptr<const TimeZone> timezone;

  // type: geometry. A point from two source columns, or a geometry from a
  // WKT or WKB column; stored as PostGIS geometry with the SRID.
  struct Geometry {
    std::string lon;  // with lat: a point
    std::string lat;
    std::string wkt;  // or: a WKT text column
    std::string wkb;  // or: a WKB binary/hex column
    int srid = 4326;
    // Whether the spec wrote `srid`. When not, a GeoParquet file's CRS gives
    // the SRID (engine/geometry_crs.h); when it did, the file must agree.
    bool srid_given = false;
  };
  std::optional<Geometry> geometry;

  // The source value is a name in a dimension entity (lookup.entity); the
  // stored value is that dimension row's `returns` column. A name not there
  // yet creates the dimension row, once, even under parallel workers.
  struct Lookup {
    std::string entity;
    std::string match;           // dimension column holding the name
    std::string returns = "id";  // dimension column stored here
  };
  std::optional<Lookup> lookup;
  // `references: users.id`: every non-NULL value names a row of that entity;
  // verify counts and names the rows whose parent is missing (orphans).
  struct Reference {
    std::string entity;
    std::string column;
  };
  std::optional<Reference> references;
  Location where;
};

// Rows with equal `key` are duplicates; the one with the greatest
// `keep_last_by` values is kept (ties: the later row in the source).
struct DedupSpec {
  std::vector<std::string> key;
  std::vector<std::string> keep_last_by;
  Location where;
};

// An index created after the load (then ANALYZE).
// `partition: { by: <column>, every: 1 month }`: the table is range
// partitioned by a time column, one partition per interval, created ahead of
// the rows that need one (stores/postgres/time_partitions.h), plus a
// default partition for rows of a range that has none.
struct TimePartitionSpec {
  std::string column;
  int months = 0;  // an interval of whole months (a year is 12), or
  int days = 0;    // of whole days (a week is 7); exactly one is > 0
  Location where;
};

// `rollups:` a table of per-bucket aggregates that triggers on the entity's
// table keep exact (catalog/rollup_ddl.h): one row per `by` values and time
// bucket of `every`, holding the row count and each `values` column's count,
// sum, min and max, so that "a day, aggregated per device" reads one row per
// device instead of a day of points.
struct RollupSpec {
  std::string table;                // in the entity's schema
  std::string time_column;          // timestamptz, of the key
  int64_t every_seconds = 0;        // a whole number of minutes, hours, days or weeks
  std::vector<std::string> by;      // key columns
  std::vector<std::string> values;  // integer, bigint, numeric or double precision
  Location where;
};

struct IndexSpec {
  std::string name;  // default: <table>_<columns>_idx
  std::vector<std::string> columns;
  bool unique = false;
  std::string method = "btree";  // btree, gist (geometry), brin, hash, gin
  Location where;
};

// Which keys of a Redis source an entity takes, and how their values read.
// The store turns each key into a document (stores/redis/redis_document.h):
// the captures as members, "$key", "$type", "$ttl_ms", "$expires_at" (ISO
// 8601, absent without a TTL), "$tag", and "$value": the string, the parsed
// JSON, the hash as an object, a set (sorted) or list as an array, a sorted
// set as [{"member", "score"}] in score order. A byte string that is not
// UTF-8 is {"$bytes": "<hex>"}, which only a bytea column takes.
struct RedisKeySpec {
  enum class Value { kString, kCounter, kJson, kHash, kSet, kList, kZset };
  KeyPattern pattern;
  Value value = Value::kString;
  Location where;
};

// Which series of an IoTDB source an entity takes, and how their points
// become records (stores/iotdb/iotdb_document.h): `long`, one record per
// point (a series' value at one time), or `wide`, one per device and time
// with a member per measurement.
struct IotdbSeriesSpec {
  enum class Layout { kLong, kWide };
  SeriesPattern pattern;
  Layout layout = Layout::kLong;
  // The source's timestamp_precision (3 ms, 6 us, 9 ns), copied here so that
  // a row's time turns back into the point's epoch without the source.
  int precision_digits = 3;
  Location where;
};

// The Redis type name a value kind is stored as ("string", "hash", ...).
std::string_view RedisTypeName(RedisKeySpec::Value value);

// Priorities by name, as the runbooks rank data: critical moves first.
// Numbers are accepted too; lower runs first.
inline constexpr std::pair<std::string_view, int> kPriorityNames[] = {
    {"critical", 0}, {"high", 1}, {"medium", 2}, {"low", 3}};
// "critical" for 0, ...; the number as text for any other.
std::string PriorityName(int priority);

struct EntitySpec;
// Why rows of `entity` cannot be turned back into its legacy records (a
// capture no column holds, no TTL column, a computed column), or "" when
// they can. Checked for every entity that declares `write_back: true`.
std::string InvertibilityProblem(const EntitySpec& entity);

// "<where>: entity 'e' does not declare write_back: true, so its rows are
// not turned back into <what> (and could not be: <problem>)": what every
// builder of legacy records says of an entity that did not declare it.
std::string NotWrittenBack(const EntitySpec& entity, std::string_view what);

// The dotted path of a JSON entity's key inside its records, "" for a file
// keyed by member name (`from: $key`); nullopt when its records are not
// addressed by key (no single `file:`, or a key of more than one column):
// then the gateway does not write them, and their reads carry no versions.
// Meaningful for the entities of json sources.
std::optional<std::string> JsonKeyField(const EntitySpec& entity);

// The source columns an entity's key columns read (each column's `from`,
// else its name), in key order.
std::vector<std::string> KeySourceColumns(const EntitySpec& entity);

// The source tag recorded on every row an entity's backfill or sync writes,
// so that `rollback --tag` can remove exactly those rows: a text column
// holding `value`, or a jsonb column holding {"source": value}.
struct TagSpec {
  std::string value;
  std::string column;
  bool jsonb = false;
  Location where;
};

// An entity is one target table fed from one source; children are nested
// arrays inside each source record that become tables of their own.
struct EntitySpec {
  std::string name;
  std::string source;  // key into MigrationSpec::sources (top-level entities)
  std::string file;    // file under the source's path (top-level entities)
  std::string path;    // array path inside the parent record (children)
  std::string schema = "public";
  std::string table;  // defaults to `name`
  std::vector<std::string> key;
  std::vector<ColumnSpec> columns;
  // Child column -> parent column whose value it takes (the foreign key).
  std::vector<std::pair<std::string, std::string>> parent_columns;
  std::vector<EntitySpec> children;
  std::optional<DedupSpec> dedup;
  std::vector<IndexSpec> indexes;
  std::optional<TimePartitionSpec> partition;
  std::vector<RollupSpec> rollups;  // top-level entities only
  int priority = 0;                 // lower runs first
  // Entities of a Redis source: the key pattern and the value's kind.
  std::optional<RedisKeySpec> redis;
  // Entities of an IoTDB source: the series pattern and the record layout.
  std::optional<IotdbSeriesSpec> iotdb;
  std::optional<TagSpec> tag;
  // `write_back: true`: the spec declares the mapping invertible (a row
  // turns back into its key, type, value and TTL), which the loader checks
  // (InvertibilityProblem); writers refuse entities that did not declare it.
  bool write_back = false;
  Location where;

  // Null when no column has that name.
  const ColumnSpec* FindColumn(std::string_view column) const;
};

enum class JsonLayout { kAuto, kArray, kObject, kLines };

// How CSV files are read (sources of type csv).
struct CsvOptions {
  std::string delimiter = ",";
  bool header = true;
  std::string quote = "\"";
  std::string escape = "\"";
  std::string encoding = "utf-8";          // utf-8, utf-16, latin-1
  std::optional<std::string> null_string;  // e.g. "NA"; default: empty field is NULL
};

struct SourceSpec {
  std::string name;
  std::string type;  // "json", "parquet", "csv", "redis" or "iotdb"
  // File, directory or glob ("data/*.parquet"), resolved against the spec's
  // folder. For parquet and csv a directory means every such file under it.
  std::string path;
  JsonLayout layout = JsonLayout::kAuto;
  CsvOptions csv;
  // A Parquet or CSV file of a glob that lacks a column the spec reads (and
  // others have): an error naming the file and the column, or NULLs (then the
  // column's default or `required` applies) when the spec says `null`.
  enum class OnMissingColumn { kError, kNull };
  OnMissingColumn on_missing_column = OnMissingColumn::kError;
  // `timezone:` the wall clock of every timestamp without a UTC offset read
  // from this source, unless a column names its own. Null: none.
  std::shared_ptr<const TimeZone> timezone;
  // type: redis. `url: redis://[user[:password]@]host[:port][/db]`, after
  // ${VAR} expansion (a secret: never printed); url_text as written.
  std::string url;
  std::string url_text;
  // `tls:` of a rediss:// source: PEM files (paths resolved from the spec's
  // folder) and the name the server's certificate must carry. Empty fields:
  // the system's trusted roots, no client certificate, the url's host.
  struct Tls {
    std::string ca_file, cert_file, key_file, server_name;
  };
  Tls tls;
  // type: parquet, `archive:` how the gateway appends to a directory of
  // Parquet files: its writes are buffered and written as one new file once
  // `flush_rows` are waiting or `flush_interval` has passed since the oldest
  // (a write is answered once its file is on disk, so the interval is also
  // the longest a write waits).
  struct Archive {
    int64_t flush_interval_ms = 100;
    int64_t flush_rows = 10000;
  };
  Archive archive;
  // type: iotdb. Its REST service at `url` (http[s]://host:port, IoTDB's
  // rest_service_port), or the export tool's CSV files at `path`.
  struct Iotdb {
    std::string user = "root";
    std::string password;      // after ${VAR} expansion: a secret, never printed
    int precision_digits = 3;  // the server's timestamp_precision: 3 ms, 6 us, 9 ns
    // The server's rest_query_default_row_size_limit: a query asks for one
    // row less, since a result that reaches the limit fails.
    int64_t row_limit = 10000;
    // `cutover sync` polls each device every `poll_ms` for the points after
    // its newest time seen minus `lateness_ms`: points written late by up
    // to that much (a device that was offline) are still caught.
    int64_t poll_ms = 1000;
    int64_t lateness_ms = 300'000;
  };
  Iotdb iotdb;
  Location where;
};

struct TargetSpec {
  std::optional<std::string> url;  // absent or empty: only --scratch or rehearse run
  // The url as the spec file spells it, before ${VAR} expansion (safe to
  // quote: the file's own text), so an error can name the variable to set.
  std::string url_text;
  Location where;
};

struct BackfillOptions {
  int64_t batch_size = 10000;
  // Rows per chunk of a Parquet or CSV source, the unit of parallel work and
  // of redo after a crash; 0: the store's default (stores/duckdb/chunked_source.h).
  int64_t chunk_rows = 0;
  int64_t max_rejects = 0;
  std::string reject_file;  // default: <work_dir>/rejects.jsonl
};

struct VerifyOptions {
  double float_tolerance = 0.0;  // relative, 0.001 = 0.1%
};

// Guards on moving a migration forward through its stages (control/guards.h),
// and how often every process re-reads the shared stage. Defaults follow the
// runbooks: 48 hours of shadow reads under 0.1% mismatches before a read
// rollout, 24 hours without a fallback at 100% before PostgreSQL is primary.
// A rehearsal sets windows in seconds.
struct StageOptions {
  // Highest shadow mismatch rate (mismatches / shadow reads) over `window`
  // that still lets reads roll out. Default 0.001. 0 demands no mismatch.
  double shadow_mismatch_rate = 0.001;
  // Fewest shadow reads over `window` for the rate to count as evidence;
  // default 1. Higher is safer, and slower to satisfy on a quiet service.
  int64_t shadow_min_reads = 1;
  // How long shadow must have run, with the rate under its bound, before
  // `rollout`. Default 48h.
  int64_t window_seconds = 48 * 3600;
  // How long rollout must have held 100% with no fallback before `primary`.
  // Default 24h.
  int64_t fallback_window_seconds = 24 * 3600;
  // Whether reads fall back to legacy on a PostgreSQL error in `primary`
  // (always in `rollout`, never in `complete`). Default true.
  bool primary_fallback = true;
  // Share of the gateway's legacy reads in shadow (and rollout, for keys
  // still on legacy) that are also read from PostgreSQL and compared, off
  // the request path. 0..1, default 1 (every read).
  double shadow_sample = 1.0;
  // How long the gateway waits for PostgreSQL on a read before it counts a
  // timeout: the shadow comparison gives up, and a PostgreSQL read falls
  // back to legacy where the stage allows. Default 200ms.
  int64_t read_timeout_ms = 200;
  // How long a move that sends more reads to PostgreSQL waits for every
  // gateway's journal to land the writes acknowledged before it (the
  // gateways_drained guard). Default 30s.
  int64_t drain_timeout_ms = 30000;
  // Periodic re-read of the stage by every watcher, the safety net under
  // LISTEN/NOTIFY (a dropped listener misses notifications). Default 5s; a
  // shorter one costs one small query per process per interval.
  int64_t poll_interval_ms = 5000;
  // A watcher that has not read the stage for this long reports itself not
  // ready. Default 3 poll intervals (15s).
  int64_t stale_after_ms = 15000;
};

// `cutover serve`: where it listens and how it talks to PostgreSQL.
struct ServeOptions {
  // Default 127.0.0.1: exposing the control API beyond the host is a choice.
  std::string listen = "127.0.0.1";
  int port = 8411;  // 0 lets the kernel choose; serve prints the bound port
  // Environment variable holding the bearer token that POST /v1/stage needs.
  // Default CUTOVER_TOKEN; when it is unset or empty, changes over HTTP are
  // refused, so a forgotten token never means an open door.
  std::string token_env = "CUTOVER_TOKEN";
  // Named bearer tokens, `tokens: { ops: OPS_TOKEN, deploy: DEPLOY_TOKEN }`:
  // name -> environment variable, in spec order. The name is who the stage
  // audit records for a request that presents that token. Replaces
  // token_env (giving both is an error); empty means the one token_env
  // token, named "default".
  std::vector<std::pair<std::string, std::string>> tokens;

  // The (name, environment variable) pairs whose tokens are accepted.
  std::vector<std::pair<std::string, std::string>> NamedTokens() const {
    if (!tokens.empty()) return tokens;
    return {{"default", token_env}};
  }
  // Connection pool (server/pg_pool.h): `pool_size` kept open, up to
  // `pool_overflow` more opened under load and closed when returned, and a
  // request waits `pool_wait_timeout_ms` for one before failing. Defaults 5,
  // 10, 30s as in the traffic runbook's SQLAlchemy pool.
  int pool_size = 5;
  int pool_overflow = 10;
  // `tls: { cert_file, key_file }`: PEM files (paths from the spec's folder)
  // the port answers TLS with; both or neither. Empty: plain HTTP.
  struct Tls {
    std::string cert_file, key_file;
  };
  Tls tls;
  int64_t pool_wait_timeout_ms = 30000;
};

// `audit:` the runbook's stop conditions, which `cutover audit` measures
// (engine/audit): a hit stops the audit with its own exit code, so that a
// script does not go on to move data the plan did not foresee.
struct AuditLimit {
  int64_t value = 0;  // keys, or bytes for max_memory
  std::string text;   // as the spec writes it ("50000", "2GB")
  Location where;
};

struct AuditSpec {
  // Keys matched by the spec's patterns, over every redis source (a key
  // matching two patterns counts once).
  std::optional<AuditLimit> max_keys;
  // Estimated memory (sampled MEMORY USAGE) of every key of the audited
  // databases, matched or not: the runbook's "Redis memory".
  std::optional<AuditLimit> max_memory;
  // Entities whose pattern must match at least one key ("critical data
  // patterns missing").
  struct NotEmpty {
    std::string entity;
    Location where;
  };
  std::vector<NotEmpty> not_empty;
  // `entities: { subscriptions: { max_keys: 50000 } }`: keys one entity's
  // pattern matches, in spec order.
  struct EntityLimits {
    std::string entity;
    std::optional<AuditLimit> max_keys;
    Location where;
  };
  std::vector<EntityLimits> entities;
  Location where;  // the `audit:` key; empty file when absent

  bool empty() const { return !max_keys && !max_memory && not_empty.empty() && entities.empty(); }
};

// `sync:` how often the file sync runs when nothing says otherwise
// (`cutover sync` without --once or --every, and inside `cutover serve`).
struct SyncOptions {
  int64_t every_ms = 0;  // 0: not on a schedule
  Location where;
};

struct MigrationSpec {
  std::string name;
  std::string spec_path;  // the file it was read from
  std::string base_dir;   // folder of the spec; relative paths resolve here
  std::string work_dir;   // default <base_dir>/.cutover
  TargetSpec target;
  std::vector<SourceSpec> sources;
  std::vector<EntitySpec> entities;  // sorted by priority, then spec order
  BackfillOptions backfill;
  VerifyOptions verify;
  StageOptions stages;
  ServeOptions serve;
  AuditSpec audit;
  SyncOptions sync;

  // Null when absent. FindEntity also searches children at any depth; entity
  // names are unique across the whole spec.
  const SourceSpec* FindSource(std::string_view source_name) const;
  const EntitySpec* FindEntity(std::string_view entity_name) const;
};

}  // namespace cutover::spec
