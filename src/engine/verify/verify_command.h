// `cutover verify`: proves PostgreSQL holds exactly what the backfill's
// mapping of the legacy store gives, naming every missing, extra and changed key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/entity_selection.h"
#include "engine/verify/verify_report.h"
#include "spec/spec.h"

namespace cutover::engine {

struct VerifyRequest {
  // Entities to verify, by name: top-level (with their children), children
  // (read through their parent, reported alone) or lookup dimensions (read
  // through the entities that fill them); empty = all. An unknown name is
  // InvalidArgument with the nearest valid one.
  std::vector<std::string> entities;
  // --priority and --pattern: narrow `entities` (or all) further.
  EntityFilter filter;
  std::optional<double> float_tolerance;  // unset: the spec's verify.float_tolerance
  bool detailed = false;                  // name the differing columns of changed keys
  size_t max_listed_keys = 1000;          // per kind and table, in the report
  bool record = true;                     // store the outcome in cutover.verify_runs
  // Threads reading a chunked (Parquet/CSV) source; 0: one per core.
  int jobs = 0;
};

// Compares every selected table of PostgreSQL at `target_url` with the
// source mapped as the backfill maps it (docs/verify.md).
Result<VerifyReport> RunVerify(const spec::MigrationSpec& migration, const std::string& target_url,
                               const VerifyRequest& request);

}  // namespace cutover::engine
