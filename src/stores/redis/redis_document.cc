// Redis keys as JSON documents for the document mapper.
#include "stores/redis/redis_document.h"

#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <cmath>

#include "common/json_text.h"
#include "common/utf8.h"

namespace cutover::redis_store {
namespace {

// A sorted-set score as Redis prints it ("1.5", "inf"): a JSON number when
// finite, else the text.
void AppendScore(std::string_view score, std::string* out) {
  double d = 0;
  auto [p, ec] = std::from_chars(score.data(), score.data() + score.size(), d);
  if (ec == std::errc() && p == score.data() + score.size() && std::isfinite(d)) {
    out->append(score);
  } else {
    AppendJsonString(score, out);
  }
}

std::string TypeProblem(const spec::RedisKeySpec& redis, const RedisValue& v) {
  const std::string_view want = spec::RedisTypeName(redis.value);
  if (v.type == want) return "";
  return "key is a " + v.type + ", but the spec reads " + std::string(want) + " values";
}

// "DDDD-DD-DD": what to_char(d, 'YYYY-MM-DD') prints for years 0001..9999.
bool SpelledAsIsoDate(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

// See "Date captures" in the header.
std::string CapturesProblem(const spec::EntitySpec& entity,
                            const std::vector<std::string>& captures) {
  const spec::KeyPattern& pattern = entity.redis->pattern;
  for (size_t i = 0; i < captures.size(); ++i) {
    for (const spec::ColumnSpec& c : entity.columns) {
      if (c.from != pattern.captures()[i] || c.type != ValueType::kDate) continue;
      if (SpelledAsIsoDate(captures[i])) break;
      return "the key's capture '" + pattern.captures()[i] + "' = '" +
             EscapeInvalidUtf8(captures[i]) + "' is not spelled YYYY-MM-DD, as column '" + c.name +
             "' (a date) takes a key's capture: it is the one spelling the row turns "
             "back into";
    }
  }
  return "";
}

}  // namespace

std::string IsoMillis(int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds(unix_ms)};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{t - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", year,
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long long>(hms.hours().count()),
                  static_cast<long long>(hms.minutes().count()),
                  static_cast<long long>(hms.seconds().count()),
                  static_cast<long long>(hms.subseconds().count()));
    return buf;
  }
  // Every key with a TTL gets one: digits by hand rather than printf's.
  char buf[] = "0000-00-00T00:00:00.000Z";
  const auto put = [&](size_t at, long long value, int width) {
    for (int w = width - 1; w >= 0; --w, value /= 10)
      buf[at + w] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, hms.hours().count(), 2);
  put(14, hms.minutes().count(), 2);
  put(17, hms.seconds().count(), 2);
  put(20, hms.subseconds().count(), 3);
  return std::string(buf, sizeof buf - 1);
}

void AppendKeyDocument(const spec::EntitySpec& entity, std::string_view key, std::string* out) {
  out->append("{\"$key\":");
  AppendJsonBytes(key, out);
  out->append(",\"$type\":\"none\"");
  if (auto captures = entity.redis->pattern.Match(key)) {
    for (size_t i = 0; i < captures->size(); ++i) {
      out->push_back(',');
      AppendJsonString(entity.redis->pattern.captures()[i], out);
      out->push_back(':');
      AppendJsonBytes((*captures)[i], out);
    }
    if (const std::string problem = CapturesProblem(entity, *captures); !problem.empty()) {
      out->append(",\"$error\":");
      AppendJsonString(problem, out);
    }
  }
  out->push_back('}');
}

void AppendDocument(const spec::EntitySpec& entity, const RedisValue& v, std::string* out) {
  const spec::RedisKeySpec& redis = *entity.redis;
  out->append("{\"$key\":");
  AppendJsonBytes(v.key, out);
  out->append(",\"$type\":");
  AppendJsonString(v.type, out);
  if (v.expire_at_ms >= 0) {
    out->append(",\"$expires_at\":\"");
    out->append(IsoMillis(v.expire_at_ms));
    out->push_back('"');
  }
  if (entity.tag) {
    out->append(entity.tag->jsonb ? ",\"$tag\":{\"source\":" : ",\"$tag\":");
    AppendJsonString(entity.tag->value, out);
    if (entity.tag->jsonb) out->push_back('}');
  }
  std::string problem;
  const std::optional<std::vector<std::string>> captures = redis.pattern.Match(v.key);
  if (captures) {
    for (size_t i = 0; i < captures->size(); ++i) {
      out->push_back(',');
      AppendJsonString(redis.pattern.captures()[i], out);
      out->push_back(':');
      AppendJsonBytes((*captures)[i], out);
    }
    problem = CapturesProblem(entity, *captures);
  } else {
    problem =
        "key does not match the pattern '" + redis.pattern.text() + "' (a capture would be empty)";
  }
  if (problem.empty()) problem = TypeProblem(redis, v);
  out->append(",\"$value\":");
  using V = spec::RedisKeySpec::Value;
  if (!problem.empty()) {
    out->append("null");
  } else if (v.type == "string" && redis.value == V::kJson) {
    // One parser per thread: a parser allocates its buffers on first use.
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element parsed;
    const auto error = parser.parse(v.str).get(parsed);
    if (error == simdjson::SUCCESS) {
      out->append(v.str);
    } else {
      AppendJsonBytes(v.str, out);
      problem = std::string("value is not valid JSON: ") + simdjson::error_message(error);
    }
  } else if (v.type == "string") {
    AppendJsonBytes(v.str, out);
  } else if (v.type == "hash") {
    out->push_back('{');
    for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
      if (k > 0) out->push_back(',');
      if (IsValidUtf8(v.items[k])) {
        AppendJsonString(v.items[k], out);
      } else {
        // An object's member names are text; a binary field name is kept
        // readable and marked, and a bytea column cannot take it by name.
        AppendJsonString("$bytes:" + EscapeInvalidUtf8(v.items[k]), out);
      }
      out->push_back(':');
      AppendJsonBytes(v.items[k + 1], out);
    }
    out->push_back('}');
  } else if (v.type == "zset") {
    out->push_back('[');
    for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
      if (k > 0) out->push_back(',');
      out->append("{\"member\":");
      AppendJsonBytes(v.items[k], out);
      out->append(",\"score\":");
      AppendScore(v.items[k + 1], out);
      out->push_back('}');
    }
    out->push_back(']');
  } else {  // set, list
    out->push_back('[');
    for (size_t k = 0; k < v.items.size(); ++k) {
      if (k > 0) out->push_back(',');
      AppendJsonBytes(v.items[k], out);
    }
    out->push_back(']');
  }
  if (!problem.empty()) {
    out->append(",\"$error\":");
    AppendJsonString(problem, out);
  }
  out->push_back('}');
}

}  // namespace cutover::redis_store
