// The migration spec: what a user declares in cutover.yaml, after ${VAR}
// expansion and validation. Plain data; LoadSpec in spec_loader.h builds it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/value_type.h"

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
  int priority = 0;  // lower runs first
  Location where;

  // Null when no column has that name.
  const ColumnSpec* FindColumn(std::string_view column) const;
};

enum class JsonLayout { kAuto, kArray, kObject, kLines };

struct SourceSpec {
  std::string name;
  std::string type;  // "json"
  std::string path;  // file or directory, resolved against the spec's folder
  JsonLayout layout = JsonLayout::kAuto;
  Location where;
};

struct TargetSpec {
  std::optional<std::string> url;  // absent: a scratch cluster
  Location where;
};

struct BackfillOptions {
  int64_t batch_size = 10000;
  int64_t max_rejects = 0;
  std::string reject_file;  // default: <work_dir>/rejects.jsonl
};

struct VerifyOptions {
  double float_tolerance = 0.0;  // relative, 0.001 = 0.1%
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

  // Null when absent. FindEntity also searches children at any depth; entity
  // names are unique across the whole spec.
  const SourceSpec* FindSource(std::string_view source_name) const;
  const EntitySpec* FindEntity(std::string_view entity_name) const;
};

}  // namespace cutover::spec
