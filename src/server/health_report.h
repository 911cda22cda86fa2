// The health checks behind /health and /readyz: PostgreSQL through the pool,
// the legacy store's sources, and how fresh this process's view of the stage is.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/server_context.h"
#include "spec/spec.h"

namespace cutover::server {

// /health, shaped like the traffic runbook's:
// {status: "ok"|"degraded", version, migration,
//  database: {enabled, status: "healthy"|"unreachable", name, postgis_version
//             (null without PostGIS), connection_pool: {size, checked_in,
//             checked_out, overflow, waiting}},
//  legacy_store: {status: "healthy"|"unreachable", sources: [{name, type, status}]},
//  stage: {name, percent, version, changed_at, fresh, age_seconds, listening}
//         (name null before the first read),
//  way_back: [{entity, slot, slot_exists, streaming, left_behind,
//              retained_wal_bytes, changes_applied, lag_p99_ms}]
//            (null when the database cannot be read)}.
// Never holds a URL, a password or an error text from PostgreSQL.
nlohmann::json BuildHealth(ServerContext& ctx);

// One legacy-store source as /health and /readyz report it: reachable or
// not, and why not in words an operator can act on (no secret).
struct SourceProbe {
  std::string name;
  std::string type;
  bool reachable = false;
  std::string reason;  // empty when reachable
};
// Every source of `migration`, in spec order.
std::vector<SourceProbe> ProbeSources(const spec::MigrationSpec& migration);

// /readyz: ready when PostgreSQL answers, every source is readable, the stage
// is fresh and the server is not draining. `reasons` names what is not.
struct Readiness {
  bool ready = false;
  nlohmann::json reasons = nlohmann::json::array();
};
Readiness CheckReady(ServerContext& ctx);

}  // namespace cutover::server
