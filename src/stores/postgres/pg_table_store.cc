// TableStore: keyset paging over ScanTable for the snapshot, MergeWriter plus
// DELETE for the writer; cursors are JSON arrays of the last key's values.
#include "stores/postgres/pg_table_store.h"

#include <cmath>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stores/postgres/merge_writer.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_reader.h"

namespace cutover::pg_store {
namespace {

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool IsHexBytes(ValueType type) {
  return type == ValueType::kUuid || type == ValueType::kBytes || type == ValueType::kGeometry;
}

// A key value as the cursor keeps it: fixed-width types as their int64 slot
// (a float's bit pattern), binary ones in hex, the others as their text.
std::string CursorValue(const Column& column, size_t row) {
  if (IsFixedWidth(column.type())) return std::to_string(column.IntAt(row));
  if (IsHexBytes(column.type())) return Hex(column.BytesAt(row));
  return std::string(column.BytesAt(row));
}

bool ParseInt(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *value = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

// The SQL expression of a cursor value of `type`; InvalidArgument when the
// value does not read as one.
Result<std::string> CursorValueSql(ValueType type, const std::string& value) {
  const std::string bad =
      "'" + value + "' is not a cursor value of type " + std::string(ValueTypeName(type));
  int64_t n = 0;
  switch (type) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      if (!ParseInt(value, &n)) return InvalidArgument(bad);
      return fmt::format("{}::{}", n, PostgresTypeName(type));
    case ValueType::kBool:
      if (!ParseInt(value, &n)) return InvalidArgument(bad);
      return std::string(n != 0 ? "true" : "false");
    case ValueType::kFloat64: {
      if (!ParseInt(value, &n)) return InvalidArgument(bad);
      double d = 0;
      std::memcpy(&d, &n, sizeof d);
      if (std::isnan(d)) return std::string("'NaN'::float8");
      if (std::isinf(d)) return std::string(d > 0 ? "'Infinity'::float8" : "'-Infinity'::float8");
      return fmt::format("'{:.17g}'::float8", d);
    }
    case ValueType::kDate:
      if (!ParseInt(value, &n)) return InvalidArgument(bad);
      return fmt::format("(DATE '2000-01-01' + {})", n);
    case ValueType::kTimestamptz: {
      // Whole days and the microseconds left, both exact in an interval; the
      // session runs in UTC, where a day is always 24 hours.
      if (!ParseInt(value, &n)) return InvalidArgument(bad);
      constexpr int64_t kDay = 86400000000;
      int64_t days = n / kDay;
      int64_t micros = n % kDay;
      if (micros < 0) {
        micros += kDay;
        days -= 1;
      }
      return fmt::format(
          "(TIMESTAMPTZ '2000-01-01 00:00:00+00' + INTERVAL '{} days {} microseconds')", days,
          micros);
    }
    case ValueType::kUuid:
    case ValueType::kGeometry:
      return QuoteLiteral(value) + "::" + std::string(PostgresTypeName(type));
    case ValueType::kBytes:
      return QuoteLiteral("\\x" + value) + "::bytea";
    case ValueType::kText:
    case ValueType::kNumeric:
    case ValueType::kJsonb:
      return QuoteLiteral(value) + "::" + std::string(PostgresTypeName(type));
  }
  return InvalidArgument(bad);
}

struct TableCursor {
  std::vector<std::string> after;  // empty: from the first key
  int64_t read = 0;                // rows before the cursor
};

std::string EncodeCursor(const TableCursor& cursor) {
  return nlohmann::json{{"after", cursor.after}, {"read", cursor.read}}.dump();
}

Result<TableCursor> DecodeCursor(const store::Cursor& cursor, const TableShape& shape) {
  TableCursor out;
  if (cursor.AtStart()) return out;
  const std::string bad =
      shape.QualifiedName() + ": '" + cursor.token + "' is not a cursor of this table";
  nlohmann::json json = nlohmann::json::parse(cursor.token, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json["after"].is_array() || !json["read"].is_number_integer()) {
    return InvalidArgument(bad);
  }
  for (const auto& part : json["after"]) {
    if (!part.is_string()) return InvalidArgument(bad);
    out.after.push_back(part.get<std::string>());
  }
  if (!out.after.empty() && out.after.size() != shape.key.size()) return InvalidArgument(bad);
  out.read = json["read"].get<int64_t>();
  return out;
}

std::string KeyList(const TableShape& shape) {
  std::string out;
  for (const auto& k : shape.key) out += (out.empty() ? "" : ", ") + QuoteIdent(k);
  return out;
}

class TableBatchReader : public store::BatchReader {
 public:
  TableBatchReader(std::unique_ptr<PgConnection> conn, const TableShape& shape, TableCursor at)
      : conn_(std::move(conn)), shape_(shape), at_(std::move(at)) {
    for (const auto& k : shape_.key) key_columns_.push_back(shape_.IndexOf(k));
  }

  Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
    out->origin = shape_.QualifiedName();
    out->positions.clear();
    out->rows.Clear();
    if (done_) {
      out->end.token = EncodeCursor(at_);
      return false;
    }
    std::string where;
    if (!at_.after.empty()) {
      std::string values;
      for (size_t i = 0; i < shape_.key.size(); ++i) {
        const ValueType type = shape_.columns[key_columns_[i]].type;
        ASSIGN_OR_RETURN(std::string sql, CursorValueSql(type, at_.after[i]));
        values += (i == 0 ? "" : ", ") + sql;
      }
      where = "(" + KeyList(shape_) + ") > (" + values + ")";
    }
    const std::string tail = fmt::format("ORDER BY {} LIMIT {}", KeyList(shape_), max_records);
    bool filled = false;
    RETURN_IF_ERROR(ScanTable(
        conn_.get(), shape_, max_records,
        [&](const RowBatch& batch) {
          if (!filled) {
            out->rows = batch;
            filled = true;
          } else {
            for (size_t r = 0; r < batch.num_rows(); ++r) {
              for (size_t c = 0; c < batch.columns.size(); ++c) {
                out->rows.columns[c].AppendFrom(batch.columns[c], r);
              }
            }
          }
          return Status::Ok();
        },
        where, tail));
    const size_t n = out->rows.num_rows();
    for (size_t r = 0; r < n; ++r) {
      out->positions.push_back({-1, -1, at_.read + static_cast<int64_t>(r)});
    }
    if (n > 0) {
      at_.after.clear();
      for (const int c : key_columns_)
        at_.after.push_back(CursorValue(out->rows.columns[c], n - 1));
      at_.read += static_cast<int64_t>(n);
    }
    if (n < max_records) done_ = true;
    out->end.token = EncodeCursor(at_);
    return n > 0;
  }

 private:
  const std::unique_ptr<PgConnection> conn_;
  const TableShape& shape_;  // kept alive by the OwningReader that holds this reader
  std::vector<int> key_columns_;
  TableCursor at_;
  bool done_ = false;
};

class TableSnapshotReader : public store::SnapshotReader {
 public:
  TableSnapshotReader(std::string url, std::shared_ptr<const TableShape> shape)
      : url_(std::move(url)), shape_(std::move(shape)) {}

  store::RecordShape shape() const override { return store::RecordShape::kColumns; }

  Result<std::vector<store::ColumnDescription>> Describe() override {
    std::vector<store::ColumnDescription> out;
    for (const auto& c : shape_->columns) out.push_back({c.name, c.type});
    return out;
  }

  Result<std::vector<store::Partition>> Plan() override {
    return std::vector<store::Partition>{
        {shape_->schema + "." + shape_->table, shape_->QualifiedName(), -1, -1}};
  }

  Result<std::unique_ptr<store::BatchReader>> Open(const store::Partition& partition,
                                                   const store::Cursor& from) override {
    if (partition.id != shape_->schema + "." + shape_->table) {
      return InvalidArgument(shape_->QualifiedName() + " has no partition '" + partition.id + "'");
    }
    ASSIGN_OR_RETURN(TableCursor at, DecodeCursor(from, *shape_));
    ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(url_));
    return std::unique_ptr<store::BatchReader>(
        new OwningReader(std::move(conn), shape_, std::move(at)));
  }

 private:
  // Keeps the shape alive as long as the reader (readers may outlive the store).
  class OwningReader : public store::BatchReader {
   public:
    OwningReader(std::unique_ptr<PgConnection> conn, std::shared_ptr<const TableShape> shape,
                 TableCursor at)
        : shape_(std::move(shape)), reader_(std::move(conn), *shape_, std::move(at)) {}
    Result<bool> Next(size_t max_records, store::StoreBatch* out) override {
      return reader_.Next(max_records, out);
    }

   private:
    std::shared_ptr<const TableShape> shape_;
    TableBatchReader reader_;
  };

  const std::string url_;
  const std::shared_ptr<const TableShape> shape_;
};

class TableWriter : public store::Writer {
 public:
  TableWriter(std::string url, std::shared_ptr<const TableShape> shape)
      : url_(std::move(url)), shape_(std::move(shape)), merge_(*shape_) {
    for (const auto& c : shape_->columns) staged_rows_.AddColumn(c.name, c.type);
  }

  Status Upsert(const store::RecordKey& key, const RowBatch& rows, size_t row) override {
    RETURN_IF_ERROR(CheckKey(key));
    if (rows.columns.size() != shape_->columns.size() || row >= rows.num_rows()) {
      return InvalidArgument(shape_->QualifiedName() + ": an upsert needs a row of " +
                             std::to_string(shape_->columns.size()) + " columns in table order");
    }
    for (size_t c = 0; c < rows.columns.size(); ++c) {
      if (rows.columns[c].type() != shape_->columns[c].type) {
        return InvalidArgument(shape_->QualifiedName() + ": column " + shape_->columns[c].name +
                               " is " + std::string(ValueTypeName(shape_->columns[c].type)) +
                               ", the row holds " +
                               std::string(ValueTypeName(rows.columns[c].type())));
      }
      staged_rows_.columns[c].AppendFrom(rows.columns[c], row);
    }
    staged_[key] = static_cast<int64_t>(staged_rows_.num_rows() - 1);
    return Status::Ok();
  }

  Status Delete(const store::RecordKey& key) override {
    RETURN_IF_ERROR(CheckKey(key));
    staged_[key] = -1;
    return Status::Ok();
  }

  Status Flush() override {
    if (staged_.empty()) return Status::Ok();
    if (conn_ == nullptr || !conn_->IsHealthy()) {
      conn_.reset();
      ASSIGN_OR_RETURN(conn_, PgConnection::Connect(url_));
      RETURN_IF_ERROR(merge_.PrepareStaging(conn_.get()));
    }
    std::vector<uint32_t> upserts;
    std::string deletes;
    for (const auto& [key, row] : staged_) {
      if (row >= 0) {
        upserts.push_back(static_cast<uint32_t>(row));
        continue;
      }
      std::string tuple;
      for (size_t i = 0; i < key.size(); ++i) {
        const TableColumn& column = shape_->columns[shape_->IndexOf(shape_->key[i])];
        tuple += (i == 0 ? "" : ", ") + QuoteLiteral(key[i]) +
                 "::" + std::string(PostgresTypeName(column.type));
      }
      deletes += (deletes.empty() ? "(" : ", (") + tuple + ")";
    }
    Status st = Apply(upserts, deletes);
    if (!st.ok()) {
      (void)conn_->Exec("ROLLBACK");
      return st.WithContext("writing " + shape_->QualifiedName());
    }
    staged_.clear();
    staged_rows_.Clear();
    return Status::Ok();
  }

  void Discard() override {
    staged_.clear();
    staged_rows_.Clear();
  }

 private:
  Status Apply(const std::vector<uint32_t>& upserts, const std::string& deletes) {
    RETURN_IF_ERROR(conn_->Exec("BEGIN"));
    if (!upserts.empty()) {
      ASSIGN_OR_RETURN(int64_t merged, merge_.Merge(conn_.get(), staged_rows_, upserts));
      (void)merged;
    }
    if (!deletes.empty()) {
      RETURN_IF_ERROR(conn_->Exec(fmt::format("DELETE FROM {} WHERE ({}) IN ({})",
                                              shape_->QualifiedName(), KeyList(*shape_), deletes)));
    }
    return conn_->Exec("COMMIT");
  }

  Status CheckKey(const store::RecordKey& key) const {
    if (key.size() != shape_->key.size()) {
      return InvalidArgument(fmt::format("{}: a key has {} parts, not {}", shape_->QualifiedName(),
                                         shape_->key.size(), key.size()));
    }
    return Status::Ok();
  }

  const std::string url_;
  const std::shared_ptr<const TableShape> shape_;
  MergeWriter merge_;
  std::unique_ptr<PgConnection> conn_;
  RowBatch staged_rows_;                        // upserted rows, in arrival order
  std::map<store::RecordKey, int64_t> staged_;  // key -> its last row, or -1: delete
};

class TableStore : public store::Store {
 public:
  TableStore(std::string url, std::shared_ptr<const TableShape> shape)
      : url_(url), snapshot_(url, shape), writer_(url, shape) {}

  store::SnapshotReader& snapshot() override { return snapshot_; }
  store::Writer* writer() override { return &writer_; }

  Status Ping() override {
    ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(url_));
    return conn->Exec("SELECT 1");
  }

 private:
  const std::string url_;
  TableSnapshotReader snapshot_;
  TableWriter writer_;
};

}  // namespace

Result<std::unique_ptr<store::Store>> OpenTableStore(const std::string& url,
                                                     const TableShape& shape) {
  if (shape.key.empty()) {
    return InvalidArgument(shape.QualifiedName() +
                           ": a table is read in key order, and this one has no key");
  }
  for (const auto& k : shape.key) {
    if (shape.IndexOf(k) < 0) {
      return InvalidArgument(shape.QualifiedName() + ": key column " + k + " is not a column");
    }
  }
  return std::unique_ptr<store::Store>(
      new TableStore(url, std::make_shared<const TableShape>(shape)));
}

}  // namespace cutover::pg_store
