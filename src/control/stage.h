// The six stages of a migration and which moves between them are legal; plain
// values shared by the stage machine, the guards, the router and the server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover::control {

// In order: a forward move goes one step right, a backward move any distance
// left. The numeric values are the order and are not stored anywhere.
enum class Stage { kLegacy, kDualWrite, kShadow, kRollout, kPrimary, kComplete };

inline constexpr Stage kAllStages[] = {Stage::kLegacy,  Stage::kDualWrite, Stage::kShadow,
                                       Stage::kRollout, Stage::kPrimary,   Stage::kComplete};

// "legacy", "dual_write", "shadow", "rollout", "primary", "complete".
std::string_view StageName(Stage stage);
std::optional<Stage> ParseStage(std::string_view name);
// The names in stage order, for messages and "did you mean".
std::vector<std::string_view> StageNames();

// Share of keys read from PostgreSQL a stage implies: 0 before rollout, 100
// from primary on; only rollout chooses its own.
int ImpliedPercent(Stage stage);

// Where the migration stands, as stored in cutover.stage. `version` counts
// applied transitions (0: never moved), so a watcher can tell a new state
// from one it has already seen without comparing timestamps.
struct StageState {
  Stage stage = Stage::kLegacy;
  int percent = 0;
  int64_t version = 0;
  std::string changed_at;  // ISO 8601 UTC; empty when never moved
  std::string changed_by;
  std::string reason;
  bool forced = false;

  bool operator==(const StageState&) const = default;
};

enum class Direction { kSame, kForward, kBackward };

// Forward: a later stage, or a higher rollout percent. Backward: an earlier
// stage or a lower percent.
Direction DirectionOf(const StageState& from, Stage to, int to_percent);

// Whether the move is legal at all, whatever the guards say (InvalidArgument
// naming the rule otherwise): forward moves go one stage at a time, so that
// every stage's evidence (shadow reads, fallback-free rollout) is gathered;
// backward moves may jump anywhere; a percent is only for rollout and lies in
// 0..100; staying where one is, is no move.
Status CheckLegal(const StageState& from, Stage to, int to_percent);

}  // namespace cutover::control
