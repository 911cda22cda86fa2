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

#include <openssl/err.h>
#include <openssl/ssl.h>
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

// The oldest queued OpenSSL error's reason (the queue emptied), or `fallback`.
std::string TlsReason(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return reason != nullptr ? reason : fallback;
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

// One accepted socket, its TLS session if the server has one, and what has
// been read from it but not yet parsed.
struct GuardedServer::Connection {
  Connection(int socket_fd, SSL* tls) : fd(socket_fd), ssl(tls) {
    if (ssl != nullptr) {
      // SSL_accept and SSL_read must never block the lobby's thread.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      SSL_set_fd(ssl, fd);
    }
  }
  ~Connection() {
    if (ssl != nullptr) {
      if (handshake_done) (void)SSL_shutdown(ssl);  // close_notify, best effort: non-blocking
      SSL_free(ssl);
      ERR_clear_error();
    }
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

  // Bytes TLS has decrypted and holds back: readable though poll(2) says not.
  bool Pending() const { return ssl != nullptr && handshake_done && SSL_pending(ssl) > 0; }

  // recv(2) and send(2), through TLS when there is a session: > 0 bytes
  // moved; 0 the peer closed; -1 with errno EAGAIN to wait (for read_wait,
  // write_wait), any other errno a failure. A TLS session first finishes its
  // handshake, and any TLS call may need the socket the other way round.
  ssize_t Receive(char* out, size_t size) {
    if (ssl == nullptr) return recv(fd, out, size, MSG_DONTWAIT);
    if (!handshake_done) {
      const ssize_t shaken = Handshake();
      if (shaken <= 0) return shaken;
    }
    return Outcome(SSL_read(ssl, out, static_cast<int>(std::min<size_t>(size, 1 << 30))), POLLIN,
                   &read_wait);
  }
  ssize_t Send(const char* data, size_t size) {
    if (ssl == nullptr) return send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    return Outcome(SSL_write(ssl, data, static_cast<int>(std::min<size_t>(size, 1 << 30))), POLLOUT,
                   &write_wait);
  }

  const int fd;
  SSL* const ssl;  // null: plain HTTP
  bool handshake_done = false;
  // What poll(2) waits for before Receive, and before Send, are tried again.
  short read_wait = POLLIN;
  short write_wait = POLLOUT;
  std::string buffer;  // read, not yet consumed by the parser
  size_t consumed = 0;
  size_t requests = 0;
  Clock::time_point deadline;  // while in the lobby: when it is dropped

 private:
  // 1 once the handshake is done; else as Receive.
  ssize_t Handshake() {
    ERR_clear_error();
    const int rc = SSL_accept(ssl);
    if (rc == 1) {
      handshake_done = true;
      read_wait = POLLIN;
      return 1;
    }
    const ssize_t outcome = Outcome(rc, POLLIN, &read_wait);
    if (outcome == 0 || (outcome < 0 && errno != EAGAIN)) {
      // A client that cannot speak our TLS (plain HTTP, an unknown CA on its
      // side): worth a line, never more than one per connection.
      spdlog::debug("serve: TLS handshake refused: {}", TlsReason("the client went away"));
      errno = ECONNRESET;
      return -1;
    }
    return outcome;
  }

  // An SSL_* call's result in the recv(2) convention; `*wait` becomes what
  // the call waits for to go on (`usual` when it went through).
  ssize_t Outcome(int rc, short usual, short* wait) {
    *wait = usual;
    if (rc > 0) return rc;
    switch (SSL_get_error(ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        *wait = POLLIN;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_WANT_WRITE:
        *wait = POLLOUT;
        errno = EAGAIN;
        return -1;
      case SSL_ERROR_ZERO_RETURN:
        return 0;
      default:
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
  }
};

// A stream over a Connection whose reads end at `read_deadline` and whose
// writes end request_timeout after the first one, whatever the client does.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(GuardedServer::Connection* c, std::chrono::milliseconds timeout)
      : c_(c), timeout_(timeout), read_deadline_(Clock::now() + timeout) {}

  bool is_readable() const override {
    return c_->consumed < c_->buffer.size() || c_->Pending() ||
           WaitFor(c_->fd, POLLIN, read_deadline_);
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
    // TLS may read a record and yield no byte of it (EAGAIN): wait again.
    while (true) {
      if (!c_->Pending() && !WaitFor(c_->fd, c_->read_wait, read_deadline_)) return -1;
      const ssize_t got = c_->Receive(ptr, size);
      if (got >= 0 || errno != EAGAIN) return got;
    }
  }

  ssize_t write(const char* ptr, size_t size) override {
    while (true) {
      if (!WaitFor(c_->fd, c_->write_wait, WriteDeadline())) return -1;
      const ssize_t sent = c_->Send(ptr, size);
      if (sent >= 0 || errno != EAGAIN) return sent;
    }
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
    // A pipelined request TLS already decrypted is invisible to poll(2).
    if (c->Pending() && !Take(*c)) return;
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
        fds.push_back(pollfd{c->fd, c->read_wait, 0});
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
          if (!Take(*c)) continue;  // closed by the client, or its TLS failed: dropped
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

  // Reads what `c` has for us into its buffer, up to max_head_bytes (a TLS
  // session may hold more than one read's worth); false when it is closed.
  bool Take(Connection& c) const {
    char buf[4096];
    do {
      const size_t room = std::max<size_t>(
          1, std::min(sizeof(buf),
                      limits_.max_head_bytes - std::min(limits_.max_head_bytes, c.buffer.size())));
      const ssize_t got = c.Receive(buf, room);
      if (got == 0) return false;
      if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.buffer.append(buf, static_cast<size_t>(got));
    } while (c.Pending() && !c.HeadComplete(limits_.max_head_bytes));
    return true;
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

GuardedServer::GuardedServer(ConnectionLimits limits, std::shared_ptr<TlsContext> tls)
    : limits_(limits), tls_(std::move(tls)) {
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
  SSL* ssl = nullptr;
  if (tls_ != nullptr && (ssl = SSL_new(tls_->get())) == nullptr) {
    spdlog::error("serve: cannot start a TLS session: {}", TlsReason("no reason given"));
    ::close(sock);
    return true;
  }
  lobby_->Admit(std::make_shared<Connection>(sock, ssl));
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
