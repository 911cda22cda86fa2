// The six stages of a migration and which moves between them are legal.
#include "control/stage.h"

#include <fmt/format.h>

namespace cutover::control {

std::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kLegacy:
      return "legacy";
    case Stage::kDualWrite:
      return "dual_write";
    case Stage::kShadow:
      return "shadow";
    case Stage::kRollout:
      return "rollout";
    case Stage::kPrimary:
      return "primary";
    case Stage::kComplete:
      return "complete";
  }
  return "unknown";
}

std::optional<Stage> ParseStage(std::string_view name) {
  for (Stage s : kAllStages) {
    if (StageName(s) == name) return s;
  }
  return std::nullopt;
}

std::vector<std::string_view> StageNames() {
  std::vector<std::string_view> names;
  for (Stage s : kAllStages) names.push_back(StageName(s));
  return names;
}

int ImpliedPercent(Stage stage) {
  return stage >= Stage::kPrimary ? 100 : 0;
}

Direction DirectionOf(const StageState& from, Stage to, int to_percent) {
  if (to > from.stage) return Direction::kForward;
  if (to < from.stage) return Direction::kBackward;
  if (to_percent > from.percent) return Direction::kForward;
  if (to_percent < from.percent) return Direction::kBackward;
  return Direction::kSame;
}

Status CheckLegal(const StageState& from, Stage to, int to_percent) {
  if (to_percent < 0 || to_percent > 100) {
    return InvalidArgument(fmt::format("percent {} is outside 0..100", to_percent));
  }
  if (to != Stage::kRollout && to_percent != ImpliedPercent(to)) {
    return InvalidArgument(fmt::format(
        "a percent is only for 'rollout'; '{}' reads {}% of keys from PostgreSQL by definition",
        StageName(to), ImpliedPercent(to)));
  }
  switch (DirectionOf(from, to, to_percent)) {
    case Direction::kSame:
      return InvalidArgument(
          fmt::format("the migration is already at '{}'{}", StageName(to),
                      to == Stage::kRollout ? fmt::format(" {}%", to_percent) : std::string()));
    case Direction::kBackward:
      return Status::Ok();
    case Direction::kForward:
      break;
  }
  if (to == from.stage) return Status::Ok();  // a higher rollout percent
  const Stage next = static_cast<Stage>(static_cast<int>(from.stage) + 1);
  if (to != next) {
    return InvalidArgument(fmt::format(
        "cannot go from '{}' to '{}' in one move: forward moves go one stage at a time, "
        "next is '{}'",
        StageName(from.stage), StageName(to), StageName(next)));
  }
  return Status::Ok();
}

}  // namespace cutover::control
