// `cutover rollback SPEC`: puts the legacy stores (Redis keys, JSON files) in
// PostgreSQL's state, so that the stage can move back to dual_write.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct StateRollbackRequest {
  // Top-level entities to roll back; empty: every entity of the spec, which
  // must then all be invertible (the whole migration goes back).
  std::vector<std::string> entities;
  bool dry_run = false;
  // Rows copied, and keys checked, per transaction (Redis) or per page read
  // (a file's export); 0: the store's default, 1000 keys or 10000 rows.
  int batch_size = 0;
  std::chrono::milliseconds retry_for{60'000};
};

struct StateRollbackEntity {
  std::string entity{};
  int64_t written = 0;   // PostgreSQL rows written back as legacy records
  int64_t deleted = 0;   // legacy keys that have no row, deleted
  int64_t scanned = 0;   // legacy keys of the entity's pattern looked at
  int64_t unmapped = 0;  // legacy keys whose key does not map to a row's key: left alone
  // A file written anew (file_rollback.h); empty for a store of keys. Its
  // `deleted` and `unmapped` records are the old file's that are not in the
  // new one: without a row, or without a key that reads as one.
  std::string file{};
};

struct StateRollbackReport {
  std::string stage{};  // where the migration stood
  bool whole = false;   // every entity of the spec was rolled back
  bool dry_run = false;
  std::vector<StateRollbackEntity> entities{};
};

// Why the rows of `entity` cannot be written back into its legacy store, or
// "" when they can (a Redis or JSON entity that declares write_back: true).
std::string WhyCannotGoBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// The top-level entities `names` names, each checked to go back
// (InvalidArgument naming the first that cannot), without repeats.
Result<std::vector<const spec::EntitySpec*>> EntitiesNamedToGoBack(
    const spec::MigrationSpec& migration, const std::vector<std::string>& names);

// State rollback design
//
// From `primary` on PostgreSQL holds the newest state, and writes that
// reached it without the gateway (an application that now talks to
// PostgreSQL) are in no legacy store. Rollback makes each legacy key equal
// to PostgreSQL's row in two passes, both idempotent (a record is written
// whole, a key deleted; a counter is set to its value, never incremented),
// so a killed run is simply run again:
//   1. PostgreSQL to legacy: the table is read in key order, a page at a
//      time, and each page written back under its keys' locks
//      (engine/core/legacy_write_back.h says why a racing gateway write
//      still ends in its own state).
//   2. Legacy keys without a row: every key of the entity's pattern is
//      scanned, mapped to its key columns, and looked up; the missing ones
//      are locked, looked up again, and deleted. A key whose captures do
//      not map is left alone and counted.
// Only entities that declare `write_back: true` (spec::InvertibilityProblem)
// can go back; a whole rollback refuses, before writing anything, when any
// entity cannot. Refused (FailedPrecondition) before `primary`: legacy is
// still the store every write reaches first, so it already holds them.
Result<StateRollbackReport> RunStateRollback(const spec::MigrationSpec& migration,
                                             const std::string& target_url,
                                             const StateRollbackRequest& request);

nlohmann::json StateRollbackReportJson(const StateRollbackReport& report);
std::string FormatStateRollbackReport(const StateRollbackReport& report);

}  // namespace cutover::engine
