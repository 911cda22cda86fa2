// TimeZone: a reader of TZif files (RFC 8536, versions 1 to 4) and of the
// POSIX TZ rule in their footer, and wall-clock -> UTC resolution on top.
#include "common/time_zone.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace cutover {
namespace {

constexpr int64_t kSecondsPerDay = 86'400;
// No zone has ever been more than 26 hours from UTC; the window searched for
// the instants of a wall-clock time is a little wider.
constexpr int64_t kSearchWindow = 27 * 3600;

std::string ZoneDirectory() {
  const char* dir = std::getenv("TZDIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) : std::string("/usr/share/zoneinfo");
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil; value_parsers.cc explains the arithmetic).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + day_of_era - 719'468;
}

int64_t CivilYearOf(int64_t unix_seconds) {
  int64_t z = unix_seconds / kSecondsPerDay;
  if (unix_seconds % kSecondsPerDay < 0) --z;
  z += 719'468;
  const int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Big-endian reads over the file's bytes with bounds checks.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(size_t n) const { return pos_ + n <= bytes_.size(); }
  size_t pos() const { return pos_; }
  void Skip(size_t n) { pos_ += n; }
  int64_t Signed(int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = v << 8 | static_cast<uint8_t>(bytes_[pos_ + i]);
    pos_ += width;
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
  }
  uint8_t Byte() { return static_cast<uint8_t>(bytes_[pos_++]); }
  std::string_view Rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool ReadHeader(Reader& r, Header* h) {
  if (!r.Has(44)) return false;
  const std::string_view magic = r.Rest().substr(0, 4);
  if (magic != "TZif") return false;
  r.Skip(4);
  h->version = static_cast<char>(r.Byte());
  r.Skip(15);
  h->isutcnt = r.Signed(4);
  h->isstdcnt = r.Signed(4);
  h->leapcnt = r.Signed(4);
  h->timecnt = r.Signed(4);
  h->typecnt = r.Signed(4);
  h->charcnt = r.Signed(4);
  return h->isutcnt >= 0 && h->isstdcnt >= 0 && h->leapcnt >= 0 && h->timecnt >= 0 &&
         h->typecnt > 0 && h->charcnt >= 0;
}

size_t BlockSize(const Header& h, int time_width) {
  return static_cast<size_t>(h.timecnt * time_width + h.timecnt + h.typecnt * 6 + h.charcnt +
                             h.leapcnt * (time_width + 4) + h.isstdcnt + h.isutcnt);
}

// POSIX TZ rule text, as in the TZif footer: std offset [dst [offset] [,start[/time],end[/time]]].
class RuleParser {
 public:
  explicit RuleParser(std::string_view text) : s_(text) {}

  bool Parse(TimeZone::Rule* rule) {
    if (!Name()) return false;
    int32_t west = 0;
    if (!Offset(&west)) return false;
    rule->std_offset = -west;
    if (AtEnd()) return true;
    if (!Name()) return false;
    rule->has_dst = true;
    rule->dst_offset = rule->std_offset + 3600;
    if (!AtEnd() && s_[i_] != ',') {
      if (!Offset(&west)) return false;
      rule->dst_offset = -west;
    }
    // A DST name without rules means the POSIX default, which no TZif footer
    // relies on; refusing is better than inventing US rules.
    if (AtEnd() || s_[i_] != ',') return false;
    ++i_;
    if (!Date(&rule->start)) return false;
    if (AtEnd() || s_[i_] != ',') return false;
    ++i_;
    if (!Date(&rule->end)) return false;
    return AtEnd();
  }

 private:
  bool AtEnd() const { return i_ >= s_.size(); }

  bool Name() {
    if (!AtEnd() && s_[i_] == '<') {
      const size_t close = s_.find('>', i_);
      if (close == std::string_view::npos) return false;
      i_ = close + 1;
      return true;
    }
    const size_t begin = i_;
    while (!AtEnd() && ((s_[i_] >= 'A' && s_[i_] <= 'Z') || (s_[i_] >= 'a' && s_[i_] <= 'z'))) ++i_;
    return i_ - begin >= 3;
  }

  bool Number(int max, int* out) {
    const size_t begin = i_;
    int v = 0;
    while (!AtEnd() && s_[i_] >= '0' && s_[i_] <= '9' && i_ - begin < 4)
      v = v * 10 + (s_[i_++] - '0');
    *out = v;
    return i_ > begin && v <= max;
  }

  // [+-]hh[:mm[:ss]] with hours up to 167 (RFC 8536 allows that for times).
  bool Offset(int32_t* seconds) {
    int sign = 1;
    if (!AtEnd() && (s_[i_] == '+' || s_[i_] == '-')) sign = s_[i_++] == '-' ? -1 : 1;
    int h = 0, m = 0, sec = 0;
    if (!Number(167, &h)) return false;
    if (!AtEnd() && s_[i_] == ':') {
      ++i_;
      if (!Number(59, &m)) return false;
      if (!AtEnd() && s_[i_] == ':') {
        ++i_;
        if (!Number(59, &sec)) return false;
      }
    }
    *seconds = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool Date(TimeZone::Rule::When* w) {
    if (AtEnd()) return false;
    if (s_[i_] == 'M') {
      ++i_;
      w->form = 'M';
      if (!Number(12, &w->month) || w->month < 1 || AtEnd() || s_[i_++] != '.') return false;
      if (!Number(5, &w->week) || w->week < 1 || AtEnd() || s_[i_++] != '.') return false;
      if (!Number(6, &w->weekday)) return false;
    } else if (s_[i_] == 'J') {
      ++i_;
      w->form = 'J';
      if (!Number(365, &w->day) || w->day < 1) return false;
    } else {
      w->form = 'D';
      if (!Number(365, &w->day)) return false;
    }
    w->time = 7200;
    if (!AtEnd() && s_[i_] == '/') {
      ++i_;
      if (!Offset(&w->time)) return false;
    }
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Local seconds (wall clock, as if UTC) of the rule date `w` in `year`.
int64_t RuleLocalSeconds(const TimeZone::Rule::When& w, int64_t year) {
  int64_t days = 0;
  switch (w.form) {
    case 'J':  // 1..365, February 29 never counted
      days = DaysFromCivil(year, 1, 1) + w.day - 1 + (IsLeap(year) && w.day >= 60 ? 1 : 0);
      break;
    case 'D':  // 0..365, February 29 counted
      days = DaysFromCivil(year, 1, 1) + w.day;
      break;
    default: {  // weekday `weekday` of week `week` (5: the last) of `month`
      const int64_t first = DaysFromCivil(year, w.month, 1);
      const int first_weekday = static_cast<int>(((first + 4) % 7 + 7) % 7);  // 1970-01-01: Thu
      int day = 1 + (w.weekday - first_weekday + 7) % 7 + (w.week - 1) * 7;
      while (day > DaysInMonth(year, w.month)) day -= 7;
      days = first + day - 1;
    }
  }
  return days * kSecondsPerDay + w.time;
}

std::mutex& CacheMutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>& Cache() {
  static auto* cache = new std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>>();
  return *cache;
}

bool PlainZoneName(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return name.find("//") == std::string_view::npos && name.find("..") == std::string_view::npos;
}

}  // namespace

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(std::string_view name) {
  if (!PlainZoneName(name)) {
    return InvalidArgument(fmt::format(
        "'{}' is not a time zone name (expected an IANA name such as Europe/Berlin, or UTC)",
        name));
  }
  std::lock_guard<std::mutex> lock(CacheMutex());
  if (auto it = Cache().find(name); it != Cache().end()) return it->second;
  const std::string path = ZoneDirectory() + "/" + std::string(name);
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream all;
      all << in.rdbuf();
      bytes = all.str();
    }
  }
  std::shared_ptr<const TimeZone> zone;
  if (bytes.empty() && name == "UTC") {
    // UTC needs no database; a machine without tzdata still has it.
    auto utc = std::shared_ptr<TimeZone>(new TimeZone());
    utc->name_ = "UTC";
    zone = std::move(utc);
  } else if (bytes.empty() || bytes.compare(0, 4, "TZif") != 0) {
    return NotFound(fmt::format("unknown time zone '{}' (not in the tz database at {})", name,
                                ZoneDirectory()));
  } else {
    ASSIGN_OR_RETURN(zone, Parse(std::string(name), bytes));
  }
  Cache().emplace(std::string(name), zone);
  return zone;
}

std::vector<std::string> TimeZone::Names() {
  std::vector<std::string> names;
  const std::filesystem::path root = ZoneDirectory();
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string relative = it->path().lexically_relative(root).string();
    if (it->is_directory(ec)) {
      // Duplicates of the main tree (with and without leap seconds).
      if (relative == "posix" || relative == "right") it.disable_recursion_pending();
      continue;
    }
    if (!PlainZoneName(relative)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    char magic[4] = {};
    if (in.read(magic, 4) && std::string_view(magic, 4) == "TZif") names.push_back(relative);
  }
  if (std::find(names.begin(), names.end(), "UTC") == names.end()) names.push_back("UTC");
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Parse(std::string name, std::string_view bytes) {
  const auto corrupt = [&](std::string_view what) {
    return IoError(
        fmt::format("time zone file {}/{} is not valid TZif: {}", ZoneDirectory(), name, what));
  };
  Reader r(bytes);
  Header h;
  if (!ReadHeader(r, &h)) return corrupt("bad header");
  int width = 4;
  if (h.version >= '2') {
    // Skip the 32-bit block; the 64-bit one after it covers all of time.
    if (!r.Has(BlockSize(h, 4))) return corrupt("truncated version 1 data");
    r.Skip(BlockSize(h, 4));
    if (!ReadHeader(r, &h)) return corrupt("bad version 2 header");
    width = 8;
  }
  if (!r.Has(BlockSize(h, width))) return corrupt("truncated data");
  auto zone = std::shared_ptr<TimeZone>(new TimeZone());
  zone->name_ = std::move(name);
  std::vector<int64_t> times(static_cast<size_t>(h.timecnt));
  for (auto& t : times) t = r.Signed(width);
  std::vector<uint8_t> type_of(static_cast<size_t>(h.timecnt));
  for (auto& t : type_of) t = r.Byte();
  std::vector<int32_t> type_offsets(static_cast<size_t>(h.typecnt));
  for (auto& o : type_offsets) {
    o = static_cast<int32_t>(r.Signed(4));
    r.Skip(2);  // isdst, designation index
  }
  r.Skip(static_cast<size_t>(h.charcnt + h.leapcnt * (width + 4) + h.isstdcnt + h.isutcnt));
  for (size_t i = 0; i < times.size(); ++i) {
    if (type_of[i] >= type_offsets.size()) return corrupt("transition to an unknown type");
    if (i > 0 && times[i] <= times[i - 1]) return corrupt("transitions out of order");
    zone->transitions_.push_back(times[i]);
    zone->offsets_.push_back(type_offsets[type_of[i]]);
  }
  zone->initial_offset_ = type_offsets[0];
  if (width == 8) {
    const std::string_view rest = r.Rest();
    if (rest.size() >= 2 && rest[0] == '\n') {
      const size_t end = rest.find('\n', 1);
      const std::string_view footer = rest.substr(1, end == std::string_view::npos ? 0 : end - 1);
      if (!footer.empty()) {
        if (!RuleParser(footer).Parse(&zone->rule_)) {
          return corrupt(fmt::format("unsupported TZ rule '{}'", footer));
        }
        zone->has_rule_ = true;
      }
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

void TimeZone::RuleYear(int64_t year, int64_t* dst_start, int64_t* dst_end) const {
  // The start time is written in standard time, the end time in DST.
  *dst_start = RuleLocalSeconds(rule_.start, year) - rule_.std_offset;
  *dst_end = RuleLocalSeconds(rule_.end, year) - rule_.dst_offset;
}

int32_t TimeZone::RuleOffsetAt(int64_t unix_seconds) const {
  if (!rule_.has_dst) return rule_.std_offset;
  int64_t start = 0;
  int64_t end = 0;
  RuleYear(CivilYearOf(unix_seconds + rule_.std_offset), &start, &end);
  const bool dst = start < end ? (unix_seconds >= start && unix_seconds < end)
                               : !(unix_seconds >= end && unix_seconds < start);  // south
  return dst ? rule_.dst_offset : rule_.std_offset;
}

int32_t TimeZone::OffsetAt(int64_t unix_seconds) const {
  if (transitions_.empty()) return has_rule_ ? RuleOffsetAt(unix_seconds) : initial_offset_;
  if (unix_seconds < transitions_.front()) return initial_offset_;
  if (has_rule_ && unix_seconds > transitions_.back()) return RuleOffsetAt(unix_seconds);
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_seconds);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

void TimeZone::TransitionsBetween(int64_t from, int64_t to, std::vector<int64_t>* out) const {
  out->clear();
  for (auto it = std::upper_bound(transitions_.begin(), transitions_.end(), from);
       it != transitions_.end() && *it < to; ++it) {
    out->push_back(*it);
  }
  if (!has_rule_ || !rule_.has_dst) return;
  const int64_t after = transitions_.empty() ? from : std::max(from, transitions_.back());
  if (after >= to) return;
  for (int64_t year = CivilYearOf(after) - 1; year <= CivilYearOf(to) + 1; ++year) {
    int64_t start = 0;
    int64_t end = 0;
    RuleYear(year, &start, &end);
    for (int64_t t : {start, end}) {
      if (t > after && t < to) out->push_back(t);
    }
  }
  std::sort(out->begin(), out->end());
}

TimeZone::LocalResult TimeZone::FromLocal(int64_t local_seconds) const {
  LocalResult result;
  if (transitions_.empty() && !(has_rule_ && rule_.has_dst)) {
    // A fixed offset (UTC, Etc/GMT-2): every wall-clock time exists once.
    result.utc_seconds = local_seconds - (has_rule_ ? rule_.std_offset : initial_offset_);
    return result;
  }
  // An instant u shows local time L when u + OffsetAt(u) == L. Offsets only
  // change at transitions, so the candidates are the offsets in force
  // anywhere in the window, each checked at the instant it implies.
  std::vector<int64_t> transitions;
  TransitionsBetween(local_seconds - kSearchWindow, local_seconds + kSearchWindow, &transitions);
  std::set<int32_t> offsets = {OffsetAt(local_seconds - kSearchWindow)};
  for (int64_t t : transitions) offsets.insert(OffsetAt(t));
  std::set<int64_t> instants;
  for (int32_t o : offsets) {
    const int64_t u = local_seconds - o;
    if (OffsetAt(u) == o) instants.insert(u);
  }
  if (instants.size() == 1) {
    result.utc_seconds = *instants.begin();
    return result;
  }
  if (instants.size() >= 2) {
    result.kind = LocalResult::kAmbiguous;
    result.utc_seconds = *instants.begin();
    result.later_utc_seconds = *instants.rbegin();
    result.offset_before = OffsetAt(result.utc_seconds);
    result.offset_after = OffsetAt(result.later_utc_seconds);
    return result;
  }
  result.kind = LocalResult::kGap;
  for (int64_t t : transitions) {
    const int32_t before = OffsetAt(t - 1);
    const int32_t after = OffsetAt(t);
    if (after > before && local_seconds >= t + before && local_seconds < t + after) {
      result.offset_before = before;
      result.offset_after = after;
      result.utc_seconds = t;
      break;
    }
  }
  return result;
}

}  // namespace cutover
