// Credentials must never reach output: table of inputs and what may be shown.
#include "common/redact.h"

#include <gtest/gtest.h>

namespace cutover {
namespace {

TEST(RedactSecrets, HidesPasswordsKeepsTheRest) {
  struct Case {
    const char* in;
    const char* want;
  } cases[] = {
      {"postgresql://app:s3cr3t@db.example:5432/prod", "postgresql://app:***@db.example:5432/prod"},
      {"postgres://app@localhost/db", "postgres://app@localhost/db"},
      {"host=h user=u password=hunter2 dbname=d", "host=h user=u password=*** dbname=d"},
      {"host=h password='a b c' dbname=d", "host=h password=*** dbname=d"},
      {"redis://:tok@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"},
      {"postgresql://x/db?sslmode=require&password=p",
       "postgresql://x/db?sslmode=require&password=***"},
      {"no secrets here", "no secrets here"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RedactSecrets(c.in), c.want) << c.in;
  }
}

}  // namespace
}  // namespace cutover
