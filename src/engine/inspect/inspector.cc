// RunInspect: profiles each source through its store (the Profiler of
// Parquet and CSV, the JSON store's reader), and writes the DDL the spec implies.
#include "engine/inspect/inspector.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "catalog/rollup_ddl.h"
#include "catalog/table_ddl.h"
#include "engine/core/entity_plan.h"
#include "engine/core/source_factory.h"
#include "engine/inspect/series_span.h"
#include "store/store.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_shape.h"
#include "stores/registry.h"

namespace cutover::engine {
namespace {

namespace fs = std::filesystem;

// CREATE TABLE (with every key and foreign key as the backfill would create
// them) followed by the spec's indexes.
std::string EntityDdl(const spec::EntitySpec& entity, const pg_store::TableShape& shape) {
  std::string ddl = catalog::CreateTableSql(shape, catalog::IfNotExists::kNo) + ";";
  for (const spec::IndexSpec& index : entity.indexes) {
    ddl += "\n" + catalog::CreateIndexSql(index, shape.QualifiedName(), catalog::IfNotExists::kNo) +
           ";";
  }
  for (const spec::RollupSpec& rollup : entity.rollups) {
    for (const std::string& statement : catalog::RollupDdl(shape, rollup)) {
      ddl += "\n" + statement + ";";
    }
  }
  return ddl;
}

// Source fields an entity column reads, for the "reads a missing field" check.
std::vector<std::string> FieldsRead(const spec::ColumnSpec& c) {
  if (c.geometry) {
    std::vector<std::string> out;
    for (const std::string* f :
         {&c.geometry->lon, &c.geometry->lat, &c.geometry->wkt, &c.geometry->wkb}) {
      if (!f->empty()) out.push_back(*f);
    }
    return out;
  }
  if (c.from == "$key") return {};
  return {c.from.substr(0, c.from.find('.'))};
}

void ProposeForEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                      const std::vector<store::ColumnProfile>& columns,
                      std::vector<TableProposal>* out) {
  // A table other entities' lookups fill has its unique match key and a
  // generated id (PlanTables marks it), or the backfill's CheckTable refuses it.
  std::vector<PlannedTable> tables = PlanTables(migration, entity);
  for (const PlannedTable& table : tables) {
    TableProposal p;
    p.entity = table.entity->name;
    p.ddl = EntityDdl(*table.entity, table.shape);
    // Only top-level entities read the source's own columns; typed sources
    // (Parquet, CSV) say which columns exist.
    if (table.parent < 0 && !columns.empty()) {
      for (const spec::ColumnSpec& c : table.entity->columns) {
        for (const std::string& field : FieldsRead(c)) {
          const bool found = std::any_of(columns.begin(), columns.end(),
                                         [&](const auto& col) { return col.name == field; });
          if (!found) {
            p.warnings.push_back(
                fmt::format("column '{}' reads '{}', which the source lacks", c.name, field));
          }
        }
      }
    }
    out->push_back(std::move(p));
  }
}

// A table straight from the source's columns, when no entity reads it. Key
// candidates are columns without nulls whose distinct estimate is the row
// count (the estimate errs by about 2%, so they are only suggested).
TableProposal ProposeFromSource(const spec::SourceSpec& source,
                                const store::SourceProfile& profile) {
  TableProposal p;
  std::string body;
  std::vector<std::string> candidates;
  for (const store::ColumnProfile& c : profile.columns) {
    body += fmt::format("{}  {} {}", body.empty() ? "" : ",\n", pg_store::QuoteIdent(c.name),
                        c.postgres_type.empty() ? PostgresTypeName(c.type) : c.postgres_type);
    if (c.null_count == 0 && profile.row_count > 0 &&
        c.distinct_estimate >= profile.row_count * 98 / 100 && c.type != ValueType::kFloat64 &&
        c.type != ValueType::kJsonb) {
      candidates.push_back(c.name);
    }
  }
  p.ddl = fmt::format("CREATE TABLE {} (\n{}\n);", pg_store::QuoteIdent(source.name), body);
  if (!candidates.empty()) {
    p.ddl += fmt::format(
        "\n-- no entity reads this source; key candidates (no nulls, every "
        "value distinct): {}",
        fmt::join(candidates, ", "));
  } else {
    p.ddl += "\n-- no entity reads this source, and no column looks like a key";
  }
  return p;
}

Status InspectJson(const spec::SourceSpec& source, const InspectRequest& request,
                   store::SourceProfile* profile) {
  std::error_code ec;
  if (fs::is_directory(source.path, ec)) {
    for (const auto& entry : fs::directory_iterator(source.path, ec)) {
      const std::string ext = entry.path().extension().string();
      if (entry.is_regular_file() && (ext == ".json" || ext == ".jsonl" || ext == ".ndjson")) {
        profile->files.push_back(entry.path().string());
      }
    }
    if (ec) return IoError(fmt::format("cannot list {}: {}", source.path, ec.message()));
    std::sort(profile->files.begin(), profile->files.end());
  } else if (fs::exists(source.path, ec)) {
    profile->files.push_back(source.path);
  } else {
    return NotFound(fmt::format("source path {} does not exist", source.path));
  }
  store::ColumnProfile doc;
  doc.name = "$doc";
  doc.type = ValueType::kJsonb;
  doc.native_type = "JSON";
  doc.postgres_type = "jsonb";
  profile->columns.push_back(doc);
  for (const std::string& file : profile->files) {
    ASSIGN_OR_RETURN(std::unique_ptr<store::Store> json, stores::OpenStore(source, file));
    ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, json->snapshot().Plan());
    if (partitions.size() != 1) {
      return Internal(
          fmt::format("{}: expected one partition, the store planned {}", file, partitions.size()));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<store::BatchReader> reader,
                     json->snapshot().Open(partitions[0], store::Cursor{}));
    int64_t records = 0;
    store::StoreBatch batch;
    while (true) {
      ASSIGN_OR_RETURN(const bool more, reader->Next(10000, &batch));
      if (!more) break;
      const int d = batch.rows.IndexOf("$doc");
      for (size_t r = 0; r < batch.size() && d >= 0; ++r) {
        if (static_cast<int64_t>(profile->sample.size()) >= request.sample_rows) break;
        profile->sample.push_back({std::string(batch.rows.columns[d].BytesAt(r))});
      }
      records += static_cast<int64_t>(batch.size());
      if (!request.statistics &&
          static_cast<int64_t>(profile->sample.size()) >= request.sample_rows) {
        records = -1;  // not counted
        break;
      }
    }
    profile->file_rows.push_back(records);
    if (records > 0) profile->row_count += records;
  }
  return Status::Ok();
}

// The advice for `entity`'s table from its measured points: the spec line
// to write (or why none), and how it compares with what the spec declares.
std::string PartitioningOf(const spec::EntitySpec& entity, const SeriesSpan& span) {
  const PartitionAdvice advice = AdvisePartitionInterval(span.points, span.span_days);
  std::string by;
  for (const std::string& k : entity.key) {
    const spec::ColumnSpec* c = entity.FindColumn(k);
    if (c != nullptr && c->from == "$time" && c->type == ValueType::kTimestamptz) by = c->name;
  }
  std::string out;
  if (advice.every.empty()) {
    out = "no partitions: " + advice.reason;
  } else if (by.empty()) {
    out = fmt::format("partition by {} ({}), which needs a timestamptz key column reading $time",
                      advice.every, advice.reason);
  } else {
    out = fmt::format("partition: {{ by: {}, every: {} }}  ({})", by, advice.every, advice.reason);
  }
  if (entity.partition) {
    const spec::TimePartitionSpec& p = *entity.partition;
    out += fmt::format("; the spec declares every {} {}", p.months > 0 ? p.months : p.days,
                       p.months > 0 ? "month(s)" : "day(s)");
  }
  return out;
}

// An IoTDB source: each entity's points counted per device (or file) and
// their span measured, which `advice` turns into a partition interval.
Status InspectSeries(const spec::MigrationSpec& migration, const spec::SourceSpec& source,
                     SourceInspection* inspection, std::map<std::string, std::string>* advice) {
  for (const spec::EntitySpec& entity : migration.entities) {
    if (entity.source != source.name || !entity.iotdb) continue;
    ASSIGN_OR_RETURN(const SeriesSpan span, MeasureSeriesSpan(migration, entity));
    for (const auto& [part, points] : span.parts) {
      inspection->profile.files.push_back(entity.name + ": " + part);
      inspection->profile.file_rows.push_back(points);
    }
    inspection->profile.row_count += span.points;
    (*advice)[entity.name] = PartitioningOf(entity, span);
  }
  if (inspection->path.empty()) inspection->path = source.url;
  return Status::Ok();
}

std::string Percent(int64_t part, int64_t whole) {
  if (part < 0 || whole <= 0) return "-";
  return fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

std::string Clip(const std::optional<std::string>& text, size_t width) {
  if (!text) return "NULL";
  std::string s = *text;
  for (char& c : s) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  if (s.size() > width) s = s.substr(0, width - 3) + "...";
  return s;
}

}  // namespace

Result<InspectReport> RunInspect(const spec::MigrationSpec& migration,
                                 const InspectRequest& request) {
  if (!request.source.empty() && migration.FindSource(request.source) == nullptr) {
    std::vector<std::string> names;
    for (const spec::SourceSpec& s : migration.sources) names.push_back(s.name);
    return InvalidArgument(fmt::format("--source {}: no such source in {}; the spec has: {}",
                                       request.source, migration.spec_path,
                                       fmt::join(names, ", ")));
  }
  InspectReport report;
  report.migration = migration.name;
  for (const spec::SourceSpec& source : migration.sources) {
    if (!request.source.empty() && source.name != request.source) continue;
    SourceInspection inspection;
    std::map<std::string, std::string> advice;  // entity -> partitioning
    inspection.name = source.name;
    inspection.type = source.type;
    inspection.path = source.path;
    Status st;
    if (source.type == "parquet" || source.type == "csv") {
      stores::StoreOptions store_options;
      store_options.threads = 0;  // one whole-source scan: every core helps
      auto chunked = stores::OpenStore(source, source.path, store_options);
      if (chunked.ok()) {
        store::ProfileOptions options;
        options.sample_rows = request.sample_rows;
        options.statistics = request.statistics;
        auto profile = (*chunked)->profiler() != nullptr
                           ? (*chunked)->profiler()->Profile(options)
                           : Result<store::SourceProfile>(FailedPrecondition(
                                 "store type '" + source.type + "' cannot profile itself"));
        if (profile.ok()) {
          inspection.profile = std::move(*profile);
          std::vector<std::string> names;
          for (const auto& c : inspection.profile.columns) names.push_back(c.name);
          auto lacking = (*chunked)->snapshot().MissingColumns(names);
          if (lacking.ok()) {
            inspection.files_lacking = std::move(*lacking);
          } else {
            st = lacking.status();
          }
        } else {
          st = profile.status();
        }
      } else {
        st = chunked.status();
      }
    } else if (source.type == "iotdb") {
      if (request.statistics) {
        st = InspectSeries(migration, source, &inspection, &advice);
      } else {
        inspection.counted = false;
        if (inspection.path.empty()) inspection.path = source.url;
      }
    } else {
      st = InspectJson(source, request, &inspection.profile);
    }
    if (!st.ok()) inspection.error = st.message();

    const std::vector<store::ColumnProfile> typed_columns =
        source.type == "json" ? std::vector<store::ColumnProfile>{} : inspection.profile.columns;
    for (const spec::EntitySpec& entity : migration.entities) {
      if (entity.source == source.name) {
        ProposeForEntity(migration, entity, typed_columns, &inspection.proposals);
      }
    }
    for (TableProposal& p : inspection.proposals) {
      if (auto it = advice.find(p.entity); it != advice.end()) p.partitioning = it->second;
    }
    if (inspection.proposals.empty() && st.ok() && source.type != "json" &&
        source.type != "iotdb") {
      inspection.proposals.push_back(ProposeFromSource(source, inspection.profile));
    }
    report.sources.push_back(std::move(inspection));
  }
  return report;
}

nlohmann::json InspectReportJson(const InspectReport& report) {
  nlohmann::json out;
  out["migration"] = report.migration;
  out["sources"] = nlohmann::json::array();
  for (const SourceInspection& s : report.sources) {
    nlohmann::json j;
    j["name"] = s.name;
    j["type"] = s.type;
    j["path"] = s.path;
    if (!s.error.empty()) j["error"] = s.error;
    j["files"] = nlohmann::json::array();
    for (size_t i = 0; i < s.profile.files.size(); ++i) {
      nlohmann::json f;
      f["path"] = s.profile.files[i];
      if (i < s.profile.file_rows.size() && s.profile.file_rows[i] >= 0) {
        f["rows"] = s.profile.file_rows[i];
      }
      for (const auto& [file, lacks] : s.files_lacking) {
        if (file == s.profile.files[i]) f["lacks"] = lacks;
      }
      j["files"].push_back(f);
    }
    j["rows"] = s.counted ? nlohmann::json(s.profile.row_count) : nlohmann::json();
    j["columns"] = nlohmann::json::array();
    for (const store::ColumnProfile& c : s.profile.columns) {
      nlohmann::json col;
      col["name"] = c.name;
      col["type"] = std::string(ValueTypeName(c.type));
      col["source_type"] = c.native_type;
      col["postgres_type"] = c.postgres_type;
      if (c.null_count >= 0) {
        col["nulls"] = c.null_count;
        col["null_fraction"] =
            s.profile.row_count > 0 ? static_cast<double>(c.null_count) / s.profile.row_count : 0;
      }
      if (c.distinct_estimate >= 0) col["distinct_estimate"] = c.distinct_estimate;
      col["min"] = c.min ? nlohmann::json(*c.min) : nlohmann::json();
      col["max"] = c.max ? nlohmann::json(*c.max) : nlohmann::json();
      j["columns"].push_back(col);
    }
    j["sample"] = nlohmann::json::array();
    for (const auto& row : s.profile.sample) {
      nlohmann::json r = nlohmann::json::object();
      for (size_t i = 0; i < row.size() && i < s.profile.columns.size(); ++i) {
        r[s.profile.columns[i].name] = row[i] ? nlohmann::json(*row[i]) : nlohmann::json();
      }
      j["sample"].push_back(r);
    }
    j["proposals"] = nlohmann::json::array();
    for (const TableProposal& p : s.proposals) {
      nlohmann::json pj;
      pj["entity"] = p.entity.empty() ? nlohmann::json() : nlohmann::json(p.entity);
      pj["ddl"] = p.ddl;
      pj["warnings"] = p.warnings;
      if (!p.partitioning.empty()) pj["partitioning"] = p.partitioning;
      j["proposals"].push_back(pj);
    }
    out["sources"].push_back(j);
  }
  return out;
}

std::string FormatInspectReport(const InspectReport& report) {
  std::string out = fmt::format("migration {}\n", report.migration);
  for (const SourceInspection& s : report.sources) {
    const store::SourceProfile& p = s.profile;
    out += fmt::format("\nsource {} ({}) {}\n", s.name, s.type, s.path);
    if (!s.error.empty()) out += fmt::format("  error: {}\n", s.error);
    if (s.type == "iotdb" && !s.counted) {
      out += "  points not counted (--no-stats: the count reads every point)\n";
    } else if (s.type == "iotdb") {
      out += fmt::format("  {} {}, {} points\n", p.files.size(),
                         s.path.starts_with("http") ? "device(s)" : "file(s)", p.row_count);
    } else {
      out += fmt::format("  {} file(s), {} rows\n", p.files.size(), p.row_count);
    }
    for (size_t i = 0; i < p.files.size() && i < 20; ++i) {
      const int64_t rows = i < p.file_rows.size() ? p.file_rows[i] : -1;
      out += fmt::format("    {}  {}\n", p.files[i],
                         rows >= 0 ? fmt::format("{} rows", rows) : std::string("-"));
    }
    if (p.files.size() > 20) out += fmt::format("    ... {} more\n", p.files.size() - 20);
    if (!s.files_lacking.empty()) {
      out +=
          "  files differ in their columns (backfill refuses them unless the source sets "
          "on_missing_column: null):\n";
      for (const auto& [file, lacks] : s.files_lacking) {
        out += fmt::format("    {} lacks {}\n", file, fmt::join(lacks, ", "));
      }
    }
    if (!p.columns.empty() && s.type != "json") {
      out += fmt::format("  {:<24} {:<28} {:<12} {:>7} {:>10}  {}\n", "column", "source type",
                         "type", "null", "distinct", "min .. max");
      for (const store::ColumnProfile& c : p.columns) {
        out += fmt::format(
            "  {:<24} {:<28} {:<12} {:>7} {:>10}  {}\n", Clip(c.name, 24), Clip(c.native_type, 28),
            ValueTypeName(c.type), Percent(c.null_count, p.row_count),
            c.distinct_estimate >= 0 ? std::to_string(c.distinct_estimate) : "-",
            c.min || c.max ? Clip(c.min, 30) + " .. " + Clip(c.max, 30) : std::string("-"));
      }
    }
    if (!p.sample.empty()) {
      out += fmt::format("  sample ({} rows):\n", p.sample.size());
      for (const auto& row : p.sample) {
        std::string line;
        for (const auto& v : row) line += (line.empty() ? "" : " | ") + Clip(v, 40);
        out += "    " + line + "\n";
      }
    }
    for (const TableProposal& proposal : s.proposals) {
      out += proposal.entity.empty()
                 ? std::string("  proposed table:\n")
                 : fmt::format("  proposed table for entity {}:\n", proposal.entity);
      std::string ddl = "    " + proposal.ddl;
      for (size_t at = 0; (at = ddl.find('\n', at)) != std::string::npos; at += 5) {
        ddl.replace(at, 1, "\n    ");
      }
      out += ddl + "\n";
      for (const std::string& w : proposal.warnings) out += fmt::format("  warning: {}\n", w);
      if (!proposal.partitioning.empty()) {
        out += fmt::format("  partitioning: {}\n", proposal.partitioning);
      }
    }
  }
  return out;
}

}  // namespace cutover::engine
