// ParquetFileReplacer: rows appended to a DuckDB table beside the target,
// copied to Parquet at Commit, the copy renamed over the old file.
#include "stores/duckdb/parquet_file_replacer.h"

#include <duckdb.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "common/atomic_file.h"
#include "common/failpoint.h"
#include "common/value_text.h"
#include "stores/duckdb/duckdb_session.h"

namespace cutover::duckdb_store {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kPgToUnixDays = 10957;

std::string Beside(const std::string& path, const std::string& suffix) {
  const fs::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + suffix)).string();
}

// The DuckDB type a column of `type` gets in a file that did not exist.
std::string DuckType(ValueType type) {
  switch (type) {
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kFloat64:
      return "DOUBLE";
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kDate:
      return "DATE";
    case ValueType::kTimestamptz:
      return "TIMESTAMP WITH TIME ZONE";
    case ValueType::kBytes:
    case ValueType::kGeometry:
      return "BLOB";
    default:
      return "VARCHAR";
  }
}

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(path + ".wal", ec);
}

}  // namespace

// The table being filled, with its appender and which row column feeds each
// table column (-1: none, NULL).
struct ParquetFileReplacer::Table {
  duckdb_appender appender = nullptr;
  std::vector<std::string> names;
  std::vector<int> from;
  ~Table() {
    if (appender != nullptr) duckdb_appender_destroy(&appender);
  }
};

ParquetFileReplacer::ParquetFileReplacer(std::string path) : path_(std::move(path)) {}
ParquetFileReplacer::~ParquetFileReplacer() {
  Abort();
}

Status ParquetFileReplacer::Begin() {
  Abort();
  ASSIGN_OR_RETURN(FileLock lock,
                   FileLock::Acquire(Beside(path_, ".cutover-lock"), "the Parquet file " + path_));
  lock_.emplace(std::move(lock));
  const std::string db = Beside(path_, ".cutover-tmp.duckdb");
  RemoveQuietly(db);
  RemoveQuietly(Beside(path_, ".cutover-tmp"));
  ASSIGN_OR_RETURN(session_, DuckSession::Open({.threads = 1, .database_file = db}));
  RETURN_IF_ERROR(session_->Execute("SET TimeZone = 'UTC'; SET preserve_insertion_order = true",
                                    "preparing to write " + path_));
  file_names_.clear();
  file_types_.clear();
  std::error_code ec;
  if (fs::exists(path_, ec)) {
    ASSIGN_OR_RETURN(
        const TextRows schema,
        session_->QueryText("DESCRIBE SELECT * FROM read_parquet(" + SqlLiteral(path_) + ")",
                            "reading the columns of " + path_));
    for (const auto& row : schema) {
      file_names_.push_back(row[0].value_or(""));
      file_types_.push_back(row[1].value_or("VARCHAR"));
    }
  }
  return Status::Ok();
}

Status ParquetFileReplacer::CreateTable(const RowBatch& rows) {
  table_ = std::make_unique<Table>();
  std::vector<std::string> names = file_names_, types = file_types_;
  if (names.empty()) {
    for (size_t c = 0; c < rows.columns.size(); ++c) {
      names.push_back(rows.names[c]);
      types.push_back(DuckType(rows.columns[c].type()));
    }
  }
  for (size_t c = 0; c < rows.columns.size(); ++c) {
    if (std::find(names.begin(), names.end(), rows.names[c]) == names.end()) {
      return DataError(
          fmt::format("{} has no column '{}' to write a row's value into", path_, rows.names[c]));
    }
  }
  std::string columns;
  for (size_t c = 0; c < names.size(); ++c) {
    columns += fmt::format("{}{} {}", c > 0 ? ", " : "", SqlIdentifier(names[c]), types[c]);
    table_->names.push_back(names[c]);
    table_->from.push_back(rows.IndexOf(names[c]));
    // An instant has one spelling in a column with a zone; a wall clock
    // without one would need the zone the spec read it in.
    const int at = table_->from.back();
    if (at >= 0 && rows.columns[static_cast<size_t>(at)].type() == ValueType::kTimestamptz &&
        types[c] != "TIMESTAMP WITH TIME ZONE") {
      return FailedPrecondition(fmt::format(
          "{}: column '{}' is {} in the file; instants are written back only into TIMESTAMP WITH "
          "TIME ZONE columns yet, and the file is left as it was",
          path_, names[c], types[c]));
    }
  }
  RETURN_IF_ERROR(
      session_->Execute("CREATE OR REPLACE TABLE rows (" + columns + ")", "writing " + path_));
  if (duckdb_appender_create(session_->raw(), nullptr, "rows", &table_->appender) == DuckDBError) {
    const char* error = duckdb_appender_error(table_->appender);
    return IoError("writing " + path_ + ": " + (error != nullptr ? error : "cannot append"));
  }
  return Status::Ok();
}

Status ParquetFileReplacer::Append(const store::RecordKey& key, const RowBatch& rows, size_t row) {
  (void)key;  // a Parquet file's rows carry their keys in their columns
  if (session_ == nullptr) return Internal("ParquetFileReplacer::Append before Begin");
  if (table_ == nullptr) RETURN_IF_ERROR(CreateTable(rows));
  duckdb_appender a = table_->appender;
  for (size_t c = 0; c < table_->from.size(); ++c) {
    const int at = table_->from[c];
    duckdb_state st = DuckDBSuccess;
    if (at < 0 || rows.columns[static_cast<size_t>(at)].IsNull(row)) {
      st = duckdb_append_null(a);
    } else {
      const Column& col = rows.columns[static_cast<size_t>(at)];
      switch (col.type()) {
        case ValueType::kInt32:
        case ValueType::kInt64:
          st = duckdb_append_int64(a, col.IntAt(row));
          break;
        case ValueType::kFloat64:
          st = duckdb_append_double(a, col.FloatAt(row));
          break;
        case ValueType::kBool:
          st = duckdb_append_bool(a, col.BoolAt(row));
          break;
        case ValueType::kDate:
          st = duckdb_append_date(
              a, duckdb_date{static_cast<int32_t>(col.IntAt(row)) + kPgToUnixDays});
          break;
        case ValueType::kTimestamptz: {
          // As text with its offset, so DuckDB places the instant the same
          // whether the file's column has a zone or not (UTC, as set).
          const std::string text = FormatTimestamptz(col.IntAt(row));
          st = duckdb_append_varchar_length(a, text.data(), text.size());
          break;
        }
        case ValueType::kUuid: {
          const std::string text = ValueText(col, row);
          st = duckdb_append_varchar_length(a, text.data(), text.size());
          break;
        }
        case ValueType::kBytes:
        case ValueType::kGeometry: {
          const std::string_view b = col.BytesAt(row);
          st = duckdb_append_blob(a, b.data(), b.size());
          break;
        }
        default: {
          const std::string_view text = col.BytesAt(row);
          st = duckdb_append_varchar_length(a, text.data(), text.size());
        }
      }
    }
    if (st == DuckDBError) {
      const char* error = duckdb_appender_error(a);
      return DataError(fmt::format("writing column '{}' of {}: {}", table_->names[c], path_,
                                   error != nullptr ? error : "the value does not fit"));
    }
  }
  if (duckdb_appender_end_row(a) == DuckDBError) {
    const char* error = duckdb_appender_error(a);
    return IoError("writing " + path_ + ": " + (error != nullptr ? error : "cannot append"));
  }
  return Status::Ok();
}

Status ParquetFileReplacer::Commit() {
  if (session_ == nullptr) return Internal("ParquetFileReplacer::Commit before Begin");
  if (table_ == nullptr) {
    // No row: a file with the old columns and none of its rows.
    RowBatch none;
    if (file_names_.empty()) {
      return FailedPrecondition(path_ + ": no row to write, and no old file to take columns from");
    }
    RETURN_IF_ERROR(CreateTable(none));
  }
  if (duckdb_appender_destroy(&table_->appender) == DuckDBError) {
    return IoError("writing " + path_ + ": the last rows could not be appended");
  }
  table_->appender = nullptr;
  const std::string tmp = Beside(path_, ".cutover-tmp");
  RETURN_IF_ERROR(
      session_->Execute("COPY rows TO " + SqlLiteral(tmp) + " (FORMAT parquet)", "writing " + tmp));
  FailPoint("parquet_replacer.before_commit");
  RETURN_IF_ERROR(SyncFile(tmp));
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    return IoError("cannot rename " + tmp + " to " + path_);
  }
  const fs::path folder = fs::path(path_).parent_path();
  RETURN_IF_ERROR(SyncDirectory(folder.empty() ? "." : folder.string()));
  Abort();  // the temporary database goes; the lock is let go
  return Status::Ok();
}

void ParquetFileReplacer::Abort() {
  table_.reset();
  session_.reset();
  RemoveQuietly(Beside(path_, ".cutover-tmp.duckdb"));
  RemoveQuietly(Beside(path_, ".cutover-tmp"));
  lock_.reset();
}

}  // namespace cutover::duckdb_store
