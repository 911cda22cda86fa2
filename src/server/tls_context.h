// TlsContext: the certificate and key `cutover serve` answers TLS with, loaded
// once and checked to belong together before the port opens.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace cutover::server {

// A server-side OpenSSL context: TLS 1.2 or newer, the certificate chain of
// `cert_file` (PEM, leaf first) and its private key `key_file` (PEM,
// unencrypted). Shared by every connection; thread-safe once made.
class TlsContext {
 public:
  // InvalidArgument naming the file and OpenSSL's reason when a file cannot
  // be read, is not PEM, or the key does not match the certificate.
  static Result<std::shared_ptr<TlsContext>> Load(const std::string& cert_file,
                                                  const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

}  // namespace cutover::server
