// A Redis key's expiry as the ISO text its document carries.
#include "stores/redis/redis_document.h"

#include <gtest/gtest.h>

namespace cutover::redis_store {
namespace {

// Expected values from Python's datetime (1970-01-01 plus the milliseconds).
TEST(RedisDocument, ExpiryIsUtcIsoWithMilliseconds) {
  EXPECT_EQ(IsoMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoMillis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(IsoMillis(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(IsoMillis(1764547200123), "2025-12-01T00:00:00.123Z");
  EXPECT_EQ(IsoMillis(253402300799999), "9999-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace cutover::redis_store
