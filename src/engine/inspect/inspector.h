// `cutover inspect`: what each legacy source holds (files, columns, types,
// statistics, samples) and the CREATE TABLE each entity would get.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"
#include "store/source_profile.h"

namespace cutover::engine {

struct InspectRequest {
  std::string source;       // only this source; empty: every source
  int64_t sample_rows = 5;  // rows (records for JSON) shown per source
  bool statistics = true;   // false skips the full scan (nulls, distincts, min/max)
};

// The DDL proposed for one entity reading the source, or for the source
// itself when no entity reads it (entity empty). `warnings` names entity
// columns that read a field the source does not have.
struct TableProposal {
  std::string entity;
  std::string ddl;
  std::vector<std::string> warnings;
  // For an IoTDB entity: the partition interval its points suggest
  // (series_span.h), as the spec line to write and why.
  std::string partitioning;
};

struct SourceInspection {
  std::string name;
  std::string type;  // parquet, csv, json, iotdb
  std::string path;
  // Parquet/CSV: everything; JSON: files, file_rows (records) and samples
  // as one "$doc" column holding each record's text; IoTDB: its devices (or
  // export files) as files, with their points as rows.
  store::SourceProfile profile;
  // Parquet/CSV globs whose files differ: per file, the columns of the
  // others it lacks (backfill refuses such a file unless on_missing_column).
  std::vector<std::pair<std::string, std::vector<std::string>>> files_lacking;
  std::vector<TableProposal> proposals;
  std::string error;  // why this source could not be read; the others still are
  // False when its records were not counted (an IoTDB source without
  // statistics): its row count is then no count.
  bool counted = true;
};

struct InspectReport {
  std::string migration;
  std::vector<SourceInspection> sources;
};

// Reads every requested source through the source interfaces only (the
// engine never sees how a store is read). Fails only on a bad request (an
// unknown --source); a source that cannot be read carries its error.
Result<InspectReport> RunInspect(const spec::MigrationSpec& migration,
                                 const InspectRequest& request);

nlohmann::json InspectReportJson(const InspectReport& report);
std::string FormatInspectReport(const InspectReport& report);

}  // namespace cutover::engine
