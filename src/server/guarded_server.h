// GuardedServer: the httplib server of `cutover serve`, hardened against slow
// clients: a worker only ever holds a connection that has sent a whole request head.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <memory>

#include "server/tls_context.h"

namespace cutover::server {

// Limits on what one client can hold. Defaults suit a control API on a
// trusted network; every one is a bound on time or memory per connection.
struct ConnectionLimits {
  // A connection must deliver a whole request head (request line and
  // headers) within this long of connecting or of its previous answer, or it
  // is closed. Default 5s: a real client sends its head at once.
  std::chrono::milliseconds head_timeout{5000};
  // Once the head is in, the body must arrive within this long, and the
  // answer must be taken within this long of the first byte written.
  // Default 10s.
  std::chrono::milliseconds request_timeout{10000};
  // Workers that run handlers. Default 16; handlers that wait for PostgreSQL
  // hold one each, idle or slow connections hold none.
  size_t workers = 16;
  // Connections waiting for a head at once; one more is closed on arrival.
  // Default 4096; each costs a file descriptor and up to max_head_bytes.
  size_t max_waiting = 4096;
  // A head larger than this is handed to httplib, which refuses it (414/400).
  size_t max_head_bytes = 16 * 1024;
  // listen(2) backlog; httplib's own is 5, which a burst of connections fills.
  int backlog = 1024;
};

// SlowClientGuard design
//
// Invariant: a connection that has not sent a whole request head holds no
// worker, and no connection holds a worker longer than request_timeout of
// reading and writing (plus the handler's own time); so however many clients
// connect and stall, /livez waits for at most one handler's run, never for
// theirs.
//
// Why it holds: httplib hands each accepted socket to its task queue; our
// queue runs that hand-over inline on the accept thread, where it only moves
// the socket into the lobby, one thread that polls every waiting connection,
// reads what arrives into the connection's buffer, closes it when
// head_timeout passes, and dispatches it to a worker once the buffer holds
// the blank line that ends a head. The worker parses from that buffer through
// a stream whose reads and writes give up at fixed deadlines, so a client
// that trickles its body or never reads its answer is cut off; after the
// answer a keep-alive connection goes back to the lobby, not to sleep in
// the worker.
//
// Cost: one extra thread and one poll(2) over the waiting connections per
// event, O(waiting) each; fine for the hundreds a control API sees.
//
// TLS (when a TlsContext is given) keeps the invariant: the handshake is
// done in the lobby too, non-blocking and within head_timeout, so a client
// that connects and never says hello holds no worker either. Decrypted
// bytes OpenSSL holds back (SSL_pending) count as readable, since poll(2)
// cannot see them. One thread at a time touches a connection's SSL object:
// the lobby until it dispatches, then the worker until it gives it back.
//
// Thread-safe as httplib::Server is; construct, install routes, bind, then
// RaiseBacklog() and listen_after_bind().
class GuardedServer : public httplib::Server {
 public:
  // `tls` null: plain HTTP.
  explicit GuardedServer(ConnectionLimits limits = {}, std::shared_ptr<TlsContext> tls = nullptr);
  ~GuardedServer() override;

  // Re-issues listen(2) on the bound socket with limits.backlog.
  bool RaiseBacklog();

  class Lobby;
  class Pool;
  struct Connection;

 private:
  bool process_and_close_socket(socket_t sock) override;
  void ServeOne(std::shared_ptr<Connection> connection);

  const ConnectionLimits limits_;
  const std::shared_ptr<TlsContext> tls_;
  std::unique_ptr<Lobby> lobby_;
  Pool* pool_ = nullptr;  // owned by httplib while listening
};

}  // namespace cutover::server
