// Test helper: the IoTDB REST stand-in (tests/iotdb_standin.py) started on a
// free loopback port, fed and inspected through its /standin endpoints.
#pragma once

#include <memory>
#include <string>

#include "support/serve_process.h"

namespace cutover::testing {

// No IoTDB server runs here: tests/iotdb_standin.py answers as IoTDB's REST
// API v2 does, in the shapes the project's research notes record. One per
// test; the destructor stops it.
class IotdbStandin {
 public:
  struct Options {
    std::string data_json = "{}";  // series and points it starts with
    std::string user = "root";
    std::string password = "root";
    int row_limit = 10000;
    std::string precision = "ms";
  };
  static std::unique_ptr<IotdbStandin> Start(const Options& options);

  int port() const { return process_.port(); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port()); }

  // POST /standin/points with `json` ({"series": [...], "points": [...]}).
  void AddPoints(const std::string& json);
  // GET /standin/dump: every series and point, as the data file spells them.
  std::string Dump();
  // GET /standin/log: the requests received.
  std::string Log();

 private:
  ServeProcess process_;
  std::string dir_;
};

}  // namespace cutover::testing
