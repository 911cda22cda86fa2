// ParquetArchive: JSON records cast to the directory's column types by DuckDB
// and written as new Parquet files; reads by key over every file.
#include "stores/duckdb/parquet_archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file_lock.h"
#include "common/group_commit.h"
#include "stores/duckdb/duckdb_chunk_reader.h"
#include "stores/duckdb/duckdb_session.h"
#include "stores/duckdb/file_set.h"
#include "stores/duckdb/relation_schema.h"
#include "stores/duckdb/vector_converter.h"

namespace cutover::duckdb_store {
namespace fs = std::filesystem;
using nlohmann::json;

// The archive of one directory ("ParquetArchive design" in the header).
// Thread-safe.
class ParquetArchive {
 public:
  // The process's archive of `dir`, made on first use. FailedPrecondition
  // when another process holds its lock, when it holds no Parquet file to
  // take the column types from, or when a column has a type JSON values
  // cannot be cast to (nested, binary).
  static Result<std::shared_ptr<ParquetArchive>> ForDirectory(const std::string& dir,
                                                              const ArchiveOptions& options);
  ~ParquetArchive();
  ParquetArchive(const ParquetArchive&) = delete;
  ParquetArchive& operator=(const ParquetArchive&) = delete;

  // Appends `records` (JSON objects; a missing member is NULL) in one new
  // file shared with whatever else is queued, and returns its version.
  // InvalidArgument naming the column when one of them is refused; then
  // none of them is written.
  Result<int64_t> Append(const std::vector<std::string>& records);

  ArchiveCounts counts() const { return {dir_, group_.writes(), group_.applied()}; }

 private:
  struct Prepared;
  using Group = GroupCommit<Prepared>;
  ParquetArchive(std::string dir, FileLock lock, std::unique_ptr<DuckSession> session,
                 std::vector<ColumnPlan> columns, const ArchiveOptions& options);
  // The leader's work: the group's records in one new file.
  void WriteFile(std::vector<Group::Member*>& group);
  Status WriteRows(const std::string& tuples, int64_t* version);

  const std::string dir_;
  const FileLock lock_;
  const std::unique_ptr<DuckSession> session_;  // the leader's alone
  const std::vector<ColumnPlan> columns_;
  int64_t last_version_ = 0;  // the leader's alone
  Group group_;
};

// One caller's records as VALUES tuples of text literals, in column order.
struct ParquetArchive::Prepared {
  std::vector<std::string> tuples;
};

namespace {

std::mutex registry_mu;
std::map<std::string, std::weak_ptr<ParquetArchive>>& Registry() {
  static auto* registry = new std::map<std::string, std::weak_ptr<ParquetArchive>>();
  return *registry;
}

std::string FileList(const std::vector<std::string>& files) {
  std::string list = "[";
  for (size_t i = 0; i < files.size(); ++i) list += (i > 0 ? ", " : "") + SqlLiteral(files[i]);
  return list + "]";
}

// The columns of every Parquet file of `dir` (their union by name).
Result<std::vector<ColumnPlan>> ArchiveColumns(DuckSession* session, const std::string& dir) {
  Result<std::vector<std::string>> files = ExpandFiles(session, dir, ".parquet");
  if (!files.ok()) {
    return FailedPrecondition(
        "the Parquet archive " + dir +
        " holds no Parquet file to take its column types from: " + files.status().message());
  }
  return DescribeRelation(session, "read_parquet(" + FileList(*files) + ", union_by_name = true)",
                          "the Parquet files of " + dir);
}

// A JSON value as the text DuckDB casts to the column's type; nullopt for
// null. Strings as they are, everything else as its JSON text (numbers keep
// the digits sent; an object or array casts to a JSON or VARCHAR column).
std::optional<std::string> CastText(const json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::strict);
}

std::string ColumnNames(const std::vector<ColumnPlan>& columns) {
  std::string names;
  for (const ColumnPlan& c : columns) names += (names.empty() ? "" : ", ") + c.name;
  return names;
}

// Refuses what DuckDB's cast would round rather than reject: a fraction
// into an integer column, more decimal places than a DECIMAL column keeps.
Status CheckNoRounding(const ColumnPlan& c, const std::string& text) {
  using K = NativeKind;
  const bool integer = c.kind == K::kInt8 || c.kind == K::kInt16 || c.kind == K::kInt32 ||
                       c.kind == K::kInt64 || c.kind == K::kUInt8 || c.kind == K::kUInt16 ||
                       c.kind == K::kUInt32 || c.kind == K::kUInt64 || c.kind == K::kHugeint ||
                       c.kind == K::kUHugeint;
  const bool decimal = c.kind == K::kDecimal16 || c.kind == K::kDecimal32 ||
                       c.kind == K::kDecimal64 || c.kind == K::kDecimal128;
  if (!integer && !decimal) return Status::Ok();
  const size_t exponent = text.find_first_of("eE");
  const size_t point = text.find('.');
  const size_t end = exponent == std::string::npos ? text.size() : exponent;
  size_t places = 0;
  if (point != std::string::npos && point < end) {
    // Trailing zeros lose nothing ("2.50" into one place, "7.0" into an integer).
    size_t last = end;
    while (last > point + 1 && text[last - 1] == '0') --last;
    places = last - point - 1;
  }
  const size_t allowed = integer ? 0 : c.scale;
  if (exponent != std::string::npos || places > allowed) {
    return InvalidArgument(fmt::format(
        "column '{}' ({}) would round {}: give a value with at most {} decimal place(s){}", c.name,
        c.native_type, text.substr(0, 64), allowed,
        decimal ? " (as a string to keep every digit)" : ""));
  }
  return Status::Ok();
}

// `record` as a VALUES tuple: a text literal or NULL per column.
Result<std::string> ValuesTuple(const std::vector<ColumnPlan>& columns, const std::string& record) {
  const json in = json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) {
    return InvalidArgument("a record of a Parquet archive is one JSON object of column values");
  }
  std::vector<std::optional<std::string>> values(columns.size());
  for (const auto& [name, v] : in.items()) {
    size_t c = 0;
    while (c < columns.size() && columns[c].name != name) ++c;
    if (c == columns.size()) {
      return InvalidArgument("the archive has no column '" + name.substr(0, 64) +
                             "'; its columns are " + ColumnNames(columns));
    }
    values[c] = CastText(v);
    if (values[c] && values[c]->find('\0') != std::string::npos) {
      return InvalidArgument("column '" + name + "': a value holds a NUL character");
    }
    if (values[c]) RETURN_IF_ERROR(CheckNoRounding(columns[c], *values[c]));
  }
  std::string tuple = "(";
  for (size_t c = 0; c < values.size(); ++c) {
    tuple += (c > 0 ? ", " : "") + (values[c] ? SqlLiteral(*values[c]) : std::string("NULL"));
  }
  return tuple + ")";
}

// Rows of `tuples` (a VALUES list) cast to the columns' types and names.
std::string TypedSelect(const std::vector<ColumnPlan>& columns, const std::string& tuples) {
  std::string select, names;
  for (size_t c = 0; c < columns.size(); ++c) {
    const std::string v = "v" + std::to_string(c);
    select += fmt::format("{}CAST({} AS {}) AS {}", c > 0 ? ", " : "", v, columns[c].native_type,
                          SqlIdentifier(columns[c].name));
    names += (c > 0 ? ", " : "") + v;
  }
  return "SELECT " + select + " FROM (VALUES " + tuples + ") AS t(" + names + ")";
}

Status SyncPath(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + path + " to sync it: " + std::strerror(errno));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return IoError("cannot fsync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

int64_t WallClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::shared_ptr<ParquetArchive>> ParquetArchive::ForDirectory(
    const std::string& dir, const ArchiveOptions& options) {
  std::error_code ec;
  std::string absolute = fs::absolute(dir, ec).lexically_normal().string();
  while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  std::lock_guard<std::mutex> lock(registry_mu);
  if (auto found = Registry()[absolute].lock()) return found;
  if (!fs::is_directory(absolute, ec)) {
    return FailedPrecondition("the Parquet archive " + absolute + " is not a directory");
  }
  ASSIGN_OR_RETURN(FileLock file_lock,
                   FileLock::Acquire((fs::path(absolute) / ".cutover-archive-lock").string(),
                                     "the Parquet archive " + absolute));
  ASSIGN_OR_RETURN(auto session, DuckSession::Open({.threads = 1}));
  ASSIGN_OR_RETURN(std::vector<ColumnPlan> columns, ArchiveColumns(session.get(), absolute));
  for (const ColumnPlan& c : columns) {
    if (c.wrap == ColumnPlan::Wrap::kToJson || c.kind == NativeKind::kBlob) {
      return FailedPrecondition("the Parquet archive " + absolute + " has column '" + c.name +
                                "' of type " + c.native_type +
                                ", which the gateway cannot write from JSON values");
    }
  }
  std::shared_ptr<ParquetArchive> made(new ParquetArchive(
      absolute, std::move(file_lock), std::move(session), std::move(columns), options));
  Registry()[absolute] = made;
  return made;
}

ParquetArchive::ParquetArchive(std::string dir, FileLock lock, std::unique_ptr<DuckSession> session,
                               std::vector<ColumnPlan> columns, const ArchiveOptions& options)
    : dir_(std::move(dir)),
      lock_(std::move(lock)),
      session_(std::move(session)),
      columns_(std::move(columns)),
      group_({.linger = options.flush_interval, .max_items = options.flush_rows}) {}

ParquetArchive::~ParquetArchive() = default;

Result<int64_t> ParquetArchive::Append(const std::vector<std::string>& records) {
  Prepared prepared;
  for (const std::string& record : records) {
    ASSIGN_OR_RETURN(std::string tuple, ValuesTuple(columns_, record));
    prepared.tuples.push_back(std::move(tuple));
  }
  return group_.Commit(prepared, records.size(),
                       [this](std::vector<Group::Member*>& group) { WriteFile(group); });
}

void ParquetArchive::WriteFile(std::vector<Group::Member*>& group) {
  std::vector<Group::Member*> staged;
  for (Group::Member* m : group) {
    if (!m->work->tuples.empty()) staged.push_back(m);
  }
  while (!staged.empty()) {
    std::string tuples;
    for (const Group::Member* m : staged) {
      for (const std::string& t : m->work->tuples) tuples += (tuples.empty() ? "" : ", ") + t;
    }
    int64_t version = 0;
    const Status written = WriteRows(tuples, &version);
    if (written.ok()) {
      for (Group::Member* m : staged) m->version = version;
      return;
    }
    // A value that does not cast fails its own caller; the others are
    // written without it. Any other failure fails the whole group.
    bool refused = false;
    for (size_t i = 0; i < staged.size();) {
      std::string own;
      for (const std::string& t : staged[i]->work->tuples) own += (own.empty() ? "" : ", ") + t;
      // The rows themselves, so that every cast runs (a count might not).
      Result<TextRows> cast = session_->QueryText(TypedSelect(columns_, own), "casting a record");
      if (cast.ok()) {
        ++i;
        continue;
      }
      staged[i]->status = InvalidArgument("a value does not fit its column of the archive " + dir_ +
                                          ": " + cast.status().message());
      staged.erase(staged.begin() + static_cast<std::ptrdiff_t>(i));
      refused = true;
    }
    if (!refused) {
      for (Group::Member* m : staged) m->status = written;
      return;
    }
  }
}

Status ParquetArchive::WriteRows(const std::string& tuples, int64_t* version) {
  const std::string stamp = fmt::format("{:016d}", std::max(WallClockMicros(), last_version_ + 1));
  const std::string tmp = (fs::path(dir_) / (".cutover-" + stamp + ".parquet.tmp")).string();
  const std::string final_path = (fs::path(dir_) / ("cutover-" + stamp + ".parquet")).string();
  Status st = session_->Execute(
      "COPY (" + TypedSelect(columns_, tuples) + ") TO " + SqlLiteral(tmp) + " (FORMAT parquet)",
      "writing " + tmp);
  if (st.ok()) st = SyncPath(tmp, O_RDONLY);
  if (st.ok() && std::rename(tmp.c_str(), final_path.c_str()) != 0) {
    st = IoError("cannot rename " + tmp + " to " + final_path + ": " + std::strerror(errno));
  }
  if (!st.ok()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return st;
  }
  RETURN_IF_ERROR(SyncPath(dir_, O_RDONLY | O_DIRECTORY));
  *version = NextWallClockVersion(&last_version_);
  return Status::Ok();
}

std::vector<ArchiveCounts> ArchiveWriteCounts() {
  std::vector<ArchiveCounts> out;
  std::lock_guard<std::mutex> lock(registry_mu);
  for (const auto& [dir, weak] : Registry()) {
    const std::shared_ptr<ParquetArchive> a = weak.lock();
    if (a != nullptr) out.push_back(a->counts());
  }
  return out;
}

std::string ArchiveKeyText(const RowBatch& rows, size_t row, const std::vector<int>& key_columns) {
  json parts = json::array();
  for (const int k : key_columns) {
    const Column& col = rows.columns[static_cast<size_t>(k)];
    if (col.IsNull(row)) {
      parts.push_back(nullptr);
      continue;
    }
    switch (col.type()) {
      case ValueType::kInt32:
      case ValueType::kInt64:
      case ValueType::kDate:
      case ValueType::kTimestamptz:
        parts.push_back(col.IntAt(row));
        break;
      case ValueType::kFloat64:
        parts.push_back(col.FloatAt(row));
        break;
      case ValueType::kBool:
        parts.push_back(col.BoolAt(row));
        break;
      default:
        parts.push_back(std::string(col.BytesAt(row)));
    }
  }
  return parts.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// A key's parts, one per key column: as given, or split at commas when one
// part stands for several columns.
Result<std::vector<std::string>> KeyParts(const store::RecordKey& key, size_t columns) {
  std::vector<std::string> parts = key;
  if (key.size() == 1 && columns > 1) {
    parts.clear();
    size_t start = 0;
    for (size_t comma; (comma = key[0].find(',', start)) != std::string::npos;) {
      parts.push_back(key[0].substr(start, comma - start));
      start = comma + 1;
    }
    parts.push_back(key[0].substr(start));
  }
  if (parts.size() != columns) {
    return InvalidArgument(fmt::format(
        "key '{}' has {} part(s), and the entity's key {} column(s); give the values in key "
        "order separated by commas",
        key.empty() ? "" : key[0].substr(0, 128), parts.size(), columns));
  }
  return parts;
}

std::string JoinKey(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? "," : "") + parts[i];
  return out;
}

class ArchiveWriter : public store::Writer {
 public:
  ArchiveWriter(std::string dir, std::vector<std::string> key_columns, ArchiveOptions options)
      : dir_(std::move(dir)), key_columns_(std::move(key_columns)), options_(options) {}

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    const int doc = rows.IndexOf("$doc");
    if (doc < 0) {
      return InvalidArgument("the Parquet archive writer takes records as JSON objects ($doc)");
    }
    std::string record(rows.columns[static_cast<size_t>(doc)].BytesAt(row));
    ASSIGN_OR_RETURN(const std::vector<std::string> parts, KeyParts(key, key_columns_.size()));
    const json in = json::parse(record, nullptr, /*allow_exceptions=*/false);
    if (in.is_discarded() || !in.is_object()) {
      return InvalidArgument("a record of a Parquet archive is one JSON object of column values");
    }
    for (size_t i = 0; i < key_columns_.size(); ++i) {
      const std::optional<std::string> value =
          in.contains(key_columns_[i]) ? CastText(in[key_columns_[i]]) : std::nullopt;
      if (value != parts[i]) {
        return InvalidArgument(fmt::format(
            "the record's '{}' is {}, and its key says '{}'", key_columns_[i],
            value ? "'" + value->substr(0, 128) + "'" : std::string("missing"), parts[i]));
      }
    }
    staged_.push_back(std::move(record));
    return Status::Ok();
  }

  Status Delete(const store::RecordKey& key) override {
    (void)key;
    return FailedPrecondition("the Parquet archive " + dir_ +
                              " only appends: a record cannot be deleted from it");
  }

  Status Flush() override {
    if (staged_.empty()) return Status::Ok();
    if (archive_ == nullptr) {
      ASSIGN_OR_RETURN(archive_, ParquetArchive::ForDirectory(dir_, options_));
    }
    ASSIGN_OR_RETURN(version_, archive_->Append(staged_));
    staged_.clear();
    return Status::Ok();
  }

  void Discard() override { staged_.clear(); }

  int64_t flushed_version() const override { return version_; }

 private:
  const std::string dir_;
  const std::vector<std::string> key_columns_;
  const ArchiveOptions options_;
  std::shared_ptr<ParquetArchive> archive_;
  std::vector<std::string> staged_;
  int64_t version_ = -1;
};

class ArchiveKeyReader : public store::KeyReader {
 public:
  ArchiveKeyReader(std::string dir, std::vector<std::string> key_columns)
      : dir_(std::move(dir)), key_columns_(std::move(key_columns)) {}

  Status Read(const std::vector<store::RecordKey>& keys, store::StoreBatch* out) override {
    RETURN_IF_ERROR(Start());
    ASSIGN_OR_RETURN(const std::vector<std::string> files,
                     ExpandFiles(session_.get(), dir_, ".parquet"));
    std::string where;
    for (const store::RecordKey& key : keys) {
      ASSIGN_OR_RETURN(const std::vector<std::string> parts, KeyParts(key, key_columns_.size()));
      std::string match;
      for (size_t i = 0; i < parts.size(); ++i) {
        const ColumnPlan* c = Column(key_columns_[i]);
        if (c == nullptr) {
          return FailedPrecondition("the Parquet archive " + dir_ + " has no key column '" +
                                    key_columns_[i] + "'");
        }
        match += fmt::format("{}{} = TRY_CAST({} AS {})", i > 0 ? " AND " : "",
                             SqlIdentifier(c->name), SqlLiteral(parts[i]), c->native_type);
      }
      where += (where.empty() ? "(" : " OR (") + match + ")";
    }
    if (where.empty()) where = "false";
    std::string partition;
    for (const std::string& k : key_columns_) {
      partition += (partition.empty() ? "" : ", ") + SqlIdentifier(k);
    }
    const std::string sql =
        "SELECT " + SelectListFor(*columns_, *columns_) + " FROM read_parquet(" + FileList(files) +
        ", union_by_name = true, filename = true, file_row_number = true) WHERE " + where +
        " QUALIFY row_number() OVER (PARTITION BY " + partition +
        " ORDER BY filename DESC, file_row_number DESC) = 1";
    return RunQuery(sql, keys.size(), out);
  }

  Status WrittenRecords(const std::vector<store::RecordKey>& keys,
                        const std::vector<std::string>& documents, int64_t version,
                        store::StoreBatch* out) override {
    RETURN_IF_ERROR(Start());
    std::string tuples;
    for (const std::string& d : documents) {
      ASSIGN_OR_RETURN(const std::string tuple, ValuesTuple(*columns_, d));
      tuples += (tuples.empty() ? "" : ", ") + tuple;
    }
    if (documents.empty()) {
      out->rows.Clear();
      out->positions.clear();
      return Status::Ok();
    }
    RETURN_IF_ERROR(RunQuery("SELECT " + SelectListFor(*columns_, *columns_) + " FROM (" +
                                 TypedSelect(*columns_, tuples) + ")",
                             documents.size(), out));
    if (out->size() != documents.size()) {
      return DataError(fmt::format("{} records cast to {} rows", documents.size(), out->size()));
    }
    (void)keys;  // each record's own key columns name it (ArchiveKeyText)
    std::vector<int> key_indexes;
    for (const std::string& k : key_columns_) key_indexes.push_back(out->rows.IndexOf(k));
    if (std::find(key_indexes.begin(), key_indexes.end(), -1) != key_indexes.end()) {
      return FailedPrecondition("the Parquet archive " + dir_ + " lacks a key column of " +
                                JoinKey(key_columns_));
    }
    out->versions.assign(documents.size(), version);
    out->source_keys.clear();
    for (size_t i = 0; i < documents.size(); ++i) {
      out->source_keys.push_back(ArchiveKeyText(out->rows, i, key_indexes));
    }
    out->versions_floor = version;
    return Status::Ok();
  }

 private:
  Status Start() {
    if (session_ != nullptr) return Status::Ok();
    ASSIGN_OR_RETURN(auto session, DuckSession::Open({.threads = 1}));
    ASSIGN_OR_RETURN(std::vector<ColumnPlan> columns, ArchiveColumns(session.get(), dir_));
    columns_ = std::make_shared<const std::vector<ColumnPlan>>(std::move(columns));
    session_ = std::move(session);
    return Status::Ok();
  }

  const ColumnPlan* Column(const std::string& name) const {
    for (const ColumnPlan& c : *columns_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  Status RunQuery(const std::string& sql, size_t max_rows, store::StoreBatch* out) {
    ASSIGN_OR_RETURN(auto session, session_->Fork());
    ChunkQuery query{
        .file = dir_, .first_row = 0, .row_count = -1, .make_sql = [sql](int64_t, int64_t) {
          return sql;
        }};
    DuckChunkReader reader(std::move(session), columns_, std::move(query));
    RETURN_IF_ERROR(reader.Open(0));
    out->versions.clear();
    out->source_keys.clear();
    RETURN_IF_ERROR(reader.Next(std::max<size_t>(1, max_rows), out).status());
    return Status::Ok();
  }

  const std::string dir_;
  const std::vector<std::string> key_columns_;
  std::unique_ptr<DuckSession> session_;
  std::shared_ptr<const std::vector<ColumnPlan>> columns_;
};

}  // namespace

std::unique_ptr<store::Writer> MakeArchiveWriter(std::string dir,
                                                 std::vector<std::string> key_columns,
                                                 ArchiveOptions options) {
  return std::make_unique<ArchiveWriter>(std::move(dir), std::move(key_columns), options);
}

std::unique_ptr<store::KeyReader> MakeArchiveKeyReader(std::string dir,
                                                       std::vector<std::string> key_columns) {
  return std::make_unique<ArchiveKeyReader>(std::move(dir), std::move(key_columns));
}

}  // namespace cutover::duckdb_store
