// Tests for the stage model: names, and which moves are legal before any
// guard is consulted.
#include "control/stage.h"

#include <gtest/gtest.h>

namespace cutover::control {
namespace {

StageState At(Stage s, int percent = -1) {
  StageState st;
  st.stage = s;
  st.percent = percent < 0 ? ImpliedPercent(s) : percent;
  return st;
}

TEST(StageTest, NamesRoundTrip) {
  const char* names[] = {"legacy", "dual_write", "shadow", "rollout", "primary", "complete"};
  ASSERT_EQ(StageNames().size(), 6u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(StageNames()[i], names[i]);
    ASSERT_TRUE(ParseStage(names[i]).has_value());
    EXPECT_EQ(static_cast<int>(*ParseStage(names[i])), i);
  }
  EXPECT_FALSE(ParseStage("Legacy").has_value());
  EXPECT_FALSE(ParseStage("").has_value());
}

TEST(StageTest, LegalMoves) {
  const struct {
    StageState from;
    Stage to;
    int percent;
    bool legal;
    const char* message;  // expected error, when illegal
  } cases[] = {
      {At(Stage::kLegacy), Stage::kDualWrite, 0, true, ""},
      {At(Stage::kLegacy), Stage::kShadow, 0, false,
       "cannot go from 'legacy' to 'shadow' in one move: forward moves go one stage at a time, "
       "next is 'dual_write'"},
      {At(Stage::kDualWrite), Stage::kShadow, 0, true, ""},
      {At(Stage::kShadow), Stage::kRollout, 10, true, ""},
      {At(Stage::kRollout, 10), Stage::kRollout, 50, true, ""},
      {At(Stage::kRollout, 50), Stage::kRollout, 10, true, ""},  // backward
      {At(Stage::kRollout, 10), Stage::kRollout, 10, false,
       "the migration is already at 'rollout' 10%"},
      {At(Stage::kRollout, 100), Stage::kPrimary, 100, true, ""},
      {At(Stage::kPrimary), Stage::kComplete, 100, true, ""},
      {At(Stage::kComplete), Stage::kLegacy, 0, true, ""},  // backward jumps anywhere
      {At(Stage::kShadow), Stage::kShadow, 0, false, "the migration is already at 'shadow'"},
      {At(Stage::kShadow), Stage::kRollout, 101, false, "percent 101 is outside 0..100"},
      {At(Stage::kDualWrite), Stage::kShadow, 20, false,
       "a percent is only for 'rollout'; 'shadow' reads 0% of keys from PostgreSQL by "
       "definition"},
  };
  for (const auto& c : cases) {
    const Status st = CheckLegal(c.from, c.to, c.percent);
    EXPECT_EQ(st.ok(), c.legal) << StageName(c.from.stage) << " -> " << StageName(c.to);
    if (!c.legal) {
      EXPECT_EQ(st.message(), c.message);
    }
  }
}

TEST(StageTest, DirectionFollowsStageOrderThenRolloutPercent) {
  EXPECT_EQ(DirectionOf(At(Stage::kLegacy), Stage::kDualWrite, 0), Direction::kForward);
  EXPECT_EQ(DirectionOf(At(Stage::kRollout, 10), Stage::kRollout, 20), Direction::kForward);
  EXPECT_EQ(DirectionOf(At(Stage::kRollout, 20), Stage::kRollout, 10), Direction::kBackward);
  EXPECT_EQ(DirectionOf(At(Stage::kPrimary), Stage::kShadow, 0), Direction::kBackward);
  EXPECT_EQ(DirectionOf(At(Stage::kShadow), Stage::kShadow, 0), Direction::kSame);
}

}  // namespace
}  // namespace cutover::control
