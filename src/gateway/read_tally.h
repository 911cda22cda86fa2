// ReadTally: the gateway's read outcomes per entity, counted as they happen
// and added to cutover.read_stats every second, where the stage guards read them.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "catalog/read_stats.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::gateway {

// Counts wait in memory until Flush records them; a flush that fails puts
// them back, so an outage of PostgreSQL delays the evidence, never loses
// it (a crash loses at most the last second's). Thread-safe.
class ReadTally {
 public:
  void Add(const std::string& entity, const catalog::ReadCounts& counts);
  // Everything counted since the process started, for /v1/stats.
  std::map<std::string, catalog::ReadCounts> Totals() const;
  // Records the counts not recorded yet, one row per entity.
  Status Flush(pg_store::PgConnection* conn, const std::string& migration,
               const std::string& origin);

 private:
  mutable std::mutex mu_;
  std::map<std::string, catalog::ReadCounts> pending_;  // guarded by mu_
  std::map<std::string, catalog::ReadCounts> totals_;   // guarded by mu_
};

}  // namespace cutover::gateway
