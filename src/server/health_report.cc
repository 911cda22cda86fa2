// Health and readiness of `cutover serve`, built from the pool, the sources
// and the stage watcher; no secret and no raw PostgreSQL message is exposed.
#include "server/health_report.h"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"
#include "control/stage.h"

namespace cutover::server {
namespace {

struct DatabaseProbe {
  bool healthy = false;
  std::string name;
  std::optional<std::string> postgis_version;
};

DatabaseProbe ProbeDatabase(ServerContext& ctx) {
  DatabaseProbe probe;
  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) {
    spdlog::warn("health: {}", RedactSecrets(lease.status().message()));
    return probe;
  }
  auto rows = (*lease)->Query(
      "SELECT current_database(), (SELECT extversion FROM pg_extension WHERE extname = 'postgis')");
  if (!rows.ok()) {
    lease->Discard();
    spdlog::warn("health: {}", RedactSecrets(rows.status().message()));
    return probe;
  }
  probe.healthy = true;
  probe.name = rows->rows.at(0)[0].value_or("");
  probe.postgis_version = rows->rows.at(0)[1];
  return probe;
}

// The JSON sources are files or folders: readable means the store is up.
nlohmann::json ProbeSources(const spec::MigrationSpec& migration, bool* all_ok) {
  nlohmann::json out = nlohmann::json::array();
  *all_ok = true;
  for (const auto& s : migration.sources) {
    std::error_code ec;
    const bool ok = std::filesystem::exists(s.path, ec) && access(s.path.c_str(), R_OK) == 0;
    *all_ok = *all_ok && ok;
    out.push_back({{"name", s.name}, {"type", s.type}, {"status", ok ? "healthy" : "unreachable"}});
  }
  return out;
}

nlohmann::json StageJson(const control::StageWatcher::Snapshot& snap) {
  nlohmann::json stage = {
      {"fresh", snap.fresh}, {"age_seconds", snap.age_seconds}, {"listening", snap.listening}};
  if (snap.state) {
    stage["name"] = control::StageName(snap.state->stage);
    stage["percent"] = snap.state->percent;
    stage["version"] = snap.state->version;
    stage["changed_at"] = snap.state->changed_at;
  } else {
    stage["name"] = nullptr;
  }
  return stage;
}

}  // namespace

nlohmann::json BuildHealth(ServerContext& ctx) {
  const auto migration = ctx.spec();
  const DatabaseProbe db = ProbeDatabase(ctx);
  const PgPool::Stats pool = ctx.pool().stats();
  bool sources_ok = false;
  nlohmann::json sources = ProbeSources(*migration, &sources_ok);
  const auto snap = ctx.watcher().Current();
  nlohmann::json health = {
      {"status", db.healthy && sources_ok && snap.fresh ? "ok" : "degraded"},
      {"version", "0.1.0"},
      {"migration", migration->name},
      {"database",
       {{"enabled", true},
        {"status", db.healthy ? "healthy" : "unreachable"},
        {"name", db.healthy ? nlohmann::json(db.name) : nlohmann::json(nullptr)},
        {"postgis_version",
         db.postgis_version ? nlohmann::json(*db.postgis_version) : nlohmann::json(nullptr)},
        {"connection_pool",
         {{"size", pool.size},
          {"checked_in", pool.checked_in},
          {"checked_out", pool.checked_out},
          {"overflow", pool.overflow},
          {"waiting", pool.waiting}}}}},
      {"legacy_store",
       {{"status", sources_ok ? "healthy" : "unreachable"}, {"sources", std::move(sources)}}},
      {"stage", StageJson(snap)},
  };
  return health;
}

Readiness CheckReady(ServerContext& ctx) {
  Readiness r;
  if (ctx.draining) r.reasons.push_back("draining: the server is shutting down");
  {
    auto lease = ctx.pool().Acquire();
    bool ok = lease.ok() && (*lease)->Exec("SELECT 1").ok();
    if (lease.ok() && !ok) lease->Discard();
    if (!ok) r.reasons.push_back("postgresql: unreachable");
  }
  bool sources_ok = false;
  const nlohmann::json sources = ProbeSources(*ctx.spec(), &sources_ok);
  for (const auto& s : sources) {
    if (s["status"] != "healthy") {
      r.reasons.push_back("legacy store: source " + s["name"].get<std::string>() + " unreadable");
    }
  }
  const auto snap = ctx.watcher().Current();
  if (!snap.state) {
    r.reasons.push_back("stage: never read");
  } else if (!snap.fresh) {
    r.reasons.push_back(fmt::format("stage: last read {:.1f}s ago; serving the last known stage",
                                    snap.age_seconds));
  }
  r.ready = r.reasons.empty();
  return r;
}

}  // namespace cutover::server
