// DuckSession: one connection to a DuckDB database (in memory, or a file),
// DuckDB error turned into a Status that says what was being done.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

// DuckDB's connection handle (duckdb.h: `typedef struct _duckdb_connection
// {...} *duckdb_connection`), declared here so that this header does not pull
// duckdb.h into code outside src/source.
struct _duckdb_connection;

namespace cutover::duckdb_store {

// Rows of a small result, each value as DuckDB's own text; nullopt is NULL.
using TextRows = std::vector<std::vector<std::optional<std::string>>>;

// A session is a connection to a database that sessions forked from it
// share (the database closes with the last of them). A session is used by one
// thread at a time; Fork() gives another thread its own session on the same
// data. Results never outlive the call that produced them, except through
// raw() in the readers of this folder.
class DuckSession {
 public:
  struct Options {
    // DuckDB worker threads; 0 = DuckDB's default (one per core).
    int threads = 0;
    // A database file (created if missing), for tables larger than memory;
    // empty: in memory.
    std::string database_file{};
  };

  static Result<std::unique_ptr<DuckSession>> Open(const Options& options);
  static Result<std::unique_ptr<DuckSession>> Open() { return Open(Options{}); }
  ~DuckSession();
  DuckSession(const DuckSession&) = delete;
  DuckSession& operator=(const DuckSession&) = delete;

  // A new connection to the same database.
  Result<std::unique_ptr<DuckSession>> Fork() const;

  // Runs `sql` (one or more statements) and discards any rows. `what` names
  // the operation for the error ("writing f.parquet").
  Status Execute(const std::string& sql, std::string_view what);

  // Runs one statement and returns all its rows as text. For metadata-sized
  // results only: the whole result is held in memory.
  Result<TextRows> QueryText(const std::string& sql, std::string_view what);

  // The connection, for the streaming readers of this folder.
  _duckdb_connection* raw() const { return connection_; }

 private:
  struct Database;
  DuckSession(std::shared_ptr<Database> db, _duckdb_connection* connection);

  std::shared_ptr<Database> db_;
  _duckdb_connection* connection_ = nullptr;
};

// 'text' with quotes doubled: a SQL string literal.
std::string SqlLiteral(std::string_view text);
// "name" with quotes doubled: a SQL identifier.
std::string SqlIdentifier(std::string_view name);

}  // namespace cutover::duckdb_store
