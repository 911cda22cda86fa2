// The way back: from `primary` on, every change committed to PostgreSQL is
// carried into the legacy store (Redis) through a logical replication slot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::engine {

struct WayBackRequest {
  // Top-level entities to carry back; empty: every entity that can go back.
  std::vector<std::string> entities{};
  std::chrono::milliseconds run_for{0};    // stop after this long (0: until stopped)
  std::chrono::milliseconds idle_exit{0};  // stop once no change came for this long
  int batch_size = 1000;                   // changes read, locked and written per transaction
  std::chrono::milliseconds retry_for{60'000};
};

struct WayBackEntityReport {
  std::string entity{};
  std::string slot{};
  int64_t reconciliations = 0;            // whole-entity rollbacks run (new or lost slot)
  std::vector<std::string> reasons{};     // why each reconciliation ran
  int64_t changes = 0;                    // changes received from the slot
  int64_t written = 0;                    // legacy records written
  int64_t deleted = 0;                    // legacy keys deleted
  int64_t own_skipped = 0;                // changes of cutover's own writes, not sent back
  double lag_p50_ms = 0, lag_p99_ms = 0;  // PostgreSQL commit -> legacy store took it
  int64_t lag_samples = 0;                // the latest changes the percentiles cover (LagWindow)
};

struct WayBackReport {
  std::vector<WayBackEntityReport> entities{};
  std::vector<std::string> slots_dropped{};  // the stage left primary while it ran
};

// Why PostgreSQL's changes to `entity` cannot flow back continuously, or ""
// when they can: WhyCannotGoBack, and a store of keys (Redis); a file goes
// back whole, by `cutover rollback`.
std::string WhyCannotFlowBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// Way back design
//
// One logical replication slot and publication per entity
// (catalog::WayBackSlotName), made by the first way back at `primary`. A new
// slot keeps every change committed after it, but not what came before, so
// once it exists the entity is reconciled: a state rollback (state_rollback.h)
// makes every legacy key equal to PostgreSQL's row; cutover.way_back records
// that it finished, so a run killed during it reconciles again. Then the
// slot's changes are read from its confirmed position and each key's last
// change of a batch is written whole with the values it carries, or its key
// deleted; changes arrive in commit order, so the legacy store ends in
// PostgreSQL's newest state, a counter is set and never incremented twice,
// and a gateway write racing it is followed by its own change. (A re-read
// of the row instead could miss it: the server decodes a commit once its
// WAL is flushed, a moment before other sessions see it.) A change that
// lacks a value (a TOASTed column left unchanged) is read again under the
// key's lock, once its transaction is visible (LegacyWriteBack::WriteKeys).
// The slot is acknowledged only after the legacy store took a batch: a
// crash replays from there, and its position never runs ahead of what the
// legacy store holds. Transactions that carried legacy data into
// PostgreSQL are marked (catalog/own_writes.h) and skipped, so nothing
// loops. A slot that was dropped or lost its WAL, or a TRUNCATE, is a gap:
// the slot is made again and the entity reconciled again, and the gap is
// reported. The stage leaves `primary` only when no way back streams (the
// legacy store would otherwise take writes from both sides) and through
// `cutover rollback` or a forced move (control::Transition); the slots are
// then dropped (catalog::DropWayBacks).
Result<WayBackReport> RunWayBack(const spec::MigrationSpec& migration,
                                 const std::string& target_url, const WayBackRequest& request,
                                 const std::atomic<bool>& stop);

nlohmann::json WayBackReportJson(const WayBackReport& report);
std::string FormatWayBackReport(const WayBackReport& report);

}  // namespace cutover::engine
