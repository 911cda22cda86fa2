// What the Redis benchmark tools share: a scratch redis-server on a free
// loopback port, and a bare hiredis client (not cutover's adapter).
#pragma once

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cutover::bench {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisContextPtr = std::unique_ptr<redisContext, ContextFree>;
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

// A connection to 127.0.0.1:port; null when it cannot connect.
inline RedisContextPtr ConnectRedis(int port) {
  timeval tv{30, 0};
  RedisContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (!c || c->err) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

// Queues one command (binary-safe arguments) in the context's output buffer.
inline void Append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

// The next reply of a pipeline; null when the connection failed.
inline RedisReplyPtr NextReply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(r));
}

// Runs one command and returns its reply (null on a lost connection).
inline RedisReplyPtr RunCommand(redisContext* c, const std::vector<std::string>& args) {
  Append(c, args);
  return NextReply(c);
}

inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A redis-server without persistence in `dir`, on a free loopback port.
// Ownership: this object owns the process; the destructor kills it, and the
// kernel kills it (PR_SET_PDEATHSIG) if the owning process dies first, so a
// failed or interrupted benchmark leaves no server behind.
class ScratchRedis {
 public:
  // Null when no server answered PING within 5 s on any of 5 ports.
  static std::unique_ptr<ScratchRedis> Start(const std::string& dir) {
    std::unique_ptr<ScratchRedis> s(new ScratchRedis());
    for (int attempt = 0; attempt < 5; ++attempt) {
      s->port_ = FreeLoopbackPort();
      if (s->Launch(dir)) return s;
    }
    return nullptr;
  }
  ~ScratchRedis() { Kill(); }
  ScratchRedis(const ScratchRedis&) = delete;
  ScratchRedis& operator=(const ScratchRedis&) = delete;

  int port() const { return port_; }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  ScratchRedis() = default;

  bool Launch(const std::string& dir) {
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir,
                                     "--logfile",
                                     dir + "/redis.log",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--daemonize",
                                     "no"};
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("redis-server", argv.data());
      _exit(127);
    }
    if (pid < 0) return false;
    pid_ = pid;
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited: the port was taken meanwhile
      }
      if (auto c = ConnectRedis(port_)) {
        auto pong = RunCommand(c.get(), {"PING"});
        if (pong && pong->type == REDIS_REPLY_STATUS) return true;
      }
    }
    Kill();
    return false;
  }

  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace cutover::bench
