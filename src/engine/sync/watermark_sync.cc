// WatermarkSync: passes over every device, each from its watermark less the
// lateness window (see the design note in the header).
#include "engine/sync/watermark_sync.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <set>
#include <thread>

#include "catalog/schema.h"
#include "catalog/sync_state.h"
#include "common/lag_window.h"
#include "engine/core/entity_sync.h"
#include "engine/core/source_factory.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

using Clock = std::chrono::steady_clock;

// The time a reader's cursor names ("time=<epoch>"), if it names one.
std::optional<int64_t> CursorTime(const store::Cursor& c) {
  if (!c.token.starts_with("time=")) return std::nullopt;
  int64_t t = 0;
  const char* end = c.token.data() + c.token.size();
  if (std::from_chars(c.token.data() + 5, end, t).ptr != end) return std::nullopt;
  return t;
}

class WatermarkSync {
 public:
  WatermarkSync(const spec::MigrationSpec& migration, const spec::SourceSpec& source,
                std::vector<const spec::EntitySpec*> entities, std::string url,
                const SyncRequest& request, const std::atomic<bool>& stop)
      : migration_(migration),
        source_(source),
        entities_(std::move(entities)),
        url_(std::move(url)),
        request_(request),
        stop_(stop) {
    report_.source = source.name;
    report_.polled = true;
    for (int d = 3; d < source.iotdb.precision_digits; ++d) units_per_ms_ *= 10;
    lateness_units_ = source.iotdb.lateness_ms * units_per_ms_;
  }

  Result<SourceSyncReport> Run() {
    RETURN_IF_ERROR(Pg("connecting", [&] { return catalog::EnsureControlSchema(conn_.get()); }));
    for (const spec::EntitySpec* e : entities_) {
      ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration_, *e, 1));
      ASSIGN_OR_RETURN(auto sync, EntitySync::Create(migration_, *e, store.get()));
      stores_.push_back(std::move(store));
      syncs_.push_back(std::move(sync));
    }
    watermarks_.resize(entities_.size());
    RETURN_IF_ERROR(Pg("preparing staging tables", [&] { return PrepareAll(); }));
    spdlog::info("sync {}: polling every {} ms, late points caught up to {} ms", source_.name,
                 source_.iotdb.poll_ms, source_.iotdb.lateness_ms);
    const auto started = Clock::now();
    auto last_change = Clock::now();
    bool first = true;
    while (!stop_.load()) {
      const auto pass_start = Clock::now();
      const int64_t changed_before = report_.counts.rows_changed;
      if (first) ++report_.repairs;
      for (size_t e = 0; e < entities_.size() && !stop_.load(); ++e) {
        RETURN_IF_ERROR(PassOver(e));
      }
      ++report_.passes;
      const double pass_ms =
          std::chrono::duration<double, std::milli>(Clock::now() - pass_start).count();
      if (first) {
        spdlog::info("sync {}: first pass read every device in {:.1f}s: {} points, {} rows written",
                     source_.name, pass_ms / 1000, report_.counts.keys,
                     report_.counts.rows_changed);
        first = false;
      } else {
        lags_.Add(pass_ms);
      }
      if (report_.counts.rows_changed != changed_before) last_change = Clock::now();
      RETURN_IF_ERROR(SaveState());
      if (request_.run_for.count() > 0 && Clock::now() - started >= request_.run_for) break;
      if (request_.idle_exit.count() > 0 && Clock::now() - last_change >= request_.idle_exit) {
        break;
      }
      const auto next = pass_start + std::chrono::milliseconds(source_.iotdb.poll_ms);
      while (!stop_.load() && Clock::now() < next) {
        std::this_thread::sleep_for(
            std::min<Clock::duration>(next - Clock::now(), std::chrono::milliseconds(50)));
      }
    }
    report_.lag_samples = static_cast<int64_t>(lags_.size());
    report_.lag_p50_ms = lags_.Percentile(0.50);
    report_.lag_p99_ms = lags_.Percentile(0.99);
    RETURN_IF_ERROR(SaveState());
    return report_;
  }

 private:
  // Now, in the source's unit since 1970.
  int64_t NowUnits() const {
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    return ms * units_per_ms_;
  }

  Status PrepareAll() {
    for (auto& s : syncs_) RETURN_IF_ERROR(s->Prepare(conn_.get()));
    return Status::Ok();
  }

  Status Pg(std::string_view what, const std::function<Status()>& attempt) {
    return pg_store::RunWithRetry(&conn_, url_, request_.retry_for, what, attempt,
                                  [&] { return PrepareAll(); });
  }

  // Reads every device of entity `e` from its watermark less the window (a
  // device not seen yet: whole) and applies what it reads.
  Status PassOver(size_t e) {
    EntitySync& sync = *syncs_[e];
    std::map<std::string, int64_t>& marks = watermarks_[e];
    ASSIGN_OR_RETURN(std::vector<store::Partition> devices, sync.store()->snapshot().Plan());
    store::StoreBatch batch;
    for (const store::Partition& device : devices) {
      store::Cursor from;
      auto mark = marks.find(device.id);
      if (mark != marks.end()) from.token = fmt::format("time={}", mark->second - lateness_units_);
      ASSIGN_OR_RETURN(auto reader, sync.store()->snapshot().Open(device, from));
      for (;;) {
        ASSIGN_OR_RETURN(const bool more,
                         reader->Next(static_cast<size_t>(request_.batch_size), &batch));
        if (batch.size() > 0) {
          report_.changes += static_cast<int64_t>(batch.size());
          RETURN_IF_ERROR(Pg("applying points of " + device.id, [&] {
            return sync.Apply(conn_.get(), batch, {}, 0, &report_.counts);
          }));
        }
        if (auto t = CursorTime(batch.end)) {
          // A point stamped in the future (a device with a wrong clock)
          // must not carry the mark past today's points: they would never
          // be read again. The mark stops at now.
          const int64_t now = NowUnits();
          if (*t > now) {
            if (!warned_future_.contains(device.id)) {
              spdlog::warn(
                  "sync {}: device {} has points dated after now (up to {} in the source's unit); "
                  "its watermark stays at now",
                  source_.name, device.id, *t);
              warned_future_.insert(device.id);
            }
            t = now;
          }
          auto [it, fresh] = marks.emplace(device.id, *t);
          if (!fresh) it->second = std::max(it->second, *t);
        }
        if (!more || stop_.load()) break;
      }
    }
    return Status::Ok();
  }

  Status SaveState() {
    catalog::SyncState s;
    s.migration = migration_.name;
    s.source = source_.name;
    s.repairs = report_.repairs;
    // Rows inserted or changed: each pass reads the lateness window again,
    // and those points are not changes.
    s.changes_applied = report_.counts.rows_changed;
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
  int64_t lateness_units_ = 0;
  int64_t units_per_ms_ = 1;
  std::set<std::string> warned_future_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  std::vector<std::unique_ptr<store::Store>> stores_;
  std::vector<std::unique_ptr<EntitySync>> syncs_;
  std::vector<std::map<std::string, int64_t>> watermarks_;  // per entity, per device
  SourceSyncReport report_;
  LagWindow lags_;  // duration of each pass after the first
};

}  // namespace

Result<SourceSyncReport> RunWatermarkSync(const spec::MigrationSpec& migration,
                                          const spec::SourceSpec& source,
                                          const std::vector<const spec::EntitySpec*>& entities,
                                          const std::string& target_url, const SyncRequest& request,
                                          const std::atomic<bool>& stop) {
  WatermarkSync sync(migration, source, entities, target_url, request, stop);
  return sync.Run();
}

}  // namespace cutover::engine
