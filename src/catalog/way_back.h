// cutover.way_back: per entity whose PostgreSQL changes flow back into the
// legacy store, its replication slot, whether it was reconciled, what it applied.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

struct WayBackState {
  std::string migration{};
  std::string entity{};
  std::string slot{};       // also the publication's name
  bool reconciled = false;  // the legacy store was made equal once the slot existed
  int64_t changes_applied = 0;
  int64_t keys_written = 0;
  int64_t keys_deleted = 0;
  int64_t own_skipped = 0;  // changes of cutover's own writes, not sent back
  std::optional<double> lag_p50_ms{};
  std::optional<double> lag_p99_ms{};
};

// What the server says of a way back's slot, beside its catalog row.
struct WayBackSlotStatus {
  WayBackState state{};
  bool slot_exists = false;
  std::string wal_status{};               // pg_replication_slots.wal_status
  std::string confirmed_lsn{};            // how far the legacy store holds the changes
  std::optional<int64_t> retained_wal{};  // bytes of WAL the slot keeps from recycling
  bool active = false;                    // a `cutover sync` is streaming from it
};

// The slot (and publication) name of `entity`'s way back: "cutover_wb_" and
// 16 hex digits of a hash of both names, within PostgreSQL's 63 bytes and
// lower case as slot names must be.
std::string WayBackSlotName(std::string_view migration, std::string_view entity);

// Replaces the row of (state.migration, state.entity) with `state`.
Status SaveWayBack(pg_store::PgConnection* conn, const WayBackState& state);

// Every way back of `migration` by entity, with its slot as the server has it.
Result<std::vector<WayBackSlotStatus>> LoadWayBacks(pg_store::PgConnection* conn,
                                                    const std::string& migration);

// Drops every way back slot and publication of `migration` and their rows:
// the migration completed or was abandoned, and the server must stop keeping
// WAL for them. Returns the slots dropped.
Result<std::vector<std::string>> DropWayBacks(pg_store::PgConnection* conn,
                                              const std::string& migration);

}  // namespace cutover::catalog
