// A blocking hiredis connection with login, pipelining and timed reads.
#include "stores/redis/redis_connection.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace cutover::redis_store {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

Status RedisConnection::Broken(std::string_view doing) const {
  std::string reason =
      context_->err != 0 ? std::string(context_->errstr) : std::string("connection lost");
  if (tunnel_ != nullptr) {
    if (const std::string tls = tunnel_->failure(); !tls.empty()) reason += " (TLS: " + tls + ")";
  }
  return Unavailable("redis " + where() + ": " + std::string(doing) + ": " + reason);
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisEndpoint& endpoint, std::chrono::milliseconds timeout) {
  std::unique_ptr<TlsTunnel> tunnel;
  redisContext* c = nullptr;
  if (endpoint.tls) {
    // hiredis 0.14 has no TLS: it speaks through the tunnel's plain socket.
    ASSIGN_OR_RETURN(tunnel, TlsTunnel::Open(endpoint.host, endpoint.port, endpoint.tls_options,
                                             timeout, endpoint.Describe()));
    const int fd = tunnel->TakeClientFd();
    c = redisConnectFd(fd);
    if (c == nullptr) close(fd);
  } else {
    c = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(timeout));
  }
  if (c == nullptr) {
    return Unavailable("redis " + endpoint.Describe() + ": cannot allocate a connection");
  }
  std::unique_ptr<RedisConnection> conn(new RedisConnection(endpoint, c));
  conn->tunnel_ = std::move(tunnel);
  if (c->err != 0) return conn->Broken("connect");
  if (redisSetTimeout(c, ToTimeval(timeout)) != REDIS_OK) return conn->Broken("set timeout");
  if (!endpoint.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!endpoint.user.empty()) auth.push_back(endpoint.user);
    auth.push_back(endpoint.password);
    Result<Reply> r = conn->Run(auth);
    if (!r.ok()) {
      // Redis says WRONGPASS or NOAUTH; neither message holds the secret.
      return PermissionDenied("redis " + endpoint.Describe() +
                              ": login failed: " + r.status().message());
    }
  }
  if (endpoint.db != 0) {
    const std::string db = std::to_string(endpoint.db);
    RETURN_IF_ERROR(conn->Run({"SELECT", db}).status());
  }
  return conn;
}

void RedisConnection::Append(const std::vector<std::string_view>& args) {
  // The command in RESP, written here: hiredis's own formatting (sds with
  // printf-like appends) cost more CPU than reading the replies.
  command_.clear();
  const auto append_count = [&](char kind, size_t n) {
    char digits[24];
    command_ += kind;
    command_.append(digits, std::to_chars(digits, digits + sizeof digits, n).ptr);
    command_ += "\r\n";
  };
  append_count('*', args.size());
  for (std::string_view a : args) {
    append_count('$', a.size());
    command_.append(a);
    command_ += "\r\n";
  }
  redisAppendFormattedCommand(context_, command_.data(), command_.size());
  ++pending_;
  // hiredis holds its own copy now; a big value's buffer is not kept for
  // the life of the connection.
  if (command_.capacity() > kKeptCommandBytes) std::string().swap(command_);
}

Result<Reply> RedisConnection::Read() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK) return Broken("read reply");
  if (pending_ > 0) --pending_;
  return Reply(static_cast<redisReply*>(raw));
}

Result<std::vector<Reply>> RedisConnection::ReadAll() {
  std::vector<Reply> replies;
  replies.reserve(pending_);
  while (pending_ > 0) {
    ASSIGN_OR_RETURN(Reply r, Read());
    replies.push_back(std::move(r));
  }
  return replies;
}

Status ReplyError(const std::string& context, const redisReply* r) {
  const std::string text(ReplyText(r));
  if (text.starts_with("NOPERM")) return PermissionDenied(context + ": " + text);
  return FailedPrecondition(context + ": " + text);
}

Result<Reply> RedisConnection::Run(const std::vector<std::string_view>& args) {
  Append(args);
  const std::string name = args.empty() ? std::string() : std::string(args[0]);
  ASSIGN_OR_RETURN(Reply r, Read());
  if (r->type == REDIS_REPLY_ERROR) {
    const std::string text(ReplyText(r.get()));
    // An ACL that forbids the command or key: the operator's to fix.
    if (text.starts_with("NOPERM"))
      return PermissionDenied("redis " + where() + ": " + name + ": " + text);
    return FailedPrecondition("redis " + where() + ": " + name + ": " + text);
  }
  return r;
}

Result<Reply> RedisConnection::ReadWithin(std::chrono::milliseconds wait) {
  void* raw = nullptr;
  // A reply already buffered needs no wait.
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) return Broken("read message");
  if (raw != nullptr) return Reply(static_cast<redisReply*>(raw));
  pollfd pfd{context_->fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int n = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Unavailable("redis " + where() + ": poll: " + std::string(std::strerror(errno)));
    }
    if (n == 0) return Reply();
    if (redisBufferRead(context_) != REDIS_OK) return Broken("read message");
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) return Broken("read message");
    if (raw != nullptr) return Reply(static_cast<redisReply*>(raw));
  }
}

}  // namespace cutover::redis_store
