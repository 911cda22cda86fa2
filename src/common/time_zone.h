// IANA time zones read from the system tz database (TZif files under
// /usr/share/zoneinfo, or $TZDIR): wall-clock time in a named zone -> UTC.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cutover {

// TimeZone design
//
// A source that writes "2024-03-31 02:30" without an offset means a wall
// clock somewhere; which one only the user knows, so the spec names it and
// this class turns such a wall-clock time into a UTC instant. The data is
// the system's compiled tz database: a table of UTC transition instants, each
// with the offset in force after it, then the POSIX TZ rule in the file's
// footer for instants past the table (RFC 8536), so 2080 is right too.
//
// A wall-clock time maps to zero, one or two instants. Zero: it falls in a
// gap where clocks jump forward (02:30 on 2024-03-31 in Europe/Berlin never
// happened). Two: it falls in an overlap where clocks go back (02:30 on
// 2024-10-27 in Berlin happened at 00:30Z and at 01:30Z). Both are reported,
// never resolved by a guess; callers reject such values with the reason.
//
// Zones are immutable once loaded and cached for the process, so a pointer
// from Load stays valid and may be shared between threads.
class TimeZone {
 public:
  // The zone named `name` ("Europe/Berlin", "UTC"), loaded once per process.
  // NotFound for an unknown name (callers add a "did you mean" from Names());
  // InvalidArgument for a name that is not a plain relative path.
  static Result<std::shared_ptr<const TimeZone>> Load(std::string_view name);

  // Every zone name of the database (for "did you mean"), sorted.
  static std::vector<std::string> Names();

  const std::string& name() const { return name_; }

  // Seconds east of UTC in force at the UTC instant `unix_seconds`.
  int32_t OffsetAt(int64_t unix_seconds) const;

  // The UTC instants at which the wall clock read `local_seconds` (seconds
  // since 1970-01-01 00:00 of the wall clock). kGap: none, `offset_before`
  // and `offset_after` are the offsets around the jump; kAmbiguous: two,
  // `earlier` and `later`.
  struct LocalResult {
    enum Kind { kUnique, kGap, kAmbiguous };
    Kind kind = kUnique;
    int64_t utc_seconds = 0;  // kUnique: the instant; kAmbiguous: the earlier
    int64_t later_utc_seconds = 0;
    int32_t offset_before = 0;  // kGap, kAmbiguous: offsets around the transition
    int32_t offset_after = 0;
  };
  LocalResult FromLocal(int64_t local_seconds) const;

  // Parsed form of a POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"); public
  // for the parser only.
  struct Rule {
    int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    int32_t dst_offset = 0;
    struct When {
      char form = 'M';  // 'M' month.week.day, 'J' julian 1..365 without Feb 29, 'D' 0..365
      int month = 0, week = 0, weekday = 0, day = 0;
      int32_t time = 7200;  // seconds after local midnight, may be negative or > 24h
    };
    When start, end;
  };

 private:
  TimeZone() = default;
  static Result<std::shared_ptr<const TimeZone>> Parse(std::string name, std::string_view bytes);
  // Transition instants strictly inside (from, to), table and rule alike.
  void TransitionsBetween(int64_t from, int64_t to, std::vector<int64_t>* out) const;
  int32_t RuleOffsetAt(int64_t unix_seconds) const;
  // DST start and end instants (UTC) of the rule in civil year `year`.
  void RuleYear(int64_t year, int64_t* dst_start, int64_t* dst_end) const;

  std::string name_;
  std::vector<int64_t> transitions_;  // UTC instants, ascending
  std::vector<int32_t> offsets_;      // offset after transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition
  bool has_rule_ = false;
  Rule rule_;
};

}  // namespace cutover
