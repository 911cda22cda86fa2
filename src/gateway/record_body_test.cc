// The gateway's record bodies: a client's body as a writer document, a change
// applied as Redis applies it, and an answer that reads alike from either store.
#include "gateway/record_body.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cutover::gateway {
namespace {

using nlohmann::json;
using V = spec::RedisKeySpec::Value;

json Applied(V kind, const std::string& current, const std::string& change) {
  Result<std::string> out = ApplyChange(kind, current, change);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? json::parse(*out) : json();
}

TEST(ApplyChangeTest, CountsFromZeroAndKeepsTheExpiry) {
  EXPECT_EQ(Applied(V::kCounter, "", R"({"increment": 3})"), json({{"$value", 3}}));
  // A counter PostgreSQL gave back as a number, or Redis as text.
  EXPECT_EQ(Applied(V::kCounter, R"({"$value": 40, "$expires_at_ms": 1700000000000})",
                    R"({"increment": 2})"),
            json({{"$value", 42}, {"$expires_at_ms", 1700000000000}}));
  EXPECT_EQ(Applied(V::kCounter, R"({"$value": "-5"})", R"({"increment": 5})"),
            json({{"$value", 0}}));
}

TEST(ApplyChangeTest, HashFieldsAreIncrementedAndSet) {
  EXPECT_EQ(Applied(V::kHash, R"({"$value": {"visits": "7", "name": "Ada"}})",
                    R"({"increment": {"visits": 1, "logins": 2}, "set": {"name": "Grace"}})"),
            json({{"$value", {{"visits", 8}, {"logins", 2}, {"name", "Grace"}}}}));
}

TEST(ApplyChangeTest, RefusesWhatRedisWouldRefuse) {
  EXPECT_EQ(ApplyChange(V::kCounter, R"({"$value": "abc"})", R"({"increment": 1})").status().code(),
            StatusCode::kDataError);
  EXPECT_EQ(ApplyChange(V::kCounter, "", R"({"increment": 1.5})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyChange(V::kString, "", R"({"increment": 1})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyChange(V::kHash, "", "[1]").status().code(), StatusCode::kInvalidArgument);
}

TEST(AnswerRecordTest, ARebuiltRecordReadsLikeARedisRead) {
  // From PostgreSQL (map::RecordBuilder): typed values, expiry in ms.
  // 1700000000123 ms is 2023-11-14T22:13:20.123Z (worked out by hand:
  // 1700000000 s = 19675 days + 80000 s after 1970-01-01).
  EXPECT_EQ(
      json::parse(AnswerRecord(V::kHash, R"({"$value": {"visits": 8, "vip": true, "name": "Ada"},
                             "$expires_at": "x", "$expires_at_ms": 1700000000123})")),
      json({{"value", {{"visits", "8"}, {"vip", "true"}, {"name", "Ada"}}},
            {"expires_at", "2023-11-14T22:13:20.123Z"}}));
  // From Redis: strings already, the expiry as ISO text.
  EXPECT_EQ(json::parse(AnswerRecord(V::kCounter, R"({"$value": "42"})")),
            json({{"value", "42"}, {"expires_at", nullptr}}));
  EXPECT_EQ(json::parse(AnswerRecord(V::kSet, R"({"$value": [1, "b"]})")),
            json({{"value", {"1", "b"}}, {"expires_at", nullptr}}));
  EXPECT_EQ(json::parse(AnswerRecord(V::kJson, R"({"$value": {"n": 1}})")),
            json({{"value", {{"n", 1}}}, {"expires_at", nullptr}}));
}

}  // namespace
}  // namespace cutover::gateway
