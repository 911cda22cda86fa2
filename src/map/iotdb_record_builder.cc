// IotdbRecordBuilder: rows back into the IoTDB writer's point documents.
#include "map/iotdb_record_builder.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "map/row_value_json.h"

namespace cutover::map {
namespace {

using Json = nlohmann::ordered_json;

// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
constexpr int64_t kPgEpochUnixMicros = 946684800000000;

// A value family of the long record and the type a value from it suggests.
struct Family {
  std::string_view from;
  std::string_view type;
};
// The most specific first: a TIMESTAMP also fills $integer, and an INT64
// $numeric, so the first family present names the type best.
constexpr std::array<Family, 7> kFamilies = {{{"$timestamp", "TIMESTAMP"},
                                              {"$date", "DATE"},
                                              {"$blob", "BLOB"},
                                              {"$boolean", "BOOLEAN"},
                                              {"$text", "TEXT"},
                                              {"$integer", "INT64"},
                                              {"$numeric", "DOUBLE"}}};

// The IoTDB type a value of `column`'s type suggests for a new wide series.
std::string_view TypeOfColumn(ValueType type) {
  switch (type) {
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kInt32:
      return "INT32";
    case ValueType::kInt64:
      return "INT64";
    case ValueType::kFloat64:
    case ValueType::kNumeric:
      return "DOUBLE";
    case ValueType::kBytes:
    case ValueType::kGeometry:
      return "BLOB";
    case ValueType::kDate:
      return "DATE";
    case ValueType::kTimestamptz:
      return "TIMESTAMP";
    default:
      return "TEXT";
  }
}

// The type a "$value" suggests by its JSON kind.
std::string_view TypeOfJson(const Json& v) {
  if (v.is_boolean()) return "BOOLEAN";
  if (v.is_number_integer()) return "INT64";
  if (v.is_number()) return "DOUBLE";
  if (v.is_object() && v.contains("$bytes")) return "BLOB";
  return "TEXT";
}

class IotdbRecordBuilder final : public RecordBuilder {
 public:
  explicit IotdbRecordBuilder(const spec::EntitySpec& entity)
      : entity_(entity), iotdb_(*entity.iotdb) {}

  Result<std::string> Key(const RowBatch& rows, size_t row) const override {
    ASSIGN_OR_RETURN(const std::vector<std::string> nodes, Nodes(rows, row));
    ASSIGN_OR_RETURN(const int64_t epoch, Epoch(rows, row));
    return spec::SeriesPointKey(nodes, epoch);
  }

  Result<std::string> Build(const RowBatch& rows, size_t row) const override {
    ASSIGN_OR_RETURN(const std::vector<std::string> nodes, Nodes(rows, row));
    ASSIGN_OR_RETURN(const int64_t epoch, Epoch(rows, row));
    Json doc = Json::object();
    doc[wide() ? "$device" : "$series"] = nodes;
    doc["$epoch"] = epoch;
    if (wide()) {
      Json values = Json::object();
      Json types = Json::object();
      for (const spec::ColumnSpec& c : entity_.columns) {
        if (!c.from.starts_with("$values.")) continue;
        const Column* col = Find(rows, c);
        if (col == nullptr) continue;
        const std::string measurement = c.from.substr(8);
        if (col->IsNull(row)) {  // no point of it there: the writer deletes one
          values[measurement] = nullptr;
          continue;
        }
        values[measurement] = Value(*col, row);
        types[measurement] = std::string(TypeOfColumn(col->type()));
      }
      doc["$values"] = std::move(values);
      doc["$types"] = std::move(types);
      return doc.dump(-1, ' ', false, Json::error_handler_t::strict);
    }
    std::string type;
    if (const Column* t = Find(rows, "$type"); t != nullptr && !t->IsNull(row)) {
      type = std::string(t->BytesAt(row));
    }
    for (const Family& f : kFamilies) {
      const Column* col = Find(rows, f.from);
      if (col == nullptr || col->IsNull(row)) continue;
      doc[std::string(f.from)] = Value(*col, row);
      if (type.empty()) type = f.type;
    }
    if (const Column* v = Find(rows, "$value"); v != nullptr && !v->IsNull(row)) {
      Json value = RowValueJson(*v, row, /*numeric_as_number=*/true);
      if (type.empty()) type = TypeOfJson(value);
      doc["$value"] = std::move(value);
    }
    if (type.empty()) {
      return DataError(fmt::format("the point of {} has no value: every value column is NULL",
                                   spec::JoinSeriesPath(nodes)));
    }
    doc["$type"] = type;
    return doc.dump(-1, ' ', false, Json::error_handler_t::strict);
  }

 private:
  bool wide() const { return iotdb_.layout == spec::IotdbSeriesSpec::Layout::kWide; }

  // The column of the row that reads `from`, or null.
  const Column* Find(const RowBatch& rows, std::string_view from) const {
    for (const spec::ColumnSpec& c : entity_.columns) {
      if (c.from == from) return Find(rows, c);
    }
    return nullptr;
  }
  static const Column* Find(const RowBatch& rows, const spec::ColumnSpec& c) {
    const int at = rows.IndexOf(c.name);
    return at < 0 ? nullptr : &rows.columns[static_cast<size_t>(at)];
  }

  // A value as the writer takes it: bytes always as {"$bytes": hex} (a BLOB
  // of UTF-8 text is still bytes), a timestamp as its epoch in the source's
  // precision, numerics as JSON numbers.
  Json Value(const Column& col, size_t row) const {
    if (col.type() == ValueType::kBytes) return Json{{"$bytes", HexBytes(col.BytesAt(row))}};
    if (col.type() == ValueType::kTimestamptz) {
      const int64_t micros = col.IntAt(row) + kPgEpochUnixMicros;
      const Result<int64_t> epoch = FromMicros(micros);
      if (epoch.ok()) return *epoch;
      return RowValueJson(col, row);  // finer than the precision: the writer says so
    }
    return RowValueJson(col, row, /*numeric_as_number=*/true);
  }

  Result<int64_t> FromMicros(int64_t micros) const {
    switch (iotdb_.precision_digits) {
      case 6:
        return micros;
      case 9:
        return micros * 1000;
      default:
        if (micros % 1000 != 0) {
          return DataError(fmt::format(
              "the time {} has microseconds, which an IoTDB of ms precision cannot hold", micros));
        }
        return micros / 1000;
    }
  }

  Result<int64_t> Epoch(const RowBatch& rows, size_t row) const {
    if (const Column* e = Find(rows, "$epoch"); e != nullptr) {
      if (e->IsNull(row)) return DataError("the point's $epoch column is NULL");
      if (e->type() == ValueType::kInt64 || e->type() == ValueType::kInt32) return e->IntAt(row);
    }
    const Column* t = Find(rows, "$time");
    if (t == nullptr || t->IsNull(row) || t->type() != ValueType::kTimestamptz) {
      return DataError(
          "the row gives no time to write its point at: a timestamptz column reading $time, or a "
          "bigint reading $epoch, must hold one");
    }
    Result<int64_t> epoch = FromMicros(t->IntAt(row) + kPgEpochUnixMicros);
    if (!epoch.ok()) return epoch.status().WithContext("writing back the point's $time");
    return *epoch;
  }

  // A text column's value, or a capture's (any type) as its text.
  std::optional<std::string> Text(const RowBatch& rows, size_t row, std::string_view from) const {
    const Column* col = Find(rows, from);
    if (col == nullptr || col->IsNull(row)) return std::nullopt;
    return KeyPartText(RowValueJson(*col, row));
  }

  // The series' nodes (long) or the device's (wide).
  Result<std::vector<std::string>> Nodes(const RowBatch& rows, size_t row) const {
    if (std::optional<std::string> series = Text(rows, row, "$series")) {
      auto nodes = spec::SplitSeriesPath(*series);
      if (!nodes || nodes->size() < 3) return DataError("$series '" + *series + "' is no series");
      if (wide()) nodes->pop_back();
      return *nodes;
    }
    std::vector<std::string> nodes;
    if (std::optional<std::string> device = Text(rows, row, "$device")) {
      auto split = spec::SplitSeriesPath(*device);
      if (!split || split->size() < 2) return DataError("$device '" + *device + "' is no device");
      nodes = std::move(*split);
    } else {
      // The pattern filled with the captures; the measurement's own capture,
      // when no column holds it, by a stand-in node dropped below.
      const std::string& measurement = iotdb_.pattern.measurement_capture();
      std::vector<std::string> values;
      for (const std::string& capture : iotdb_.pattern.captures()) {
        std::optional<std::string> v = Text(rows, row, capture);
        if (!v && capture == measurement) v = "m";
        if (!v) return DataError("the device's capture '" + capture + "' is NULL");
        values.push_back(std::move(*v));
      }
      auto filled = iotdb_.pattern.Fill(values);
      if (!filled) {
        return DataError("the captures do not name a device of '" + iotdb_.pattern.text() + "'");
      }
      nodes = std::move(*filled);
      nodes.pop_back();  // the measurement's node
    }
    if (wide()) return nodes;
    std::optional<std::string> measurement = Text(rows, row, "$measurement");
    if (!measurement && !iotdb_.pattern.measurement_capture().empty()) {
      measurement = Text(rows, row, iotdb_.pattern.measurement_capture());
    }
    if (!measurement) {
      const auto pattern_nodes = spec::SplitSeriesPath(iotdb_.pattern.text());
      if (pattern_nodes && iotdb_.pattern.measurement_capture().empty()) {
        measurement = pattern_nodes->back();
      }
    }
    if (!measurement || measurement->empty()) return DataError("the point's measurement is NULL");
    nodes.push_back(std::move(*measurement));
    return nodes;
  }

  const spec::EntitySpec& entity_;
  const spec::IotdbSeriesSpec& iotdb_;
};

}  // namespace

std::unique_ptr<RecordBuilder> NewIotdbRecordBuilder(const spec::EntitySpec& entity) {
  return std::make_unique<IotdbRecordBuilder>(entity);
}

}  // namespace cutover::map
