// Tests for the read-routing decision: which store per stage, and that the
// rollout split is exactly "bucket below percent * 100", stable, and monotone.
#include "control/read_router.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <string>

namespace cutover::control {
namespace {

// The bucket computed here from XXH3 directly, not by the code under test.
uint32_t ExpectedBucket(const std::string& entity, const std::string& key) {
  std::string buf = entity + std::string(1, '\0') + key;
  return static_cast<uint32_t>(XXH3_64bits(buf.data(), buf.size()) % 10000);
}

TEST(ReadRouterTest, StagesDecideStoreShadowAndFallback) {
  const struct {
    Stage stage;
    Store read_from;
    bool shadow;
    bool fallback;
    Store write_primary;
    std::optional<Store> write_secondary;
  } cases[] = {
      {Stage::kLegacy, Store::kLegacy, false, false, Store::kLegacy, std::nullopt},
      {Stage::kDualWrite, Store::kLegacy, false, false, Store::kLegacy, Store::kPostgres},
      {Stage::kShadow, Store::kLegacy, true, false, Store::kLegacy, Store::kPostgres},
      {Stage::kPrimary, Store::kPostgres, false, true, Store::kPostgres, Store::kLegacy},
      {Stage::kComplete, Store::kPostgres, false, false, Store::kPostgres, std::nullopt},
  };
  for (const auto& c : cases) {
    const RouteDecision d = RouteRead(c.stage, ImpliedPercent(c.stage), "users", "42");
    EXPECT_EQ(d.read_from, c.read_from) << StageName(c.stage);
    EXPECT_EQ(d.shadow, c.shadow) << StageName(c.stage);
    EXPECT_EQ(d.fallback_to_legacy, c.fallback) << StageName(c.stage);
    EXPECT_EQ(WritesFor(c.stage).primary, c.write_primary) << StageName(c.stage);
    EXPECT_EQ(WritesFor(c.stage).secondary, c.write_secondary) << StageName(c.stage);
  }
  EXPECT_FALSE(RouteRead(Stage::kPrimary, 100, "users", "42", /*primary_fallback=*/false)
                   .fallback_to_legacy);
}

TEST(ReadRouterTest, RolloutSendsExactlyTheKeysBelowThePercent) {
  for (int percent : {0, 1, 10, 50, 99, 100}) {
    int to_postgres = 0;
    for (int i = 0; i < 20000; ++i) {
      const std::string key = "user-" + std::to_string(i);
      const RouteDecision d = RouteRead(Stage::kRollout, percent, "users", key);
      const bool below = ExpectedBucket("users", key) < static_cast<uint32_t>(percent) * 100;
      ASSERT_EQ(d.read_from == Store::kPostgres, below) << key << " at " << percent << "%";
      EXPECT_EQ(d.fallback_to_legacy, below);
      EXPECT_EQ(d.shadow, !below);  // keys still on legacy keep being compared
      to_postgres += below;
    }
    // XXH3 spreads keys evenly: the share is the percent within 1 point.
    EXPECT_NEAR(to_postgres / 200.0, percent, 1.0) << percent;
  }
}

TEST(ReadRouterTest, RaisingThePercentOnlyMovesNewKeys) {
  int previous = 0;
  for (int percent : {5, 10, 25, 50, 100}) {
    for (int i = 0; i < 5000; ++i) {
      const std::string key = std::to_string(i);
      const bool before =
          RouteRead(Stage::kRollout, previous, "projects", key).read_from == Store::kPostgres;
      const bool after =
          RouteRead(Stage::kRollout, percent, "projects", key).read_from == Store::kPostgres;
      ASSERT_TRUE(!before || after)
          << key << " left PostgreSQL going " << previous << "% -> " << percent << "%";
    }
    previous = percent;
  }
}

TEST(ReadRouterTest, BucketSeparatesEntityFromKey) {
  EXPECT_EQ(KeyBucket("ab", "c"), ExpectedBucket("ab", "c"));
  EXPECT_NE(KeyBucket("ab", "c"), KeyBucket("a", "bc"));
}

}  // namespace
}  // namespace cutover::control
