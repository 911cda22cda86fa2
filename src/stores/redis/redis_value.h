// RedisValue and ReadValues: a key's type, value and absolute expiry, read
// for a page of keys in pipelined round trips, big collections in pages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/redis/redis_connection.h"

namespace cutover::redis_store {

// One key as read. Byte strings throughout: keys and values need not be UTF-8.
struct RedisValue {
  std::string key;
  // Redis's type name ("string", "hash", "set", "list", "zset", "stream",
  // ...); "none" when the key was gone by the time it was read.
  std::string type;
  int64_t expire_at_ms = -1;  // absolute, in Unix milliseconds; -1: no TTL
  std::string str;            // a string's value
  // hash: field, value, field, value...; set: members (sorted bytewise);
  // list: elements in order; zset: member, score, ... in score order.
  std::vector<std::string> items;
  // In a cluster, the node that holds the key when this one does not (a
  // MOVED or ASK reply, "host:port"); the key was not read. ask: the slot is
  // migrating, and the read there must follow ASKING.
  std::string redirect;
  bool ask = false;
  // The server's clock (TIME, microseconds) just before the value was read:
  // the state read is at least as new as this.
  int64_t version = 0;

  bool exists() const { return type != "none"; }
  size_t ByteSize() const;
};

struct ReadOptions {
  // Elements per HSCAN/SSCAN/LRANGE/ZRANGE call: a key bigger than this is
  // read in pages, so no single reply holds a whole big collection.
  int64_t page = 1000;
  // Whether the server has PEXPIRETIME (Redis 7): the absolute expiry, exact.
  // Without it the expiry is the local clock plus PTTL, exact to a few ms.
  bool has_pexpiretime = true;
  // Whether every keyed command goes after an ASKING: the keys are in a
  // slot being migrated to this node (an ASK redirect), which serves them
  // only to a client that says ASKING before each command.
  bool asking = false;
  // The type the spec says the keys hold ("string", "hash", ...; "" for
  // unknown): the first pass reads them as that without asking TYPE, one
  // command and one round trip fewer per page; a key of another type answers
  // WRONGTYPE and is read again after its TYPE.
  std::string expected_type;
};

// Reads `keys` on `conn`: one pipelined round trip for their types (unless
// options.expected_type names it), one for their values and expiries (first
// pages), then further pages of the keys
// that have them. A key deleted meanwhile comes back with type "none"; a key
// whose type changed between the round trips is read again. A lost
// connection is an error; a key-level error reply (an unknown type) is not:
// the key comes back with its type and no value.
// `floor`, when given, receives the server's clock before the first read:
// a key found missing was missing as of it.
Result<std::vector<RedisValue>> ReadValues(RedisConnection& conn,
                                           const std::vector<std::string>& keys,
                                           const ReadOptions& options, int64_t* floor = nullptr);

// A key read whole inside a MULTI/EXEC, after the commands that write it
// there, so no other client's command falls between the write and the read
// (the gateway's read-back in one round trip instead of ReadValues' two):
// TIME, TYPE, the first page of the value as `type` ("string", "hash", ...)
// holds it, and the expiry. Appends those kReadInTransactionReplies commands
// to `commands`.
inline constexpr size_t kReadInTransactionReplies = 4;
void AppendReadInTransaction(const std::string& key, std::string_view type,
                             const ReadOptions& options,
                             std::vector<std::vector<std::string>>* commands);

// The key's state from the replies of those commands (`replies` points at
// the first of them inside EXEC's reply), with TIME as its version; nullopt
// when one step did not read it whole (another type than `type`, more than
// one page, an error), so it must be read with ReadValues. `now_ms` is the
// local clock at the reply, for a PTTL.
std::optional<RedisValue> TakeReadInTransaction(const std::string& key, std::string_view type,
                                                const redisReply* const* replies,
                                                const ReadOptions& options, int64_t now_ms);

// Redis's server version as "major.minor.patch" from INFO server.
Result<std::string> ServerVersion(RedisConnection& conn);

}  // namespace cutover::redis_store
