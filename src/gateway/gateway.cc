// Opens the gateway's parts in dependency order and closes them in reverse.
#include "gateway/gateway.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "catalog/gateway_journals.h"
#include "common/redact.h"
#include "engine/core/source_factory.h"
#include "gateway/key_locks.h"
#include "gateway/legacy_secondary.h"
#include "gateway/postgres_primary.h"
#include "gateway/postgres_secondary.h"
#include "stores/registry.h"

namespace cutover::gateway {
namespace {
// Writes one entity takes side by side through this process: a Redis
// entity's each hold a connection; a JSON file's or Parquet archive's hold
// nothing but the right to join the next replace or file, so more of them
// make larger groups.
constexpr int kSessionsPerEntity = 8;
constexpr int kSessionsPerFileEntity = 64;
}  // namespace

// Members in the order they are made; destroyed in reverse, so the replayer
// stops before what it uses goes.
struct Gateway::Parts {
  std::shared_ptr<const spec::MigrationSpec> migration;
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<std::unique_ptr<store::Writer>> writers;  // those no store owns
  std::set<std::string> writable;                       // entities written through the gateway
  std::unique_ptr<Journal> journal;
  JournalRecovery recovery;
  KeyLocks locks;
  std::unique_ptr<LegacySessions> legacy;
  std::unique_ptr<PostgresSecondary> postgres;
  std::unique_ptr<Replayer> replayer;
  ReadTally tally;
  std::unique_ptr<PostgresReader> postgres_reader;
  std::unique_ptr<PostgresPrimary> postgres_primary;
  std::unique_ptr<LegacySecondary> legacy_secondary;
  std::unique_ptr<WritePath> writes;
  std::unique_ptr<ShadowComparer> shadow;
  std::unique_ptr<ReadPath> reads;
  // Sends the read tally to the catalog every second (Reporter()).
  std::thread reporter;
  std::atomic<bool> stopping{false};
};

Result<std::unique_ptr<Gateway>> Gateway::Open(std::shared_ptr<const spec::MigrationSpec> migration,
                                               const std::string& target_url,
                                               const std::string& journal_dir,
                                               const std::string& origin) {
  auto parts = std::make_unique<Parts>();
  parts->migration = migration;
  std::map<std::string, std::vector<LegacySessions::Session>> entities;
  std::map<std::string, store::Store*> stores;
  for (const spec::EntitySpec& e : migration->entities) {
    const spec::SourceSpec* source = migration->FindSource(e.source);
    if (source == nullptr) continue;
    const bool redis = source->type == "redis" && e.redis;
    const bool json = source->type == "json" && spec::JsonKeyField(e).has_value();
    if (source->type == "json" && !json) {
      spdlog::info("gateway: entity '{}' is not written through the gateway: {}", e.name,
                   e.file.empty() ? "it names no single file" : "its key has more than one column");
    }
    const bool parquet = source->type == "parquet";
    // IoTDB points by key: over the REST service, one point per row.
    const bool iotdb = source->type == "iotdb" && e.iotdb && !source->url.empty() &&
                       e.iotdb->layout == spec::IotdbSeriesSpec::Layout::kLong;
    if (source->type == "iotdb" && !iotdb) {
      spdlog::info("gateway: entity '{}' is not written through the gateway: {}", e.name,
                   source->url.empty() ? "its points come from export files, not IoTDB's REST "
                                         "service"
                                       : "its layout is wide (a point per row is written: long)");
    }
    if (!redis && !json && !parquet && !iotdb) continue;
    // Sessions (a store to read back, a writer) per entity: writes to
    // different keys reach the store side by side, and their journal
    // appends share group commits (a JSON file's replaces, a Parquet
    // archive's files too). Connections open on first use.
    const int sessions = redis || iotdb ? kSessionsPerEntity : kSessionsPerFileEntity;
    bool writable = true;
    for (int i = 0; i < sessions && writable; ++i) {
      ASSIGN_OR_RETURN(auto store, engine::OpenEntityStore(*migration, e, 1));
      store::Writer* writer = nullptr;
      if (redis) {
        ASSIGN_OR_RETURN(auto owned, stores::OpenRecordWriter(*source, e));
        writer = owned.get();
        parts->writers.push_back(std::move(owned));
      } else {
        // A JSON file's writer is shared in the process; a Parquet archive's
        // share its files (owned by the store).
        writer = store->writer();
      }
      if (writer == nullptr && json) {
        return FailedPrecondition("entity '" + e.name + "': its file '" + e.file +
                                  "' is not one file the gateway can write (a glob?)");
      }
      if (writer == nullptr) {
        spdlog::info(
            "gateway: entity '{}' is not written through the gateway: its Parquet files are not "
            "one directory (name a folder as its file to make it an archive the gateway "
            "appends to)",
            e.name);
        writable = false;
        break;
      }
      // A write's read-back within the write itself, where the store can.
      writer->ReadBackWrites();
      entities[e.name].push_back({store.get(), writer});
      parts->stores.push_back(std::move(store));
    }
    if (!writable) continue;
    parts->writable.insert(e.name);
    // And one for the replayer's thread (it maps a gone key's name).
    ASSIGN_OR_RETURN(auto store, engine::OpenEntityStore(*migration, e, 1));
    stores[e.name] = store.get();
    parts->stores.push_back(std::move(store));
  }
  if (entities.empty()) return std::unique_ptr<Gateway>();
  ASSIGN_OR_RETURN(parts->journal, Journal::Open({.dir = journal_dir}, &parts->recovery));
  if (parts->recovery.owed > 0 || parts->recovery.torn_bytes > 0) {
    spdlog::info("gateway journal {}: {} writes owed to a secondary store{}", journal_dir,
                 parts->recovery.owed,
                 parts->recovery.torn_bytes > 0
                     ? "; a torn tail of " + std::to_string(parts->recovery.torn_bytes) +
                           " bytes (never acknowledged) was cut at " + parts->recovery.torn_at
                     : "");
  }
  ASSIGN_OR_RETURN(parts->postgres, PostgresSecondary::Create(migration, target_url, stores));
  parts->legacy = std::make_unique<LegacySessions>(std::move(entities));
  std::vector<std::string> names;
  for (const auto& [name, store] : stores) names.push_back(name);
  ASSIGN_OR_RETURN(parts->postgres_reader,
                   PostgresReader::Create(
                       migration,
                       {.url = target_url,
                        .timeout = std::chrono::milliseconds(migration->stages.read_timeout_ms)},
                       names));
  ASSIGN_OR_RETURN(parts->postgres_primary, PostgresPrimary::Create(migration, target_url, names,
                                                                    parts->postgres_reader.get()));
  parts->legacy_secondary = std::make_unique<LegacySecondary>(parts->legacy.get());
  parts->replayer = std::make_unique<Replayer>(
      parts->journal.get(),
      std::map<OwedTo, SecondaryStore*>{{OwedTo::kPostgres, parts->postgres.get()},
                                        {OwedTo::kLegacy, parts->legacy_secondary.get()}});
  parts->writes =
      std::make_unique<WritePath>(parts->journal.get(), &parts->locks, parts->replayer.get(),
                                  parts->legacy.get(), parts->postgres_primary.get());
  ASSIGN_OR_RETURN(parts->shadow, ShadowComparer::Create(migration, names, parts->legacy.get(),
                                                         parts->postgres_reader.get(),
                                                         parts->journal.get(), &parts->tally, {}));
  parts->reads = std::make_unique<ReadPath>(
      parts->legacy.get(), parts->postgres_reader.get(), parts->shadow.get(), parts->journal.get(),
      &parts->tally,
      ReadPath::Options{.shadow_sample = migration->stages.shadow_sample,
                        .primary_fallback = migration->stages.primary_fallback});
  parts->replayer->Start();
  parts->shadow->Start();
  // Four times a second, on a connection of its own made again after a
  // failure: the journal's state into cutover.gateway_journals (the cut-over
  // barrier reads it: control/gateway_drain.h), and the read tally into
  // cutover.read_stats. Once before the gateway serves, so that no write is
  // acknowledged by a gateway the barrier does not know of (unless
  // PostgreSQL is down then; the first round after it returns reports), and
  // a last time as it stops.
  const std::string dir = std::filesystem::absolute(journal_dir).lexically_normal().string();
  auto report = [p = parts.get(), url = target_url, origin,
                 dir](std::unique_ptr<pg_store::PgConnection>& conn) {
    if (conn == nullptr || !conn->IsHealthy()) {
      auto made = pg_store::PgConnection::Connect(url);
      conn = made.ok() ? std::move(*made) : nullptr;
      if (!made.ok()) {
        spdlog::warn("gateway report waits for PostgreSQL: {}",
                     RedactSecrets(made.status().message()));
        return;
      }
    }
    const JournalStats j = p->journal->stats();
    Status st =
        catalog::ReportGatewayJournal(conn.get(), p->migration->name,
                                      {.origin = origin,
                                       .journal_dir = dir,
                                       .last_seq = static_cast<int64_t>(j.last_seq),
                                       .first_owed_seq = static_cast<int64_t>(j.first_owed_seq),
                                       .owed = static_cast<int64_t>(j.owed)});
    if (st.ok()) st = p->tally.Flush(conn.get(), p->migration->name, origin);
    if (!st.ok()) {
      spdlog::warn("gateway report waits for the next round: {}", RedactSecrets(st.message()));
    }
  };
  std::unique_ptr<pg_store::PgConnection> report_conn;
  report(report_conn);
  parts->reporter = std::thread([p = parts.get(), report, conn = std::move(report_conn)]() mutable {
    for (bool last = false; !last;) {
      for (int i = 0; i < 5 && !p->stopping; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      last = p->stopping;
      report(conn);
    }
  });
  return std::unique_ptr<Gateway>(new Gateway(std::move(parts)));
}

Gateway::Gateway(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Gateway::~Gateway() {
  if (!parts_) return;
  parts_->stopping = true;
  if (parts_->reporter.joinable()) parts_->reporter.join();
  parts_->shadow->Stop();
  parts_->replayer->Stop();
}

ReadPath& Gateway::reads() {
  return *parts_->reads;
}

ShadowStats Gateway::shadow_stats() const {
  return parts_->shadow->stats();
}

std::map<std::string, catalog::ReadCounts> Gateway::read_totals() const {
  return parts_->tally.Totals();
}

WritePath& Gateway::writes() {
  return *parts_->writes;
}

bool Gateway::Writes(const std::string& entity) const {
  return parts_->writable.contains(entity);
}

JournalStats Gateway::journal_stats() const {
  return parts_->journal->stats();
}

ReplayStats Gateway::replay_stats() const {
  return parts_->replayer->stats();
}

const JournalRecovery& Gateway::recovery() const {
  return parts_->recovery;
}

}  // namespace cutover::gateway
