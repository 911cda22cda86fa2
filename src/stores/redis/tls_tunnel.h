// TlsTunnel: a TLS connection to a Redis server (OpenSSL) offered to hiredis
// as a plain socket, because Debian's hiredis 0.14 speaks no TLS itself.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "stores/redis/redis_endpoint.h"

namespace cutover::redis_store {

// TlsTunnel design
//
// hiredis 0.14 reads and writes a file descriptor and knows nothing of TLS,
// but it accepts any connected socket (redisConnectFd). The tunnel makes the
// TLS connection itself: TCP connect, handshake, the server's certificate
// checked against the CA and the host name (or IP address) before a byte of
// AUTH is sent. It then hands hiredis one end of a local socket pair and
// relays between the other end and the TLS session on a thread of its own,
// which is the only thread that touches the SSL object (OpenSSL forbids
// concurrent reads and writes on one). Each direction buffers at most
// kRelayBuffer bytes and stops reading while full, so a big reply streams.
// The relay ends when either side closes: hiredis's close becomes a TLS
// close_notify; the server's close (or a TLS error) becomes end of file on
// hiredis's socket, which hiredis reports as a lost connection. hiredis's
// own timeouts apply to its socket, so a silent server still times out.
class TlsTunnel {
 public:
  ~TlsTunnel();
  TlsTunnel(const TlsTunnel&) = delete;
  TlsTunnel& operator=(const TlsTunnel&) = delete;

  // Connects to host:port, completes the handshake and verifies the peer
  // within `timeout`. Errors name `where` and the reason (an unknown CA, a
  // name mismatch, a refused connection), never a secret.
  static Result<std::unique_ptr<TlsTunnel>> Open(const std::string& host, int port,
                                                 const TlsOptions& options,
                                                 std::chrono::milliseconds timeout,
                                                 const std::string& where);

  // The plain end for hiredis; the caller owns it from then on (once).
  int TakeClientFd();

  // Why the TLS session ended, when it ended in an error ("" otherwise):
  // hiredis only sees its socket close.
  std::string failure() const;

 private:
  struct Session;
  explicit TlsTunnel(std::unique_ptr<Session> session);
  void Relay();
  void SetFailure(std::string reason);

  std::unique_ptr<Session> session_;
  int client_fd_ = -1;
  int stop_fd_ = -1;  // an eventfd the destructor signals
  std::thread relay_;
  mutable std::mutex mu_;
  std::string failure_;  // guarded by mu_
};

}  // namespace cutover::redis_store
