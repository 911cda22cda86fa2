// IotdbStore: partitions per device (REST) or per file (CSV), both handing
// out the documents of iotdb_document.h.
#include "stores/iotdb/iotdb_store.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>

#include "common/file_match.h"
#include "common/utf8.h"
#include "stores/iotdb/iotdb_csv.h"
#include "stores/iotdb/iotdb_csv_replacer.h"
#include "stores/iotdb/iotdb_document.h"
#include "stores/iotdb/iotdb_rest.h"
#include "stores/iotdb/iotdb_writer.h"
#include "stores/iotdb/point_value.h"
#include "stores/iotdb/series_types.h"

namespace cutover::iotdb_store {
namespace {

// IotdbStore design
//
// REST: Plan lists the series the pattern matches (SHOW TIMESERIES, paged
// by LIMIT/OFFSET) and makes a partition per device, in path order. A
// reader of a device pages through its rows in time order with
// `WHERE time > <last> ORDER BY TIME ASC LIMIT <row_limit - 1>`: time is
// unique per row of one device, so the last time read is an exact cursor
// ("time=<epoch>"), and a page never reaches the server's row limit, which
// fails a result that reaches it (code 708). A device whose rows all came
// back ends on an empty page.
//
// CSV: a partition per file of the source's path; the cursor is the byte
// offset and line after the last row read ("offset=<n> line=<n>"). Columns
// whose series the pattern does not match are skipped; a row the reader
// cannot read becomes one error record, rejected with its line.
//
// A batch ends on a row boundary: a REST page asks for as many rows as
// hold about the batch's points; a CSV batch may hold one row's points
// more than asked (a row has at most one point per column).

TimePrecision PrecisionOf(const spec::SourceSpec& source) {
  switch (source.iotdb.precision_digits) {
    case 6:
      return TimePrecision::kUs;
    case 9:
      return TimePrecision::kNs;
    default:
      return TimePrecision::kMs;
  }
}

// A record's index is a 63-bit hash of its document, which names its point
// (series and time) or device row: rejects are keyed by it, and an ordinal
// would restart at 0 whenever a partition is opened again (a resume, each
// pass of a sync), so that one point's reject would replace another's. Its
// key is the point's spec::SeriesPointKey (a record that could not be read:
// its file and line), which rollback deletes a point by.
void AddRecord(const std::string& doc, std::string key, int64_t line, int64_t offset,
               store::StoreBatch* out) {
  out->source_keys.push_back(std::move(key));
  out->rows.columns[0].AppendBytes(doc);
  out->rows.columns[1].AppendNull();
  store::RecordPosition pos;
  pos.byte_offset = offset;
  pos.line = line;
  pos.record_index = static_cast<int64_t>(XXH3_64bits(doc.data(), doc.size()) >> 1);
  out->positions.push_back(pos);
}

// The device's matched series, what a REST reader selects.
struct DeviceSeries {
  std::string device;                     // as SHOW TIMESERIES writes it
  std::vector<std::string> measurements;  // without backquotes
  std::vector<IotdbType> types;
  std::vector<std::vector<std::string>> captures;  // per measurement
  // spec::SeriesPointKey's text before the time, per measurement and for
  // the device (a wide row's), made once by KeyPrefixes.
  mutable std::vector<std::string> point_key_prefixes;
  mutable std::string device_key_prefix;
};

// Fills `series`' key prefixes, once.
void KeyPrefixes(const DeviceSeries& series) {
  if (!series.device_key_prefix.empty()) return;
  std::vector<std::string> nodes =
      spec::SplitSeriesPath(series.device).value_or(std::vector<std::string>{series.device});
  series.device_key_prefix = spec::JoinSeriesPath(nodes) + "@";
  for (const std::string& m : series.measurements) {
    nodes.push_back(m);
    series.point_key_prefixes.push_back(spec::JoinSeriesPath(nodes) + "@");
    nodes.pop_back();
  }
}

struct Shared {
  const spec::EntitySpec* entity = nullptr;
  spec::SourceSpec source;
  TimePrecision precision = TimePrecision::kMs;
  bool wide = false;
};

// The wide layout's captures are the device's: the pattern's, minus the
// measurement's when it ends in one.
std::vector<std::string> DeviceCaptures(const Shared& s, const std::vector<std::string>& all) {
  if (s.entity->iotdb->pattern.measurement_capture().empty() || all.empty()) return all;
  return std::vector<std::string>(all.begin(), all.end() - 1);
}

// Appends the records of one row of one device: a document per point (long)
// or one for the row (wide). `cells[i]` belongs to series i of `series`.
void AppendRow(const Shared& s, const DeviceSeries& series, int64_t epoch,
               const std::vector<std::optional<IotdbValue>>& cells, int64_t line, int64_t offset,
               std::string* doc, store::StoreBatch* out) {
  if (s.wide) {
    std::vector<std::pair<std::string, IotdbValue>> values;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i]) values.emplace_back(series.measurements[i], *cells[i]);
    }
    if (values.empty()) return;
    doc->clear();
    AppendDeviceRowDocument(*s.entity, series.device, DeviceCaptures(s, series.captures[0]), epoch,
                            s.precision, values, doc);
    KeyPrefixes(series);
    AddRecord(*doc, series.device_key_prefix + std::to_string(epoch), line, offset, out);
    return;
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!cells[i]) continue;
    SeriesMatch m{series.device, series.measurements[i], series.captures[i]};
    doc->clear();
    AppendPointDocument(*s.entity, m, epoch, s.precision, *cells[i], doc);
    KeyPrefixes(series);
    AddRecord(*doc, series.point_key_prefixes[i] + std::to_string(epoch), line, offset, out);
  }
}

// ---- REST ----

// A series path as (device as written, measurement without backquotes): it
// splits at the last '.' outside backquotes. REQUIRES: `path` matched a
// pattern, so it has nodes.
std::pair<std::string, std::string> SplitDevice(const std::string& path) {
  size_t split = std::string::npos;
  bool quoted = false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '`') quoted = !quoted;
    if (path[i] == '.' && !quoted) split = i;
  }
  const auto last = spec::SplitSeriesPath(path.substr(split + 1));
  return {path.substr(0, split), last ? last->back() : path.substr(split + 1)};
}

// Which column of a query's answer holds each of `measurements` (-1: none).
// Columns come back named by full path, in the order asked; each is mapped
// to its series by name, whatever the order.
Result<std::vector<int>> ColumnsOf(const IotdbRest& rest, const std::string& sql,
                                   const nlohmann::json& data,
                                   const std::vector<std::string>& measurements) {
  std::vector<int> series_of(measurements.size(), -1);
  auto expressions = data.find("expressions");
  auto values = data.find("values");
  if (expressions == data.end() || values == data.end() || !expressions->is_array() ||
      !values->is_array() || values->size() != expressions->size()) {
    return Internal(
        fmt::format("{}: query '{}' answered columns that do not line up", rest.where(), sql));
  }
  for (size_t c = 0; c < expressions->size(); ++c) {
    if (!(*expressions)[c].is_string() || !(*values)[c].is_array()) continue;
    const auto nodes = spec::SplitSeriesPath((*expressions)[c].get<std::string>());
    if (!nodes) continue;
    for (size_t m = 0; m < measurements.size(); ++m) {
      if (nodes->back() == measurements[m]) series_of[m] = static_cast<int>(c);
    }
  }
  return series_of;
}

class RestBatchReader : public store::BatchReader {
 public:
  RestBatchReader(std::shared_ptr<Shared> shared, std::unique_ptr<IotdbRest> rest,
                  DeviceSeries series, std::optional<int64_t> after, bool done)
      : s_(std::move(shared)),
        rest_(std::move(rest)),
        series_(std::move(series)),
        after_(after),
        done_(done) {}

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    out->origin = rest_->where() + " device " + series_.device;
    if (done_) {
      out->end.token = Token();
      return false;
    }
    // A row holds up to one point per series: rows enough for about
    // max_records points (long layout), never the server's row limit.
    const int64_t per_row =
        s_->wide ? 1 : std::max<int64_t>(1, static_cast<int64_t>(series_.measurements.size()));
    const int64_t page =
        std::max<int64_t>(1, std::min<int64_t>(s_->source.iotdb.row_limit - 1,
                                               static_cast<int64_t>(max_records) / per_row));
    std::string sql = "SELECT ";
    for (size_t i = 0; i < series_.measurements.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += spec::QuoteSeriesNode(series_.measurements[i]);
    }
    sql += " FROM " + series_.device;
    if (after_) sql += fmt::format(" WHERE time > {}", *after_);
    sql += fmt::format(" ORDER BY TIME ASC LIMIT {}", page);
    ASSIGN_OR_RETURN(const nlohmann::json data, rest_->Query(sql, s_->source.iotdb.row_limit));
    static const nlohmann::json kNone;
    auto field = [&](const char* name) -> const nlohmann::json& {
      auto it = data.find(name);
      return it == data.end() ? kNone : *it;
    };
    const nlohmann::json& times = field("timestamps");
    if (!times.is_array() || times.empty()) {
      done_ = true;
      out->end.token = Token();
      return false;
    }
    const nlohmann::json& values = field("values");
    ASSIGN_OR_RETURN(const std::vector<int> series_of,
                     ColumnsOf(*rest_, sql, data, series_.measurements));
    // A series the plan listed but the answer lacks (deleted or renamed
    // since): its points would be passed over with the cursor moving on.
    for (size_t m = 0; m < series_of.size(); ++m) {
      if (series_of[m] < 0) {
        return Unavailable(fmt::format(
            "{}: query '{}' answered no column for series {}.{} (changed since it was listed); "
            "run again to list the series anew",
            rest_->where(), sql, series_.device, spec::QuoteSeriesNode(series_.measurements[m])));
      }
    }
    std::string doc;
    std::vector<std::optional<IotdbValue>> cells(series_.measurements.size());
    for (size_t r = 0; r < times.size(); ++r) {
      if (!times[r].is_number_integer()) {
        return Internal(fmt::format("{}: query '{}' answered a time that is not an integer: {}",
                                    rest_->where(), sql, times[r].dump()));
      }
      const int64_t epoch = times[r].get<int64_t>();
      for (size_t m = 0; m < cells.size(); ++m) {
        cells[m].reset();
        const int c = series_of[m];
        if (c < 0 || r >= values[c].size() || values[c][r].is_null()) continue;
        Result<IotdbValue> v = ValueFromRest(values[c][r], series_.types[m], s_->precision);
        if (!v.ok()) {
          doc.clear();
          AppendErrorDocument(fmt::format("{}.{} at time {}: {}", series_.device,
                                          series_.measurements[m], epoch, v.status().message()),
                              values[c][r].dump(), &doc);
          KeyPrefixes(series_);
          AddRecord(doc, series_.point_key_prefixes[m] + std::to_string(epoch), -1, -1, out);
          continue;
        }
        cells[m] = std::move(*v);
      }
      AppendRow(*s_, series_, epoch, cells, -1, -1, &doc, out);
      after_ = epoch;
    }
    out->end.token = Token();
    return true;
  }

 private:
  std::string Token() const {
    if (done_ && !after_) return "done";
    return after_ ? fmt::format("time={}", *after_) : "";
  }

  std::shared_ptr<Shared> s_;
  std::unique_ptr<IotdbRest> rest_;
  DeviceSeries series_;
  std::optional<int64_t> after_;
  bool done_ = false;
};

class RestSnapshotReader : public store::SnapshotReader {
 public:
  explicit RestSnapshotReader(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  store::RecordShape shape() const override { return store::RecordShape::kDocuments; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    return std::vector<store::ColumnDescription>{{"$doc", ValueType::kJsonb},
                                                 {"$key", ValueType::kText}};
  }

  Result<std::vector<store::Partition>> Plan() override {
    IotdbRest rest = Client();
    const spec::SeriesPattern& pattern = s_->entity->iotdb->pattern;
    std::map<std::string, DeviceSeries> devices;
    RETURN_IF_ERROR(
        ListSeries(rest, pattern.ShowPattern(), s_->source.iotdb.row_limit,
                   [&](const std::string& path, const std::string& type_name) -> Status {
                     auto captures = pattern.Match(path);
                     if (!captures)
                       return Status::Ok();  // SHOW's pattern is wider (`*` for a capture)
                     ASSIGN_OR_RETURN(const IotdbType type, SeriesType(rest, path, type_name));
                     auto [device, measurement] = SplitDevice(path);
                     DeviceSeries& d = devices[device];
                     // LIMIT/OFFSET pages of a schema that changes meanwhile may list
                     // a series twice: once is enough.
                     if (std::find(d.measurements.begin(), d.measurements.end(), measurement) !=
                         d.measurements.end()) {
                       return Status::Ok();
                     }
                     d.device = device;
                     d.measurements.push_back(measurement);
                     d.types.push_back(type);
                     d.captures.push_back(std::move(*captures));
                     return Status::Ok();
                   }));
    std::vector<store::Partition> partitions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      devices_.clear();
      for (auto& [device, d] : devices) {
        partitions.push_back({device, rest.where() + " device " + device, -1, -1});
        devices_[device] = std::move(d);
      }
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    DeviceSeries series;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = devices_.find(partition.id);
      if (it == devices_.end()) {
        return InvalidArgument(
            fmt::format("iotdb {}: no device '{}' in the last plan", s_->source.url, partition.id));
      }
      series = it->second;
    }
    std::optional<int64_t> after;
    bool done = false;
    if (from.token == "done") {
      done = true;
    } else if (!from.AtStart()) {
      int64_t t = 0;
      const std::string& token = from.token;
      if (!token.starts_with("time=") ||
          std::from_chars(token.data() + 5, token.data() + token.size(), t).ptr !=
              token.data() + token.size()) {
        return InvalidArgument(fmt::format("iotdb {} device {}: '{}' is not an IoTDB cursor",
                                           s_->source.url, partition.id, token));
      }
      after = t;
    }
    return std::unique_ptr<store::BatchReader>(
        new RestBatchReader(s_,
                            std::make_unique<IotdbRest>(s_->source.url, s_->source.iotdb.user,
                                                        s_->source.iotdb.password),
                            std::move(series), after, done));
  }

 private:
  IotdbRest Client() const {
    return IotdbRest(s_->source.url, s_->source.iotdb.user, s_->source.iotdb.password);
  }

  std::shared_ptr<Shared> s_;
  std::mutex mu_;
  std::map<std::string, DeviceSeries> devices_;  // guarded by mu_; from the last Plan
};

// ---- CSV ----

// A header's measurement as a name, without its backquotes.
std::string NodeName(const std::string& written) {
  const auto nodes = spec::SplitSeriesPath(written);
  return nodes && nodes->size() == 1 ? nodes->front() : written;
}

class CsvBatchReader : public store::BatchReader {
 public:
  CsvBatchReader(std::shared_ptr<Shared> s, std::string path, std::unique_ptr<IotdbCsvReader> csv)
      : s_(std::move(s)), path_(std::move(path)), csv_(std::move(csv)) {
    // Which columns the pattern takes, by device for an align-by-time file;
    // an align-by-device file is matched row by row (cached per device).
    if (!csv_->align_by_device()) {
      std::map<std::string, size_t> by_device;
      for (size_t c = 0; c < csv_->columns().size(); ++c) {
        const CsvSeriesColumn& col = csv_->columns()[c];
        auto captures = s_->entity->iotdb->pattern.Match(col.device + "." + col.measurement);
        if (!captures) continue;
        auto [it, fresh] = by_device.emplace(col.device, groups_.size());
        if (fresh) groups_.push_back({});
        Group& g = groups_[it->second];
        g.series.device = col.device;
        g.series.measurements.push_back(NodeName(col.measurement));
        g.series.types.push_back(col.type.value_or(IotdbType::kText));
        g.series.captures.push_back(std::move(*captures));
        g.columns.push_back(c);
      }
    }
  }

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    out->origin = path_;
    IotdbCsvRow row;
    std::string doc;
    while (out->size() < max_records) {
      ASSIGN_OR_RETURN(const bool more, csv_->Next(&row));
      if (!more) break;
      offset_ = row.end_offset;
      line_ = row.line;
      if (!row.problem.empty()) {
        doc.clear();
        AppendErrorDocument(fmt::format("{}:{}: {}", path_, row.line, row.problem), row.raw, &doc);
        AddRecord(doc, fmt::format("{}:{}", path_, row.line), row.line, row.offset, out);
        continue;
      }
      if (csv_->align_by_device()) {
        const Group* g = DeviceGroup(row.device);
        if (g == nullptr) continue;
        AppendGroup(*g, row, &doc, out);
      } else {
        for (const Group& g : groups_) AppendGroup(g, row, &doc, out);
      }
    }
    out->end.token = fmt::format("offset={} line={}", offset_, line_);
    return out->size() > 0;
  }

  void Seek(int64_t offset, int64_t line) {
    offset_ = offset;
    line_ = line;
  }

 private:
  struct Group {
    DeviceSeries series;
    std::vector<size_t> columns;  // of the file, per series
  };

  // The matched columns of `device` in an align-by-device file (null: none).
  const Group* DeviceGroup(const std::string& device) {
    auto it = by_device_.find(device);
    if (it == by_device_.end()) {
      Group g;
      g.series.device = device;
      for (size_t c = 0; c < csv_->columns().size(); ++c) {
        const CsvSeriesColumn& col = csv_->columns()[c];
        auto captures = s_->entity->iotdb->pattern.Match(device + "." + col.measurement);
        if (!captures) continue;
        g.series.measurements.push_back(NodeName(col.measurement));
        g.series.types.push_back(col.type.value_or(IotdbType::kText));
        g.series.captures.push_back(std::move(*captures));
        g.columns.push_back(c);
      }
      it = by_device_.emplace(device, std::move(g)).first;
    }
    return it->second.columns.empty() ? nullptr : &it->second;
  }

  void AppendGroup(const Group& g, const IotdbCsvRow& row, std::string* doc,
                   store::StoreBatch* out) {
    cells_.assign(g.columns.size(), std::nullopt);
    settled_.resize(csv_->columns().size());
    for (size_t i = 0; i < g.columns.size(); ++i) {
      const size_t c = g.columns[i];
      cells_[i] = row.values[c];
      if (!cells_[i] || csv_->columns()[c].type) continue;
      // An untyped header's series takes the type its first value reads
      // as; a later value that reads as another type is refused, not put
      // in another type's column.
      std::optional<IotdbType>& settled = settled_[c];
      if (!settled) settled = cells_[i]->type;
      if (cells_[i]->type == *settled) continue;
      doc->clear();
      AppendErrorDocument(
          fmt::format("{}:{}: column {} has no type in its header; its first value read as {}, "
                      "this one as {}: export with typed headers (-dt true)",
                      path_, row.line, csv_->columns()[c].header, IotdbTypeName(*settled),
                      IotdbTypeName(cells_[i]->type)),
          row.raw, doc);
      AddRecord(*doc, fmt::format("{}:{}:{}", path_, row.line, c), row.line, row.offset, out);
      cells_[i].reset();
    }
    AppendRow(*s_, g.series, row.time, cells_, row.line, row.offset, doc, out);
  }

  std::shared_ptr<Shared> s_;
  std::string path_;
  std::unique_ptr<IotdbCsvReader> csv_;
  std::vector<Group> groups_;
  std::map<std::string, Group> by_device_;
  std::vector<std::optional<IotdbValue>> cells_;
  // Per column of the file without a type in its header: the type its first
  // value read as.
  std::vector<std::optional<IotdbType>> settled_;
  int64_t offset_ = 0;
  int64_t line_ = 0;
};

class CsvSnapshotReader : public store::SnapshotReader {
 public:
  explicit CsvSnapshotReader(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

  store::RecordShape shape() const override { return store::RecordShape::kDocuments; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    return std::vector<store::ColumnDescription>{{"$doc", ValueType::kJsonb},
                                                 {"$key", ValueType::kText}};
  }

  Result<std::vector<store::Partition>> Plan() override {
    ASSIGN_OR_RETURN(const std::vector<std::string> files,
                     MatchFiles(s_->source.path, {".csv", ".txt"}));
    std::vector<store::Partition> partitions;
    for (const std::string& f : files) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(f, ec);
      partitions.push_back({f, f, -1, ec ? -1 : static_cast<int64_t>(size)});
    }
    return partitions;
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    int64_t offset = 0;
    int64_t line = 0;
    if (!from.AtStart() &&
        std::sscanf(from.token.c_str(), "offset=%ld line=%ld", &offset, &line) != 2) {
      return InvalidArgument(
          fmt::format("{}: '{}' is not an IoTDB CSV cursor", partition.id, from.token));
    }
    ASSIGN_OR_RETURN(auto csv, IotdbCsvReader::Open(partition.id, s_->precision, offset, line));
    auto reader = std::make_unique<CsvBatchReader>(s_, partition.id, std::move(csv));
    reader->Seek(offset, line);
    return std::unique_ptr<store::BatchReader>(std::move(reader));
  }

 private:
  std::shared_ptr<Shared> s_;
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Points read by their keys (spec::SeriesPointKey) over REST, for the
// gateway's read-back and reads; long layout only. IoTDB keeps no version
// of a point, so a read's version is this machine's clock just before it:
// it orders the gateway's own writes of a point, which go one at a time
// under the point's lock.
class RestKeyReader : public store::KeyReader {
 public:
  explicit RestKeyReader(std::shared_ptr<Shared> s)
      : s_(std::move(s)),
        rest_(s_->source.url, s_->source.iotdb.user, s_->source.iotdb.password),
        types_(&rest_, s_->source.iotdb.row_limit) {}

  Status Read(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    const int64_t version = NowMicros();
    out->versions_floor = version;
    // The measurements asked of each device at each time, one query apiece.
    std::map<std::pair<std::string, int64_t>, std::vector<Point>> asks;
    for (const store::RecordKey& key : keys) {
      ASSIGN_OR_RETURN(Point p, PointOf(key));
      asks[{p.device, p.epoch}].push_back(std::move(p));
    }
    std::string doc;
    for (const auto& [at, points] : asks) {
      const auto& [device, epoch] = at;
      ASSIGN_OR_RETURN(const SeriesTypes::ByMeasurement* types, types_.Of(device));
      for (const Point& p : points) {
        if (types->contains(p.match.measurement)) continue;
        // Created since the device was listed (by a write), or not at all.
        ASSIGN_OR_RETURN(types, types_.Fresh(device));
        break;
      }
      std::vector<const Point*> present;  // of series IoTDB has
      std::vector<std::string> measurements;
      for (const Point& p : points) {
        if (!types->contains(p.match.measurement)) continue;  // no series, no point
        present.push_back(&p);
        measurements.push_back(p.match.measurement);
      }
      if (present.empty()) continue;
      std::string sql = "SELECT ";
      for (size_t i = 0; i < measurements.size(); ++i) {
        sql += (i > 0 ? ", " : "") + spec::QuoteSeriesNode(measurements[i]);
      }
      sql += fmt::format(" FROM {} WHERE time = {}", device, epoch);
      ASSIGN_OR_RETURN(const nlohmann::json data, rest_.Query(sql, s_->source.iotdb.row_limit));
      auto times = data.find("timestamps");
      if (times == data.end() || !times->is_array() || times->empty()) continue;  // none there
      ASSIGN_OR_RETURN(const std::vector<int> columns, ColumnsOf(rest_, sql, data, measurements));
      const nlohmann::json& values = data["values"];
      for (size_t i = 0; i < present.size(); ++i) {
        const int c = columns[i];
        if (c < 0 || values[c].empty() || values[c][0].is_null()) continue;
        const IotdbType type = types->at(measurements[i]);
        ASSIGN_OR_RETURN(const IotdbValue v, ValueFromRest(values[c][0], type, s_->precision));
        doc.clear();
        AppendPointDocument(*s_->entity, present[i]->match, epoch, s_->precision, v, &doc);
        AddRecord(doc, present[i]->key, -1, -1, out);
        out->versions.push_back(version);
      }
    }
    return Status::Ok();
  }

  Status KeyRecords(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    store::ResetDocumentBatch(out);
    std::string doc;
    for (const store::RecordKey& key : keys) {
      ASSIGN_OR_RETURN(const Point p, PointOf(key));
      doc.clear();
      AppendPointKeyDocument(*s_->entity, p.match, p.epoch, s_->precision, &doc);
      AddRecord(doc, p.key, -1, -1, out);
    }
    return Status::Ok();
  }

 private:
  struct Point {
    std::string key;
    std::string device;  // as JoinSeriesPath writes it
    SeriesMatch match;
    int64_t epoch = 0;
  };

  // The point a key names, which must be a series of the entity's pattern.
  Result<Point> PointOf(const store::RecordKey& key) const {
    const std::optional<spec::SeriesPoint> point =
        key.size() == 1 ? spec::ParseSeriesPointKey(key[0]) : std::nullopt;
    if (!point) {
      return InvalidArgument(fmt::format("'{}' is no IoTDB point key: <series path>@<time>",
                                         key.empty() ? "" : EscapeInvalidUtf8(key[0])));
    }
    if (const std::string canonical = spec::SeriesPointKey(point->nodes, point->epoch);
        canonical != key[0]) {
      return InvalidArgument(fmt::format("'{}' names the point {}; write its key so",
                                         EscapeInvalidUtf8(key[0]), canonical));
    }
    const std::string series = spec::JoinSeriesPath(point->nodes);
    std::optional<std::vector<std::string>> captures = s_->entity->iotdb->pattern.Match(series);
    if (!captures) {
      return InvalidArgument(fmt::format("series {} is not one of entity '{}' ({})", series,
                                         s_->entity->name, s_->entity->iotdb->pattern.text()));
    }
    std::vector<std::string> device_nodes(point->nodes.begin(), point->nodes.end() - 1);
    Point p;
    p.key = key[0];
    p.device = spec::JoinSeriesPath(device_nodes);
    p.match = SeriesMatch{p.device, point->nodes.back(), std::move(*captures)};
    p.epoch = point->epoch;
    return p;
  }

  std::shared_ptr<Shared> s_;
  IotdbRest rest_;
  SeriesTypes types_;
};

class IotdbStore : public store::Store {
 public:
  explicit IotdbStore(std::shared_ptr<Shared> s) : s_(s) {
    if (s->source.url.empty()) {
      snapshot_ = std::make_unique<CsvSnapshotReader>(s);
    } else {
      snapshot_ = std::make_unique<RestSnapshotReader>(s);
    }
  }

  store::SnapshotReader& snapshot() override { return *snapshot_; }
  Status Ping() override { return PingIotdb(s_->source); }
  // Points are read by key and written over the REST service only, and
  // by key only one per row (layout long); export files are only read.
  store::KeyReader* key_reader() override {
    if (s_->source.url.empty() || s_->wide) return nullptr;
    if (key_reader_ == nullptr) key_reader_ = std::make_unique<RestKeyReader>(s_);
    return key_reader_.get();
  }
  // An export folder is written anew whole (rollback into files).
  store::Replacer* replacer() override {
    if (!s_->source.url.empty()) return nullptr;
    if (replacer_ == nullptr) replacer_ = NewIotdbCsvReplacer(s_->source, *s_->entity);
    return replacer_.get();
  }
  store::Writer* writer() override {
    if (s_->source.url.empty()) return nullptr;
    if (writer_ == nullptr) writer_ = NewIotdbWriter(s_->source, *s_->entity);
    return writer_.get();
  }

 private:
  std::shared_ptr<Shared> s_;
  std::unique_ptr<store::SnapshotReader> snapshot_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<store::KeyReader> key_reader_;
  std::unique_ptr<store::Replacer> replacer_;
};

}  // namespace

Result<std::unique_ptr<store::Store>> OpenIotdbStore(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity) {
  if (!entity.iotdb) {
    return InvalidArgument("entity '" + entity.name + "' of iotdb source '" + source.name +
                           "' names no series");
  }
  auto s = std::make_shared<Shared>();
  s->entity = &entity;
  s->source = source;
  s->precision = PrecisionOf(source);
  s->wide = entity.iotdb->layout == spec::IotdbSeriesSpec::Layout::kWide;
  return std::unique_ptr<store::Store>(new IotdbStore(std::move(s)));
}

Status PingIotdb(const spec::SourceSpec& source) {
  if (source.url.empty()) return MatchFiles(source.path, {".csv", ".txt"}).status();
  IotdbRest rest(source.url, source.iotdb.user, source.iotdb.password);
  return rest.Ping();
}

}  // namespace cutover::iotdb_store
