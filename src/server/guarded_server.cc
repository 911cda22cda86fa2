// GuardedServer: the lobby that holds connections until their request head is
// in, the worker pool, and a stream with deadlines (see the design note).
#include "server/guarded_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

namespace cutover::server {
namespace {

using Clock = std::chrono::steady_clock;

int MillisUntil(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, MillisUntil(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

void Address(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

}  // namespace

// One accepted socket and what has been read from it but not yet parsed.
struct GuardedServer::Connection {
  explicit Connection(int socket_fd) : fd(socket_fd) {}
  ~Connection() {
    shutdown(fd, SHUT_RDWR);
    close(fd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // True once `buffer` holds a whole head (it ends at the first blank line).
  bool HeadComplete(size_t max_head_bytes) const {
    return buffer.size() >= max_head_bytes || buffer.find("\r\n\r\n") != std::string::npos ||
           buffer.find("\n\n") != std::string::npos;
  }

  const int fd;
  std::string buffer;  // read, not yet consumed by the parser
  size_t consumed = 0;
  size_t requests = 0;
  Clock::time_point deadline;  // while in the lobby: when it is dropped
};

// A stream over a Connection whose reads end at `read_deadline` and whose
// writes end request_timeout after the first one, whatever the client does.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(GuardedServer::Connection* c, std::chrono::milliseconds timeout)
      : c_(c), timeout_(timeout), read_deadline_(Clock::now() + timeout) {}

  bool is_readable() const override {
    return c_->consumed < c_->buffer.size() || WaitFor(c_->fd, POLLIN, read_deadline_);
  }
  bool is_writable() const override { return WaitFor(c_->fd, POLLOUT, WriteDeadline()); }

  ssize_t read(char* ptr, size_t size) override {
    if (c_->consumed < c_->buffer.size()) {
      const size_t n = std::min(size, c_->buffer.size() - c_->consumed);
      std::copy_n(c_->buffer.data() + c_->consumed, n, ptr);
      c_->consumed += n;
      if (c_->consumed == c_->buffer.size()) {
        c_->buffer.clear();
        c_->consumed = 0;
      }
      return static_cast<ssize_t>(n);
    }
    if (!WaitFor(c_->fd, POLLIN, read_deadline_)) return -1;
    return recv(c_->fd, ptr, size, MSG_DONTWAIT);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!WaitFor(c_->fd, POLLOUT, WriteDeadline())) return -1;
    return send(c_->fd, ptr, size, MSG_DONTWAIT | MSG_NOSIGNAL);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(c_->fd, /*peer=*/true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(c_->fd, /*peer=*/false, ip, port);
  }
  socket_t socket() const override { return c_->fd; }

 private:
  // The handler may take long (waiting for PostgreSQL); the client's time to
  // take the answer starts with the first byte written.
  Clock::time_point WriteDeadline() const {
    if (!write_deadline_) write_deadline_ = Clock::now() + timeout_;
    return *write_deadline_;
  }

  GuardedServer::Connection* const c_;
  const std::chrono::milliseconds timeout_;
  const Clock::time_point read_deadline_;
  mutable std::optional<Clock::time_point> write_deadline_;
};

// Runs handlers on a fixed number of threads. httplib's hand-over of a newly
// accepted socket (enqueue) runs inline on the accept thread, since all it
// does is move the socket into the lobby.
class GuardedServer::Pool : public httplib::TaskQueue {
 public:
  Pool(size_t workers, std::function<void()> before_shutdown)
      : before_shutdown_(std::move(before_shutdown)) {
    for (size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }

  void enqueue(std::function<void()> fn) override { fn(); }

  void Dispatch(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  // Closes the waiting connections, lets the running requests finish (the
  // drain of SIGTERM), then joins.
  void shutdown() override {
    before_shutdown_();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  const std::function<void()> before_shutdown_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // protected by mu_
  bool stopping_ = false;                   // protected by mu_
};

// Holds connections that have no whole request head yet (see the design note).
class GuardedServer::Lobby {
 public:
  using Ready = std::function<void(std::shared_ptr<Connection>)>;

  Lobby(const ConnectionLimits& limits, Ready ready) : limits_(limits), ready_(std::move(ready)) {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Run(); });
  }
  ~Lobby() {
    Stop();
    if (wake_[0] >= 0) close(wake_[0]);
    if (wake_[1] >= 0) close(wake_[1]);
  }

  // Takes `c`; it waits here at most head_timeout for its next head.
  void Admit(std::shared_ptr<Connection> c) {
    if (c->HeadComplete(limits_.max_head_bytes)) return ready_(std::move(c));  // pipelined
    c->deadline = Clock::now() + limits_.head_timeout;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_ || incoming_.size() + waiting_count_ >= limits_.max_waiting) {
        if (!stopped_)
          spdlog::warn("serve: {} connections wait for a request; closing one more",
                       limits_.max_waiting);
        return;  // `c` closes as it goes out of scope
      }
      incoming_.push_back(std::move(c));
    }
    Wake();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Wake() {
    const char b = 1;
    if (wake_[1] >= 0) (void)!::write(wake_[1], &b, 1);
  }

  void Run() {
    std::vector<std::shared_ptr<Connection>> waiting;
    std::vector<pollfd> fds;
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopped_) return;  // waiting connections close with `waiting`
        for (auto& c : incoming_) waiting.push_back(std::move(c));
        incoming_.clear();
        waiting_count_ = waiting.size();
      }
      Clock::time_point next = Clock::now() + std::chrono::seconds(1);
      fds.assign(1, pollfd{wake_[0], POLLIN, 0});
      for (const auto& c : waiting) {
        fds.push_back(pollfd{c->fd, POLLIN, 0});
        next = std::min(next, c->deadline);
      }
      const int n = poll(fds.data(), fds.size(), MillisUntil(next));
      if (n < 0 && errno != EINTR) {
        spdlog::error("serve: poll over waiting connections failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (fds[0].revents != 0) {
        char drain[64];
        while (::read(wake_[0], drain, sizeof(drain)) > 0) {
        }
      }
      const auto now = Clock::now();
      std::vector<std::shared_ptr<Connection>> still;
      still.reserve(waiting.size());
      for (size_t i = 0; i < waiting.size(); ++i) {
        auto& c = waiting[i];
        if (n > 0 && fds[i + 1].revents != 0) {
          char buf[4096];
          const size_t room = std::max<size_t>(
              1, std::min(sizeof(buf), limits_.max_head_bytes -
                                           std::min(limits_.max_head_bytes, c->buffer.size())));
          const ssize_t got = recv(c->fd, buf, room, MSG_DONTWAIT);
          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            continue;  // closed by the client: dropped
          }
          if (got > 0) c->buffer.append(buf, static_cast<size_t>(got));
          if (c->HeadComplete(limits_.max_head_bytes)) {
            ready_(std::move(c));
            continue;
          }
        }
        if (now >= c->deadline) continue;  // too slow: dropped, the socket closes
        still.push_back(std::move(c));
      }
      waiting.swap(still);
    }
  }

  const ConnectionLimits limits_;
  const Ready ready_;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Connection>> incoming_;  // protected by mu_
  size_t waiting_count_ = 0;                           // protected by mu_
  bool stopped_ = false;                               // protected by mu_
};

GuardedServer::GuardedServer(ConnectionLimits limits) : limits_(limits) {
  // An answer goes out in more than one write (head, then body): with Nagle's
  // algorithm the second waits for the client's delayed ACK of the first,
  // 40 ms on Linux, for every request of a keep-alive connection.
  set_tcp_nodelay(true);
  lobby_ = std::make_unique<Lobby>(limits_, [this](std::shared_ptr<Connection> c) {
    pool_->Dispatch([this, c = std::move(c)]() mutable { ServeOne(std::move(c)); });
  });
  new_task_queue = [this] {
    auto* pool = new Pool(limits_.workers, [this] { lobby_->Stop(); });
    pool_ = pool;
    return pool;
  };
}

GuardedServer::~GuardedServer() {
  lobby_->Stop();
}

bool GuardedServer::RaiseBacklog() {
  const socket_t sock = svr_sock_;
  return sock != INVALID_SOCKET && ::listen(sock, limits_.backlog) == 0;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  lobby_->Admit(std::make_shared<Connection>(sock));
  return true;
}

void GuardedServer::ServeOne(std::shared_ptr<Connection> c) {
  DeadlineStream stream(c.get(), limits_.request_timeout);
  ++c->requests;
  // A bound on requests per connection, as httplib's own keep-alive has.
  const bool last = c->requests >= 100;
  bool connection_closed = false;
  const bool ok = process_request(stream, last, connection_closed, {});
  if (!ok || connection_closed || last) return;  // `c` closes with its last owner
  lobby_->Admit(std::move(c));
}

}  // namespace cutover::server
