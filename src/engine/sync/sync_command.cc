// `cutover sync`: per source, subscribe, reconcile, then apply change hints;
// every gap the stream reports is counted and repaired by a reconciliation.
#include "engine/sync/sync_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "catalog/deferred_ddl.h"
#include "catalog/key_versions.h"
#include "catalog/schema.h"
#include "catalog/sync_state.h"
#include "common/lag_window.h"
#include "engine/core/entity_selection.h"
#include "engine/core/redis_key_sql.h"
#include "engine/core/source_factory.h"
#include "engine/sync/watermark_sync.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"
#include "stores/registry.h"

namespace cutover::engine {
namespace {

using Clock = std::chrono::steady_clock;

class SourceSync {
 public:
  SourceSync(const spec::MigrationSpec& migration, const spec::SourceSpec& source,
             std::vector<const spec::EntitySpec*> entities, std::string url,
             const SyncRequest& request, const std::atomic<bool>& stop)
      : migration_(migration),
        source_(source),
        entities_(std::move(entities)),
        url_(std::move(url)),
        request_(request),
        stop_(stop) {
    report_.source = source.name;
  }

  Result<SourceSyncReport> Run() {
    RETURN_IF_ERROR(Connect());
    ASSIGN_OR_RETURN(stream_, stores::OpenSourceChanges(source_, entities_, request_.configure));
    for (const spec::EntitySpec* e : entities_) {
      ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration_, *e, 1));
      ASSIGN_OR_RETURN(auto sync, EntitySync::Create(migration_, *e, store.get()));
      stores_.push_back(std::move(store));
      syncs_.push_back(std::move(sync));
    }
    RETURN_IF_ERROR(Pg("preparing staging tables", [&] { return PrepareAll(); }));
    // Subscribed before the first read: nothing after this is missed.
    ASSIGN_OR_RETURN(store::Cursor head, stream_->Head());
    RETURN_IF_ERROR(stream_->Start(head));
    spdlog::info("sync {}: subscribed; reconciling {} entities", source_.name, entities_.size());
    RETURN_IF_ERROR(Reconcile("start"));
    const auto started = Clock::now();
    auto last_change = Clock::now();
    auto last_save = Clock::now();
    store::ChangeBatch batch;
    while (!stop_.load()) {
      if (request_.run_for.count() > 0 && Clock::now() - started >= request_.run_for) break;
      // Not idle while a bulk load holds an entity: it is not in step yet.
      if (request_.idle_exit.count() > 0 && Clock::now() - last_change >= request_.idle_exit &&
          std::none_of(held_.begin(), held_.end(), [](bool h) { return h; })) {
        break;
      }
      Result<bool> got = stream_->Next(static_cast<size_t>(request_.batch_size),
                                       std::chrono::milliseconds(100), &batch);
      if (!got.ok()) {
        RETURN_IF_ERROR(OnStreamError(got.status()));
        last_change = Clock::now();
        continue;
      }
      if (*got) {
        last_change = Clock::now();
        std::set<std::string> keys;
        for (const auto& c : batch.changes) {
          if (!c.key.empty()) keys.insert(c.key[0]);
        }
        report_.changes += static_cast<int64_t>(batch.changes.size());
        RETURN_IF_ERROR(ApplyKeys(keys));
        RecordLag(std::chrono::duration<double, std::milli>(Clock::now() - last_change).count());
      }
      if (Clock::now() - last_save >= std::chrono::seconds(1)) {
        RETURN_IF_ERROR(ReleaseBuilt());
        (void)SaveState();
        last_save = Clock::now();
      }
    }
    for (size_t e = 0; e < entities_.size(); ++e) {
      if (!held_[e]) continue;
      spdlog::warn(
          "sync {}: {} was being bulk-loaded until this sync ended, so it was not synced; the "
          "next sync reconciles it once the backfill has built its key",
          source_.name, entities_[e]->name);
    }
    report_.lag_samples = lags_.size();
    report_.lag_p50_ms = lags_.Percentile(0.50);
    report_.lag_p99_ms = lags_.Percentile(0.99);
    RETURN_IF_ERROR(SaveState());
    return report_;
  }

 private:
  Status Connect() {
    return Pg("connecting", [&] { return catalog::EnsureControlSchema(conn_.get()); });
  }

  // On every (re)connection: the sync's presence on this session, then the
  // entities a bulk load holds.
  Status PrepareAll() {
    for (auto& s : syncs_) RETURN_IF_ERROR(s->Prepare(conn_.get()));
    RETURN_IF_ERROR(catalog::AnnounceSync(conn_.get(), migration_.name, source_.name));
    return FindHeld();
  }

  // Entities held by a bulk load
  //
  // An entity whose key a bulk load has set aside (catalog/sync_state.h)
  // cannot take a merge. Sync leaves it alone: no reconciliation reads it and
  // its hints are dropped, which loses nothing, because once the load has
  // built the key (the entity's deferred keys are gone) sync reconciles the
  // entity whole, with the subscription up all the while. Entities are only
  // ever taken into a hold while no sync runs, so a hold is found here, at
  // (re)connection, and released in ReleaseBuilt.
  Status FindHeld() {
    held_.resize(entities_.size(), false);
    for (size_t e = 0; e < entities_.size(); ++e) {
      ASSIGN_OR_RETURN(
          const int64_t deferred,
          catalog::CountDeferredKeys(conn_.get(), migration_.name, entities_[e]->name));
      if (deferred > 0 && !held_[e]) {
        spdlog::warn(
            "sync {}: {} is being bulk-loaded (its key and indexes are set aside): it is left "
            "alone until the backfill has built them, then reconciled",
            source_.name, entities_[e]->name);
      }
      held_[e] = deferred > 0;
    }
    return Status::Ok();
  }

  // Reconciles each held entity whose key a bulk load has built since.
  Status ReleaseBuilt() {
    for (size_t e = 0; e < entities_.size(); ++e) {
      if (!held_[e]) continue;
      int64_t deferred = 0;
      RETURN_IF_ERROR(Pg("checking the bulk load of " + entities_[e]->name, [&]() -> Status {
        ASSIGN_OR_RETURN(
            deferred, catalog::CountDeferredKeys(conn_.get(), migration_.name, entities_[e]->name));
        return Status::Ok();
      }));
      if (deferred > 0) continue;
      held_[e] = false;
      spdlog::info("sync {}: the bulk load of {} has built its key; reconciling it", source_.name,
                   entities_[e]->name);
      std::set<std::string> pending;
      bool gap = false;
      ++report_.repairs;
      RETURN_IF_ERROR(ReconcileEntity(e, &pending, &gap));
      if (gap) return Reconcile("gap");
      RETURN_IF_ERROR(ApplyKeys(pending));
    }
    return Status::Ok();
  }

  Status Pg(std::string_view what, const std::function<Status()>& attempt) {
    return pg_store::RunWithRetry(&conn_, url_, request_.retry_for, what, attempt,
                                  [&] { return PrepareAll(); });
  }

  // A gap (kDataLoss) is counted and repaired; an unreachable store is
  // waited for (the stream reports the gap once it is back).
  Status OnStreamError(const Status& st) {
    if (st.code() == StatusCode::kDataLoss) {
      ++report_.gaps;
      report_.gap_reasons.push_back(st.message());
      spdlog::warn("sync {}: gap {}: {}; reconciling", source_.name, report_.gaps, st.message());
      return Reconcile("gap");
    }
    if (st.code() == StatusCode::kUnavailable) {
      spdlog::warn("sync {}: {}", source_.name, st.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      return Status::Ok();
    }
    return st;
  }

  // Applies the current state of `keys`, each to the entities whose pattern
  // it matches.
  Status ApplyKeys(const std::set<std::string>& keys) {
    for (size_t e = 0; e < entities_.size(); ++e) {
      if (held_[e]) continue;
      std::vector<std::string> mine;
      for (const auto& k : keys) {
        if (entities_[e]->redis && entities_[e]->redis->pattern.Match(k)) mine.push_back(k);
      }
      for (size_t i = 0; i < mine.size(); i += static_cast<size_t>(request_.batch_size)) {
        std::vector<std::string> part(
            mine.begin() + static_cast<std::ptrdiff_t>(i),
            mine.begin() + static_cast<std::ptrdiff_t>(std::min(
                               mine.size(), i + static_cast<size_t>(request_.batch_size))));
        // A reconnection may find the entity held meanwhile (FindHeld).
        RETURN_IF_ERROR(Pg("applying changes to " + entities_[e]->name, [&] {
          return held_[e] ? Status::Ok() : syncs_[e]->Refresh(conn_.get(), part, &report_.counts);
        }));
      }
    }
    return Status::Ok();
  }

  // Hints that arrive while a reconciliation runs wait here; a gap among
  // them means the reconciliation itself may have missed a change, so it
  // runs again.
  Status Drain(std::set<std::string>* pending, bool* gap) {
    store::ChangeBatch batch;
    for (;;) {
      Result<bool> got = stream_->Next(10000, std::chrono::milliseconds(0), &batch);
      if (!got.ok()) {
        if (got.status().code() == StatusCode::kDataLoss) {
          ++report_.gaps;
          report_.gap_reasons.push_back(got.status().message());
          spdlog::warn("sync {}: gap {} during a reconciliation: {}", source_.name, report_.gaps,
                       got.status().message());
          *gap = true;
          return Status::Ok();
        }
        if (got.status().code() == StatusCode::kUnavailable) return Status::Ok();
        return got.status();
      }
      if (!*got) return Status::Ok();
      report_.changes += static_cast<int64_t>(batch.changes.size());
      for (const auto& c : batch.changes) {
        if (!c.key.empty()) pending->insert(c.key[0]);
      }
    }
  }

  Status Reconcile(std::string_view why) {
    for (;;) {
      ++report_.repairs;
      const auto t0 = Clock::now();
      std::set<std::string> pending;
      bool gap = false;
      const ApplyCounts before = report_.counts;
      for (size_t e = 0; e < entities_.size() && !gap && !stop_.load(); ++e) {
        if (!held_[e]) RETURN_IF_ERROR(ReconcileEntity(e, &pending, &gap));
      }
      if (stop_.load()) {
        // Stopped part way: what was applied is kept, but keys the scan had
        // not reached, and keys gone since, are not known to be in step.
        spdlog::warn(
            "sync {}: reconciliation ({}) stopped after {:.1f}s, before it finished; the next "
            "sync reconciles again",
            source_.name, why, std::chrono::duration<double>(Clock::now() - t0).count());
        return SaveState();
      }
      if (gap) continue;  // the stream re-subscribed: scan again
      RETURN_IF_ERROR(ApplyKeys(pending));
      spdlog::info(
          "sync {}: reconciled ({}) in {:.1f}s: {} keys applied, {} deleted, {} superseded, {} "
          "hints during it",
          source_.name, why, std::chrono::duration<double>(Clock::now() - t0).count(),
          report_.counts.keys - before.keys, report_.counts.deleted - before.deleted,
          report_.counts.superseded - before.superseded, pending.size());
      return SaveState();
    }
  }

  Status ReconcileEntity(size_t e, std::set<std::string>* pending, bool* gap) {
    EntitySync& sync = *syncs_[e];
    ASSIGN_OR_RETURN(std::vector<store::Partition> partitions, sync.store()->snapshot().Plan());
    int64_t oldest_read = INT64_MAX;
    store::StoreBatch batch;
    for (const auto& p : partitions) {
      ASSIGN_OR_RETURN(auto reader, sync.store()->snapshot().Open(p, store::Cursor{}));
      for (;;) {
        ASSIGN_OR_RETURN(bool more, reader->Next(static_cast<size_t>(request_.batch_size), &batch));
        if (batch.versions_floor > 0) oldest_read = std::min(oldest_read, batch.versions_floor);
        if (batch.size() > 0) {
          RETURN_IF_ERROR(Pg("reconciling " + entities_[e]->name, [&] {
            return held_[e] ? Status::Ok() : sync.Apply(conn_.get(), batch, {}, 0, &report_.counts);
          }));
        }
        RETURN_IF_ERROR(Drain(pending, gap));
        if (*gap || !more) break;
        if (stop_.load()) return Status::Ok();
      }
      if (*gap) return Status::Ok();
    }
    if (oldest_read == INT64_MAX) {
      return Internal(entities_[e]->name +
                      ": the scan reported no read time, so keys gone since cannot be found");
    }
    // Keys written before the scan began that the scan did not see: gone, or
    // created and deleted around it; re-read each (a missing key is deleted).
    std::string after;
    for (;;) {
      std::vector<std::string> keys;
      RETURN_IF_ERROR(Pg("listing keys the scan did not see", [&]() -> Status {
        ASSIGN_OR_RETURN(keys,
                         catalog::KeysOlderThan(conn_.get(), migration_.name, entities_[e]->name,
                                                oldest_read, after, request_.batch_size));
        return Status::Ok();
      }));
      if (keys.empty()) break;
      after = keys.back();
      RETURN_IF_ERROR(Pg("re-reading keys the scan did not see", [&] {
        return held_[e] ? Status::Ok() : sync.Refresh(conn_.get(), keys, &report_.counts);
      }));
      RETURN_IF_ERROR(Drain(pending, gap));
      if (*gap) return Status::Ok();
    }
    return RefreshUnclaimed(e, pending, gap);
  }

  // Rows that a bulk load wrote carry no claim (engine/backfill/bulk_load.cc);
  // the scan just claimed every key it read, so the rows still without one
  // are of keys gone since the load: re-read each (a missing key is deleted).
  Status RefreshUnclaimed(size_t e, std::set<std::string>* pending, bool* gap) {
    const pg_store::TableShape shape = pg_store::ShapeOf(*entities_[e], nullptr);
    const std::optional<std::string> key_sql = RedisKeySql(*entities_[e], shape);
    if (!key_sql) return Status::Ok();  // its bulk loads claim every key
    std::string after;
    for (;;) {
      std::vector<std::string> keys;
      RETURN_IF_ERROR(Pg("listing rows no claim names", [&]() -> Status {
        ASSIGN_OR_RETURN(keys, catalog::UnclaimedKeys(conn_.get(), migration_.name,
                                                      entities_[e]->name, shape.QualifiedName(),
                                                      *key_sql, after, request_.batch_size));
        return Status::Ok();
      }));
      if (keys.empty()) return Status::Ok();
      after = keys.back();
      RETURN_IF_ERROR(Pg("re-reading keys no claim names", [&] {
        return held_[e] ? Status::Ok() : syncs_[e]->Refresh(conn_.get(), keys, &report_.counts);
      }));
      RETURN_IF_ERROR(Drain(pending, gap));
      if (*gap) return Status::Ok();
    }
  }

  void RecordLag(double ms) { lags_.Add(ms); }

  Status SaveState() {
    catalog::SyncState s;
    s.migration = migration_.name;
    s.source = source_.name;
    s.gaps = report_.gaps;
    s.repairs = report_.repairs;
    s.changes_applied = report_.counts.keys;
    s.rows_deleted = report_.counts.deleted;
    s.last_gap = report_.gap_reasons.empty() ? "" : report_.gap_reasons.back();
    if (!lags_.empty()) {
      s.lag_p50_ms = lags_.Percentile(0.5);
      s.lag_p99_ms = lags_.Percentile(0.99);
    }
    return Pg("saving sync state", [&] { return catalog::SaveSyncState(conn_.get(), s); });
  }

  const spec::MigrationSpec& migration_;
  const spec::SourceSpec& source_;
  std::vector<const spec::EntitySpec*> entities_;
  const std::string url_;
  const SyncRequest& request_;
  const std::atomic<bool>& stop_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  std::unique_ptr<store::ChangeStream> stream_;
  std::vector<std::unique_ptr<store::Store>> stores_;
  std::vector<std::unique_ptr<EntitySync>> syncs_;
  std::vector<bool> held_;  // per entity: its key set aside by a bulk load (FindHeld)
  SourceSyncReport report_;
  LagWindow lags_;  // notification received -> committed
};

}  // namespace

Result<SyncReport> RunSync(const spec::MigrationSpec& migration, const std::string& target_url,
                           const SyncRequest& request, const std::atomic<bool>& stop) {
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child()) {
      return InvalidArgument(
          fmt::format("--entity {}: a child of {}, synced with it: use --entity {}", name,
                      match.top_level->name, match.top_level->name));
    }
  }
  std::map<std::string, std::vector<const spec::EntitySpec*>> by_source;
  for (const auto& e : migration.entities) {
    const bool wanted = request.entities.empty() ||
                        std::find(request.entities.begin(), request.entities.end(), e.name) !=
                            request.entities.end();
    if (!wanted) continue;
    const spec::SourceSpec* s = migration.FindSource(e.source);
    const bool polled = s != nullptr && s->type == "iotdb" && !s->url.empty();
    if (s == nullptr || (s->type != "redis" && !polled)) {
      if (!request.entities.empty()) {
        return FailedPrecondition(fmt::format(
            "--entity {}: its source '{}' is {}, which has no change stream to sync from "
            "(redis sources, and iotdb sources read over REST, do)",
            e.name, e.source, s ? s->type : "unknown"));
      }
      continue;
    }
    by_source[s->name].push_back(&e);
  }
  if (by_source.empty()) {
    return FailedPrecondition(
        "nothing to sync: no entity of the spec reads a source with a change stream (redis, or "
        "iotdb over REST)");
  }
  SyncReport report;
  std::vector<Result<SourceSyncReport>> results(by_source.size(),
                                                Result<SourceSyncReport>(Internal("not run")));
  std::vector<std::thread> threads;
  size_t i = 0;
  for (auto& [name, entities] : by_source) {
    const spec::SourceSpec* s = migration.FindSource(name);
    threads.emplace_back([&, s, entities, i] {
      if (s->type == "iotdb") {
        results[i] = RunWatermarkSync(migration, *s, entities, target_url, request, stop);
        return;
      }
      SourceSync sync(migration, *s, entities, target_url, request, stop);
      results[i] = sync.Run();
    });
    ++i;
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    if (!r.ok()) return r.status();
    report.sources.push_back(std::move(*r));
  }
  return report;
}

}  // namespace cutover::engine
