// Health and readiness of `cutover serve`, built from the pool, the sources
// and the stage watcher; no secret and no raw PostgreSQL message is exposed.
#include "server/health_report.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/way_back.h"
#include "common/redact.h"
#include "control/stage.h"
#include "stores/registry.h"

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

nlohmann::json SourcesJson(const std::vector<SourceProbe>& probes, bool* all_ok) {
  nlohmann::json out = nlohmann::json::array();
  *all_ok = true;
  for (const auto& p : probes) {
    *all_ok = *all_ok && p.reachable;
    out.push_back(
        {{"name", p.name}, {"type", p.type}, {"status", p.reachable ? "healthy" : "unreachable"}});
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

// The way back's slots (catalog/way_back.h) with the WAL each holds; a slot
// while the stage is not primary is left behind. Null when unreadable.
nlohmann::json WayBackJson(ServerContext& ctx, const control::StageWatcher::Snapshot& snap) {
  auto lease = ctx.pool().Acquire();
  if (!lease.ok()) return nullptr;
  auto slots = catalog::LoadWayBacks(lease->get(), ctx.spec()->name);
  if (!slots.ok()) {
    lease->Discard();
    spdlog::warn("health: {}", RedactSecrets(slots.status().message()));
    return nullptr;
  }
  const bool primary = snap.state && snap.state->stage == control::Stage::kPrimary;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : *slots) {
    out.push_back({{"entity", w.state.entity},
                   {"slot", w.state.slot},
                   {"slot_exists", w.slot_exists},
                   {"streaming", w.active},
                   {"left_behind", w.slot_exists && !primary},
                   {"retained_wal_bytes",
                    w.retained_wal ? nlohmann::json(*w.retained_wal) : nlohmann::json(nullptr)},
                   {"changes_applied", w.state.changes_applied},
                   {"lag_p99_ms", w.state.lag_p99_ms ? nlohmann::json(*w.state.lag_p99_ms)
                                                     : nlohmann::json(nullptr)}});
  }
  return out;
}

}  // namespace

// Each source's store answers for itself (a glob is reachable when it
// matches readable files); opening a store to Ping it reads no data.
std::vector<SourceProbe> ProbeSources(const spec::MigrationSpec& migration) {
  std::vector<SourceProbe> out;
  for (const auto& s : migration.sources) {
    const Status st = stores::PingSource(s);
    out.push_back({s.name, s.type, st.ok(), st.ok() ? "" : RedactSecrets(st.message())});
  }
  return out;
}

nlohmann::json BuildHealth(ServerContext& ctx) {
  const auto migration = ctx.spec();
  const DatabaseProbe db = ProbeDatabase(ctx);
  const PgPool::Stats pool = ctx.pool().stats();
  bool sources_ok = false;
  nlohmann::json sources = SourcesJson(ProbeSources(*migration), &sources_ok);
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
      {"way_back", db.healthy ? WayBackJson(ctx, snap) : nlohmann::json(nullptr)},
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
  for (const auto& s : ProbeSources(*ctx.spec())) {
    if (!s.reachable) r.reasons.push_back("legacy store: " + s.reason);
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
