// IotdbWriter: staged points sent as tablets, BLOB INSERTs and DELETEs.
#include "stores/iotdb/iotdb_writer.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/message_quote.h"
#include "common/utf8.h"
#include "spec/series_pattern.h"
#include "stores/iotdb/iotdb_document.h"
#include "stores/iotdb/iotdb_rest.h"
#include "stores/iotdb/point_value.h"
#include "stores/iotdb/series_types.h"

namespace cutover::iotdb_store {
namespace {

using Json = nlohmann::json;

// At most this many rows in one BLOB INSERT, so a statement stays small.
constexpr size_t kBlobRowsPerStatement = 500;

TimePrecision PrecisionOfDigits(int digits) {
  return digits == 9 ? TimePrecision::kNs : digits == 6 ? TimePrecision::kUs : TimePrecision::kMs;
}

// Every point of one device to write, as (measurement -> time -> value).
struct DeviceWrites {
  std::vector<std::string> nodes;
  std::map<std::string, std::map<int64_t, Json>> points;
  std::map<std::string, IotdbType> types;  // of the measurements written
};

class IotdbWriter final : public store::Writer {
 public:
  IotdbWriter(const spec::SourceSpec& source, const spec::EntitySpec& entity)
      : rest_(source.url, source.iotdb.user, source.iotdb.password),
        row_limit_(source.iotdb.row_limit),
        precision_(PrecisionOfDigits(source.iotdb.precision_digits)),
        wide_(entity.iotdb->layout == spec::IotdbSeriesSpec::Layout::kWide),
        entity_(entity) {
    // What a wide row's delete removes: the device's measurements the
    // pattern's last node matches.
    const auto nodes = spec::SplitSeriesPath(entity.iotdb->pattern.text());
    const std::string last = nodes ? nodes->back() : "*";
    wide_measurements_ = !entity.iotdb->pattern.measurement_capture().empty() || last == "*" ? "*"
                         : last == "**"                                                      ? "**"
                                        : spec::QuoteSeriesNode(last);
  }

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    if (key.size() != 1) return InvalidArgument("an IoTDB point's key has one part");
    RETURN_IF_ERROR(CanonicalKey(key[0]));
    staged_[key[0]] = std::string(rows.columns[0].BytesAt(row));
    return Status::Ok();
  }

  Status Delete(const store::RecordKey& key) override {
    const std::optional<spec::SeriesPoint> point =
        key.size() == 1 ? spec::ParseSeriesPointKey(key[0]) : std::nullopt;
    if (!point) {
      return InvalidArgument("'" + (key.empty() ? std::string() : EscapeInvalidUtf8(key[0])) +
                             "' is no IoTDB point key (<series>@<time>)");
    }
    RETURN_IF_ERROR(CanonicalKey(key[0]));
    if (!wide_) RETURN_IF_ERROR(CheckSeries(point->nodes));
    staged_[key[0]] = std::nullopt;
    return Status::Ok();
  }

  Status Flush() override {
    std::map<std::string, DeviceWrites> devices;  // by device path
    // Time -> paths to delete at it: staged deletes, and a wide row's NULLs
    // (StageDocument adds those).
    written_.clear();
    points_.clear();
    known_before_.clear();
    unconfirmed_.clear();
    sent_any_ = false;
    std::map<int64_t, std::vector<std::string>>& gone = gone_;
    gone.clear();
    for (const auto& [key, doc] : staged_) {
      if (!doc) {
        const spec::SeriesPoint point = *spec::ParseSeriesPointKey(key);
        std::string path = spec::JoinSeriesPath(point.nodes);
        if (wide_) path += "." + wide_measurements_;
        gone[point.epoch].push_back(std::move(path));
        continue;
      }
      RETURN_IF_ERROR(StageDocument(key, *doc, &devices));
    }
    for (auto& [path, device] : devices) RETURN_IF_ERROR(WriteDevice(path, device));
    for (const auto& [epoch, paths] : gone) {
      sent_any_ = true;
      RETURN_IF_ERROR(rest_.NonQuery(
          fmt::format("DELETE FROM {} WHERE time = {}", fmt::join(paths, ", "), epoch)));
    }
    if (read_back_) KeepWritten(devices);
    staged_.clear();
    return Status::Ok();
  }

  // The gateway's read-back without a read: IoTDB holds exactly the points
  // just written (as StoredValue spells them), with no other write to them
  // in between that a read would see and that the watermark sync would not
  // bring later with a newer version. Left to a read: a FLOAT (Java's
  // digits), a series whose type IoTDB did not confirm, and a document
  // that names another point than its key.
  bool ReadBackWrites() override {
    read_back_ = !wide_;  // the gateway writes long points only
    return read_back_;
  }

  const std::map<store::RecordKey, Written>& written() const override { return written_; }

  void Discard() override { staged_.clear(); }

  // A tablet per device, then the deletes: those sent before an error may
  // have landed. A document refused before anything was sent landed nothing.
  bool MayLandInPart() const override { return sent_any_; }

 private:
  // Each point of the flush as a read of it would give it, versioned by the
  // local clock after the writes, as RestKeyReader versions a read. A value
  // that cannot be spelled is left out: the caller reads that point back.
  void KeepWritten(const std::map<std::string, DeviceWrites>& devices) {
    const int64_t version = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    for (const auto& [key, doc] : staged_) {
      if (doc) continue;
      Written& w = written_[{key}];
      w.deleted = true;
      w.version = version;
    }
    for (const StagedPoint& p : points_) {
      const DeviceWrites& device = devices.at(p.device);
      const IotdbType type = device.types.at(p.measurement);
      if (unconfirmed_.contains({p.device, p.measurement})) continue;
      Result<IotdbValue> value =
          StoredValue(type, device.points.at(p.measurement).at(p.epoch), precision_);
      std::vector<std::string> nodes = device.nodes;
      nodes.push_back(p.measurement);
      std::optional<std::vector<std::string>> captures =
          entity_.iotdb->pattern.Match(spec::JoinSeriesPath(nodes));
      // A document may name another point than its key: only the key's own
      // point is the key's state.
      if (!value.ok() || !captures || spec::SeriesPointKey(nodes, p.epoch) != p.key) continue;
      const SeriesMatch match{p.device, p.measurement, std::move(*captures)};
      Written& w = written_[{p.key}];
      w.version = version;
      AppendPointDocument(entity_, match, p.epoch, precision_, *value, &w.document);
    }
  }

  // InvalidArgument unless `key` is spelled as spec::SeriesPointKey spells
  // its point: two spellings of one point would be two keys to lock and
  // journal, and their writes could land out of order.
  static Status CanonicalKey(const std::string& key) {
    const std::optional<spec::SeriesPoint> point = spec::ParseSeriesPointKey(key);
    if (!point) {
      return InvalidArgument("'" + EscapeInvalidUtf8(key) +
                             "' is no IoTDB point key (<series>@<time>)");
    }
    const std::string canonical = spec::SeriesPointKey(point->nodes, point->epoch);
    if (canonical == key) return Status::Ok();
    return InvalidArgument("'" + EscapeInvalidUtf8(key) + "' names the point " + canonical +
                           "; write its key so");
  }

  // InvalidArgument unless `nodes` is a series of the entity's pattern: a
  // write must not land where the entity does not read.
  Status CheckSeries(const std::vector<std::string>& nodes) const {
    const std::string path = spec::JoinSeriesPath(nodes);
    if (entity_.iotdb->pattern.Match(path)) return Status::Ok();
    return InvalidArgument(fmt::format("series {} is not one of entity '{}' ({})", path,
                                       entity_.name, entity_.iotdb->pattern.text()));
  }

  // Adds the point(s) of `doc` to their device's writes.
  Status StageDocument(const std::string& key, const std::string& text,
                       std::map<std::string, DeviceWrites>* devices) {
    const Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto bad = [&](std::string_view why) {
      return InvalidArgument(
          fmt::format("the IoTDB record of {} is malformed: {}", EscapeInvalidUtf8(key), why));
    };
    if (!doc.is_object()) return bad("not a JSON object");
    // A gateway client's document names its point by the key alone.
    const std::optional<spec::SeriesPoint> point = spec::ParseSeriesPointKey(key);
    const std::optional<int64_t> epoch =
        doc.contains("$epoch") ? IntegerOf(doc["$epoch"])
                               : (point ? std::optional<int64_t>(point->epoch) : std::nullopt);
    if (!epoch) return bad("no integer $epoch");
    const char* nodes_member = wide_ ? "$device" : "$series";
    std::vector<std::string> nodes;
    if (doc.contains(nodes_member) && doc[nodes_member].is_array()) {
      nodes = doc[nodes_member].get<std::vector<std::string>>();
    } else if (point) {
      nodes = point->nodes;
    } else {
      return bad(std::string("no ") + nodes_member);
    }
    if (nodes.size() < (wide_ ? 2u : 3u)) return bad("too few nodes");
    std::string measurement;
    if (!wide_) {
      measurement = nodes.back();
      nodes.pop_back();
    }
    const std::string path = spec::JoinSeriesPath(nodes);
    DeviceWrites& device = (*devices)[path];
    device.nodes = nodes;
    ASSIGN_OR_RETURN(const SeriesTypes::ByMeasurement* known, types_.Of(path));
    auto add = [&](const std::string& m, const Json& values, const std::string& suggested,
                   bool by_family) -> Status {
      nodes.push_back(m);
      Status in_pattern = CheckSeries(nodes);
      nodes.pop_back();
      RETURN_IF_ERROR(in_pattern);
      IotdbType type{};
      if (auto it = known->find(m); it != known->end()) {
        known_before_[path].insert(m);
        type = it->second;
      } else if (std::optional<IotdbType> t = ParseIotdbType(suggested)) {
        type = *t;
      } else {
        return bad("no type for new series " + m);
      }
      // A new series keeps the type its first point gave it.
      if (auto it = device.types.find(m); it != device.types.end()) type = it->second;
      const std::string where =
          fmt::format("the point of {}.{} at {}", path, spec::QuoteSeriesNode(m), *epoch);
      std::optional<Json> value;
      if (by_family) {
        Result<std::optional<Json>> v = PointValue(type, values, precision_);
        if (!v.ok()) return v.status().WithContext(where);
        value = std::move(*v);
      } else {
        Result<Json> v = TabletValue(type, values, precision_);
        if (!v.ok()) return v.status().WithContext(where);
        value = std::move(*v);
      }
      if (!value) {
        return DataError(fmt::format("{} has no value a {} takes", where, IotdbTypeName(type)));
      }
      device.types[m] = type;
      device.points[m][*epoch] = std::move(*value);
      return Status::Ok();
    };
    if (!wide_) {
      RETURN_IF_ERROR(add(measurement, doc, doc.value("$type", ""), /*by_family=*/true));
      points_.push_back({key, path, measurement, *epoch});
      return Status::Ok();
    }
    if (!doc.contains("$values") || !doc["$values"].is_object()) return bad("no $values");
    const Json types = doc.value("$types", Json::object());
    for (const auto& [m, value] : doc["$values"].items()) {
      if (value.is_null()) {  // NULL in PostgreSQL: no point there
        gone_[*epoch].push_back(path + "." + spec::QuoteSeriesNode(m));
        continue;
      }
      RETURN_IF_ERROR(add(m, value, types.value(m, ""), /*by_family=*/false));
    }
    return Status::Ok();
  }

  Status WriteDevice(const std::string& path, const DeviceWrites& device) {
    std::set<int64_t> times;
    std::vector<std::string> measurements;
    for (const auto& [m, points] : device.points) {
      if (device.types.at(m) == IotdbType::kBlob) continue;
      measurements.push_back(m);
      for (const auto& [t, v] : points) times.insert(t);
    }
    if (!measurements.empty()) {
      Json tablet = {{"timestamps", Json::array()}, {"measurements", Json::array()},
                     {"data_types", Json::array()}, {"values", Json::array()},
                     {"is_aligned", false},         {"device", path}};
      for (int64_t t : times) tablet["timestamps"].push_back(t);
      for (const std::string& m : measurements) {
        tablet["measurements"].push_back(spec::QuoteSeriesNode(m));
        tablet["data_types"].push_back(std::string(IotdbTypeName(device.types.at(m))));
        Json column = Json::array();
        const auto& points = device.points.at(m);
        for (int64_t t : times) {
          auto it = points.find(t);
          column.push_back(it == points.end() ? Json() : it->second);
        }
        tablet["values"].push_back(std::move(column));
      }
      sent_any_ = true;
      RETURN_IF_ERROR(rest_.InsertTablet(tablet));
    }
    for (const auto& [m, points] : device.points) {
      if (device.types.at(m) != IotdbType::kBlob) continue;
      std::vector<std::string> rows;
      auto send = [&]() -> Status {
        if (rows.empty()) return Status::Ok();
        sent_any_ = true;
        Status st = rest_.NonQuery(fmt::format("INSERT INTO {}(time, {}) VALUES {}", path,
                                               spec::QuoteSeriesNode(m), fmt::join(rows, ", ")));
        rows.clear();
        return st;
      };
      for (const auto& [t, hex] : points) {
        rows.push_back(fmt::format("({}, X'{}')", t, hex.get<std::string>()));
        if (rows.size() == kBlobRowsPerStatement) RETURN_IF_ERROR(send());
      }
      RETURN_IF_ERROR(send());
    }
    // Series the insert created now exist with these types.
    // A series this write created by the type its point suggested may have
    // been made by another writer first, with another type IoTDB then
    // converted to: listed again, the types are IoTDB's, and a point whose
    // type they do not confirm is left to be read back.
    bool created = false;
    for (const auto& [m, type] : device.types) created |= !known_before_[path].contains(m);
    if (!created) return Status::Ok();
    Result<const SeriesTypes::ByMeasurement*> now = types_.Fresh(path);
    for (const auto& [m, type] : device.types) {
      if (known_before_[path].contains(m)) continue;
      if (!now.ok()) {
        types_.Learn(path, m, type);
        unconfirmed_.insert({path, m});
      } else if (auto it = (*now)->find(m); it == (*now)->end() || it->second != type) {
        unconfirmed_.insert({path, m});
      }
    }
    return Status::Ok();
  }

  IotdbRest rest_;
  const int64_t row_limit_;
  const TimePrecision precision_;
  const bool wide_;
  const spec::EntitySpec& entity_;
  std::string wide_measurements_;
  std::map<std::string, std::optional<std::string>> staged_;  // key -> document, or a delete
  std::map<int64_t, std::vector<std::string>> gone_;  // Flush's: time -> paths to delete at it
  // A long record's point as Flush staged it: where its value is.
  struct StagedPoint {
    std::string key;
    std::string device;  // the path, as DeviceWrites are keyed
    std::string measurement;
    int64_t epoch = 0;
  };
  std::vector<StagedPoint> points_;  // Flush's
  bool read_back_ = false;
  bool sent_any_ = false;  // by the last Flush
  // Flush's: the measurements each device had in IoTDB's listing before the
  // writes, and the series whose type IoTDB did not confirm after them.
  std::map<std::string, std::set<std::string>> known_before_;
  std::set<std::pair<std::string, std::string>> unconfirmed_;
  std::map<store::RecordKey, Written> written_;  // of the last successful Flush
  SeriesTypes types_{&rest_, row_limit_};
};

}  // namespace

std::unique_ptr<store::Writer> NewIotdbWriter(const spec::SourceSpec& source,
                                              const spec::EntitySpec& entity) {
  return std::make_unique<IotdbWriter>(source, entity);
}

}  // namespace cutover::iotdb_store
