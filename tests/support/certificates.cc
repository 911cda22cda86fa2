// Test certificates: a CA, a server and a client certificate, a stranger CA.
#include "support/certificates.h"

#include <gtest/gtest.h>

#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

bool OpenSsl(const std::string& dir, const std::string& args) {
  const CommandResult r = RunCommand({"bash", "-c", "openssl " + args}, {}, dir);
  EXPECT_EQ(r.exit_code, 0) << "openssl " << args << "\n" << r.err;
  return r.exit_code == 0;
}

}  // namespace

Certificates MakeCertificates() {
  Certificates c{TempDir()};
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  c.ok = OpenSsl(c.dir, "req -x509 " + key +
                            " -keyout ca.key -out ca.crt -days 2 -subj '/CN=cutover test CA'") &&
         OpenSsl(c.dir, "req -x509 " + key +
                            " -keyout other.key -out other.crt -days 2 -subj '/CN=another CA'") &&
         OpenSsl(c.dir, "req " + key + " -keyout server.key -out server.csr -subj '/CN=server'") &&
         OpenSsl(c.dir,
                 "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-out server.crt -days 2 -extfile <(printf "
                 "'subjectAltName=IP:127.0.0.1,DNS:localhost')") &&
         OpenSsl(c.dir, "req " + key + " -keyout client.key -out client.csr -subj '/CN=app'") &&
         OpenSsl(c.dir,
                 "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-out client.crt -days 2");
  return c;
}

}  // namespace cutover::testing
