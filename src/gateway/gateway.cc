// Opens the gateway's parts in dependency order and closes them in reverse.
#include "gateway/gateway.h"

#include <map>

#include <spdlog/spdlog.h>

#include "engine/core/source_factory.h"
#include "gateway/key_locks.h"
#include "gateway/postgres_secondary.h"
#include "stores/registry.h"

namespace cutover::gateway {
namespace {
// Writes one entity takes side by side through this process.
constexpr int kSessionsPerEntity = 8;
}  // namespace

// Members in the order they are made; destroyed in reverse, so the replayer
// stops before what it uses goes.
struct Gateway::Parts {
  std::shared_ptr<const spec::MigrationSpec> migration;
  std::vector<std::unique_ptr<store::Store>> stores;
  std::map<std::string, std::vector<std::unique_ptr<store::Writer>>> writers;
  std::unique_ptr<Journal> journal;
  JournalRecovery recovery;
  KeyLocks locks;
  std::unique_ptr<PostgresSecondary> postgres;
  std::unique_ptr<Replayer> replayer;
  std::unique_ptr<WritePath> writes;
};

Result<std::unique_ptr<Gateway>> Gateway::Open(std::shared_ptr<const spec::MigrationSpec> migration,
                                               const std::string& target_url,
                                               const std::string& journal_dir) {
  auto parts = std::make_unique<Parts>();
  parts->migration = migration;
  std::map<std::string, std::vector<WritePath::Session>> entities;
  std::map<std::string, store::Store*> stores;
  for (const spec::EntitySpec& e : migration->entities) {
    const spec::SourceSpec* source = migration->FindSource(e.source);
    if (source == nullptr || source->type != "redis" || !e.redis) continue;
    // Sessions (a store to read back, a writer) per entity: writes to
    // different keys reach Redis side by side, and their journal appends
    // share group commits. Connections open on first use.
    for (int i = 0; i < kSessionsPerEntity; ++i) {
      ASSIGN_OR_RETURN(auto store, engine::OpenEntityStore(*migration, e, 1));
      ASSIGN_OR_RETURN(auto writer, stores::OpenRecordWriter(*source, e));
      entities[e.name].push_back({store.get(), writer.get()});
      parts->stores.push_back(std::move(store));
      parts->writers[e.name].push_back(std::move(writer));
    }
    // And one for the replayer's thread (it maps a gone key's name).
    ASSIGN_OR_RETURN(auto store, engine::OpenEntityStore(*migration, e, 1));
    stores[e.name] = store.get();
    parts->stores.push_back(std::move(store));
  }
  if (entities.empty()) return std::unique_ptr<Gateway>();
  ASSIGN_OR_RETURN(parts->journal, Journal::Open({.dir = journal_dir}, &parts->recovery));
  if (parts->recovery.owed > 0 || parts->recovery.torn_bytes > 0) {
    spdlog::info("gateway journal {}: {} writes owed to PostgreSQL{}", journal_dir,
                 parts->recovery.owed,
                 parts->recovery.torn_bytes > 0
                     ? "; a torn tail of " + std::to_string(parts->recovery.torn_bytes) +
                           " bytes (never acknowledged) was cut at " + parts->recovery.torn_at
                     : "");
  }
  ASSIGN_OR_RETURN(parts->postgres, PostgresSecondary::Create(migration, target_url, stores));
  parts->replayer = std::make_unique<Replayer>(
      parts->journal.get(),
      std::map<OwedTo, SecondaryStore*>{{OwedTo::kPostgres, parts->postgres.get()}});
  parts->writes = std::make_unique<WritePath>(parts->journal.get(), &parts->locks,
                                              parts->replayer.get(), std::move(entities));
  parts->replayer->Start();
  return std::unique_ptr<Gateway>(new Gateway(std::move(parts)));
}

Gateway::Gateway(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Gateway::~Gateway() {
  if (parts_ && parts_->replayer) parts_->replayer->Stop();
}

WritePath& Gateway::writes() {
  return *parts_->writes;
}

bool Gateway::Writes(const std::string& entity) const {
  return parts_->writers.contains(entity);
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
