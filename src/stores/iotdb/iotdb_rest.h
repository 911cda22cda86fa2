// IotdbRest: a client of IoTDB's REST API v2 (tree model): queries,
// statements and tablets, with IoTDB's answers turned into Status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "stores/iotdb/iotdb_types.h"

namespace httplib {
class Client;
}

namespace cutover::iotdb_store {

// IotdbRest design
//
// IoTDB answers an execution failure with HTTP 200 and a body
// {"code": N, "message": ...}, and only auth failures with 401/400; so a
// reply is an error when its HTTP status is not 200 or its body has a code
// other than 200. Codes become Status codes by what can fix them: a refused
// login or a missing privilege (800, 801, 803) is kPermissionDenied, a
// server that is down or busy (HTTP 5xx, a refused connection, 305 from
// /ping) is kUnavailable and retried a few times, and the row limit (708)
// says which setting to change. Every message starts with the server's url
// (never the password) and names the statement.
class IotdbRest {
 public:
  // `url`: http[s]://host:port of the REST service.
  IotdbRest(std::string url, std::string user, std::string password);
  ~IotdbRest();
  IotdbRest(const IotdbRest&) = delete;
  IotdbRest& operator=(const IotdbRest&) = delete;

  // GET /ping.
  Status Ping();

  // POST /rest/v2/query: the data set ("expressions" or "column_names",
  // "data_types", "timestamps", "values" column by column). `row_limit`:
  // the request's row_limit; a result that reaches it fails (code 708).
  Result<nlohmann::json> Query(const std::string& sql, int64_t row_limit);

  // POST /rest/v2/nonQuery: one statement (an INSERT, a DELETE).
  Status NonQuery(const std::string& sql);

  // POST /rest/v2/insertTablet with `tablet` as the body.
  Status InsertTablet(const nlohmann::json& tablet);

  // "iotdb http://host:port", for messages.
  std::string where() const { return "iotdb " + url_; }

 private:
  // POSTs `body` to `path` and checks the answer; `what` names the request
  // in messages. Retries what is worth retrying (see the design note).
  Result<nlohmann::json> Post(const std::string& path, const std::string& body,
                              const std::string& what);

  const std::string url_;
  std::unique_ptr<httplib::Client> client_;
};

// Every series SHOW TIMESERIES `pattern` lists, with its type's name, a page
// of row_limit - 1 at a time (a page never reaches the row limit); `each` is
// called per series.
Status ListSeries(
    IotdbRest& rest, const std::string& pattern, int64_t row_limit,
    const std::function<Status(const std::string& path, const std::string& type_name)>& each);

// The type named `type_name` of series `path`, or InvalidArgument naming
// both when cutover does not know it.
Result<IotdbType> SeriesType(const IotdbRest& rest, const std::string& path,
                             const std::string& type_name);

// `text` as an IoTDB SQL string literal: in single quotes, inner ones doubled.
std::string SqlString(std::string_view text);

}  // namespace cutover::iotdb_store
