// RedisConnection: one blocking hiredis connection, logged in and on its
// database, with pipelining and a bounded wait for pushed messages (pub/sub).
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "stores/redis/redis_endpoint.h"
#include "stores/redis/tls_tunnel.h"

namespace cutover::redis_store {

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
// A reply as hiredis parsed it; binary-safe (str with len).
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

inline std::string_view ReplyText(const redisReply* r) {
  return r->str == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}

// An error reply as a Status whose message is `context` and the reply:
// PermissionDenied when an ACL forbids the command or key (NOPERM: the
// operator's to fix, so not retried and never the client's conflict),
// FailedPrecondition for any other refusal.
Status ReplyError(const std::string& context, const redisReply* r);

// Not thread-safe: a connection belongs to one thread. Errors name the
// endpoint and the command's name, never its arguments (AUTH carries a
// password; keys may be private). A broken connection (refused, reset,
// timed out) is kUnavailable and the connection is unusable afterwards.
class RedisConnection {
 public:
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects, logs in (AUTH [user] password) and SELECTs the database.
  // `timeout` bounds the connect and every later read and write.
  static Result<std::unique_ptr<RedisConnection>> Connect(
      const RedisEndpoint& endpoint,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  // Runs one command. An error reply is an error Status (kFailedPrecondition)
  // with Redis's message.
  Result<Reply> Run(const std::vector<std::string_view>& args);

  // Pipelining: Append queues a command, Read returns replies in order. An
  // error reply comes back as a reply (type REDIS_REPLY_ERROR), so one bad
  // key does not fail its page.
  void Append(const std::vector<std::string_view>& args);
  Result<Reply> Read();
  // Reads the replies of every appended command.
  Result<std::vector<Reply>> ReadAll();

  // Waits up to `wait` for one pushed message (a subscribed connection);
  // a null Reply when none came in time.
  Result<Reply> ReadWithin(std::chrono::milliseconds wait);

  const RedisEndpoint& endpoint() const { return endpoint_; }
  std::string where() const { return endpoint_.Describe(); }

 private:
  RedisConnection(RedisEndpoint endpoint, redisContext* context)
      : endpoint_(std::move(endpoint)), context_(context) {}
  Status Broken(std::string_view doing) const;

  RedisEndpoint endpoint_;
  redisContext* context_;
  // rediss://: the TLS session hiredis's socket is relayed to. Members go
  // after the destructor's body, which frees the context first: closing
  // hiredis's end of the socket ends the relay.
  std::unique_ptr<TlsTunnel> tunnel_;
  size_t pending_ = 0;
  static constexpr size_t kKeptCommandBytes = 1 << 20;
  std::string command_;  // Append's buffer, kept to reuse its capacity up to that
};

}  // namespace cutover::redis_store
