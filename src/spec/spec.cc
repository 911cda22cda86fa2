// The migration spec: what a user declares in cutover.yaml, after ${VAR}
// expansion and validation. Lookups over the plain data in spec.h.
#include "spec/spec.h"

#include <algorithm>

namespace cutover::spec {
namespace {

const EntitySpec* FindEntityIn(const std::vector<EntitySpec>& entities, std::string_view name) {
  for (const EntitySpec& entity : entities) {
    if (entity.name == name) return &entity;
    if (const EntitySpec* child = FindEntityIn(entity.children, name)) return child;
  }
  return nullptr;
}

}  // namespace

std::string Location::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const ColumnSpec* EntitySpec::FindColumn(std::string_view column) const {
  for (const ColumnSpec& c : columns) {
    if (c.name == column) return &c;
  }
  return nullptr;
}

const SourceSpec* MigrationSpec::FindSource(std::string_view source_name) const {
  for (const SourceSpec& s : sources) {
    if (s.name == source_name) return &s;
  }
  return nullptr;
}

const EntitySpec* MigrationSpec::FindEntity(std::string_view entity_name) const {
  return FindEntityIn(entities, entity_name);
}

std::string_view RedisTypeName(RedisKeySpec::Value value) {
  switch (value) {
    case RedisKeySpec::Value::kString:
    case RedisKeySpec::Value::kCounter:
    case RedisKeySpec::Value::kJson:
      return "string";
    case RedisKeySpec::Value::kHash:
      return "hash";
    case RedisKeySpec::Value::kSet:
      return "set";
    case RedisKeySpec::Value::kList:
      return "list";
    case RedisKeySpec::Value::kZset:
      return "zset";
  }
  return "string";
}

std::string PriorityName(int priority) {
  for (const auto& [name, value] : kPriorityNames) {
    if (value == priority) return std::string(name);
  }
  return std::to_string(priority);
}

std::optional<std::string> JsonKeyField(const EntitySpec& entity) {
  if (entity.file.empty() || entity.key.size() != 1) return std::nullopt;
  const ColumnSpec* c = entity.FindColumn(entity.key[0]);
  const std::string from = c == nullptr || c->from.empty() ? entity.key[0] : c->from;
  return from == "$key" ? "" : from;
}

std::vector<std::string> KeySourceColumns(const EntitySpec& entity) {
  std::vector<std::string> out;
  for (const std::string& k : entity.key) {
    const ColumnSpec* c = entity.FindColumn(k);
    out.push_back(c == nullptr || c->from.empty() ? k : c->from);
  }
  return out;
}

namespace {

// Why `entity`'s rows cannot be turned back into records of a file source.
std::string RecordInvertibilityProblem(const EntitySpec& entity, bool top_level) {
  if (top_level && entity.file.find_first_of("*?[") != std::string::npos) {
    return "its records come from the files of a glob, and a row does not say which one";
  }
  std::vector<std::string> paths;
  for (const ColumnSpec& c : entity.columns) {
    if (c.lookup || (c.geometry && c.geometry->lon.empty())) {
      return "column '" + c.name + "' is computed (" + (c.lookup ? "lookup" : "geometry") +
             "), so the value it came from cannot be rebuilt";
    }
    if (c.geometry) {  // a point from lon/lat: it splits back into them
      paths.push_back(c.geometry->lon);
      paths.push_back(c.geometry->lat);
      continue;
    }
    if (c.from == "$tag" || c.from == "$key" || c.from == "$item") continue;
    paths.push_back(c.from.empty() ? c.name : c.from);
  }
  for (const EntitySpec& child : entity.children) {
    if (!child.children.empty()) {
      return "child '" + child.name + "' has children of its own, which are not written back yet";
    }
    if (const std::string problem = RecordInvertibilityProblem(child, false); !problem.empty()) {
      return "child '" + child.name + "': " + problem;
    }
    paths.push_back(child.path);
  }
  // Two values at one place, or one inside another's, would overwrite each other.
  std::sort(paths.begin(), paths.end());
  for (size_t i = 1; i < paths.size(); ++i) {
    if (paths[i] == paths[i - 1] || paths[i].starts_with(paths[i - 1] + ".")) {
      return "'" + paths[i - 1] + "' and '" + paths[i] +
             "' are read from the same place, so one of them cannot be written back";
    }
  }
  return "";
}

// An IoTDB row goes back as points: it must say the device, the measurement
// (long layout), the time and a value.
std::string SeriesInvertibilityProblem(const EntitySpec& entity) {
  const IotdbSeriesSpec& iotdb = *entity.iotdb;
  auto reads = [&](std::string_view from) {
    return std::any_of(entity.columns.begin(), entity.columns.end(),
                       [&](const ColumnSpec& c) { return c.from == from; });
  };
  for (const ColumnSpec& c : entity.columns) {
    if (c.lookup || c.geometry) {
      return "column '" + c.name + "' is computed (" + (c.lookup ? "lookup" : "geometry") +
             "), so the value it came from cannot be rebuilt";
    }
  }
  if (!reads("$time") && !reads("$epoch")) return "no column holds the point's $time or $epoch";
  const bool wide = iotdb.layout == IotdbSeriesSpec::Layout::kWide;
  const bool series_column = reads("$series");
  // A capture goes back as the node's text: a number would respell it
  // (the node `007` read as 7 goes back as `7`, another device).
  for (const std::string& capture : iotdb.pattern.captures()) {
    for (const ColumnSpec& c : entity.columns) {
      if (c.from == capture && c.type != ValueType::kText) {
        return "column '" + c.name + "' holds the capture '" + capture + "' as " +
               std::string(ValueTypeName(c.type)) +
               ", which does not keep the node's spelling (007 and 7 are one number): make it "
               "text";
      }
    }
  }
  // A `*` or `**` last names no node a row could fill.
  const auto pattern_nodes = SplitSeriesPath(iotdb.pattern.text());
  const bool wildcard_last =
      pattern_nodes && (pattern_nodes->back() == "*" || pattern_nodes->back() == "**");
  if (wildcard_last && !series_column && !reads("$device")) {
    return "the series pattern '" + iotdb.pattern.text() +
           "' ends in a wildcard, so the device is rebuilt only from a column holding $device" +
           std::string(wide ? "" : " or $series");
  }
  if (!series_column && !reads("$device")) {
    if (iotdb.pattern.device_has_wildcard()) {
      return "the series pattern '" + iotdb.pattern.text() +
             "' has a * or ** among the device's nodes and no column holds $device or $series, "
             "so a row does not say which device its points belong to";
    }
    for (const std::string& capture : iotdb.pattern.device_captures()) {
      if (!reads(capture)) {
        return "no column holds the capture '" + capture + "', so the device cannot be rebuilt";
      }
    }
  }
  if (wide) {
    if (!std::any_of(entity.columns.begin(), entity.columns.end(),
                     [](const ColumnSpec& c) { return c.from.starts_with("$values."); })) {
      return "no column holds a measurement's value";
    }
    return "";
  }
  const std::string& measurement = iotdb.pattern.measurement_capture();
  const auto nodes = SplitSeriesPath(iotdb.pattern.text());
  const bool literal_measurement =
      measurement.empty() && nodes && nodes->back() != "*" && nodes->back() != "**";
  if (!series_column && !reads("$measurement") && !literal_measurement &&
      (measurement.empty() || !reads(measurement))) {
    return "no column holds the measurement ($measurement, $series or the pattern's last "
           "capture), so the series cannot be rebuilt";
  }
  for (std::string_view from :
       {"$value", "$numeric", "$integer", "$text", "$boolean", "$blob", "$date", "$timestamp"}) {
    if (reads(from)) return "";
  }
  return "no column holds the point's value ($value or one of its families: $numeric, "
         "$integer, $text, $boolean, $blob, $date, $timestamp)";
}

}  // namespace

std::string InvertibilityProblem(const EntitySpec& entity) {
  if (entity.iotdb) return SeriesInvertibilityProblem(entity);
  if (!entity.redis) return RecordInvertibilityProblem(entity, true);
  if (!entity.children.empty()) return "its children cannot be written back into one key yet";
  auto reads = [&](std::string_view from) {
    for (const ColumnSpec& c : entity.columns) {
      if (c.from == from) return true;
    }
    return false;
  };
  for (const std::string& capture : entity.redis->pattern.captures()) {
    if (!reads(capture)) {
      return "no column holds the key's capture '" + capture + "', so the key cannot be rebuilt";
    }
  }
  if (!reads("$expires_at")) {
    return "no column holds '$expires_at', so a key's TTL would be lost";
  }
  bool value_read = false;
  for (const ColumnSpec& c : entity.columns) {
    if (c.lookup || c.geometry) {
      return "column '" + c.name + "' is computed (" + (c.lookup ? "lookup" : "geometry") +
             "), so the value it came from cannot be rebuilt";
    }
    if (c.from == "$value" || c.from.starts_with("$value.")) value_read = true;
  }
  if (!value_read) return "no column holds the key's value ('$value' or a field of it)";
  using V = RedisKeySpec::Value;
  const V kind = entity.redis->value;
  if ((kind == V::kSet || kind == V::kList || kind == V::kZset) && !reads("$value")) {
    return "a " + std::string(RedisTypeName(kind)) +
           " is written back whole: map '$value' to a jsonb column";
  }
  return "";
}

std::string NotWrittenBack(const EntitySpec& entity, std::string_view what) {
  const std::string problem = InvertibilityProblem(entity);
  return entity.where.ToString() + ": entity '" + entity.name +
         "' does not declare write_back: true, so its rows are not turned back into " +
         std::string(what) + (problem.empty() ? "" : " (and could not be: " + problem + ")");
}

}  // namespace cutover::spec
