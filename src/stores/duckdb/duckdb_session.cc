// DuckSession: opening, forking and querying an in-memory DuckDB through its
// C API, with errors as Status values carrying DuckDB's message.
#include "stores/duckdb/duckdb_session.h"

#include <duckdb.h>

#include <string>

namespace cutover::duckdb_store {

struct DuckSession::Database {
  duckdb_database handle = nullptr;
  ~Database() {
    if (handle != nullptr) duckdb_close(&handle);
  }
};

DuckSession::DuckSession(std::shared_ptr<Database> db, _duckdb_connection* connection)
    : db_(std::move(db)), connection_(connection) {}

DuckSession::~DuckSession() {
  if (connection_ != nullptr) {
    duckdb_connection c = connection_;
    duckdb_disconnect(&c);
  }
}

Result<std::unique_ptr<DuckSession>> DuckSession::Open(const Options& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    return Internal("DuckDB: cannot allocate a configuration");
  }
  // Never write state beside the user's data, and never load extensions
  // from the network behind the user's back.
  bool ok = duckdb_set_config(config, "autoinstall_known_extensions", "false") == DuckDBSuccess &&
            duckdb_set_config(config, "autoload_known_extensions", "true") == DuckDBSuccess;
  // DuckDB keeps the file blocks it reads in its buffer pool by default (up to
  // its memory limit, most of the machine's memory); a backfill reads each
  // block once, so the cache only made memory grow with the source's size.
  ok = ok && duckdb_set_config(config, "enable_external_file_cache", "false") == DuckDBSuccess;
  // DuckDB's allocator keeps freed memory for reuse unless told to give it
  // back; the ranking of repeated keys frees a lot just before the load.
  ok = ok && duckdb_set_config(config, "allocator_flush_threshold", "16MB") == DuckDBSuccess &&
       duckdb_set_config(config, "allocator_background_threads", "true") == DuckDBSuccess;
  if (ok && options.threads > 0) {
    ok = duckdb_set_config(config, "threads", std::to_string(options.threads).c_str()) ==
         DuckDBSuccess;
  }
  if (!ok) {
    duckdb_destroy_config(&config);
    return Internal("DuckDB: cannot set the session configuration");
  }
  auto db = std::make_shared<Database>();
  char* error = nullptr;
  const duckdb_state state =
      duckdb_open_ext(options.database_file.empty() ? nullptr : options.database_file.c_str(),
                      &db->handle, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    std::string message = error != nullptr ? error : "unknown error";
    duckdb_free(error);
    db->handle = nullptr;
    return Internal("DuckDB: cannot open an in-memory database: " + message);
  }
  duckdb_connection connection = nullptr;
  if (duckdb_connect(db->handle, &connection) == DuckDBError) {
    return Internal("DuckDB: cannot connect to the in-memory database");
  }
  return std::unique_ptr<DuckSession>(new DuckSession(std::move(db), connection));
}

Result<std::unique_ptr<DuckSession>> DuckSession::Fork() const {
  duckdb_connection connection = nullptr;
  if (duckdb_connect(db_->handle, &connection) == DuckDBError) {
    return Internal("DuckDB: cannot open another connection");
  }
  return std::unique_ptr<DuckSession>(new DuckSession(db_, connection));
}

Status DuckSession::Execute(const std::string& sql, std::string_view what) {
  duckdb_result result;
  const duckdb_state state = duckdb_query(connection_, sql.c_str(), &result);
  Status st;
  if (state == DuckDBError) {
    const char* error = duckdb_result_error(&result);
    st = IoError(std::string(what) + ": " + (error != nullptr ? error : "DuckDB query failed"));
  }
  duckdb_destroy_result(&result);
  return st;
}

Result<TextRows> DuckSession::QueryText(const std::string& sql, std::string_view what) {
  duckdb_result result;
  if (duckdb_query(connection_, sql.c_str(), &result) == DuckDBError) {
    const char* error = duckdb_result_error(&result);
    Status st =
        IoError(std::string(what) + ": " + (error != nullptr ? error : "DuckDB query failed"));
    duckdb_destroy_result(&result);
    return st;
  }
  TextRows rows;
  const idx_t columns = duckdb_column_count(&result);
  const idx_t count = duckdb_row_count(&result);
  rows.reserve(count);
  for (idx_t r = 0; r < count; ++r) {
    std::vector<std::optional<std::string>> row(columns);
    for (idx_t c = 0; c < columns; ++c) {
      if (duckdb_value_is_null(&result, c, r)) continue;
      char* text = duckdb_value_varchar(&result, c, r);
      row[c] = text != nullptr ? std::string(text) : std::string();
      duckdb_free(text);
    }
    rows.push_back(std::move(row));
  }
  duckdb_destroy_result(&result);
  return rows;
}

std::string SqlLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  out += '\'';
  return out;
}

std::string SqlIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  out += '"';
  return out;
}

}  // namespace cutover::duckdb_store
