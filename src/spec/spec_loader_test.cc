// Tests for the spec loader, ${VAR} expansion and name suggestions: what a
// valid spec becomes, and the exact message each mistake produces.
#include "spec/spec_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/value_type.h"
#include "spec/env_expand.h"
#include "spec/nearest_name.h"
#include "spec/spec.h"

namespace cutover::spec {
namespace {

// Expected positions and messages below were counted by hand from the YAML
// text, not taken from the loader's output.
constexpr char kFile[] = "spec.yaml";
constexpr char kBase[] = "/srv/flux";

Result<MigrationSpec> Parse(const std::string& yaml) {
  return ParseSpec(yaml, kFile, kBase);
}

// Sets an environment variable for one test and restores the old state.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

constexpr char kFullSpec[] = R"(migration: fluxstudio
target:
  url: "${CUTOVER_SPEC_TEST_URL}"
work_dir: state/.cutover
sources:
  files: { type: json, path: data/, layout: lines }
backfill: { batch_size: 500, max_rejects: 3, reject_file: out/rejects.jsonl }
verify: { float_tolerance: 0.001 }
entities:
  projects:
    source: { from: files, file: projects.json }
    priority: 2
    key: [id]
    columns:
      id:    { type: uuid }
      owner: { from: owner.id, type: uuid, required: true }
    children:
      tasks:
        path: items.tasks
        table: project_tasks
        key: [id]
        parent: { project_id: id }
        columns:
          id:         { type: bigint }
          project_id: { type: uuid }
  users:
    source: { from: files, file: users.json }
    table: app_users
    schema: legacy
    priority: 1
    key: [id]
    columns:
      id:         { from: $key, type: uuid }
      email:      { from: email, type: text, required: true }
      created_at: { from: createdAt, type: timestamptz, format: epoch_ms }
      plan:       { type: text, default: free }
)";

TEST(ParseSpecTest, FullSpecBecomesTheExpectedModel) {
  ScopedEnv url("CUTOVER_SPEC_TEST_URL", "postgres://app:s3cret@db/flux");
  Result<MigrationSpec> r = Parse(kFullSpec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const MigrationSpec& spec = *r;

  EXPECT_EQ(spec.name, "fluxstudio");
  EXPECT_EQ(spec.spec_path, "spec.yaml");
  EXPECT_EQ(spec.base_dir, "/srv/flux");
  EXPECT_EQ(spec.work_dir, "/srv/flux/state/.cutover");
  ASSERT_TRUE(spec.target.url.has_value());
  EXPECT_EQ(*spec.target.url, "postgres://app:s3cret@db/flux");
  EXPECT_EQ(spec.target.where.ToString(), "spec.yaml:3:8");

  ASSERT_EQ(spec.sources.size(), 1u);
  EXPECT_EQ(spec.sources[0].name, "files");
  EXPECT_EQ(spec.sources[0].type, "json");
  EXPECT_EQ(spec.sources[0].path, "/srv/flux/data");
  EXPECT_EQ(spec.sources[0].layout, JsonLayout::kLines);
  EXPECT_EQ(spec.sources[0].where.ToString(), "spec.yaml:6:3");

  EXPECT_EQ(spec.backfill.batch_size, 500);
  EXPECT_EQ(spec.backfill.max_rejects, 3);
  EXPECT_EQ(spec.backfill.reject_file, "/srv/flux/state/.cutover/out/rejects.jsonl");
  EXPECT_DOUBLE_EQ(spec.verify.float_tolerance, 0.001);

  // users has the lower priority, so it comes first although declared second.
  ASSERT_EQ(spec.entities.size(), 2u);
  const EntitySpec& users = spec.entities[0];
  EXPECT_EQ(users.name, "users");
  EXPECT_EQ(users.source, "files");
  EXPECT_EQ(users.file, "users.json");
  EXPECT_EQ(users.table, "app_users");
  EXPECT_EQ(users.schema, "legacy");
  EXPECT_EQ(users.priority, 1);
  EXPECT_EQ(users.key, std::vector<std::string>{"id"});
  EXPECT_EQ(users.where.ToString(), "spec.yaml:26:3");
  ASSERT_EQ(users.columns.size(), 4u);
  EXPECT_EQ(users.columns[0].name, "id");
  EXPECT_EQ(users.columns[0].from, "$key");
  EXPECT_EQ(users.columns[0].type, ValueType::kUuid);
  EXPECT_EQ(users.columns[0].where.ToString(), "spec.yaml:33:7");
  EXPECT_EQ(users.columns[1].name, "email");
  EXPECT_TRUE(users.columns[1].required);
  EXPECT_EQ(users.columns[2].name, "created_at");
  EXPECT_EQ(users.columns[2].from, "createdAt");
  EXPECT_EQ(users.columns[2].type, ValueType::kTimestamptz);
  EXPECT_EQ(users.columns[2].time_format, TimeFormat::kEpochMillis);
  EXPECT_EQ(users.columns[3].name, "plan");
  EXPECT_EQ(users.columns[3].from, "plan");
  EXPECT_FALSE(users.columns[3].required);
  EXPECT_EQ(users.columns[3].default_value, std::optional<std::string>("free"));

  const EntitySpec& projects = spec.entities[1];
  EXPECT_EQ(projects.name, "projects");
  EXPECT_EQ(projects.table, "projects");
  EXPECT_EQ(projects.schema, "public");
  EXPECT_EQ(projects.priority, 2);
  ASSERT_EQ(projects.columns.size(), 2u);
  EXPECT_EQ(projects.columns[1].from, "owner.id");
  EXPECT_EQ(projects.columns[0].time_format, TimeFormat::kIso8601);
  ASSERT_EQ(projects.children.size(), 1u);
  const EntitySpec& tasks = projects.children[0];
  EXPECT_EQ(tasks.name, "tasks");
  EXPECT_EQ(tasks.path, "items.tasks");
  EXPECT_EQ(tasks.table, "project_tasks");
  EXPECT_EQ(tasks.schema, "public");
  EXPECT_EQ(tasks.source, "");
  EXPECT_EQ(tasks.key, std::vector<std::string>{"id"});
  const std::vector<std::pair<std::string, std::string>> parent = {{"project_id", "id"}};
  EXPECT_EQ(tasks.parent_columns, parent);
  EXPECT_EQ(tasks.columns[0].type, ValueType::kInt64);
  EXPECT_EQ(tasks.where.ToString(), "spec.yaml:18:7");

  EXPECT_EQ(spec.FindEntity("tasks"), &tasks);
  EXPECT_EQ(spec.FindEntity("users"), &users);
  EXPECT_EQ(spec.FindEntity("nobody"), nullptr);
  EXPECT_EQ(spec.FindSource("files"), &spec.sources[0]);
  EXPECT_EQ(spec.FindSource("nope"), nullptr);
  EXPECT_EQ(users.FindColumn("email"), &users.columns[1]);
  EXPECT_EQ(users.FindColumn("mail"), nullptr);
}

TEST(ParseSpecTest, MinimalSpecGetsDefaults) {
  Result<MigrationSpec> r = Parse(R"(migration: m
sources:
  files: { type: json, path: /data/in/ }
entities:
  users:
    source: { from: files }
    key: id
    columns:
      id: { type: text }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->target.url.has_value());
  EXPECT_EQ(r->work_dir, "/srv/flux/.cutover");
  EXPECT_EQ(r->backfill.batch_size, 10000);
  EXPECT_EQ(r->backfill.max_rejects, 0);
  EXPECT_EQ(r->backfill.reject_file, "/srv/flux/.cutover/rejects.jsonl");
  EXPECT_EQ(r->verify.float_tolerance, 0.0);
  EXPECT_EQ(r->sources[0].path, "/data/in");
  EXPECT_EQ(r->sources[0].layout, JsonLayout::kAuto);
  ASSERT_EQ(r->entities.size(), 1u);
  EXPECT_EQ(r->entities[0].table, "users");
  EXPECT_EQ(r->entities[0].file, "");
  EXPECT_EQ(r->entities[0].key, std::vector<std::string>{"id"});
}

TEST(ParseSpecTest, EntitiesSortByPriorityThenDeclarationOrder) {
  Result<MigrationSpec> r = Parse(R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  a: { source: { from: s }, priority: 2, key: [id], columns: { id: { type: int } } }
  b: { source: { from: s }, key: [id], columns: { id: { type: int } } }
  c: { source: { from: s }, priority: 1, key: [id], columns: { id: { type: int } } }
  d: { source: { from: s }, priority: 0, key: [id], columns: { id: { type: int } } }
  e: { source: { from: s }, priority: -1, key: [id], columns: { id: { type: int } } }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string order;
  for (const EntitySpec& e : r->entities) order += e.name;
  EXPECT_EQ(order, "ebdca");
}

TEST(ParseSpecTest, TypeNamesTakePostgresSpellingsAndAliases) {
  const struct {
    const char* spelling;
    ValueType expected;
  } cases[] = {
      {"text", ValueType::kText},
      {"TEXT", ValueType::kText},
      {"varchar", ValueType::kText},
      {"integer", ValueType::kInt32},
      {"int4", ValueType::kInt32},
      {"bigint", ValueType::kInt64},
      {"numeric", ValueType::kNumeric},
      {"float8", ValueType::kFloat64},
      {"\"double precision\"", ValueType::kFloat64},
      {"boolean", ValueType::kBool},
      {"uuid", ValueType::kUuid},
      {"date", ValueType::kDate},
      {"timestamptz", ValueType::kTimestamptz},
      {"timestamp with time zone", ValueType::kTimestamptz},
      {"json", ValueType::kJsonb},
      {"jsonb", ValueType::kJsonb},
  };
  for (const auto& c : cases) {
    const std::string yaml = std::string(R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  e:
    source: { from: s }
    key: [v]
    columns:
      v: { type: )") + c.spelling +
                             " }\n";
    Result<MigrationSpec> r = Parse(yaml);
    ASSERT_TRUE(r.ok()) << c.spelling << ": " << r.status().ToString();
    EXPECT_EQ(r->entities[0].columns[0].type, c.expected) << c.spelling;
  }
}

// Each case is a whole spec with one mistake and the message it must give.
struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* message;  // the exact, complete message
};

const ErrorCase kErrorCases[] = {
    {"iotdb source with both a url and a path", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080", path: export }
)",
     "spec.yaml:3:3: source 't' needs either 'url' (IoTDB's REST service, http://host:18080) or "
     "'path' (CSV files of IoTDB's export tool), and not both"},
    {"iotdb series pattern outside root", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "plant.{d}.{m}" }
    key: [d, m, at]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:6:32: 'series' in 'source' of entity 'e': series pattern 'plant.{d}.{m}' must "
     "start with the node root (root.<database>.<device>.<measurement>)"},
    {"iotdb nanoseconds into timestamptz", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080", precision: ns }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:8:54: column 'at' of entity 'e' reads $time into timestamptz, which keeps "
     "microseconds, but the source's precision is ns: read $epoch (nanoseconds since 1970) into a "
     "bigint column"},
    {"iotdb key without the time", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:5:3: entity 'e' keys its rows without the point's time: its key must include a "
     "column that reads $time or $epoch"},
    {"iotdb unknown record property", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    columns: { d: { type: text }, m: { type: text }, at: { from: $tme, type: timestamptz } }
)",
     "spec.yaml:8:54: column 'at' of entity 'e' reads '$tme'; a long IoTDB record offers $device, "
     "$time, $epoch, $measurement, $series, $type, $value, $numeric, $integer, $text, $boolean, "
     "$blob, $date, $timestamp; did you mean '$time'?"},
    {"partition by a column outside the key", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    partition: { by: seen, every: 1 month }
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz }, seen: { from: $time, type: timestamptz } }
)",
     "spec.yaml:8:22: 'by' in 'partition' of entity 'e': column 'seen' is not in the key; "
     "PostgreSQL needs the partition column in the primary key of a partitioned table"},
    {"partition interval in an unknown unit", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    partition: { by: at, every: 1 fortnight }
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:8:33: 'every' in 'partition' of entity 'e': unknown unit 'fortnight'; expected "
     "day, week, month or year"},
    {"rollup every month", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    partition: { by: at, every: 1 month }
    rollups: [{ table: e_monthly, every: 1 month, by: [d], values: [v] }]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz }, v: { from: $numeric, type: double precision } }
)",
     "spec.yaml:9:42: 'every' in rollup 1 of entity 'e': unknown unit 'month'; expected minute, "
     "hour, day or week"},
    {"rollup by a column outside the key", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    rollups: [{ table: e_daily, time: at, every: 1 day, by: [v], values: [v] }]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz }, v: { from: $numeric, type: double precision } }
)",
     "spec.yaml:8:61: 'by' in rollup 1 of entity 'e': column 'v' is not a key column other than "
     "the time; a rollup groups by key columns, which are never NULL"},
    {"rollup of a text value", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    rollups: [{ table: e_daily, time: at, every: 1 day, by: [d, m], values: [m] }]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:8:77: 'values' in rollup 1 of entity 'e': column 'm' is text; a rollup sums "
     "integer, bigint, numeric or double precision columns"},
    {"rollup without a time column", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    rollups: [{ table: e_daily, every: 1 day, by: [d], values: [v] }]
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz }, v: { from: $numeric, type: double precision } }
)",
     "spec.yaml:8:15: rollup 1 of entity 'e': name its 'time' column (a timestamptz column of the "
     "key); only a time partition's column is the default"},
    {"iotdb write_back of a capture read as a number", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    write_back: true
    columns: { d: { type: integer }, m: { type: text }, at: { from: $time, type: timestamptz }, v: { from: $value, type: jsonb } }
)",
     "spec.yaml:8:17: entity 'e' declares write_back, but column 'd' holds the capture 'd' as "
     "integer, which does not keep the node's spelling (007 and 7 are one number): make it text"},
    {"iotdb write_back of a pattern ending in a wildcard", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.*", layout: wide }
    key: [d, at]
    write_back: true
    columns: { d: { type: text }, at: { from: $time, type: timestamptz }, temp: { type: float8 } }
)",
     "spec.yaml:8:17: entity 'e' declares write_back, but the series pattern 'root.plant.{d}.*' "
     "ends in a wildcard, so the device is rebuilt only from a column holding $device"},
    {"iotdb write_back without a value", R"(migration: m
sources:
  t: { type: iotdb, url: "http://h:18080" }
entities:
  e:
    source: { from: t, series: "root.plant.{d}.{m}" }
    key: [d, m, at]
    write_back: true
    columns: { d: { type: text }, m: { type: text }, at: { from: $time, type: timestamptz } }
)",
     "spec.yaml:8:17: entity 'e' declares write_back, but no column holds the point's value "
     "($value "
     "or one of its families: $numeric, $integer, $text, $boolean, $blob, $date, $timestamp)"},
    {"unknown entity key suggests the nearest", R"(migration: m
sources:
  files: { type: json, path: data }
entities:
  users:
    source: { from: files, file: users.json }
    key: [id]
    colums:
      id: { type: uuid }
)",
     "spec.yaml:8:5: unknown key 'colums' in entity 'users'; did you mean 'columns'?"},

    {"unknown top-level key", R"(migration: m
sorces:
  files: { type: json, path: data }
)",
     "spec.yaml:2:1: unknown key 'sorces' in the spec; did you mean 'sources'?"},

    {"unknown key far from any lists the valid ones", R"(migration: m
sources:
  files: { type: json, path: data, codec: gzip }
)",
     "spec.yaml:3:36: unknown key 'codec' in source 'files'; expected one of: type, path, "
     "layout, csv, on_missing_column, timezone, url, tls, archive, user, password, precision, "
     "row_limit, poll, lateness"},

    {"unknown column key", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  e:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid, requird: true }
)",
     "spec.yaml:8:25: unknown key 'requird' in column 'id' of entity 'e'; did you mean "
     "'required'?"},

    {"missing migration", R"(sources:
  files: { type: json, path: data }
)",
     "spec.yaml:1:1: missing required key 'migration' in the spec"},

    {"missing sources", "migration: m\n",
     "spec.yaml:1:1: missing required key 'sources' in the spec"},

    {"empty migration name", R"(migration:
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:1:1: 'migration' in the spec must not be empty"},

    {"missing key", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    columns:
      id: { type: uuid }
)",
     "spec.yaml:4:3: missing required key 'key' in entity 'users'"},

    {"empty key list", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: []
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:10: 'key' in entity 'users' must name at least one column"},

    {"key names an undeclared column", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [idd]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:11: 'key' in entity 'users': unknown column 'idd'; did you mean 'id'?"},

    {"key lists a column twice", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id, id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:15: 'key' in entity 'users': column 'id' is listed twice"},

    {"missing columns", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
)",
     "spec.yaml:4:3: missing required key 'columns' in entity 'users'"},

    {"columns not a mapping", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns: [id]
)",
     "spec.yaml:7:14: 'columns' in entity 'users' must be a mapping, not a list"},

    {"duplicate column", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
      id: { type: text }
)",
     "spec.yaml:9:7: duplicate column 'id' in entity 'users'; first declared at spec.yaml:8:7"},

    {"duplicate key in a fixed mapping", R"(migration: m
migration: n
)",
     "spec.yaml:2:1: duplicate key 'migration' in the spec; first declared at spec.yaml:1:1"},

    {"unknown type suggests the nearest", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuuid }
)",
     "spec.yaml:8:19: 'type' in column 'id' of entity 'users': unknown type 'uuuid'; did you "
     "mean 'uuid'?"},

    {"missing type", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { from: x }
)",
     "spec.yaml:8:7: missing required key 'type' in column 'id' of entity 'users'"},

    {"format on a non-timestamptz column", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: bigint, format: epoch_s }
)",
     "spec.yaml:8:27: 'format' in column 'id' of entity 'users': only timestamptz columns take a "
     "format, this one is bigint"},

    {"unknown time format", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [at]
    columns:
      at: { type: timestamptz, format: epoch_sec }
)",
     "spec.yaml:8:40: 'format' in column 'at' of entity 'users': unknown format 'epoch_sec'; did "
     "you mean 'epoch_s'?"},

    {"required is not a boolean", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid, required: maybe }
)",
     "spec.yaml:8:35: 'required' in column 'id' of entity 'users' must be true or false, not "
     "'maybe'"},

    {"required and default together", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid, required: true, default: x }
)",
     "spec.yaml:8:41: column 'id' of entity 'users' sets both 'required' and 'default'; keep one"},

    {"default must be a scalar", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: jsonb, default: [1, 2] }
)",
     "spec.yaml:8:35: 'default' in column 'id' of entity 'users' must be a single value, not a "
     "list"},

    {"from with an empty path segment", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid, from: profile..id }
)",
     "spec.yaml:8:31: 'from' in column 'id' of entity 'users': 'profile..id' has an empty path "
     "segment"},

    {"source from names no source", R"(migration: m
sources:
  files: { type: json, path: data }
entities:
  users:
    source: { from: filez, file: users.json }
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:21: 'from' in 'source' of entity 'users': unknown source 'filez'; did you mean "
     "'files'?"},

    {"entity without source", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:4:3: missing required key 'source' in entity 'users' (only a dimension that a "
     "'lookup' fills may have none)"},

    {"unknown source type", R"(migration: m
sources:
  files: { type: parket, path: data }
)",
     "spec.yaml:3:18: 'type' in source 'files': unknown source type 'parket'; did you mean "
     "'parquet'?"},

    {"source without path", R"(migration: m
sources:
  files: { type: json }
)",
     "spec.yaml:3:3: missing required key 'path' in source 'files'"},

    {"unknown layout", R"(migration: m
sources:
  files: { type: json, path: data, layout: arrays }
)",
     "spec.yaml:3:44: 'layout' in source 'files': unknown layout 'arrays'; did you mean 'array'?"},

    {"empty sources", R"(migration: m
sources: {}
)",
     "spec.yaml:2:10: 'sources' must name at least one source"},

    {"batch_size zero", R"(migration: m
backfill: { batch_size: 0 }
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:25: 'batch_size' in 'backfill' must be greater than 0"},

    {"batch_size not a number", R"(migration: m
backfill: { batch_size: 10k }
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:25: 'batch_size' in 'backfill' must be an integer, not '10k'"},

    {"negative max_rejects", R"(migration: m
backfill:
  max_rejects: -1
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:3:16: 'max_rejects' in 'backfill' must not be negative"},

    {"float_tolerance of 1", R"(migration: m
verify: { float_tolerance: 1 }
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:28: 'float_tolerance' in 'verify' must be at least 0 and less than 1"},

    {"negative float_tolerance", R"(migration: m
verify: { float_tolerance: -0.5 }
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:28: 'float_tolerance' in 'verify' must be at least 0 and less than 1"},

    {"float_tolerance not finite", R"(migration: m
verify: { float_tolerance: nan }
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:28: 'float_tolerance' in 'verify' must be a number, not 'nan'"},

    {"target must be a mapping", R"(migration: m
target: postgres://localhost/db
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:9: 'target' must be a mapping, not a single value"},

    {"priority neither a name nor an integer", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    priority: urgent
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:15: 'priority' in entity 'users' must be critical, high, medium, low or an "
     "integer, not 'urgent'"},

    {"table name longer than 63 bytes", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    table: t234567890123456789012345678901234567890123456789012345678901234
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:12: 'table' in entity 'users' "
     "'t234567890123456789012345678901234567890123456789012345678901234': identifier longer "
     "than 63 bytes (64 bytes)"},

    {"column name longer than 63 bytes", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
      c234567890123456789012345678901234567890123456789012345678901234: { type: text }
)",
     "spec.yaml:9:7: column name in entity 'users' "
     "'c234567890123456789012345678901234567890123456789012345678901234': identifier longer "
     "than 63 bytes (64 bytes)"},

    {"entity name longer than 63 bytes", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  e234567890123456789012345678901234567890123456789012345678901234:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:4:3: entity name "
     "'e234567890123456789012345678901234567890123456789012345678901234': identifier longer "
     "than 63 bytes (64 bytes)"},

    {"schema name longer than 63 bytes", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  users:
    source: { from: s }
    schema: s234567890123456789012345678901234567890123456789012345678901234
    key: [id]
    columns:
      id: { type: uuid }
)",
     "spec.yaml:6:13: 'schema' in entity 'users' "
     "'s234567890123456789012345678901234567890123456789012345678901234': identifier longer "
     "than 63 bytes (64 bytes)"},

    {"child without path", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        key: [id]
        parent: { project_id: id }
        columns:
          id: { type: uuid }
          project_id: { type: uuid }
)",
     "spec.yaml:10:7: missing required key 'path' in entity 'tasks'"},

    {"child without parent", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [id]
        columns:
          id: { type: uuid }
)",
     "spec.yaml:10:7: missing required key 'parent' in entity 'tasks'"},

    {"child takes no source", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        source: { from: s }
        path: tasks
)",
     "spec.yaml:11:9: unknown key 'source' in entity 'tasks'; expected one of: path, table, "
     "schema, key, parent, columns, children, indexes"},

    {"parent names a missing parent column", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { project_id: ids }
        columns:
          id: { type: uuid }
          project_id: { type: uuid }
)",
     "spec.yaml:13:31: 'parent' in entity 'tasks': 'ids' is not a column of entity 'projects'; "
     "did you mean 'id'?"},

    {"parent maps an undeclared child column", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { projectid: id }
        columns:
          id: { type: uuid }
          project_id: { type: uuid }
)",
     "spec.yaml:13:19: 'parent' in entity 'tasks': 'projectid' is not a column of entity "
     "'tasks'; did you mean 'project_id'?"},

    {"entity name reused by a child", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  tasks:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { id: id }
        columns:
          id: { type: uuid }
)",
     "spec.yaml:15:7: entity name 'tasks' is already used by the entity declared at "
     "spec.yaml:4:3; entity names must be unique"},

    {"grandchild checks against its own parent", R"(migration: m
sources: { s: { type: json, path: d } }
entities:
  projects:
    source: { from: s }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [tid]
        parent: { pid: id }
        columns:
          tid: { type: uuid }
          pid: { type: uuid }
        children:
          notes:
            path: notes
            key: [n]
            parent: { task: id }
            columns:
              n: { type: int }
              task: { type: uuid }
)",
     "spec.yaml:21:29: 'parent' in entity 'notes': 'id' is not a column of entity 'tasks'; "
     "did you mean 'tid'?"},

    {"invalid YAML", R"(migration: m
sources: [a, b
)",
     "spec.yaml:3:1: invalid YAML: end of sequence flow not found"},

    {"spec is not a mapping", "- a\n- b\n",
     "spec.yaml:1:1: the spec must be a mapping with keys such as 'migration', 'sources' and "
     "'entities'"},

    {"empty spec", "", "spec.yaml:1:1: the spec is empty"},

    {"two documents", "migration: m\n---\nmigration: n\n",
     "spec.yaml:3:1: the spec holds 2 YAML documents; expected one"},

    {"missing environment variable", R"(migration: m
target:
  url: "${CUTOVER_SPEC_TEST_SURELY_UNSET}"
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:3:8: 'url' in 'target': environment variable 'CUTOVER_SPEC_TEST_SURELY_UNSET' "
     "is not set; use ${CUTOVER_SPEC_TEST_SURELY_UNSET:-value} to give a default"},

    {"unterminated variable", R"(migration: m
work_dir: ${HOME
sources: { s: { type: json, path: d } }
)",
     "spec.yaml:2:11: 'work_dir' in the spec: unterminated '${' (missing '}')"},
};

TEST(ParseSpecTest, ErrorsNamePositionAndKey) {
  for (const ErrorCase& c : kErrorCases) {
    Result<MigrationSpec> r = Parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

TEST(ParseSpecTest, EnvironmentExpansion) {
  ScopedEnv dir("CUTOVER_SPEC_TEST_DIR", "incoming");
  ScopedEnv empty("CUTOVER_SPEC_TEST_EMPTY", "");
  ScopedEnv unset("CUTOVER_SPEC_TEST_UNSET", nullptr);
  Result<MigrationSpec> r = Parse(R"(migration: m-${CUTOVER_SPEC_TEST_UNSET:-dev}
target: { url: "${CUTOVER_SPEC_TEST_EMPTY:-}" }
backfill: { batch_size: "${CUTOVER_SPEC_TEST_UNSET:-250}" }
sources:
  files: { type: json, path: "${CUTOVER_SPEC_TEST_DIR}/$$x" }
entities:
  users:
    source: { from: files }
    key: [id]
    columns:
      id: { from: $key, type: text, default: "cost $5" }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->name, "m-dev");
  // An empty url is no url: the commands that need one name the variable
  // from the text as written, which is kept.
  EXPECT_FALSE(r->target.url.has_value());
  EXPECT_EQ(r->target.url_text, "${CUTOVER_SPEC_TEST_EMPTY:-}");
  EXPECT_EQ(r->backfill.batch_size, 250);
  EXPECT_EQ(r->sources[0].path, "/srv/flux/incoming/$x");
  EXPECT_EQ(r->entities[0].columns[0].from, "$key");
  EXPECT_EQ(r->entities[0].columns[0].default_value, std::optional<std::string>("cost $5"));
}

// The `stages:` and `serve:` sections: what they become, their defaults, and
// the message each mistake produces (positions counted by hand).
constexpr char kStagesHeader[] = "migration: m\nsources: { s: { type: json, path: d } }\n";

TEST(ParseSpecTest, StagesAndServeDefaults) {
  Result<MigrationSpec> r = Parse(kStagesHeader);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->stages.shadow_mismatch_rate, 0.001);
  EXPECT_EQ(r->stages.shadow_min_reads, 1);
  EXPECT_EQ(r->stages.window_seconds, 48 * 3600);
  EXPECT_EQ(r->stages.fallback_window_seconds, 24 * 3600);
  EXPECT_TRUE(r->stages.primary_fallback);
  EXPECT_EQ(r->stages.poll_interval_ms, 5000);
  EXPECT_EQ(r->stages.stale_after_ms, 15000);
  EXPECT_DOUBLE_EQ(r->stages.shadow_sample, 1.0);
  EXPECT_EQ(r->stages.read_timeout_ms, 200);
  EXPECT_EQ(r->stages.drain_timeout_ms, 30000);
  EXPECT_EQ(r->serve.listen, "127.0.0.1");
  EXPECT_EQ(r->serve.port, 8411);
  EXPECT_EQ(r->serve.token_env, "CUTOVER_TOKEN");
  EXPECT_EQ(r->serve.pool_size, 5);
  EXPECT_EQ(r->serve.pool_overflow, 10);
  EXPECT_EQ(r->serve.pool_wait_timeout_ms, 30000);
}

TEST(ParseSpecTest, StagesAndServeAsWritten) {
  Result<MigrationSpec> r = Parse(std::string(kStagesHeader) + R"(stages:
  shadow_mismatch_rate: 0.01
  shadow_min_reads: 100
  window: 10s
  fallback_window: 2m
  primary_fallback: false
  poll_interval: 250ms
  shadow_sample: 0.25
  read_timeout: 50ms
  drain_timeout: 2m
serve:
  listen: 0.0.0.0
  port: 0
  token_env: FLUX_TOKEN
  pool: { size: 2, overflow: 0, wait_timeout: 1500ms }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(r->stages.shadow_mismatch_rate, 0.01);
  EXPECT_EQ(r->stages.shadow_min_reads, 100);
  EXPECT_EQ(r->stages.window_seconds, 10);
  EXPECT_EQ(r->stages.fallback_window_seconds, 120);
  EXPECT_FALSE(r->stages.primary_fallback);
  EXPECT_EQ(r->stages.poll_interval_ms, 250);
  EXPECT_EQ(r->stages.stale_after_ms, 750);  // 3 poll intervals unless given
  EXPECT_DOUBLE_EQ(r->stages.shadow_sample, 0.25);
  EXPECT_EQ(r->stages.read_timeout_ms, 50);
  EXPECT_EQ(r->stages.drain_timeout_ms, 120000);
  EXPECT_EQ(r->serve.listen, "0.0.0.0");
  EXPECT_EQ(r->serve.port, 0);
  EXPECT_EQ(r->serve.token_env, "FLUX_TOKEN");
  EXPECT_EQ(r->serve.pool_size, 2);
  EXPECT_EQ(r->serve.pool_overflow, 0);
  EXPECT_EQ(r->serve.pool_wait_timeout_ms, 1500);
  using Tokens = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r->serve.NamedTokens(), (Tokens{{"default", "FLUX_TOKEN"}}));
}

TEST(ParseSpecTest, NamedTokens) {
  Result<MigrationSpec> r = Parse(std::string(kStagesHeader) +
                                  "serve: { tokens: { ops: OPS_TOKEN, deploy-bot: DEPLOY } }\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  using Tokens = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r->serve.NamedTokens(), (Tokens{{"ops", "OPS_TOKEN"}, {"deploy-bot", "DEPLOY"}}));
}

TEST(ParseSpecTest, StagesAndServeErrors) {
  const struct {
    const char* name;
    const char* yaml;
    const char* message;
  } cases[] = {
      {"unknown stages key", "stages: { windw: 1h }\n",
       "spec.yaml:3:11: unknown key 'windw' in 'stages'; did you mean 'window'?"},
      {"bare number is not a duration", "stages: { window: 48 }\n",
       "spec.yaml:3:19: 'window' in 'stages' must be a duration such as 250ms, 10s, 5m, 48h or "
       "2d, not '48'"},
      {"unknown unit", "stages:\n  fallback_window: 3w\n",
       "spec.yaml:4:20: 'fallback_window' in 'stages' must be a duration such as 250ms, 10s, 5m, "
       "48h or 2d, not '3w'"},
      {"rate above one", "stages: { shadow_mismatch_rate: 1.5 }\n",
       "spec.yaml:3:33: 'shadow_mismatch_rate' in 'stages' must be between 0 and 1"},
      {"sample above one", "stages: { shadow_sample: 2 }\n",
       "spec.yaml:3:26: 'shadow_sample' in 'stages' must be between 0 and 1 (a share of reads)"},
      {"stale shorter than poll", "stages: { poll_interval: 5s, stale_after: 2s }\n",
       "spec.yaml:3:43: 'stale_after' in 'stages' must be longer than 'poll_interval', or every "
       "watcher would report itself stale between two reads"},
      {"unknown serve key", "serve: { prot: 80 }\n",
       "spec.yaml:3:10: unknown key 'prot' in 'serve'; did you mean 'port'?"},
      {"port out of range", "serve: { port: 70000 }\n",
       "spec.yaml:3:16: 'port' in 'serve' must be between 0 and 65535"},
      {"unknown pool key", "serve:\n  pool: { sise: 3 }\n",
       "spec.yaml:4:11: unknown key 'sise' in 'pool' in 'serve'; did you mean 'size'?"},
      {"pool of zero", "serve:\n  pool: { size: 0 }\n",
       "spec.yaml:4:17: 'size' in 'pool' in 'serve' must be between 1 and 1000"},
      {"tls without its key", "serve: { tls: { cert_file: a.crt } }\n",
       "spec.yaml:3:15: 'tls' in 'serve' needs 'key_file' (the port's certificate and its "
       "private key, PEM)"},
      {"token_env and tokens", "serve: { token_env: A, tokens: { ops: B } }\n",
       "spec.yaml:3:10: 'token_env' and 'tokens' in 'serve' are two ways to say the same thing; "
       "keep one (a token_env token is named 'default')"},
      {"two names, one variable", "serve: { tokens: { ops: A, dev: A } }\n",
       "spec.yaml:3:33: tokens 'ops' and 'dev' both read $A; each name needs its own variable"},
      {"token name with a space", "serve: { tokens: { \"o ps\": A } }\n",
       "spec.yaml:3:20: token name 'o ps' may hold only letters, digits, '_', '-' and '.'"},
      {"no tokens", "serve: { tokens: {} }\n",
       "spec.yaml:3:18: 'tokens' in 'serve' must name at least one token"},
  };
  for (const auto& c : cases) {
    Result<MigrationSpec> r = Parse(std::string(kStagesHeader) + c.yaml);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

TEST(ParseSpecTest, ExpandedValuesNeverAppearInErrors) {
  ScopedEnv secret("CUTOVER_SPEC_TEST_SECRET", "hunter2");
  const char* specs[] = {
      "migration: m\nbackfill: { batch_size: \"${CUTOVER_SPEC_TEST_SECRET}\" }\n"
      "sources: { s: { type: json, path: d } }\n",
      "migration: m\nsources: { s: { type: \"${CUTOVER_SPEC_TEST_SECRET}\", path: d } }\n",
      "migration: m\nsources: { s: { type: json, path: d } }\nentities:\n  e:\n"
      "    source: { from: s }\n    key: [id]\n"
      "    columns: { id: { type: \"${CUTOVER_SPEC_TEST_SECRET}x\" } }\n",
  };
  for (const char* spec : specs) {
    Result<MigrationSpec> r = Parse(spec);
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_EQ(r.status().message().find("hunter"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("CUTOVER_SPEC_TEST_SECRET"), std::string::npos)
        << r.status().message();
  }
}

TEST(LoadSpecTest, ReadsFileAndResolvesAgainstItsFolder) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cutover_spec_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir / "run");
  const std::filesystem::path file = dir / "run" / "cutover.yaml";
  {
    std::ofstream out(file);
    out << "migration: m\nwork_dir: ../state\nsources: { s: { type: json, path: ./data/ } }\n";
  }
  Result<MigrationSpec> r = LoadSpec(file.string());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->spec_path, file.string());
  EXPECT_EQ(r->base_dir, (dir / "run").string());
  EXPECT_EQ(r->work_dir, (dir / "state").string());
  EXPECT_EQ(r->sources[0].path, (dir / "run" / "data").string());
  EXPECT_EQ(r->backfill.reject_file, (dir / "state" / "rejects.jsonl").string());

  {
    std::ofstream out(file);
    out << "migration: m\nsources: { s: { type: json, pth: d } }\n";
  }
  r = LoadSpec(file.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            file.string() + ":2:29: unknown key 'pth' in source 's'; did you mean 'path'?");

  r = LoadSpec((dir / "missing.yaml").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("missing.yaml"), std::string::npos);

  r = LoadSpec(dir.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

TEST(ExpandEnvTest, ExpandsSetVariablesAndDefaultsAndNamesTheUnsetOne) {
  const std::map<std::string, std::string> env = {{"A", "alpha"}, {"EMPTY", ""}, {"_x1", "u"}};
  const EnvLookup lookup = [&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  const Location where{"f.yaml", 4, 9};
  const struct {
    const char* text;
    const char* expected;  // nullptr: an error containing `error`
    const char* error;
  } cases[] = {
      {"plain", "plain", nullptr},
      {"${A}", "alpha", nullptr},
      {"x${A}y${A}", "xalphayalpha", nullptr},
      {"${_x1}", "u", nullptr},
      {"${EMPTY}", "", nullptr},
      {"${EMPTY:-d}", "d", nullptr},
      {"${MISSING:-d}", "d", nullptr},
      {"${MISSING:-}", "", nullptr},
      {"${A:-d}", "alpha", nullptr},
      {"${MISSING:-${A}}", "alpha", nullptr},
      {"${A:-${MISSING}}", "alpha", nullptr},  // an unused default is not evaluated
      {"${MISSING:-a b:c}", "a b:c", nullptr},
      {"$$", "$", nullptr},
      {"$${A}", "${A}", nullptr},
      {"$key", "$key", nullptr},
      {"a$", "a$", nullptr},
      {"$5", "$5", nullptr},
      {"${MISSING}", nullptr,
       "f.yaml:4:9: 'url': environment variable 'MISSING' is not set; use ${MISSING:-value} to "
       "give a default"},
      {"${MISSING:-${ALSO_MISSING}}", nullptr, "environment variable 'ALSO_MISSING' is not set"},
      {"${A", nullptr, "f.yaml:4:9: 'url': unterminated '${' (missing '}')"},
      {"${A:-x", nullptr, "unterminated '${' (missing '}')"},
      {"${}", nullptr, "'${' must be followed by a variable name"},
      {"${1A}", nullptr, "variable name '1A' must not start with a digit"},
      {"${A-x}", nullptr, "expected '}' or ':-' after variable name 'A'"},
  };
  for (const auto& c : cases) {
    Result<std::string> r = ExpandEnv(c.text, where, "'url'", lookup);
    if (c.expected != nullptr) {
      ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
      EXPECT_EQ(*r, c.expected) << c.text;
    } else {
      ASSERT_FALSE(r.ok()) << c.text;
      EXPECT_NE(r.status().message().find(c.error), std::string::npos)
          << c.text << ": " << r.status().message();
      EXPECT_EQ(r.status().message().find("alpha"), std::string::npos) << c.text;
    }
  }
}

TEST(NearestNameTest, SuggestsOnlyANameWithinASmallEditDistance) {
  const std::vector<std::string_view> keys = {"source", "table",   "schema",  "priority",
                                              "key",    "columns", "children"};
  const struct {
    const char* given;
    const char* expected;
  } cases[] = {
      {"colums", "columns"},  {"tabel", "table"},
      {"kye", "key"},         {"shema", "schema"},
      {"prio", ""},           {"childs", "children"},
      {"Columns", "columns"}, {"x", ""},
      {"compression", ""},    {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(NearestName(c.given, keys), c.expected) << c.given;
  }
  EXPECT_EQ(NearestName("txt", {"text", "int"}), "text");
  EXPECT_EQ(NearestName("anything", {}), "");
}

TEST(EditDistanceTest, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("tabel", "table"), 1u);  // one swap
  EXPECT_EQ(EditDistance("colums", "columns"), 1u);
}

TEST(LocationTest, PrintsFileLineColumnAsCompilersDo) {
  EXPECT_EQ((Location{"a/b.yaml", 12, 3}).ToString(), "a/b.yaml:12:3");
}

TEST(ParseSpecTest, ParquetAndCsvSources) {
  Result<MigrationSpec> r = Parse(R"(migration: m
sources:
  prices: { type: parquet, path: "data/prices/*.parquet" }
  markets:
    type: CSV
    path: data/markets
    csv: { delimiter: ";", header: false, quote: "'", escape: "\\", encoding: Latin1, null: NA }
  plain: { type: csv, path: plain.csv }
entities:
  price:
    source: { from: prices }
    key: [id]
    columns: { id: { type: bigint } }
  march:
    source: { from: prices, file: "2024-03-*.parquet" }
    key: [id]
    columns: { id: { type: bigint } }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SourceSpec* prices = r->FindSource("prices");
  ASSERT_NE(prices, nullptr);
  EXPECT_EQ(prices->type, "parquet");
  EXPECT_EQ(prices->path, "/srv/flux/data/prices/*.parquet");
  const SourceSpec* markets = r->FindSource("markets");
  ASSERT_NE(markets, nullptr);
  EXPECT_EQ(markets->type, "csv");
  EXPECT_EQ(markets->path, "/srv/flux/data/markets");
  EXPECT_EQ(markets->csv.delimiter, ";");
  EXPECT_FALSE(markets->csv.header);
  EXPECT_EQ(markets->csv.quote, "'");
  EXPECT_EQ(markets->csv.escape, "\\");
  EXPECT_EQ(markets->csv.encoding, "latin-1");
  EXPECT_EQ(markets->csv.null_string, "NA");
  const SourceSpec* plain = r->FindSource("plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->csv.delimiter, ",");
  EXPECT_TRUE(plain->csv.header);
  EXPECT_EQ(plain->csv.quote, "\"");
  EXPECT_EQ(plain->csv.escape, "\"");
  EXPECT_EQ(plain->csv.encoding, "utf-8");
  EXPECT_FALSE(plain->csv.null_string.has_value());
  const EntitySpec* price = r->FindEntity("price");
  ASSERT_NE(price, nullptr);
  EXPECT_EQ(price->file, "");
  EXPECT_EQ(r->FindEntity("march")->file, "2024-03-*.parquet");
}

// Positions counted by hand; each spec has one mistake in a parquet or csv
// source.
const ErrorCase kFileSourceErrorCases[] = {
    {"a sync interval under a second", R"(migration: m
sources: { p: { type: parquet, path: data } }
sync: { every: 500ms }
)",
     "spec.yaml:3:16: 'every' in 'sync' must be at least 1s"},

    {"write_back on a csv entity", R"(migration: m
sources: { p: { type: csv, path: data } }
entities:
  a:
    source: { from: p, file: a.csv }
    key: [id]
    write_back: true
    columns:
      id: { type: integer }
)",
     "spec.yaml:7:17: 'write_back' in entity 'a' applies to entities of redis, iotdb, json and "
     "parquet sources (rows are not written back into csv files yet)"},

    {"write_back with a geometry from WKT", R"(migration: m
sources: { p: { type: parquet, path: data } }
entities:
  a:
    source: { from: p, file: a.parquet }
    key: [id]
    write_back: true
    columns:
      id: { type: integer }
      shape: { type: geometry, geometry: { wkt: w } }
)",
     "spec.yaml:7:17: entity 'a' declares write_back, but column 'shape' is computed "
     "(geometry), so the value it came from cannot be rebuilt"},

    {"write_back on a json glob", R"(migration: m
sources: { j: { type: json, path: data } }
entities:
  a:
    source: { from: j, file: "a*.json" }
    key: [id]
    write_back: true
    columns:
      id: { type: integer }
)",
     "spec.yaml:7:17: entity 'a' declares write_back, but its records come from the files of a "
     "glob, and a row does not say which one"},

    {"write_back with two columns from one place", R"(migration: m
sources: { j: { type: json, path: data } }
entities:
  a:
    source: { from: j, file: a.json }
    key: [id]
    write_back: true
    columns:
      id: { type: integer }
      prefs: { type: jsonb }
      theme: { from: prefs.theme, type: text }
)",
     "spec.yaml:7:17: entity 'a' declares write_back, but 'prefs' and 'prefs.theme' are read "
     "from the same place, so one of them cannot be written back"},

    {"unknown csv key suggests the nearest", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: { delimeter: ";" }
)",
     "spec.yaml:6:12: unknown key 'delimeter' in 'csv' of source 'prices'; did you mean "
     "'delimiter'?"},

    {"csv options on a parquet source", R"(migration: m
sources:
  prices:
    type: parquet
    path: data
    csv: { header: false }
)",
     "spec.yaml:6:5: 'csv' in source 'prices' applies to csv sources only; this one is parquet"},

    {"archive options on a csv source", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    archive: { flush_rows: 10 }
)",
     "spec.yaml:6:5: 'archive' in source 'prices' applies to parquet sources only; this one is "
     "csv"},

    {"an archive flushing every zero rows", R"(migration: m
sources:
  traffic:
    type: parquet
    path: data
    archive: { flush_interval: 2s, flush_rows: 0 }
)",
     "spec.yaml:6:48: 'flush_rows' in 'archive' in source 'traffic' must be at least 1"},

    {"layout on a csv source", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    layout: lines
)",
     "spec.yaml:6:5: 'layout' in source 'prices' applies to json sources only; this one is csv"},

    {"unknown encoding", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: { encoding: latin-2 }
)",
     "spec.yaml:6:22: 'encoding' in 'csv' of source 'prices': unknown encoding 'latin-2'; did you "
     "mean 'latin-1'?"},

    {"quote of two characters", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: { quote: "''" }
)",
     "spec.yaml:6:19: 'quote' in 'csv' of source 'prices' must be exactly 1 character, not "
     "''''"},

    {"delimiter too long", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: { delimiter: "|||||" }
)",
     "spec.yaml:6:23: 'delimiter' in 'csv' of source 'prices' must be 1 to 4 characters, not "
     "'|||||'"},

    {"header not a boolean", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: { header: maybe }
)",
     "spec.yaml:6:20: 'header' in 'csv' of source 'prices' must be true or false, not 'maybe'"},

    {"csv that is not a mapping", R"(migration: m
sources:
  prices:
    type: csv
    path: data
    csv: semicolon
)",
     "spec.yaml:6:10: 'csv' of source 'prices' must be a mapping, not a single value"},
};

TEST(ParseSpecTest, FileSourceErrorsNamePositionAndKey) {
  for (const ErrorCase& c : kFileSourceErrorCases) {
    Result<MigrationSpec> r = Parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

// Issue 4 spec features: geometry, lookup, dedup, indexes, dimensions
// without a source. Expectations written by hand from the YAML.
constexpr char kParquetSpec[] = R"(migration: m
sources: { p: { type: parquet, path: data } }
entities:
  commodities:
    key: [id]
    columns:
      id: { type: integer }
      name: { type: text }
  prices:
    source: { from: p, file: "*.parquet" }
    key: [commodity_id, day]
    columns:
      commodity_id: { from: commodity, type: integer, lookup: { entity: commodities, match: name } }
      day: { type: date }
      at: { type: timestamptz }
      spot: { type: geometry, geometry: { lon: x, lat: y } }
      shape: { type: geometry, geometry: { wkt: w, srid: 3857 } }
      raw: { type: geometry, geometry: { wkb: b, srid: 0 } }
    dedup: { keep_last_by: [at] }
    indexes:
      - { columns: [day] }
      - { columns: [spot] }
      - { columns: [commodity_id, day], unique: true, name: u_cd, method: btree }
)";

TEST(ParseSpecTest, GeometryLookupDedupAndIndexes) {
  Result<MigrationSpec> r = Parse(kParquetSpec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const EntitySpec* dim = r->FindEntity("commodities");
  ASSERT_NE(dim, nullptr);
  EXPECT_EQ(dim->source, "");
  const EntitySpec* prices = r->FindEntity("prices");
  ASSERT_NE(prices, nullptr);

  const ColumnSpec* c = prices->FindColumn("commodity_id");
  ASSERT_TRUE(c->lookup.has_value());
  EXPECT_EQ(c->from, "commodity");
  EXPECT_EQ(c->lookup->entity, "commodities");
  EXPECT_EQ(c->lookup->match, "name");
  EXPECT_EQ(c->lookup->returns, "id");  // the default

  const ColumnSpec* spot = prices->FindColumn("spot");
  ASSERT_TRUE(spot->geometry.has_value());
  EXPECT_EQ(spot->type, ValueType::kGeometry);
  EXPECT_EQ(spot->geometry->lon, "x");
  EXPECT_EQ(spot->geometry->lat, "y");
  EXPECT_EQ(spot->geometry->srid, 4326);  // the default
  const ColumnSpec* shape = prices->FindColumn("shape");
  EXPECT_EQ(shape->geometry->wkt, "w");
  EXPECT_EQ(shape->geometry->srid, 3857);
  EXPECT_EQ(prices->FindColumn("raw")->geometry->wkb, "b");
  EXPECT_EQ(prices->FindColumn("raw")->geometry->srid, 0);

  ASSERT_TRUE(prices->dedup.has_value());
  EXPECT_EQ(prices->dedup->key, (std::vector<std::string>{"commodity_id", "day"}));
  EXPECT_EQ(prices->dedup->keep_last_by, (std::vector<std::string>{"at"}));
  EXPECT_EQ(prices->dedup->where.ToString(), "spec.yaml:19:5");

  ASSERT_EQ(prices->indexes.size(), 3u);
  EXPECT_EQ(prices->indexes[0].name, "prices_day_idx");
  EXPECT_EQ(prices->indexes[0].method, "btree");
  EXPECT_FALSE(prices->indexes[0].unique);
  EXPECT_EQ(prices->indexes[1].name, "prices_spot_idx");
  EXPECT_EQ(prices->indexes[1].method, "gist");  // geometry
  EXPECT_EQ(prices->indexes[2].name, "u_cd");
  EXPECT_TRUE(prices->indexes[2].unique);
  EXPECT_EQ(prices->indexes[2].columns, (std::vector<std::string>{"commodity_id", "day"}));
  EXPECT_EQ(prices->indexes[2].where.ToString(), "spec.yaml:23:9");
}

// Lines 1-3 of every case below.
#define PARQUET_HEAD "migration: m\nsources: { p: { type: parquet, path: data } }\nentities:\n"
#define DIMENSION                                                  \
  "  commodities:\n"                                               \
  "    key: [id]\n"                                                \
  "    columns: { id: { type: integer }, name: { type: text } }\n" \
  "  prices:\n"                                                    \
  "    source: { from: p }\n"                                      \
  "    key: [c]\n"                                                 \
  "    columns:\n"
#define TABLE_T               \
  "  t:\n"                    \
  "    source: { from: p }\n" \
  "    key: [id]\n"

const ErrorCase kParquetFeatureErrorCases[] = {
    {"lookup entity misspelt",
     PARQUET_HEAD DIMENSION
     "      c: { type: integer, lookup: { entity: comodities, match: name } }\n",
     "spec.yaml:11:45: 'entity' in 'lookup' of column 'c' of entity 'prices': unknown entity "
     "'comodities'; did you mean 'commodities'?"},
    {"lookup match misspelt",
     PARQUET_HEAD DIMENSION
     "      c: { type: integer, lookup: { entity: commodities, match: nme } }\n",
     "spec.yaml:11:65: 'match' in 'lookup' of column 'c' of entity 'prices': unknown column "
     "'nme' of entity 'commodities'; did you mean 'name'?"},
    {"lookup id of another type",
     PARQUET_HEAD DIMENSION
     "      c: { type: bigint, lookup: { entity: commodities, match: name } }\n",
     "spec.yaml:11:26: 'lookup' of column 'c' of entity 'prices': 'commodities.id' is integer but "
     "the column is bigint; declare them alike"},
    {"entity without a source that no lookup fills",
     PARQUET_HEAD "  orphan:\n    key: [id]\n    columns: { id: { type: integer } }\n",
     "spec.yaml:4:3: missing required key 'source' in entity 'orphan' (only a dimension that a "
     "'lookup' fills may have none)"},
    {"geometry without a geometry block",
     PARQUET_HEAD TABLE_T
     "    columns:\n      id: { type: integer }\n      g: { type: geometry }\n",
     "spec.yaml:9:12: column 'g' of entity 't' is a geometry: say where it comes from with "
     "'geometry: { lon: X, lat: Y, srid: 4326 }', '{ wkt: X }' or '{ wkb: X }'"},
    {"lon without lat",
     PARQUET_HEAD TABLE_T "    columns:\n      id: { type: integer }\n      g: { type: geometry, "
                          "geometry: { lon: x } }\n",
     "spec.yaml:9:38: 'geometry' of column 'g' of entity 't' gives 'lon' without 'lat'"},
    {"geometry key misspelt",
     PARQUET_HEAD TABLE_T "    columns:\n      id: { type: integer }\n"
                          "      g: { type: geometry, geometry: { lon: x, lati: y } }\n",
     "spec.yaml:9:48: unknown key 'lati' in 'geometry' of column 'g' of entity 't'; did you mean "
     "'lat'?"},
    {"dedup on another key",
     PARQUET_HEAD TABLE_T
     "    columns: { id: { type: integer }, v: { type: integer }, at: { type: timestamptz } }\n"
     "    dedup: { key: [v], keep_last_by: [at] }\n",
     "spec.yaml:8:19: 'key' in 'dedup' of entity 't' must be the entity's key (id): rows are "
     "deduplicated on the key they are merged on"},
    {"keep_last_by misspelt",
     PARQUET_HEAD TABLE_T
     "    columns: { id: { type: integer }, v: { type: integer }, at: { type: timestamptz } }\n"
     "    dedup: { keep_last_by: [att] }\n",
     "spec.yaml:8:29: 'keep_last_by' in 'dedup' of entity 't': unknown column 'att'; did you mean "
     "'at'?"},
    {"index method misspelt",
     PARQUET_HEAD TABLE_T "    columns: { id: { type: integer }, v: { type: integer } }\n"
                          "    indexes: [{ columns: [v], method: btre }]\n",
     "spec.yaml:8:39: 'method' in index 1 of entity 't': unknown index method 'btre'; did you "
     "mean 'btree'?"},
};

#undef PARQUET_HEAD
#undef DIMENSION
#undef TABLE_T

TEST(ParseSpecTest, ParquetFeatureErrorsNamePositionAndKey) {
  for (const ErrorCase& c : kParquetFeatureErrorCases) {
    Result<MigrationSpec> r = Parse(c.yaml);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

// A redis source with one entity, a json source with another, and room for
// an `audit:` block from line 16 on.
constexpr char kAuditBase[] = R"(migration: t
sources:
  cache: { type: redis, url: "redis://127.0.0.1:6379/0" }
  files: { type: json, path: data/ }
entities:
  subscriptions:
    source: { from: cache, pattern: "p:{email}", value: json }
    key: [email]
    columns:
      email: { type: text }
  notes:
    source: { from: files, file: notes.json }
    key: [id]
    columns:
      id: { type: text }
)";

TEST(ParseSpecTest, AuditStopConditions) {
  Result<MigrationSpec> r = Parse(std::string(kAuditBase) + R"(audit:
  max_keys: 1000
  max_memory: 2GB
  not_empty: [subscriptions]
  entities:
    subscriptions: { max_keys: 50000 }
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const AuditSpec& a = r->audit;
  ASSERT_TRUE(a.max_keys.has_value());
  EXPECT_EQ(a.max_keys->value, 1000);
  EXPECT_EQ(a.max_keys->where.ToString(), "spec.yaml:17:13");
  ASSERT_TRUE(a.max_memory.has_value());
  EXPECT_EQ(a.max_memory->value, 2147483648LL);  // 2 * 1024^3
  EXPECT_EQ(a.max_memory->text, "2GB");
  EXPECT_EQ(a.max_memory->where.ToString(), "spec.yaml:18:15");
  ASSERT_EQ(a.not_empty.size(), 1u);
  EXPECT_EQ(a.not_empty[0].entity, "subscriptions");
  EXPECT_EQ(a.not_empty[0].where.ToString(), "spec.yaml:19:15");
  ASSERT_EQ(a.entities.size(), 1u);
  EXPECT_EQ(a.entities[0].entity, "subscriptions");
  ASSERT_TRUE(a.entities[0].max_keys.has_value());
  EXPECT_EQ(a.entities[0].max_keys->value, 50000);
  EXPECT_EQ(a.entities[0].max_keys->where.ToString(), "spec.yaml:21:32");

  // Every unit, any case; absent block: no conditions.
  for (const auto& [text, bytes] : std::vector<std::pair<std::string, int64_t>>{
           {"512B", 512}, {"3kb", 3072}, {"5MB", 5242880}, {"1TB", 1099511627776LL}}) {
    Result<MigrationSpec> sized =
        Parse(std::string(kAuditBase) + "audit: { max_memory: " + text + " }\n");
    ASSERT_TRUE(sized.ok()) << sized.status().ToString();
    EXPECT_EQ(sized->audit.max_memory->value, bytes) << text;
  }
  Result<MigrationSpec> none = Parse(kAuditBase);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->audit.empty());
}

TEST(ParseSpecTest, AuditErrorsNamePositionAndKey) {
  struct Case {
    const char* name;
    const char* audit;
    const char* message;
  };
  const Case cases[] = {
      {"unknown key", "audit:\n  max_key: 5\n",
       "spec.yaml:17:3: unknown key 'max_key' in 'audit'; did you mean 'max_keys'?"},
      {"size with a space", "audit: { max_memory: 2 GB }\n",
       "spec.yaml:16:22: 'max_memory' in 'audit' must be a size such as 512MB or 2GB (B, KB, MB, "
       "GB or TB; 1KB = 1024 B), not '2 GB'"},
      {"size without unit", "audit: { max_memory: 2048 }\n",
       "spec.yaml:16:22: 'max_memory' in 'audit' must be a size such as 512MB or 2GB (B, KB, MB, "
       "GB or TB; 1KB = 1024 B), not '2048'"},
      {"negative count", "audit:\n  max_keys: -1\n",
       "spec.yaml:17:13: 'max_keys' in 'audit' must not be negative"},
      {"not a number", "audit:\n  max_keys: 50K\n",
       "spec.yaml:17:13: 'max_keys' in 'audit' must be an integer, not '50K'"},
      {"misspelt entity", "audit: { not_empty: [subscriptons] }\n",
       "spec.yaml:16:22: 'not_empty' in 'audit': unknown entity 'subscriptons'; did you mean "
       "'subscriptions'?"},
      {"entity of a file source", "audit: { not_empty: [notes] }\n",
       "spec.yaml:16:22: 'not_empty' in 'audit': entity 'notes' has no key pattern (the audit "
       "measures entities of redis sources: subscriptions)"},
      {"not a list", "audit: { not_empty: subscriptions }\n",
       "spec.yaml:16:21: 'not_empty' in 'audit' must be a list of entities, not a single value"},
      {"named twice", "audit: { not_empty: [subscriptions, subscriptions] }\n",
       "spec.yaml:16:37: 'not_empty' in 'audit' names 'subscriptions' twice; first at "
       "spec.yaml:16:22"},
      {"unknown key of an entity", "audit:\n  entities:\n    subscriptions: { max_key: 5 }\n",
       "spec.yaml:18:22: unknown key 'max_key' in entity 'subscriptions' of 'audit'; did you "
       "mean 'max_keys'?"},
      {"unknown entity", "audit:\n  entities:\n    orders: { max_keys: 5 }\n",
       "spec.yaml:18:5: 'entities' in 'audit': unknown entity 'orders'; expected one of: "
       "subscriptions"},
  };
  for (const Case& c : cases) {
    Result<MigrationSpec> r = Parse(std::string(kAuditBase) + c.audit);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().message(), c.message) << c.name;
  }
}

// A rediss:// source's tls: files resolve from the spec's folder; tls: on a
// plain url, or a certificate without its key, is refused where it is written.
TEST(ParseSpecTest, RedisTlsFilesAndTheirErrors) {
  auto spec = [](const std::string& url, const std::string& tls) {
    return "migration: t\nsources:\n  cache: { type: redis, url: \"" + url + "\", tls: " + tls +
           " }\nentities:\n  u:\n    source: { from: cache, pattern: \"u:{id}\", value: hash }\n"
           "    key: [id]\n    columns:\n      id: { type: bigint }\n";
  };
  Result<MigrationSpec> r =
      Parse(spec("rediss://h:6380/0",
                 "{ ca_file: certs/ca.pem, cert_file: certs/app.pem, key_file: certs/app.key, "
                 "server_name: cache.internal }"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SourceSpec::Tls& tls = r->sources[0].tls;
  EXPECT_EQ(tls.ca_file, std::string(kBase) + "/certs/ca.pem");
  EXPECT_EQ(tls.cert_file, std::string(kBase) + "/certs/app.pem");
  EXPECT_EQ(tls.key_file, std::string(kBase) + "/certs/app.key");
  EXPECT_EQ(tls.server_name, "cache.internal");

  Result<MigrationSpec> plain = Parse(spec("redis://h:6379/0", "{ ca_file: ca.pem }"));
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().message(),
            "spec.yaml:3:50: 'tls' in source 'cache' applies to a rediss:// url; this source's "
            "url starts with redis:// (no TLS)");
  Result<MigrationSpec> half = Parse(spec("rediss://h:6380/0", "{ key_file: app.key }"));
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().message(),
            "spec.yaml:3:58: 'key_file' in 'tls' of source 'cache' needs 'cert_file' beside it "
            "(a client certificate and its key)");
}

}  // namespace
}  // namespace cutover::spec
