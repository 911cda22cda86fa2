// The read ceiling of bench/backfill_redis.sh: SCAN plus pipelined type-aware
// reads of every key with hiredis directly, writing nothing anywhere.
//
// Per SCAN page (COUNT 1000): one pipelined round trip of TYPE for every key,
// then one of the value read (GET, HGETALL, SMEMBERS, LRANGE, ZRANGE
// WITHSCORES) and PEXPIRETIME per key. Prints "keys N bytes B" on stdout.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "redis_bench_client.h"

namespace {

using cutover::bench::Append;
using cutover::bench::NextReply;
using cutover::bench::RedisReplyPtr;

// The command reading a key of `type` whole.
std::vector<std::string> ValueRead(const std::string& type, const std::string& key) {
  if (type == "hash") return {"HGETALL", key};
  if (type == "set") return {"SMEMBERS", key};
  if (type == "list") return {"LRANGE", key, "0", "-1"};
  if (type == "zset") return {"ZRANGE", key, "0", "-1", "WITHSCORES"};
  return {"GET", key};
}

// Bytes a reply carries, so the reads cannot be skipped and are accounted.
size_t ReplyBytes(const redisReply* r) {
  if (r == nullptr) return 0;
  size_t n = r->type == REDIS_REPLY_STRING ? r->len : 8;
  for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
    n += ReplyBytes(r->element[i]);
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s REDIS_PORT\n", argv[0]);
    return 2;
  }
  auto c = cutover::bench::ConnectRedis(std::atoi(argv[1]));
  if (!c) {
    std::fprintf(stderr, "cannot connect to redis on port %s\n", argv[1]);
    return 3;
  }
  std::string cursor = "0";
  long long keys = 0;
  size_t bytes = 0;
  std::vector<std::string> page;
  std::vector<std::string> types;
  do {
    RedisReplyPtr scan = cutover::bench::RunCommand(c.get(), {"SCAN", cursor, "COUNT", "1000"});
    if (!scan || scan->type != REDIS_REPLY_ARRAY || scan->elements != 2) {
      std::fprintf(stderr, "SCAN failed: %s\n", c->errstr);
      return 3;
    }
    cursor.assign(scan->element[0]->str, scan->element[0]->len);
    page.clear();
    const redisReply* found = scan->element[1];
    for (size_t i = 0; i < found->elements; ++i) {
      page.emplace_back(found->element[i]->str, found->element[i]->len);
    }
    types.clear();
    for (const auto& k : page) Append(c.get(), {"TYPE", k});
    for (size_t i = 0; i < page.size(); ++i) {
      RedisReplyPtr t = NextReply(c.get());
      if (!t) return 3;
      types.emplace_back(t->str, t->len);
    }
    for (size_t i = 0; i < page.size(); ++i) {
      Append(c.get(), ValueRead(types[i], page[i]));
      Append(c.get(), {"PEXPIRETIME", page[i]});
    }
    for (size_t i = 0; i < 2 * page.size(); ++i) {
      RedisReplyPtr r = NextReply(c.get());
      if (!r) return 3;
      bytes += ReplyBytes(r.get());
    }
    keys += static_cast<long long>(page.size());
  } while (cursor != "0");
  std::printf("keys %lld bytes %zu\n", keys, bytes);
  return 0;
}
