// TlsContext: loads and cross-checks the serve port's certificate and key.
#include "server/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace cutover::server {
namespace {

// The oldest queued OpenSSL error as text (the queue emptied), or `fallback`.
std::string OpenSslReason(const std::string& fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::Load(const std::string& cert_file,
                                                     const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Internal("cannot make a TLS context: " + OpenSslReason("no reason"));
  std::shared_ptr<TlsContext> made(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Writes are retried by the stream with the same bytes, possibly from a
  // moved buffer, and may complete in parts (server/guarded_server.cc).
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return InvalidArgument("serve.tls.cert_file " + cert_file +
                           ": cannot load the certificate: " + OpenSslReason("unreadable"));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // Also where a key of another certificate is caught ("key values mismatch").
    return InvalidArgument("serve.tls.key_file " + key_file + ": cannot use it as the key of " +
                           cert_file + ": " + OpenSslReason("unreadable"));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgument("serve.tls.key_file " + key_file + " is not the key of " + cert_file +
                           ": " + OpenSslReason("they do not match"));
  }
  return made;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace cutover::server
