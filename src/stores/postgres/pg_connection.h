// One libpq connection with cutover's error rules: "cannot reach PostgreSQL"
// (kUnavailable, retry) is told apart from "PostgreSQL refused" (SQLSTATE kept).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pg_conn;

namespace cutover::pg_store {

// Rows of a text-format result; nullopt is SQL NULL.
struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Owns a PGconn. Sessions run with client_encoding UTF8, TimeZone UTC and
// extra_float_digits 3, so that text results are exact and comparable.
// Not thread-safe: one connection per thread.
class PgConnection {
 public:
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // kUnavailable when the server cannot be reached or cannot take the
  // session yet (down, starting, shutting down, out of slots): a later
  // attempt may succeed. kFailedPrecondition when it refused the session for
  // good (a bad URL, authentication, no such role or database, no access).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  // Retries kUnavailable with backoff and jitter for up to `retry_for`
  // (stores/postgres/retry.h); any other failure is returned at once.
  static Result<std::unique_ptr<PgConnection>> ConnectWithRetry(
      const std::string& url, std::chrono::milliseconds retry_for = std::chrono::seconds(60));

  Status Exec(std::string_view sql);
  // Runs a command and returns the rows it affected (INSERT, UPDATE, DELETE).
  Result<int64_t> ExecCount(std::string_view sql);
  Result<QueryResult> Query(std::string_view sql, const std::vector<std::string>& params = {});
  // First column of the first row, or nullopt when there is no row or it is NULL.
  Result<std::optional<std::string>> QueryValue(std::string_view sql,
                                                const std::vector<std::string>& params = {});

  // Runs `copy_sql` (a COPY ... FROM STDIN) and sends `data` in chunks.
  Status CopyIn(std::string_view copy_sql, std::string_view data);
  // Runs `copy_sql` (a COPY ... TO STDOUT) and hands each data row to `on_row`.
  Status CopyOut(std::string_view copy_sql,
                 const std::function<Status(std::string_view row)>& on_row);

  // LISTEN on `channel`; notifications then arrive with ConsumeNotifications.
  Status Listen(std::string_view channel);
  // The socket to poll for input while waiting for notifications; -1 when
  // the connection is gone.
  int socket() const;
  // Reads what the server sent and returns the payloads of the notifications
  // received since the last call (possibly none). kUnavailable when the
  // connection was lost.
  Result<std::vector<std::string>> ConsumeNotifications();

  bool IsHealthy() const;
  // True while a transaction block is open on the connection (or failed and
  // not yet rolled back).
  bool InTransaction() const;
  int server_version() const;

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

// "name" with embedded quotes doubled; PostgreSQL identifiers are always quoted.
std::string QuoteIdent(std::string_view name);
// "schema"."table"
std::string QualifiedName(std::string_view schema, std::string_view table);
// 'text' with embedded quotes doubled, for the few literals built in SQL text.
std::string QuoteLiteral(std::string_view text);

}  // namespace cutover::pg_store
