// IotdbCsvReplacer: rows as import-format CSV files, one per series run,
// swapped in for the export folder at once.
#include "stores/iotdb/iotdb_csv_replacer.h"

#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/file_match.h"
#include "spec/series_pattern.h"
#include "stores/iotdb/iotdb_csv.h"
#include "stores/iotdb/point_value.h"

namespace cutover::iotdb_store {
namespace {

namespace fs = std::filesystem;

TimePrecision PrecisionOfDigits(int digits) {
  return digits == 9 ? TimePrecision::kNs : digits == 6 ? TimePrecision::kUs : TimePrecision::kMs;
}

// A cell as the export tool escapes it, and the backquote the import tool
// quotes with.
std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case ',':
      case '\\':
      case '`':
        out += '\\';
        out += c;
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A TabletValue of `type` as the export tool writes its cell.
std::string Cell(IotdbType type, const nlohmann::json& v) {
  switch (type) {
    case IotdbType::kText:
    case IotdbType::kString:
      return "\"" + Escape(v.get<std::string>()) + "\"";
    case IotdbType::kBlob:
      return "0x" + v.get<std::string>();
    case IotdbType::kDate: {
      const std::string d = std::to_string(v.get<int64_t>());  // yyyyMMdd
      return d.size() == 8 ? d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2) : d;
    }
    case IotdbType::kFloat:
    case IotdbType::kDouble:
      return v.is_string() ? v.get<std::string>() : CanonicalDouble(v.get<double>());
    case IotdbType::kBoolean:
      return v.get<bool>() ? "true" : "false";
    default:
      return std::to_string(v.get<int64_t>());
  }
}

class IotdbCsvReplacer final : public store::Replacer {
 public:
  IotdbCsvReplacer(const spec::SourceSpec& source, const spec::EntitySpec& entity)
      : folder_(fs::path(source.path).lexically_normal().string()),
        staging_(folder_ + ".cutover-new"),
        precision_(PrecisionOfDigits(source.iotdb.precision_digits)),
        entity_(entity) {
    if (!folder_.empty() && folder_.back() == '/') folder_.pop_back();
  }

  ~IotdbCsvReplacer() override { Abort(); }

  Status Begin() override {
    if (entity_.iotdb->layout != spec::IotdbSeriesSpec::Layout::kLong) {
      return FailedPrecondition(entity_.name +
                                ": only a long layout's points are written back into export files");
    }
    std::error_code ec;
    if (!fs::is_directory(folder_, ec)) {
      return FailedPrecondition(fmt::format(
          "{}: {} is not a folder; rollback writes the export folder anew", entity_.name, folder_));
    }
    RETURN_IF_ERROR(CheckFolderHoldsOnlyTheEntity());
    fs::remove_all(staging_, ec);
    if (!fs::create_directories(staging_, ec) || ec) {
      return Unavailable(fmt::format("creating {}: {}", staging_, ec.message()));
    }
    started_ = true;
    return Status::Ok();
  }

  Status Append(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    (void)key;
    const nlohmann::json doc =
        nlohmann::json::parse(rows.columns[0].BytesAt(row), nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.contains("$series") || !doc.contains("$epoch")) {
      return InvalidArgument(entity_.name + ": a rebuilt point without its series or time");
    }
    const std::string series = spec::JoinSeriesPath(doc["$series"].get<std::vector<std::string>>());
    auto known = known_types_.find(series);
    const std::optional<IotdbType> type = known != known_types_.end()
                                              ? std::optional<IotdbType>(known->second)
                                              : ParseIotdbType(doc.value("$type", ""));
    if (!type) {
      return DataError(fmt::format("{}: the point of {} has type '{}', which IoTDB does not know",
                                   entity_.name, series, doc.value("$type", "")));
    }
    ASSIGN_OR_RETURN(const std::optional<nlohmann::json> value, PointValue(*type, doc, precision_));
    if (!value) {
      return DataError(fmt::format("{}: the point of {} at {} has no value a {} takes",
                                   entity_.name, series, doc["$epoch"].dump(),
                                   IotdbTypeName(*type)));
    }
    if (series != series_ || *type != type_ || !out_.is_open()) {
      RETURN_IF_ERROR(CloseFile());
      series_ = series;
      type_ = *type;
      path_ = fmt::format("{}/points_{:06d}.csv", staging_, files_++);
      out_.open(path_, std::ios::binary | std::ios::trunc);
      out_ << "Time," << Escape(series) << "(" << IotdbTypeName(*type) << ")\n";
    }
    out_ << doc["$epoch"].get<int64_t>() << ',' << Cell(*type, *value) << '\n';
    if (!out_) return Unavailable("writing " + path_ + ": " + std::strerror(errno));
    return Status::Ok();
  }

  Status Commit() override {
    RETURN_IF_ERROR(CloseFile());
    for (const auto& entry : fs::directory_iterator(staging_)) {
      RETURN_IF_ERROR(SyncFile(entry.path().string()));
    }
    RETURN_IF_ERROR(SyncDirectory(staging_));
    if (renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, folder_.c_str(), RENAME_EXCHANGE) != 0) {
      return Unavailable(
          fmt::format("swapping {} in for {}: {}", staging_, folder_, std::strerror(errno)));
    }
    RETURN_IF_ERROR(SyncDirectory(fs::path(folder_).parent_path().string()));
    std::error_code ec;
    fs::remove_all(staging_, ec);  // now the old folder
    started_ = false;
    return Status::Ok();
  }

  void Abort() override {
    if (!started_) return;
    if (out_.is_open()) out_.close();
    std::error_code ec;
    fs::remove_all(staging_, ec);
    started_ = false;
  }

 private:
  // The folder is written anew from the entity's rows alone, so a series
  // of another (a column of the export the pattern does not take) would
  // be lost: refused, naming it.
  Status CheckFolderHoldsOnlyTheEntity() {
    ASSIGN_OR_RETURN(const std::vector<std::string> files, MatchFiles(folder_, {".csv", ".txt"}));
    const spec::SeriesPattern& pattern = entity_.iotdb->pattern;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder_, ec)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".csv" || ext == ".txt")) continue;
      return FailedPrecondition(fmt::format(
          "{}: {} holds {}, which is no export file: writing the folder anew would lose it; "
          "move it out first",
          entity_.name, folder_, entry.path().filename().string()));
    }
    auto check = [&](const std::string& file, const std::string& device,
                     const std::string& measurement,
                     const std::optional<IotdbType>& type) -> Status {
      const std::string series = device + "." + measurement;
      if (pattern.Match(series)) {
        // The export's typed header says the series' type, which the
        // rows alone may not (an INT32 read into a double column).
        const auto nodes = spec::SplitSeriesPath(series);
        if (type && nodes) known_types_.emplace(spec::JoinSeriesPath(*nodes), *type);
        return Status::Ok();
      }
      return FailedPrecondition(fmt::format(
          "{}: {} holds series {}, which is not the entity's ({}): writing the folder anew from "
          "the entity's rows would lose its points; give the entity an export folder of its own",
          entity_.name, file, series, pattern.text()));
    };
    for (const std::string& file : files) {
      ASSIGN_OR_RETURN(auto reader, IotdbCsvReader::Open(file, precision_));
      const auto& columns = reader->columns();
      if (!reader->align_by_device()) {
        for (const CsvSeriesColumn& c : columns) {
          RETURN_IF_ERROR(check(file, c.device, c.measurement, c.type));
        }
        continue;
      }
      std::set<std::string> devices;  // each checked once
      IotdbCsvRow row;
      for (;;) {
        ASSIGN_OR_RETURN(const bool more, reader->Next(&row));
        if (!more) break;
        if (!row.problem.empty() || !devices.insert(row.device).second) continue;
        for (const CsvSeriesColumn& c : columns) {
          RETURN_IF_ERROR(check(file, row.device, c.measurement, c.type));
        }
      }
    }
    return Status::Ok();
  }

  Status CloseFile() {
    if (!out_.is_open()) return Status::Ok();
    out_.close();
    if (out_.fail()) return Unavailable("writing " + path_ + ": " + std::strerror(errno));
    return Status::Ok();
  }

  std::string folder_;
  const std::string staging_;
  const TimePrecision precision_;
  const spec::EntitySpec& entity_;
  bool started_ = false;
  std::ofstream out_;
  std::string path_, series_;
  IotdbType type_ = IotdbType::kText;
  std::map<std::string, IotdbType> known_types_;  // series -> type, from the old typed headers
  int files_ = 0;
};

}  // namespace

std::unique_ptr<store::Replacer> NewIotdbCsvReplacer(const spec::SourceSpec& source,
                                                     const spec::EntitySpec& entity) {
  return std::make_unique<IotdbCsvReplacer>(source, entity);
}

}  // namespace cutover::iotdb_store
