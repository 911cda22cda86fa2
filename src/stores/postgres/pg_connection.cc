#include "stores/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"
#include "stores/postgres/retry.h"

namespace cutover::pg_store {
namespace {

constexpr size_t kCopyChunkBytes = 1 << 20;

std::string TrimMessage(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return RedactSecrets(m);
}

// SQLSTATE classes that mean the server or the link failed, not the data:
// 08 connection exceptions, 57P01-03 shutdown/crash, 53300 too many clients.
// Not 08P01 (protocol violation): the server is up and refused what it was
// sent (a binary COPY value of the wrong size, say), and would again.
bool IsUnreachable(std::string_view sqlstate) {
  return (sqlstate.starts_with("08") && sqlstate != "08P01") || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300";
}

// libpq reports a failed login only as text. These refusals come back the
// same on every attempt (28xxx, 3D000, 42501, or a URL libpq cannot use);
// anything else (refused, timed out, starting up, shutting down, too many
// clients) may pass, and is retried.
bool IsPermanentLoginFailure(std::string_view message) {
  for (std::string_view marker :
       {"authentication failed", "no pg_hba.conf entry", "does not exist", "no password supplied",
        "password is required", "is not permitted to log in", "permission denied",
        "could not translate host name", "SSL was required", "invalid ", "unsupported "}) {
    if (message.find(marker) != std::string_view::npos &&
        message.find("Temporary failure") == std::string_view::npos) {
      return true;
    }
  }
  return false;
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
    Status refused(
        IsPermanentLoginFailure(message) ? StatusCode::kFailedPrecondition
                                         : StatusCode::kUnavailable,
        fmt::format("cannot connect to PostgreSQL at {}: {}", RedactSecrets(url), message));
    return refused;
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

Result<std::unique_ptr<PgConnection>> PgConnection::ConnectWithRetry(
    const std::string& url, std::chrono::milliseconds retry_for) {
  RetryBudget budget(retry_for);
  for (;;) {
    auto conn = Connect(url);
    if (conn.ok()) return conn;
    Status final;
    if (!budget.Again(conn.status(), "connecting", &final)) return final;
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

Status PgConnection::Listen(std::string_view channel) {
  return Exec("LISTEN " + QuoteIdent(channel));
}

int PgConnection::socket() const {
  return PQsocket(conn_);
}

Result<std::vector<std::string>> PgConnection::ConsumeNotifications() {
  if (PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable("lost the connection while waiting for notifications: " +
                       std::string(PQerrorMessage(conn_)));
  }
  std::vector<std::string> payloads;
  while (PGnotify* note = PQnotifies(conn_)) {
    payloads.emplace_back(note->extra != nullptr ? note->extra : "");
    PQfreemem(note);
  }
  return payloads;
}

bool PgConnection::IsHealthy() const {
  return PQstatus(conn_) == CONNECTION_OK;
}

bool PgConnection::InTransaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
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

}  // namespace cutover::pg_store
