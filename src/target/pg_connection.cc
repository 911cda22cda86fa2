#include "target/pg_connection.h"

#include <libpq-fe.h>

#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"

namespace cutover::target {
namespace {

constexpr size_t kCopyChunkBytes = 1 << 20;

std::string TrimMessage(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return RedactSecrets(m);
}

// SQLSTATE classes that mean the server or the link failed, not the data:
// 08 connection exceptions, 57P01-03 shutdown/crash, 53300 too many clients.
bool IsUnreachable(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
         sqlstate == "57P03" || sqlstate == "53300";
}

Status StatusFromResult(PGconn* conn, PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = TrimMessage(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (message.empty()) message = TrimMessage(PQerrorMessage(conn));
  StatusCode code;
  if (PQstatus(conn) == CONNECTION_BAD || IsUnreachable(sqlstate)) {
    code = StatusCode::kUnavailable;
  } else if (sqlstate.starts_with("22") || sqlstate.starts_with("23")) {
    code = StatusCode::kDataError;  // data exception or integrity violation
  } else if (sqlstate.empty()) {
    code = StatusCode::kInternal;
  } else {
    code = StatusCode::kFailedPrecondition;
  }
  Status s(code, sqlstate.empty() ? message : fmt::format("{} (SQLSTATE {})", message, sqlstate));
  s.WithSqlstate(sqlstate);
  return s;
}

struct ResultGuard {
  PGresult* res;
  ~ResultGuard() { PQclear(res); }
};

}  // namespace

PgConnection::~PgConnection() {
  PQfinish(conn_);
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  const char* keys[] = {"dbname", "application_name", "options", "connect_timeout", nullptr};
  const char* values[] = {url.c_str(), "cutover",
                          "-c TimeZone=UTC -c extra_float_digits=3 -c client_encoding=UTF8 "
                          "-c client_min_messages=warning",
                          "10", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = TrimMessage(PQerrorMessage(conn));
    PQfinish(conn);
    return Unavailable(
        fmt::format("cannot connect to PostgreSQL at {}: {}", RedactSecrets(url), message));
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

Result<std::unique_ptr<PgConnection>> PgConnection::ConnectWithRetry(const std::string& url,
                                                                     int attempts) {
  std::mt19937 rng(std::random_device{}());
  std::chrono::milliseconds delay(100);
  for (int attempt = 1;; ++attempt) {
    auto conn = Connect(url);
    if (conn.ok() || conn.status().code() != StatusCode::kUnavailable || attempt >= attempts) {
      return conn;
    }
    auto jittered = std::chrono::milliseconds(
        std::uniform_int_distribution<long>(delay.count() / 2, delay.count())(rng));
    spdlog::warn("{} (attempt {}/{}, retrying in {} ms)", conn.status().message(), attempt,
                 attempts, jittered.count());
    std::this_thread::sleep_for(jittered);
    delay = std::min(delay * 2, std::chrono::milliseconds(10000));
  }
}

Status PgConnection::Exec(std::string_view sql) {
  ResultGuard r{PQexec(conn_, std::string(sql).c_str())};
  auto st = PQresultStatus(r.res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return StatusFromResult(conn_, r.res);
}

Result<int64_t> PgConnection::ExecCount(std::string_view sql) {
  ResultGuard r{PQexec(conn_, std::string(sql).c_str())};
  auto st = PQresultStatus(r.res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return StatusFromResult(conn_, r.res);
  const char* n = PQcmdTuples(r.res);
  return static_cast<int64_t>(n && *n ? std::atoll(n) : 0);
}

Result<QueryResult> PgConnection::Query(std::string_view sql,
                                        const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  ResultGuard r{PQexecParams(conn_, std::string(sql).c_str(), static_cast<int>(params.size()),
                             nullptr, values.data(), nullptr, nullptr, 0)};
  auto st = PQresultStatus(r.res);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return StatusFromResult(conn_, r.res);
  QueryResult out;
  int ncols = PQnfields(r.res);
  int nrows = PQntuples(r.res);
  for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(r.res, c));
  out.rows.resize(nrows);
  for (int i = 0; i < nrows; ++i) {
    out.rows[i].reserve(ncols);
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(r.res, i, c)) {
        out.rows[i].emplace_back(std::nullopt);
      } else {
        out.rows[i].emplace_back(std::string(PQgetvalue(r.res, i, c), PQgetlength(r.res, i, c)));
      }
    }
  }
  return out;
}

Result<std::optional<std::string>> PgConnection::QueryValue(
    std::string_view sql, const std::vector<std::string>& params) {
  ASSIGN_OR_RETURN(QueryResult result, Query(sql, params));
  if (result.rows.empty() || result.rows[0].empty()) return std::optional<std::string>();
  return result.rows[0][0];
}

Status PgConnection::CopyIn(std::string_view copy_sql, std::string_view data) {
  {
    ResultGuard r{PQexec(conn_, std::string(copy_sql).c_str())};
    if (PQresultStatus(r.res) != PGRES_COPY_IN) return StatusFromResult(conn_, r.res);
  }
  for (size_t off = 0; off < data.size(); off += kCopyChunkBytes) {
    size_t n = std::min(kCopyChunkBytes, data.size() - off);
    if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1) {
      return Unavailable("COPY: sending data failed: " + TrimMessage(PQerrorMessage(conn_)));
    }
  }
  if (PQputCopyEnd(conn_, nullptr) != 1) {
    return Unavailable("COPY: finishing failed: " + TrimMessage(PQerrorMessage(conn_)));
  }
  Status status;
  while (PGresult* res = PQgetResult(conn_)) {
    ResultGuard r{res};
    if (PQresultStatus(res) != PGRES_COMMAND_OK && status.ok()) {
      status = StatusFromResult(conn_, res);
    }
  }
  return status;
}

Status PgConnection::CopyOut(std::string_view copy_sql,
                             const std::function<Status(std::string_view row)>& on_row) {
  {
    ResultGuard r{PQexec(conn_, std::string(copy_sql).c_str())};
    if (PQresultStatus(r.res) != PGRES_COPY_OUT) return StatusFromResult(conn_, r.res);
  }
  Status status;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(conn_, &buf, 0);
    if (n == -1) break;  // done; the final result follows
    if (n == -2) {
      return Unavailable("COPY: reading data failed: " + TrimMessage(PQerrorMessage(conn_)));
    }
    // Keep draining after a callback error so the connection stays usable.
    if (status.ok()) status = on_row(std::string_view(buf, n));
    PQfreemem(buf);
  }
  while (PGresult* res = PQgetResult(conn_)) {
    ResultGuard r{res};
    if (PQresultStatus(res) != PGRES_COMMAND_OK && status.ok()) {
      status = StatusFromResult(conn_, res);
    }
  }
  return status;
}

bool PgConnection::IsHealthy() const {
  return PQstatus(conn_) == CONNECTION_OK;
}

int PgConnection::server_version() const {
  return PQserverVersion(conn_);
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QualifiedName(std::string_view schema, std::string_view table) {
  return QuoteIdent(schema) + "." + QuoteIdent(table);
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

}  // namespace cutover::target
