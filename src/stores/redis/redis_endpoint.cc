// Parsing of redis:// urls.
#include "stores/redis/redis_endpoint.h"

#include <charconv>

namespace cutover::redis_store {
namespace {

Result<std::string> PercentDecode(std::string_view s, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    int v = 0;
    if (i + 2 >= s.size()) {
      return InvalidArgument("redis url: a '%' in the " + std::string(what) +
                             " is not followed by two hex digits");
    }
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3) {
      return InvalidArgument("redis url: a '%' in the " + std::string(what) +
                             " is not followed by two hex digits");
    }
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return out;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  return (user.empty() ? "" : user + "@") + host + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

Result<RedisEndpoint> ParseRedisUrl(const std::string& url) {
  RedisEndpoint e;
  std::string_view rest = url;
  if (rest.starts_with("redis://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("rediss://")) {
    rest.remove_prefix(9);
    e.tls = true;
  } else {
    return InvalidArgument("redis url must start with redis:// or rediss://");
  }
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view login = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = login.find(':');
    ASSIGN_OR_RETURN(e.user, PercentDecode(login.substr(0, colon), "user"));
    if (colon != std::string_view::npos) {
      ASSIGN_OR_RETURN(e.password, PercentDecode(login.substr(colon + 1), "password"));
    }
  }
  std::string_view hostport = rest;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
      if (ec != std::errc() || p != db.data() + db.size() || e.db < 0) {
        return InvalidArgument("redis url: the database after '/' must be a number, not '" +
                               std::string(db) + "'");
      }
    }
  }
  std::string_view host = hostport;
  if (hostport.starts_with("[")) {  // [::1]:6379
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) return InvalidArgument("redis url: unclosed '[' in host");
    host = hostport.substr(1, close - 1);
    hostport.remove_prefix(close + 1);
    if (!hostport.empty() && hostport[0] != ':') {
      return InvalidArgument("redis url: expected ':port' after ']'");
    }
  } else if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    hostport.remove_prefix(colon);
  } else {
    hostport = {};
  }
  if (hostport.starts_with(":")) {
    std::string_view port = hostport.substr(1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port <= 0 || e.port > 65535) {
      return InvalidArgument("redis url: the port must be a number from 1 to 65535, not '" +
                             std::string(port) + "'");
    }
  }
  if (host.empty()) return InvalidArgument("redis url names no host");
  e.host = std::string(host);
  return e;
}

}  // namespace cutover::redis_store
