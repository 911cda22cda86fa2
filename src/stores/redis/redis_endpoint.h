// RedisEndpoint: where a Redis server is and how to log in, parsed from a
// source's url; prints itself without the password.
#pragma once

#include <string>

#include "common/status.h"

namespace cutover::redis_store {

// What a TLS client trusts and shows: PEM files, already resolved to paths.
struct TlsOptions {
  std::string ca_file;      // empty: the system's trusted roots
  std::string cert_file;    // a client certificate (tls-auth-clients yes)
  std::string key_file;     // its private key
  std::string server_name;  // the name to verify; empty: the endpoint's host
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;        // ACL user; empty: the default user
  std::string password;    // a secret: never in a message
  bool tls = false;        // rediss://
  TlsOptions tls_options;  // from the source's `tls:`; used when `tls`

  // "host:port/db" (and "user@" when a user is named); never the password.
  std::string Describe() const;
};

// Parses redis://[user[:password]@]host[:port][/db] (rediss:// for TLS),
// percent-decoding the user and password. Errors never quote the url, which
// holds the password.
Result<RedisEndpoint> ParseRedisUrl(const std::string& url);

}  // namespace cutover::redis_store
