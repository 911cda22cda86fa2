// A TLS session relayed to a local socket pair for hiredis ("TlsTunnel design").
#include "stores/redis/tls_tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace cutover::redis_store {
namespace {

// Bytes each direction holds before it stops reading from its source.
constexpr size_t kRelayBuffer = 256 * 1024;

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Internal(std::string("fcntl O_NONBLOCK: ") + std::strerror(errno));
  }
  return Status::Ok();
}

// The oldest queued OpenSSL error as text (and the queue emptied), or `fallback`.
std::string OpenSslReason(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// A connected TCP socket (non-blocking) to host:port, or why not.
Result<int> ConnectTcp(const std::string& host, int port, Clock::time_point deadline,
                       const std::string& where) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return Unavailable(
        fmt::format("redis {}: cannot resolve the host: {}", where, gai_strerror(rc)));
  }
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    const int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (s < 0) {
      last = std::strerror(errno);
      continue;
    }
    if (!SetNonBlocking(s).ok() ||
        (connect(s, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS)) {
      last = std::strerror(errno);
      close(s);
      continue;
    }
    pollfd p{s, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    const int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready <= 0) {
      last = ready == 0 ? "connect timed out" : std::strerror(errno);
    } else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = std::strerror(err != 0 ? err : errno);
    } else {
      fd = s;
      continue;
    }
    close(s);
  }
  freeaddrinfo(found);
  if (fd < 0) return Unavailable(fmt::format("redis {}: connect: {}", where, last));
  return fd;
}

}  // namespace

struct TlsTunnel::Session {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int tcp_fd = -1;
  int relay_fd = -1;  // our end of the socket pair

  ~Session() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (tcp_fd >= 0) close(tcp_fd);
    if (relay_fd >= 0) close(relay_fd);
  }
};

Result<std::unique_ptr<TlsTunnel>> TlsTunnel::Open(const std::string& host, int port,
                                                   const TlsOptions& options,
                                                   std::chrono::milliseconds timeout,
                                                   const std::string& where) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto session = std::make_unique<Session>();
  auto failed = [&](const std::string& doing, const std::string& reason) {
    return Unavailable(fmt::format("redis {} (TLS): {}: {}", where, doing, reason));
  };

  session->ctx = SSL_CTX_new(TLS_client_method());
  if (session->ctx == nullptr) return failed("setting up TLS", OpenSslReason("out of memory"));
  SSL_CTX_set_min_proto_version(session->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(session->ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(session->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  // A file that cannot be used is the user's to fix, not a reason to retry.
  auto bad_file = [&](const std::string& what, const std::string& path) {
    return FailedPrecondition(fmt::format("redis {} (TLS): cannot use the {} {}: {}", where, what,
                                          path, OpenSslReason("unreadable")));
  };
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(session->ctx, options.ca_file.c_str(), nullptr) != 1) {
      return bad_file("CA file", options.ca_file);
    }
  } else if (SSL_CTX_set_default_verify_paths(session->ctx) != 1) {
    return failed("loading the system's trusted certificates", OpenSslReason("failed"));
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(session->ctx, options.cert_file.c_str()) != 1) {
      return bad_file("certificate file", options.cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(session->ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(session->ctx) != 1) {
      return bad_file("key file", options.key_file);
    }
  }

  ASSIGN_OR_RETURN(session->tcp_fd, ConnectTcp(host, port, deadline, where + " (TLS)"));
  session->ssl = SSL_new(session->ctx);
  if (session->ssl == nullptr || SSL_set_fd(session->ssl, session->tcp_fd) != 1) {
    return failed("setting up TLS", OpenSslReason("out of memory"));
  }
  // The certificate must name the server: an IP address as an IP SAN, a
  // host name as a DNS name (also sent as SNI).
  const std::string name = options.server_name.empty() ? host : options.server_name;
  unsigned char ip[16];
  const bool is_ip =
      inet_pton(AF_INET, name.c_str(), ip) == 1 || inet_pton(AF_INET6, name.c_str(), ip) == 1;
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(session->ssl), name.c_str()) != 1) {
      return failed("setting the address to verify", OpenSslReason("failed"));
    }
  } else if (SSL_set_tlsext_host_name(session->ssl, name.c_str()) != 1 ||
             SSL_set1_host(session->ssl, name.c_str()) != 1) {
    return failed("setting the name to verify", OpenSslReason("failed"));
  }

  for (;;) {
    ERR_clear_error();
    const int rc = SSL_connect(session->ssl);
    if (rc == 1) break;
    const int err = SSL_get_error(session->ssl, rc);
    short wait = 0;
    if (err == SSL_ERROR_WANT_READ) wait = POLLIN;
    if (err == SSL_ERROR_WANT_WRITE) wait = POLLOUT;
    if (wait == 0) {
      const long verify = SSL_get_verify_result(session->ssl);
      if (verify != X509_V_OK) {
        return FailedPrecondition(fmt::format(
            "redis {} (TLS): the server's certificate was refused: {} (verified as '{}'{})", where,
            X509_verify_cert_error_string(verify), name,
            options.ca_file.empty() ? ", against the system's trusted roots"
                                    : ", against " + options.ca_file));
      }
      const int saved = errno;
      return failed("handshake", OpenSslReason(err == SSL_ERROR_SYSCALL && saved != 0
                                                   ? std::strerror(saved)
                                                   : "the server closed the connection"));
    }
    pollfd p{session->tcp_fd, wait, 0};
    const int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready == 0) return failed("handshake", "timed out");
    if (ready < 0 && errno != EINTR) return failed("handshake", std::strerror(errno));
  }

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return failed("socketpair", std::strerror(errno));
  }
  session->relay_fd = pair[1];
  RETURN_IF_ERROR(SetNonBlocking(session->relay_fd));
  std::unique_ptr<TlsTunnel> tunnel(new TlsTunnel(std::move(session)));
  tunnel->client_fd_ = pair[0];
  tunnel->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (tunnel->stop_fd_ < 0) return failed("eventfd", std::strerror(errno));
  tunnel->relay_ = std::thread([t = tunnel.get()] { t->Relay(); });
  return tunnel;
}

TlsTunnel::TlsTunnel(std::unique_ptr<Session> session) : session_(std::move(session)) {}

TlsTunnel::~TlsTunnel() {
  if (relay_.joinable()) {
    const uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) != sizeof one) {
      // An eventfd write fails only when the counter would overflow; the
      // relay also ends when hiredis closed its end, which it has by now.
    }
    relay_.join();
  }
  if (client_fd_ >= 0) close(client_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
}

std::string TlsTunnel::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void TlsTunnel::SetFailure(std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failure_.empty()) failure_ = std::move(reason);
}

int TlsTunnel::TakeClientFd() {
  const int fd = client_fd_;
  client_fd_ = -1;
  return fd;
}

void TlsTunnel::Relay() {
  Session& s = *session_;
  // However the relay ends, hiredis's next read sees end of file at once
  // rather than waiting out its timeout.
  struct EndOfFile {
    int fd;
    ~EndOfFile() { shutdown(fd, SHUT_RDWR); }
  } end_of_file{s.relay_fd};
  std::vector<char> to_client, to_server;  // bytes waiting for their reader
  size_t pending_write = 0;                // an SSL_write to repeat with this length
  short read_wait = POLLIN, write_wait = 0;
  bool client_eof = false, server_eof = false;
  char chunk[16 * 1024];
  for (;;) {
    // TLS to the buffer for hiredis.
    while (!server_eof && to_client.size() < kRelayBuffer) {
      ERR_clear_error();
      const int n = SSL_read(s.ssl, chunk, sizeof chunk);
      if (n > 0) {
        to_client.insert(to_client.end(), chunk, chunk + n);
        continue;
      }
      const int err = SSL_get_error(s.ssl, n);
      if (err == SSL_ERROR_WANT_READ) {
        read_wait = POLLIN;
      } else if (err == SSL_ERROR_WANT_WRITE) {
        read_wait = POLLOUT;
      } else {
        // close_notify, a reset or a TLS alert (a refused client
        // certificate arrives here under TLS 1.3): hiredis sees EOF.
        if (err != SSL_ERROR_ZERO_RETURN)
          SetFailure(OpenSslReason("the server closed the connection"));
        server_eof = true;
      }
      break;
    }
    // The buffer to hiredis.
    while (!to_client.empty()) {
      const ssize_t n = write(s.relay_fd, to_client.data(), to_client.size());
      if (n > 0) {
        to_client.erase(to_client.begin(), to_client.begin() + n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return;  // hiredis closed its end
    }
    if (server_eof && to_client.empty()) return;  // closing relay_fd tells hiredis
    // hiredis to the buffer for TLS.
    while (!client_eof && to_server.size() < kRelayBuffer) {
      const ssize_t n = read(s.relay_fd, chunk, sizeof chunk);
      if (n > 0) {
        to_server.insert(to_server.end(), chunk, chunk + n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      client_eof = true;
    }
    // The buffer to TLS. A write OpenSSL asked to repeat is repeated with
    // the same length.
    write_wait = 0;
    while (!to_server.empty()) {
      const size_t len = pending_write != 0 ? pending_write : to_server.size();
      ERR_clear_error();
      const int n = SSL_write(s.ssl, to_server.data(), static_cast<int>(len));
      if (n > 0) {
        pending_write = 0;
        to_server.erase(to_server.begin(), to_server.begin() + n);
        continue;
      }
      const int err = SSL_get_error(s.ssl, n);
      if (err == SSL_ERROR_WANT_WRITE) {
        write_wait = POLLOUT;
      } else if (err == SSL_ERROR_WANT_READ) {
        write_wait = POLLIN;
      } else {
        SetFailure(OpenSslReason("the server closed the connection"));
        return;  // the server is gone; hiredis sees EOF
      }
      pending_write = len;
      break;
    }
    if (client_eof && to_server.empty()) {
      SSL_shutdown(s.ssl);  // best effort: hiredis is done with the connection
      return;
    }

    pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {s.relay_fd, 0, 0}, {s.tcp_fd, 0, 0}};
    if (!to_client.empty()) fds[1].events |= POLLOUT;
    if (!client_eof && to_server.size() < kRelayBuffer) fds[1].events |= POLLIN;
    if (!server_eof && to_client.size() < kRelayBuffer) fds[2].events |= read_wait;
    if (!to_server.empty()) fds[2].events |= write_wait;
    // Bytes OpenSSL already decrypted wait in its buffer, not on the socket.
    const bool buffered = SSL_pending(s.ssl) > 0 && to_client.size() < kRelayBuffer;
    const int ready = poll(fds, 3, buffered ? 0 : -1);
    if (ready < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) return;
  }
}

}  // namespace cutover::redis_store
