// IotdbRest: IoTDB's REST API v2 over cpp-httplib, its codes made Status.
#include "stores/iotdb/iotdb_rest.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <thread>

namespace cutover::iotdb_store {
namespace {

constexpr int kAttempts = 3;

// At most this much of a statement in a message: a tablet's SQL can be long.
std::string Brief(std::string_view text) {
  constexpr size_t kMax = 160;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

// The Status of an IoTDB status code other than 200.
Status FromCode(int64_t code, const std::string& message, const std::string& where,
                const std::string& what) {
  const std::string text =
      fmt::format("{}: {} failed: IoTDB code {} ({})", where, what, code, message);
  switch (code) {
    case 800:
    case 801:
      return PermissionDenied(text + "; check the source's user and password");
    case 803:
      return PermissionDenied(text + "; the user lacks the privilege for this statement");
    case 708:
      return FailedPrecondition(
          text +
          "; the server's rest_query_default_row_size_limit is lower than the source's "
          "row_limit: set row_limit to it");
    case 305:
      return Unavailable(text);
    case 500:
    case 508:
      return NotFound(text);
    default:
      return InvalidArgument(text);
  }
}

// A request body; a string that is not UTF-8 has no JSON form.
Result<std::string> Body(const nlohmann::json& body, const std::string& where) {
  try {
    return body.dump();
  } catch (const nlohmann::json::type_error& e) {
    return InvalidArgument(where + ": a request holds text that is not UTF-8: " + e.what());
  }
}

std::vector<std::string> StringColumn(const nlohmann::json& values, size_t column) {
  std::vector<std::string> out;
  if (!values.is_array() || column >= values.size() || !values[column].is_array()) return out;
  for (const auto& v : values[column]) out.push_back(v.is_string() ? v.get<std::string>() : "");
  return out;
}

// Index of a column named `name` (case-insensitive: IoTDB versions differ).
std::optional<size_t> ColumnIndex(const nlohmann::json& names, std::string_view name) {
  if (!names.is_array()) return std::nullopt;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string()) continue;
    const std::string& n = names[i].get_ref<const std::string&>();
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      return i;
    }
  }
  return std::nullopt;
}

}  // namespace

Status ListSeries(
    IotdbRest& rest, const std::string& pattern, int64_t row_limit,
    const std::function<Status(const std::string& path, const std::string& type_name)>& each) {
  const int64_t page = row_limit - 1;
  for (int64_t offset = 0;; offset += page) {
    ASSIGN_OR_RETURN(
        const nlohmann::json data,
        rest.Query(fmt::format("SHOW TIMESERIES {} LIMIT {} OFFSET {}", pattern, page, offset),
                   row_limit));
    static const nlohmann::json kNoNames;
    auto column_names = data.find("column_names");
    auto expressions = data.find("expressions");
    const nlohmann::json& names = column_names != data.end() && !column_names->is_null()
                                      ? *column_names
                                  : expressions != data.end() ? *expressions
                                                              : kNoNames;
    const auto path_at = ColumnIndex(names, "Timeseries");
    const auto type_at = ColumnIndex(names, "DataType");
    if (!path_at || !type_at) {
      return Internal(rest.where() +
                      ": SHOW TIMESERIES answered no Timeseries and DataType columns");
    }
    static const nlohmann::json kNone;
    auto values_at = data.find("values");
    const nlohmann::json& values = values_at == data.end() ? kNone : *values_at;
    const std::vector<std::string> paths = StringColumn(values, *path_at);
    const std::vector<std::string> types = StringColumn(values, *type_at);
    for (size_t i = 0; i < paths.size() && i < types.size(); ++i) {
      RETURN_IF_ERROR(each(paths[i], types[i]));
    }
    if (static_cast<int64_t>(paths.size()) < page) return Status::Ok();
  }
}

Result<IotdbType> SeriesType(const IotdbRest& rest, const std::string& path,
                             const std::string& type_name) {
  const std::optional<IotdbType> type = ParseIotdbType(type_name);
  if (!type) {
    return InvalidArgument(fmt::format("{}: series {} has type '{}', which cutover does not know",
                                       rest.where(), path, type_name));
  }
  return *type;
}

std::string SqlString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  out += '\'';
  return out;
}

IotdbRest::IotdbRest(std::string url, std::string user, std::string password)
    : url_(std::move(url)), client_(std::make_unique<httplib::Client>(url_)) {
  client_->set_basic_auth(user, password);
  client_->set_connection_timeout(std::chrono::seconds(5));
  client_->set_read_timeout(std::chrono::seconds(120));
  client_->set_keep_alive(true);
  // A request goes out as headers then body: without TCP_NODELAY the body
  // waits for the server's delayed ACK on a kept-alive connection.
  client_->set_tcp_nodelay(true);
}

IotdbRest::~IotdbRest() = default;

Status IotdbRest::Ping() {
  httplib::Result res = client_->Get("/ping");
  if (!res) {
    return Unavailable(fmt::format("{}: cannot reach the REST service: {}", where(),
                                   httplib::to_string(res.error())));
  }
  if (res->status != 200) {
    return Unavailable(
        fmt::format("{}: /ping answered HTTP {}: {}", where(), res->status, Brief(res->body)));
  }
  return Status::Ok();
}

Result<nlohmann::json> IotdbRest::Post(const std::string& path, const std::string& body,
                                       const std::string& what) {
  Status last;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(100 << (2 * attempt)));
    httplib::Result res = client_->Post(path, body, "application/json");
    if (!res) {
      last = Unavailable(fmt::format("{}: {}: cannot reach the REST service: {}", where(), what,
                                     httplib::to_string(res.error())));
      continue;
    }
    nlohmann::json reply = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    const bool coded = reply.is_object() && reply.contains("code") && reply["code"].is_number();
    if (res->status >= 500) {
      last = Unavailable(
          fmt::format("{}: {} answered HTTP {}: {}", where(), what, res->status, Brief(res->body)));
      continue;
    }
    if (res->status == 401 || res->status == 403) {
      return PermissionDenied(fmt::format(
          "{}: the REST service refused the login (HTTP {}{}); check the source's user and "
          "password",
          where(), res->status,
          coded ? fmt::format(", IoTDB code {} {}", reply["code"].get<int64_t>(),
                              reply.value("message", ""))
                : ""));
    }
    if (res->status != 200) {
      return InvalidArgument(
          fmt::format("{}: {} answered HTTP {}: {}", where(), what, res->status, Brief(res->body)));
    }
    if (reply.is_discarded()) {
      return Internal(fmt::format("{}: {} answered something that is not JSON: {}", where(), what,
                                  Brief(res->body)));
    }
    if (coded && reply["code"].get<int64_t>() != 200) {
      Status st = FromCode(reply["code"].get<int64_t>(), reply.value("message", ""), where(), what);
      if (st.code() == StatusCode::kUnavailable) {
        last = st;
        continue;
      }
      return st;
    }
    return reply;
  }
  return last.WithContext(fmt::format("after {} attempts", kAttempts));
}

Result<nlohmann::json> IotdbRest::Query(const std::string& sql, int64_t row_limit) {
  ASSIGN_OR_RETURN(const std::string body, Body({{"sql", sql}, {"row_limit", row_limit}}, where()));
  return Post("/rest/v2/query", body, "query '" + Brief(sql) + "'");
}

Status IotdbRest::NonQuery(const std::string& sql) {
  ASSIGN_OR_RETURN(const std::string body, Body({{"sql", sql}}, where()));
  return Post("/rest/v2/nonQuery", body, "statement '" + Brief(sql) + "'").status();
}

Status IotdbRest::InsertTablet(const nlohmann::json& tablet) {
  ASSIGN_OR_RETURN(const std::string body, Body(tablet, where()));
  return Post("/rest/v2/insertTablet", body,
              "insertTablet into " + tablet.value("device", std::string("?")))
      .status();
}

}  // namespace cutover::iotdb_store
