// Test certificates made by the openssl command line, so that no TLS test's
// oracle shares cutover's TLS code.
#pragma once

#include <string>

namespace cutover::testing {

// In `dir`: ca.crt/ca.key (a CA), server.crt/server.key (signed by it, for
// 127.0.0.1 and localhost), client.crt/client.key (signed by it), and
// other.crt/other.key (a second CA that signed none of them). `ok` false
// after a test failure naming the openssl command that failed.
struct Certificates {
  std::string dir;
  bool ok = false;
};
Certificates MakeCertificates();

}  // namespace cutover::testing
