// Wall-clock -> UTC through the system tz database, against instants worked
// out by hand from the published rules (EU: last Sunday of March 01:00Z to
// last Sunday of October 01:00Z; US: second Sunday of March to first Sunday
// of November at 02:00 local; Sydney: first Sunday of October to first
// Sunday of April).
#include "common/time_zone.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace cutover {
namespace {

// Seconds since 1970 of a civil date and time (days counted by hand below).
constexpr int64_t At(int64_t days_since_1970, int h, int m) {
  return days_since_1970 * 86400 + h * 3600 + m * 60;
}
// 2024-01-01 is day 19723 (54 years of 365 days + 13 leap days).
constexpr int64_t kJan1st2024 = 19723;

TEST(TimeZoneTest, WallClockToUtc) {
  struct Case {
    const char* zone;
    int64_t local;
    int64_t utc;
  } cases[] = {
      {"UTC", At(kJan1st2024, 12, 0), At(kJan1st2024, 12, 0)},
      // POSIX-style sign: Etc/GMT-2 is two hours east of UTC, all year.
      {"Etc/GMT-2", At(kJan1st2024 + 182, 12, 0), At(kJan1st2024 + 182, 10, 0)},
      // 2024-01-15 (day +14): CET, UTC+1.
      {"Europe/Berlin", At(kJan1st2024 + 14, 12, 0), At(kJan1st2024 + 14, 11, 0)},
      // 2024-07-01 (day +182): CEST, UTC+2.
      {"Europe/Berlin", At(kJan1st2024 + 182, 12, 0), At(kJan1st2024 + 182, 10, 0)},
      // 2024-03-31 01:59 is still CET; 03:00 is already CEST (both 01:00Z).
      {"Europe/Berlin", At(kJan1st2024 + 90, 1, 59), At(kJan1st2024 + 90, 0, 59)},
      {"Europe/Berlin", At(kJan1st2024 + 90, 3, 0), At(kJan1st2024 + 90, 1, 0)},
      // 2024-01-15 08:00 EST (UTC-5).
      {"America/New_York", At(kJan1st2024 + 14, 8, 0), At(kJan1st2024 + 14, 13, 0)},
      // 2024-06-01 00:00 IST (UTC+5:30) is 2024-05-31 18:30Z.
      {"Asia/Kolkata", At(kJan1st2024 + 152, 0, 0), At(kJan1st2024 + 151, 18, 30)},
      // Past the table (2037): the footer rule. 2080-01-01 is day 40177
      // (110 years, 27 leap days). January: CET in Berlin, AEDT (UTC+11) in
      // Sydney; July: CEST, AEST (UTC+10).
      {"Europe/Berlin", At(40177 + 14, 12, 0), At(40177 + 14, 11, 0)},
      {"Europe/Berlin", At(40177 + 182, 12, 0), At(40177 + 182, 10, 0)},
      {"Australia/Sydney", At(40177 + 14, 12, 0), At(40177 + 14, 1, 0)},
      {"Australia/Sydney", At(40177 + 196, 12, 0), At(40177 + 196, 2, 0)},
  };
  for (const auto& c : cases) {
    auto zone = TimeZone::Load(c.zone);
    ASSERT_TRUE(zone.ok()) << zone.status().message();
    const auto r = (*zone)->FromLocal(c.local);
    EXPECT_EQ(r.kind, TimeZone::LocalResult::kUnique) << c.zone << " " << c.local;
    EXPECT_EQ(r.utc_seconds, c.utc) << c.zone << " " << c.local;
  }
}

TEST(TimeZoneTest, GapAndOverlapAreReportedNotGuessed) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  // 2024-03-31 02:30 never happened in Berlin: 02:00 CET became 03:00 CEST.
  auto gap = (*berlin)->FromLocal(At(kJan1st2024 + 90, 2, 30));
  EXPECT_EQ(gap.kind, TimeZone::LocalResult::kGap);
  EXPECT_EQ(gap.offset_before, 3600);
  EXPECT_EQ(gap.offset_after, 7200);
  // 2024-10-27 (day +300) 02:30 happened twice: 00:30Z (CEST) and 01:30Z (CET).
  auto twice = (*berlin)->FromLocal(At(kJan1st2024 + 300, 2, 30));
  EXPECT_EQ(twice.kind, TimeZone::LocalResult::kAmbiguous);
  EXPECT_EQ(twice.utc_seconds, At(kJan1st2024 + 300, 0, 30));
  EXPECT_EQ(twice.later_utc_seconds, At(kJan1st2024 + 300, 1, 30));
  // New York, 2024-11-03 (day +307) 01:30: 05:30Z (EDT) and 06:30Z (EST).
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  auto ny_twice = (*ny)->FromLocal(At(kJan1st2024 + 307, 1, 30));
  EXPECT_EQ(ny_twice.kind, TimeZone::LocalResult::kAmbiguous);
  EXPECT_EQ(ny_twice.utc_seconds, At(kJan1st2024 + 307, 5, 30));
  EXPECT_EQ(ny_twice.later_utc_seconds, At(kJan1st2024 + 307, 6, 30));
  // Past the table too: Berlin 2080-03-31 (last Sunday of March 2080) 02:30.
  auto gap_2080 = (*berlin)->FromLocal(At(40177 + 90, 2, 30));
  EXPECT_EQ(gap_2080.kind, TimeZone::LocalResult::kGap);
}

TEST(TimeZoneTest, UnknownAndUnsafeNamesAreErrors) {
  auto typo = TimeZone::Load("Europe/Berlinn");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("unknown time zone 'Europe/Berlinn'"), std::string::npos)
      << typo.status().message();
  EXPECT_FALSE(TimeZone::Load("../../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Load("/etc/localtime").ok());
  EXPECT_FALSE(TimeZone::Load("").ok());
  // tzdata's own files that are not zones.
  EXPECT_FALSE(TimeZone::Load("zone.tab").ok());
  const auto names = TimeZone::Names();
  EXPECT_NE(std::find(names.begin(), names.end(), "Europe/Berlin"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "UTC"), names.end());
}

}  // namespace
}  // namespace cutover
