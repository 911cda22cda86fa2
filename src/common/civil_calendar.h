// The proleptic Gregorian calendar in integer arithmetic, for the parsers
// and formatters of dates and timestamps (PostgreSQL counts from 2000-01-01).
#pragma once

#include <cstdint>

namespace cutover {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Days are counted from 1970-01-01 internally because that is where the
// civil-calendar algorithm below lands; PostgreSQL counts from 2000-01-01.
inline constexpr int64_t kUnixToPgDays = 10'957;
inline constexpr int64_t kUnixToPgMicros = kUnixToPgDays * kMicrosPerDay;

// Proleptic Gregorian calendar, after Howard Hinnant's days_from_civil. The
// year is shifted to start on March 1 so the leap day is the last day of the
// "year" and month lengths follow the regular 153-days-per-5-months pattern;
// 400-year eras make the arithmetic valid for negative years too.
constexpr int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;                                    // [0, 399]
  const int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146'097 + day_of_era - 719'468;
}

struct Civil {
  int64_t year;
  int month;
  int day;
};

// Inverse of DaysFromCivil.
constexpr Civil CivilFromDays(int64_t z) {
  z += 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t day_of_era = z - era * 146'097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(2000, 1, 1) == kUnixToPgDays);

}  // namespace cutover
