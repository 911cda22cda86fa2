// What `cutover verify` found, per table, and how it is printed: the table
// of counts for people, the JSON document for programs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cutover::engine {

struct ChangedKey {
  std::string key;
  std::vector<std::string> columns;  // filled with --detailed
};

// One `references:` column's check: rows whose parent is missing.
struct OrphanCheck {
  std::string column;
  std::string references;  // "users.id"
  int64_t orphans = 0;
  std::vector<std::string> keys;  // the first of them, by key
};

// One `rollups:` table compared with a fresh GROUP BY of the entity's table
// (catalog/rollup_ddl.h); a missing rollup table is not clean either.
struct RollupCheck {
  std::string table;
  bool exists = false;
  int64_t buckets = 0;  // groups and buckets in the entity's table
  int64_t missing = 0;  // in the table, not in the rollup
  int64_t extra = 0;    // in the rollup, not in the table
  int64_t changed = 0;  // aggregates that differ
  std::vector<std::string> listed;
  bool clean() const { return exists && missing == 0 && extra == 0 && changed == 0; }
};

struct TableVerdict {
  std::string entity;
  std::string table;
  int64_t source_rows = 0;  // distinct keys mapped from the source
  int64_t target_rows = 0;
  int64_t matched = 0;
  int64_t missing = 0;  // in the source, not in PostgreSQL
  int64_t extra = 0;    // in PostgreSQL, not in the source
  int64_t changed = 0;
  int64_t unmappable = 0;         // source records that map to no row (see rejects)
  int64_t source_duplicates = 0;  // repeated keys in the source (the last one counts)
  std::vector<std::string> missing_keys;
  std::vector<std::string> extra_keys;
  std::vector<ChangedKey> changed_keys;
  // Key, indexes and constraints a bulk load set aside and has not rebuilt
  // (cutover.deferred_ddl): equal rows in a table without its key are not a
  // finished migration, so the table is not clean while any is left.
  std::vector<std::string> set_aside;
  // The table's `references:` checks; a row without its parent is not clean.
  std::vector<OrphanCheck> orphans;
  std::vector<RollupCheck> rollups;

  bool clean() const {
    for (const auto& o : orphans) {
      if (o.orphans > 0) return false;
    }
    for (const auto& r : rollups) {
      if (!r.clean()) return false;
    }
    return missing == 0 && extra == 0 && changed == 0 && set_aside.empty();
  }
  // Percent of the keys on either side that match; nullopt when neither side
  // holds a row, since there is no ratio to state.
  std::optional<double> accuracy() const;
  // accuracy() floored to hundredths ("99.99%"), so that it reads 100.00%
  // only when every key matches; "-" when there is none.
  std::string AccuracyText() const;
};

struct VerifyReport {
  std::vector<TableVerdict> tables;
  double seconds = 0;
  // True when every table compared agrees, and at least one was compared:
  // a comparison of nothing proves nothing.
  bool clean() const;
};

std::string FormatVerifyReport(const VerifyReport& report, bool detailed);
nlohmann::json VerifyReportJson(const VerifyReport& report);

}  // namespace cutover::engine
