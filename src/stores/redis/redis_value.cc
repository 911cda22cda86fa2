// Pipelined, type-aware reads of Redis keys with their absolute expiry.
#include "stores/redis/redis_value.h"

#include <algorithm>
#include <chrono>

namespace cutover::redis_store {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// TIME's reply (seconds, microseconds) as microseconds; 0 if malformed.
int64_t ServerMicros(const redisReply* r) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return 0;
  return std::stoll(std::string(ReplyText(r->element[0]))) * 1000000 +
         std::stoll(std::string(ReplyText(r->element[1])));
}

bool IsCollection(const std::string& type) {
  return type == "hash" || type == "set" || type == "list" || type == "zset";
}

// The command reading page `from` of a collection key (cursor for the SCAN
// family, element index for lists and sorted sets).
std::vector<std::string_view> PageCommand(const RedisValue& v, const std::string& from,
                                          const std::string& to, const std::string& count) {
  if (v.type == "hash") return {"HSCAN", v.key, from, "COUNT", count};
  if (v.type == "set") return {"SSCAN", v.key, from, "COUNT", count};
  if (v.type == "list") return {"LRANGE", v.key, from, to};
  return {"ZRANGE", v.key, from, to, "WITHSCORES"};
}

// Appends a page's elements to v.items; returns where the next page starts
// ("" when this was the last page).
std::string TakePage(const redisReply* r, RedisValue* v, int64_t from_index, int64_t page) {
  if (v->type == "hash" || v->type == "set") {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "";
    const redisReply* elems = r->element[1];
    for (size_t i = 0; i < elems->elements; ++i)
      v->items.emplace_back(ReplyText(elems->element[i]));
    std::string next(ReplyText(r->element[0]));
    return next == "0" ? "" : next;
  }
  if (r->type != REDIS_REPLY_ARRAY) return "";
  for (size_t i = 0; i < r->elements; ++i) v->items.emplace_back(ReplyText(r->element[i]));
  const int64_t per_element = v->type == "zset" ? 2 : 1;
  if (static_cast<int64_t>(r->elements) < page * per_element) return "";
  return std::to_string(from_index + page);
}

int64_t ExpiryOf(const redisReply* r, bool absolute, int64_t now_ms) {
  if (r->type != REDIS_REPLY_INTEGER || r->integer < 0) return -1;
  return absolute ? r->integer : now_ms + r->integer;
}

// A MOVED or ASK error ("MOVED 3999 127.0.0.1:6381"): the key is (now)
// on another node, so `v` is not read here but marked to be read there.
// A slot migrating between the pipelined reads of one key sends its later
// reads there too: nothing of a half-read key is kept.
bool TakeRedirect(const redisReply* r, RedisValue* v) {
  if (r->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text = ReplyText(r);
  if (!text.starts_with("MOVED ") && !text.starts_with("ASK ")) return false;
  v->ask = text.starts_with("ASK ");
  v->redirect = std::string(text.substr(text.rfind(' ') + 1));
  v->type = "none";
  v->str.clear();
  v->items.clear();
  v->expire_at_ms = -1;
  return true;
}

// Queues a keyed command, after an ASKING when `asking`.
void AppendKeyed(RedisConnection& conn, const std::vector<std::string_view>& args, bool asking) {
  if (asking) conn.Append({"ASKING"});
  conn.Append(args);
}

// The replies of a pipeline of TIME then keyed commands, without the
// ASKINGs' own replies ("+OK", one before each keyed command).
Result<std::vector<Reply>> ReadKeyed(RedisConnection& conn, bool asking) {
  ASSIGN_OR_RETURN(std::vector<Reply> replies, conn.ReadAll());
  if (!asking) return replies;
  std::vector<Reply> kept;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (i == 0 || i % 2 == 0) kept.push_back(std::move(replies[i]));
  }
  return kept;
}

// One key's collection in the order every read gives it, whatever the
// server's hash table order or a rehash between pages did.
void Normalize(RedisValue* value) {
  RedisValue& v = *value;
  // SSCAN's order is the hash table's; sorted, a set reads the same twice.
  if (v.type == "set") std::sort(v.items.begin(), v.items.end());
  // HSCAN may return a field twice when the hash is rehashed between pages.
  if (v.type == "hash" && v.items.size() > 2) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (size_t k = 0; k + 1 < v.items.size(); k += 2) {
      fields.emplace_back(std::move(v.items[k]), std::move(v.items[k + 1]));
    }
    std::stable_sort(fields.begin(), fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    v.items.clear();
    for (size_t k = 0; k < fields.size(); ++k) {
      if (k + 1 < fields.size() && fields[k + 1].first == fields[k].first) continue;
      v.items.push_back(std::move(fields[k].first));
      v.items.push_back(std::move(fields[k].second));
    }
  }
  if (v.type == "set" && v.items.size() > 1) {
    v.items.erase(std::unique(v.items.begin(), v.items.end()), v.items.end());
  }
}

}  // namespace

size_t RedisValue::ByteSize() const {
  size_t n = key.size() + str.size() + 64;
  for (const auto& i : items) n += i.size() + 32;
  return n;
}

Result<std::string> ServerVersion(RedisConnection& conn) {
  ASSIGN_OR_RETURN(Reply r, conn.Run({"INFO", "server"}));
  const std::string_view info = ReplyText(r.get());
  const std::string_view tag = "redis_version:";
  const size_t at = info.find(tag);
  if (at == std::string_view::npos) return std::string("0.0.0");
  const size_t end = info.find_first_of("\r\n", at);
  return std::string(info.substr(at + tag.size(), end - at - tag.size()));
}

Result<std::vector<RedisValue>> ReadValues(RedisConnection& conn,
                                           const std::vector<std::string>& keys,
                                           const ReadOptions& options, int64_t* floor) {
  std::vector<RedisValue> values(keys.size());
  std::vector<size_t> todo(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    values[i].key = keys[i];
    todo[i] = i;
  }
  const std::string count = std::to_string(options.page);
  const std::string last = std::to_string(options.page - 1);
  const char* expiry_cmd = options.has_pexpiretime ? "PEXPIRETIME" : "PTTL";
  if (floor != nullptr && keys.empty()) {
    // No key to read, but the caller still learns "nothing, as of now".
    ASSIGN_OR_RETURN(Reply now, conn.Run({"TIME"}));
    *floor = ServerMicros(now.get());
    return values;
  }
  // A key whose type changes between the two round trips is read again; a
  // key rewritten with another type over and over still ends, because each
  // pass re-reads its type.
  for (int pass = 0; !todo.empty(); ++pass) {
    // The spec's type is taken on trust for the first pass only: a key of
    // another type answers WRONGTYPE, and every later pass asks TYPE.
    const bool trust_type = pass == 0 && !options.expected_type.empty();
    // TIME runs before the reads it precedes in the pipeline: every state
    // read after it is at least as new (catalog/key_versions.h).
    std::vector<Reply> types;
    int64_t types_at = 0;
    if (!trust_type) {
      conn.Append({"TIME"});
      for (size_t i : todo) AppendKeyed(conn, {"TYPE", values[i].key}, options.asking);
      ASSIGN_OR_RETURN(types, ReadKeyed(conn, options.asking));
      types_at = ServerMicros(types[0].get());
      if (floor != nullptr && pass == 0) *floor = types_at;
    }
    conn.Append({"TIME"});
    for (size_t t = 0; t < todo.size(); ++t) {
      RedisValue& v = values[todo[t]];
      v.version = types_at;
      v.redirect.clear();
      v.ask = false;
      if (trust_type) {
        v.type = options.expected_type;
      } else {
        const redisReply* type = types[t + 1].get();
        if (TakeRedirect(type, &v)) continue;
        if (type->type == REDIS_REPLY_ERROR) {
          return ReplyError("redis " + conn.where() + ": TYPE", type);
        }
        v.type =
            type->type == REDIS_REPLY_STATUS ? std::string(ReplyText(type)) : std::string("none");
      }
      v.str.clear();
      v.items.clear();
      v.expire_at_ms = -1;
      if (v.type == "string") {
        AppendKeyed(conn, {"GET", v.key}, options.asking);
      } else if (IsCollection(v.type)) {
        AppendKeyed(conn, PageCommand(v, "0", last, count), options.asking);
      }
      if (v.type != "none") AppendKeyed(conn, {expiry_cmd, v.key}, options.asking);
    }
    const int64_t now = NowMs();
    ASSIGN_OR_RETURN(std::vector<Reply> replies, ReadKeyed(conn, options.asking));
    const int64_t values_at = ServerMicros(replies[0].get());
    if (trust_type && floor != nullptr) *floor = values_at;  // before every read
    std::vector<size_t> again;
    std::vector<std::pair<size_t, std::string>> more;  // key index, next page
    size_t r = 1;
    for (size_t i : todo) {
      RedisValue& v = values[i];
      if (v.type == "none") continue;
      v.version = values_at;
      const bool readable = v.type == "string" || IsCollection(v.type);
      if (readable) {
        const redisReply* value = replies[r++].get();
        const redisReply* expiry = replies[r++].get();
        if (TakeRedirect(value, &v) || TakeRedirect(expiry, &v)) continue;
        const bool wrong_type =
            value->type == REDIS_REPLY_ERROR && ReplyText(value).starts_with("WRONGTYPE");
        if (wrong_type && pass < 16) {
          again.push_back(i);
          continue;
        }
        if (value->type == REDIS_REPLY_ERROR) {
          return ReplyError("redis " + conn.where() + ": reading a " + v.type + " key", value);
        }
        v.expire_at_ms = ExpiryOf(expiry, options.has_pexpiretime, now);
        // Deleted between TYPE and the read: GET answers nil, but a scan of
        // a missing collection answers an empty page, so the expiry's -2
        // ("no such key", read in the same round trip) tells it too. Read
        // as an empty hash, it would become a row of NULLs.
        const bool gone = expiry->type == REDIS_REPLY_INTEGER && expiry->integer == -2;
        if (value->type == REDIS_REPLY_NIL || gone) {
          v.type = "none";
          continue;
        }
        if (v.type == "string") {
          v.str.assign(ReplyText(value));
        } else {
          std::string next = TakePage(value, &v, 0, options.page);
          // Redis keeps no empty collection: a whole scan that found
          // nothing found a key deleted (and maybe made again) in between.
          if (v.items.empty() && next.empty()) {
            v.type = "none";
            continue;
          }
          if (!next.empty()) more.emplace_back(i, std::move(next));
        }
      } else {
        const redisReply* expiry = replies[r++].get();
        if (TakeRedirect(expiry, &v)) continue;
        v.expire_at_ms = ExpiryOf(expiry, options.has_pexpiretime, now);
      }
    }
    // The rest of the big collections, one key at a time, so that memory is
    // one page per reply however big the key.
    for (auto& [i, next] : more) {
      RedisValue& v = values[i];
      while (!next.empty()) {
        const bool indexed = v.type == "list" || v.type == "zset";
        const int64_t from = indexed ? std::stoll(next) : 0;
        const std::string to = indexed ? std::to_string(from + options.page - 1) : "";
        if (options.asking) RETURN_IF_ERROR(conn.Run({"ASKING"}).status());
        conn.Append(PageCommand(v, next, to, count));
        ASSIGN_OR_RETURN(Reply page, conn.Read());
        if (TakeRedirect(page.get(), &v)) break;
        if (page->type == REDIS_REPLY_ERROR) {
          return FailedPrecondition("redis " + conn.where() + ": reading a " + v.type +
                                    " key: " + std::string(ReplyText(page.get())));
        }
        next = TakePage(page.get(), &v, from, options.page);
      }
    }
    todo = std::move(again);
  }
  for (RedisValue& v : values) Normalize(&v);
  return values;
}

void AppendReadInTransaction(const std::string& key, std::string_view type,
                             const ReadOptions& options,
                             std::vector<std::vector<std::string>>* commands) {
  RedisValue v;
  v.key = key;
  v.type = std::string(type);
  commands->push_back({"TIME"});
  commands->push_back({"TYPE", key});
  if (type == "string") {
    commands->push_back({"GET", key});
  } else {
    const std::string first = "0";
    const std::string last = std::to_string(options.page - 1);
    const std::string count = std::to_string(options.page);
    const std::vector<std::string_view> page = PageCommand(v, first, last, count);
    commands->emplace_back(page.begin(), page.end());
  }
  commands->push_back({options.has_pexpiretime ? "PEXPIRETIME" : "PTTL", key});
}

std::optional<RedisValue> TakeReadInTransaction(const std::string& key, std::string_view type,
                                                const redisReply* const* replies,
                                                const ReadOptions& options, int64_t now_ms) {
  const redisReply* time = replies[0];
  const redisReply* found = replies[1];
  const redisReply* value = replies[2];
  const redisReply* expiry = replies[3];
  if (found->type != REDIS_REPLY_STATUS || value->type == REDIS_REPLY_ERROR ||
      expiry->type == REDIS_REPLY_ERROR) {
    return std::nullopt;
  }
  RedisValue v;
  v.key = key;
  v.version = ServerMicros(time);
  if (v.version == 0) return std::nullopt;
  v.type = std::string(ReplyText(found));
  if (v.type == "none") return v;
  if (v.type != type) return std::nullopt;
  v.expire_at_ms = ExpiryOf(expiry, options.has_pexpiretime, now_ms);
  if (v.type == "string") {
    if (value->type == REDIS_REPLY_NIL) return std::nullopt;
    v.str.assign(ReplyText(value));
    return v;
  }
  if (!TakePage(value, &v, 0, options.page).empty()) return std::nullopt;  // more pages
  Normalize(&v);
  return v;
}

}  // namespace cutover::redis_store
