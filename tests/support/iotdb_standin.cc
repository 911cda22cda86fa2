// IotdbStandin: starting tests/iotdb_standin.py and talking to it.
#include "support/iotdb_standin.h"

#include <gtest/gtest.h>

#include "support/pg_harness.h"

namespace cutover::testing {

std::unique_ptr<IotdbStandin> IotdbStandin::Start(const Options& options) {
  auto standin = std::unique_ptr<IotdbStandin>(new IotdbStandin());
  standin->dir_ = TempDir();
  const std::string data = standin->dir_ + "/data.json";
  WriteFile(data, options.data_json);
  // Debian's interpreter: the stand-in needs only the standard library, but
  // a python3 earlier on the PATH may be another installation.
  const std::vector<std::string> argv = {
      "/usr/bin/python3", SourceDir() + "/tests/iotdb_standin.py",
      "--port",           "0",
      "--data",           data,
      "--user",           options.user,
      "--password",       options.password,
      "--row-limit",      std::to_string(options.row_limit),
      "--precision",      options.precision};
  if (!standin->process_.Start(argv, {}, standin->dir_)) return nullptr;
  return standin;
}

void IotdbStandin::AddPoints(const std::string& json) {
  const HttpResponse r =
      Http(port(), "POST", "/standin/points", json, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.error << r.body;
}

std::string IotdbStandin::Dump() {
  const HttpResponse r = Http(port(), "GET", "/standin/dump");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  return r.body;
}

std::string IotdbStandin::Log() {
  const HttpResponse r = Http(port(), "GET", "/standin/log");
  EXPECT_EQ(r.status, 200) << r.error << r.body;
  return r.body;
}

}  // namespace cutover::testing
