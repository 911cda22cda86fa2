// RunWayBack: per entity a slot, a reconciliation when the slot is new, then
// each batch of changes written back under the keys' locks and acknowledged.
#include "engine/rollback/way_back.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "catalog/own_writes.h"
#include "catalog/stage.h"
#include "catalog/way_back.h"
#include "common/failpoint.h"
#include "common/lag_window.h"
#include "engine/core/entity_selection.h"
#include "engine/core/legacy_write_back.h"
#include "engine/rollback/state_rollback.h"
#include "stores/postgres/pg_change_stream.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

using Clock = std::chrono::steady_clock;

// Where a started stream begins: the slot's confirmed position (a logical
// slot never goes back before it, and starts there when asked for 0/0).
const store::Cursor kFromConfirmed{"lsn=0/0"};

class EntityWayBack {
 public:
  EntityWayBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                const std::string& url, const WayBackRequest& request)
      : migration_(migration), entity_(entity), url_(url), request_(request) {
    out_.entity = entity.name;
    out_.slot = catalog::WayBackSlotName(migration.name, entity.name);
    state_.migration = migration.name;
    state_.entity = entity.name;
    state_.slot = out_.slot;
  }

  // Opens the slot (made if missing), reconciles when it is new or was
  // never reconciled, and starts reading it.
  Status Open() {
    ASSIGN_OR_RETURN(conn_, pg_store::PgConnection::ConnectWithRetry(url_, request_.retry_for));
    ASSIGN_OR_RETURN(back_, LegacyWriteBack::Open(migration_, entity_, "wayback"));
    ASSIGN_OR_RETURN(const std::vector<catalog::WayBackSlotStatus> known,
                     catalog::LoadWayBacks(conn_.get(), migration_.name));
    bool slot_exists = false;
    for (const auto& k : known) {
      if (k.state.entity != entity_.name) continue;
      state_ = k.state;
      state_.slot = out_.slot;
      slot_exists = k.slot_exists && k.state.slot == out_.slot;
    }
    skipped_before_run_ = state_.own_skipped;
    RETURN_IF_ERROR(OpenStream());
    if (!slot_exists) {
      RETURN_IF_ERROR(Reconcile("the slot is new: changes before it were never read"));
    } else if (!state_.reconciled) {
      RETURN_IF_ERROR(Reconcile("the last reconciliation did not finish"));
    }
    Status started = stream_->Start(kFromConfirmed);
    if (started.code() == StatusCode::kDataLoss) {
      RETURN_IF_ERROR(Renew(std::string(started.message())));
    } else {
      RETURN_IF_ERROR(started);
    }
    return Status::Ok();
  }

  // Reads and applies one batch; false when none came within `wait`.
  Result<bool> Step(std::chrono::milliseconds wait) {
    store::ChangeBatch batch;
    Result<bool> got = stream_->Next(static_cast<size_t>(request_.batch_size), wait, &batch);
    if (!got.ok() && got.status().code() == StatusCode::kDataLoss) {
      RETURN_IF_ERROR(Renew(std::string(got.status().message())));
      return true;
    }
    if (!got.ok() && got.status().code() == StatusCode::kUnavailable) {
      RETURN_IF_ERROR(Restart(got.status()));
      return false;
    }
    RETURN_IF_ERROR(got.status());
    if (!*got) {
      RETURN_IF_ERROR(AckOrRestart(batch.end));  // past skipped and idle WAL
      return false;
    }
    out_.changes += static_cast<int64_t>(batch.changes.size());
    // Each key's last change in the batch wins (changes come in commit
    // order). One with its values is written as it is; a kDirty one (a
    // TOASTed value left out) is read again under the key's lock.
    std::map<store::RecordKey, size_t> last;
    for (size_t i = 0; i < batch.changes.size(); ++i) last[batch.changes[i].key] = i;
    std::vector<size_t> upserts, deletes, dirty;
    for (const auto& [key, i] : last) {
      switch (batch.changes[i].kind) {
        case store::ChangeKind::kUpsert:
          upserts.push_back(i);
          break;
        case store::ChangeKind::kDelete:
          deletes.push_back(i);
          break;
        case store::ChangeKind::kDirty:
          dirty.push_back(i);
          break;
      }
    }
    WriteBackCounts counts;
    if (!upserts.empty() || !deletes.empty()) {
      ASSIGN_OR_RETURN(counts, back_->WriteRows(batch.rows, upserts, deletes));
    }
    if (!dirty.empty()) {
      RowBatch reread = batch.rows.Select(dirty);
      WriteBackCounts more;
      RETURN_IF_ERROR(
          pg_store::RunWithRetry(&conn_, url_, request_.retry_for,
                                 "reading again the changed rows of " + entity_.name, [&] {
                                   ASSIGN_OR_RETURN(more, back_->WriteKeys(conn_.get(), reread));
                                   return Status::Ok();
                                 }));
      counts.written += more.written;
      counts.deleted += more.deleted;
    }
    const auto now = std::chrono::system_clock::now();
    for (const store::Change& c : batch.changes) {
      if (c.committed_at == std::chrono::system_clock::time_point{}) continue;
      lags_.Add(std::chrono::duration<double, std::milli>(now - c.committed_at).count());
    }
    out_.written += counts.written;
    out_.deleted += counts.deleted;
    state_.changes_applied += static_cast<int64_t>(batch.changes.size());
    state_.keys_written += counts.written;
    state_.keys_deleted += counts.deleted;
    FailPoint("wayback.before_ack");
    RETURN_IF_ERROR(AckOrRestart(batch.end));
    return true;
  }

  // Records what was applied in cutover.way_back (once a second at most,
  // and at the end).
  Status Save(bool final) {
    const auto now = Clock::now();
    if (!final && now - saved_ < std::chrono::seconds(1)) return Status::Ok();
    saved_ = now;
    state_.own_skipped = skipped_before_run_ + SkippedThisRun();
    if (!lags_.empty()) {
      state_.lag_p50_ms = lags_.Percentile(0.5);
      state_.lag_p99_ms = lags_.Percentile(0.99);
    }
    return pg_store::RunWithRetry(&conn_, url_, request_.retry_for, "recording the way back",
                                  [&] { return catalog::SaveWayBack(conn_.get(), state_); });
  }

  WayBackEntityReport Report() {
    out_.own_skipped = SkippedThisRun();
    out_.lag_samples = lags_.size();
    out_.lag_p50_ms = lags_.Percentile(0.5);
    out_.lag_p99_ms = lags_.Percentile(0.99);
    return out_;
  }

 private:
  // Acknowledges `upto`; a lost connection is made again (what the
  // acknowledgement did not reach the server is then delivered again).
  Status AckOrRestart(const store::Cursor& upto) {
    const Status acked = stream_->Ack(upto);
    if (acked.code() == StatusCode::kUnavailable) return Restart(acked);
    return acked;
  }

  // The slot's stream, made anew: cutover's own writes skipped.
  Status OpenStream() {
    ASSIGN_OR_RETURN(stream_, pg_store::PgChangeStream::Open(
                                  {.url = url_,
                                   .slot = out_.slot,
                                   .publication = out_.slot,
                                   .table = back_->shape(),
                                   .skip_marker = std::string(catalog::kOwnWriteMarker)}));
    return Status::Ok();
  }

  // Makes every legacy key of the entity equal to PostgreSQL's row; the
  // slot exists already, so what changes meanwhile is read from it after.
  Status Reconcile(const std::string& why) {
    spdlog::info("way back: {}: reconciling the legacy store ({})", entity_.name, why);
    ASSIGN_OR_RETURN(const store::Cursor head, stream_->Head());  // makes the slot
    (void)head;
    state_.reconciled = false;
    RETURN_IF_ERROR(catalog::SaveWayBack(conn_.get(), state_));
    FailPoint("wayback.slot_made");
    ASSIGN_OR_RETURN(const StateRollbackReport done,
                     RunStateRollback(migration_, url_,
                                      {.entities = {entity_.name},
                                       .dry_run = false,
                                       .batch_size = request_.batch_size,
                                       .retry_for = request_.retry_for}));
    for (const StateRollbackEntity& e : done.entities) {
      out_.written += e.written;
      out_.deleted += e.deleted;
      state_.keys_written += e.written;
      state_.keys_deleted += e.deleted;
    }
    state_.reconciled = true;
    RETURN_IF_ERROR(catalog::SaveWayBack(conn_.get(), state_));
    ++out_.reconciliations;
    out_.reasons.push_back(why);
    return Status::Ok();
  }

  // The slot cannot deliver what follows its position: made again, then a
  // reconciliation covers what it lost.
  Status Renew(const std::string& gap) {
    spdlog::warn("way back: {}: {}; making the slot again and reconciling", entity_.name, gap);
    skipped_by_renewed_ += stream_->skipped_changes();
    stream_.reset();  // its replication connection holds the slot
    RETURN_IF_ERROR(pg_store::PgChangeStream::Drop(url_, out_.slot, out_.slot));
    RETURN_IF_ERROR(OpenStream());
    RETURN_IF_ERROR(Reconcile("gap: " + gap));
    return stream_->Start(kFromConfirmed);
  }

  // The replication connection failed: started again from the slot's
  // confirmed position until retry_for runs out.
  Status Restart(const Status& why) {
    const auto deadline = Clock::now() + request_.retry_for;
    Status last = why;
    while (Clock::now() < deadline) {
      spdlog::warn("way back: {}: {}; reconnecting", entity_.name, last.message());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      last = stream_->Start(kFromConfirmed);
      if (last.ok()) return last;
      if (last.code() == StatusCode::kDataLoss) return Renew(std::string(last.message()));
    }
    return last.WithContext("the way back of " + entity_.name);
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const std::string& url_;
  const WayBackRequest& request_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  std::unique_ptr<LegacyWriteBack> back_;
  std::unique_ptr<pg_store::PgChangeStream> stream_;
  catalog::WayBackState state_;
  WayBackEntityReport out_;
  LagWindow lags_;  // PostgreSQL's commit -> the legacy store took it
  int64_t SkippedThisRun() const {
    return skipped_by_renewed_ + (stream_ ? stream_->skipped_changes() : 0);
  }

  int64_t skipped_before_run_ = 0;  // by earlier runs, as cutover.way_back holds it
  int64_t skipped_by_renewed_ = 0;  // by this run's streams that a gap replaced
  Clock::time_point saved_{};
};

Result<std::vector<const spec::EntitySpec*>> SelectEntities(const spec::MigrationSpec& migration,
                                                            const WayBackRequest& request) {
  if (!request.entities.empty()) {
    ASSIGN_OR_RETURN(std::vector<const spec::EntitySpec*> named,
                     EntitiesNamedToGoBack(migration, request.entities));
    for (const spec::EntitySpec* e : named) {
      if (const std::string why = WhyCannotFlowBack(migration, *e); !why.empty()) {
        return InvalidArgument(fmt::format("--entity {}: {}", e->name, why));
      }
    }
    return named;
  }
  std::vector<const spec::EntitySpec*> out;
  std::vector<std::string> skipped;
  for (const auto& e : migration.entities) {
    if (e.source.empty()) continue;
    if (const std::string why = WhyCannotFlowBack(migration, e); !why.empty()) {
      skipped.push_back(e.name + ": " + why);
      continue;
    }
    out.push_back(&e);
  }
  if (out.empty()) {
    return FailedPrecondition(fmt::format(
        "no entity can flow back into its legacy store, so the way back has nothing to do: {}",
        fmt::join(skipped, "; ")));
  }
  for (const std::string& s : skipped) {
    spdlog::warn("way back: {}; its PostgreSQL changes are not carried back", s);
  }
  return out;
}

Result<std::string> ReadStageName(const spec::MigrationSpec& migration, const std::string& url,
                                  const WayBackRequest& request) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url, request.retry_for));
  ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> row,
                   catalog::ReadStageRow(conn.get(), migration.name));
  return row ? row->stage : std::string("legacy");
}

}  // namespace

std::string WhyCannotFlowBack(const spec::MigrationSpec& migration,
                              const spec::EntitySpec& entity) {
  if (std::string why = WhyCannotGoBack(migration, entity); !why.empty()) return why;
  if (!entity.redis) {
    return "changes flow back continuously into Redis only; a file goes back whole with "
           "`cutover rollback`";
  }
  return "";
}

Result<WayBackReport> RunWayBack(const spec::MigrationSpec& migration,
                                 const std::string& target_url, const WayBackRequest& request,
                                 const std::atomic<bool>& stop) {
  if (request.batch_size < 1) return InvalidArgument("--batch-size must be at least 1");
  ASSIGN_OR_RETURN(const std::vector<const spec::EntitySpec*> entities,
                   SelectEntities(migration, request));
  ASSIGN_OR_RETURN(const std::string stage, ReadStageName(migration, target_url, request));
  if (stage != "primary") {
    return FailedPrecondition(fmt::format(
        "{} is at stage {}: the way back carries PostgreSQL's changes into the legacy store "
        "only while PostgreSQL is primary",
        migration.name, stage));
  }
  std::vector<std::unique_ptr<EntityWayBack>> runs;
  for (const spec::EntitySpec* e : entities) {
    runs.push_back(std::make_unique<EntityWayBack>(migration, *e, target_url, request));
    RETURN_IF_ERROR(runs.back()->Open());
  }
  const auto started = Clock::now();
  auto last_change = Clock::now();
  // Each entity waits its share of a short period, so that a change of any
  // of them waits for at most that period.
  const auto wait = std::max(std::chrono::milliseconds(5),
                             std::chrono::milliseconds(100) / static_cast<int>(runs.size()));
  auto stage_checked = Clock::now();
  bool left_primary = false;
  while (!stop.load()) {
    const auto now = Clock::now();
    if (request.run_for.count() > 0 && now - started >= request.run_for) break;
    if (request.idle_exit.count() > 0 && now - last_change >= request.idle_exit) break;
    if (now - stage_checked >= std::chrono::seconds(1)) {
      stage_checked = now;
      ASSIGN_OR_RETURN(const std::string now_at, ReadStageName(migration, target_url, request));
      if (now_at != "primary") {
        spdlog::info("way back: {} moved to {}; the way back ends and drops its slots",
                     migration.name, now_at);
        left_primary = true;
        break;
      }
    }
    for (auto& run : runs) {
      ASSIGN_OR_RETURN(const bool got, run->Step(wait));
      if (got) last_change = Clock::now();
      RETURN_IF_ERROR(run->Save(false));
    }
  }
  WayBackReport report;
  for (auto& run : runs) {
    RETURN_IF_ERROR(run->Save(true));
    report.entities.push_back(run->Report());
  }
  if (left_primary) {
    runs.clear();  // the replication connections, so the slots can go
    ASSIGN_OR_RETURN(auto conn,
                     pg_store::PgConnection::ConnectWithRetry(target_url, request.retry_for));
    ASSIGN_OR_RETURN(report.slots_dropped, catalog::DropWayBacks(conn.get(), migration.name));
  }
  return report;
}

nlohmann::json WayBackReportJson(const WayBackReport& report) {
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : report.entities) {
    entities.push_back({{"entity", e.entity},
                        {"slot", e.slot},
                        {"reconciliations", e.reconciliations},
                        {"reconciliation_reasons", e.reasons},
                        {"changes", e.changes},
                        {"written", e.written},
                        {"deleted", e.deleted},
                        {"own_writes_skipped", e.own_skipped},
                        {"lag_ms", {{"p50", e.lag_p50_ms}, {"p99", e.lag_p99_ms}}},
                        {"lag_samples", e.lag_samples}});
  }
  return {{"direction", "postgres_to_legacy"},
          {"entities", std::move(entities)},
          {"slots_dropped", report.slots_dropped}};
}

std::string FormatWayBackReport(const WayBackReport& report) {
  std::string out =
      fmt::format("{:<20} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}\n", "entity", "changes",
                  "written", "deleted", "own skip", "reconcile", "lag p50", "lag p99");
  for (const auto& e : report.entities) {
    out += fmt::format("{:<20} {:>9} {:>8} {:>8} {:>9} {:>9} {:>7.1f}ms {:>7.1f}ms\n", e.entity,
                       e.changes, e.written, e.deleted, e.own_skipped, e.reconciliations,
                       e.lag_p50_ms, e.lag_p99_ms);
    for (size_t i = 0; i < e.reasons.size(); ++i) {
      out += fmt::format("  reconciliation {}: {}\n", i + 1, e.reasons[i]);
    }
  }
  if (!report.slots_dropped.empty()) {
    out += fmt::format("the stage left primary: replication slots {} dropped\n",
                       fmt::join(report.slots_dropped, ", "));
  }
  return out;
}

}  // namespace cutover::engine
