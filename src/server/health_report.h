// The health checks behind /health and /readyz: PostgreSQL through the pool,
// the legacy store's sources, and how fresh this process's view of the stage is.
#pragma once

#include <nlohmann/json.hpp>

#include "server/server_context.h"

namespace cutover::server {

// /health, shaped like the traffic runbook's:
// {status: "ok"|"degraded", version, migration,
//  database: {enabled, status: "healthy"|"unreachable", name, postgis_version
//             (null without PostGIS), connection_pool: {size, checked_in,
//             checked_out, overflow, waiting}},
//  legacy_store: {status: "healthy"|"unreachable", sources: [{name, type, status}]},
//  stage: {name, percent, version, changed_at, fresh, age_seconds, listening}
//         (name null before the first read)}.
// Never holds a URL, a password or an error text from PostgreSQL.
nlohmann::json BuildHealth(ServerContext& ctx);

// /readyz: ready when PostgreSQL answers, every source is readable, the stage
// is fresh and the server is not draining. `reasons` names what is not.
struct Readiness {
  bool ready = false;
  nlohmann::json reasons = nlohmann::json::array();
};
Readiness CheckReady(ServerContext& ctx);

}  // namespace cutover::server
