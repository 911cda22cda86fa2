// ScanTable: binary COPY of a table's columns cast to the spec's types, decoded
// field by field into RowBatches.
#include "stores/postgres/table_reader.h"

#include <cstring>

#include <fmt/format.h>

#include "stores/postgres/numeric_binary.h"

namespace cutover::pg_store {
namespace {

constexpr size_t kHeaderBytes = 11 + 4 + 4;  // signature, flags, extension length

uint16_t BE16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
uint32_t BE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
uint64_t BE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

}  // namespace

// `scratch` is reused between calls, so text built here costs no allocation.
Status DecodeBinaryField(ValueType type, const char* p, uint32_t len, Column* col,
                         std::string* scratch) {
  auto need = [&](uint32_t n) {
    return len == n ? Status::Ok()
                    : Internal(fmt::format("binary COPY: {} field of {} bytes, expected {}",
                                           ValueTypeName(type), len, n));
  };
  switch (type) {
    case ValueType::kInt32:
    case ValueType::kDate:
      RETURN_IF_ERROR(need(4));
      col->AppendInt(static_cast<int32_t>(BE32(p)));
      return Status::Ok();
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kTimestamptz:
      RETURN_IF_ERROR(need(8));
      col->AppendInt(static_cast<int64_t>(BE64(p)));
      return Status::Ok();
    case ValueType::kBool:
      RETURN_IF_ERROR(need(1));
      col->AppendBool(*p != 0);
      return Status::Ok();
    case ValueType::kJsonb:
      if (len < 1 || *p != 1) return Internal("binary COPY: unknown jsonb format version");
      col->AppendBytes(std::string_view(p + 1, len - 1));
      return Status::Ok();
    case ValueType::kUuid:
      RETURN_IF_ERROR(need(16));
      col->AppendBytes(std::string_view(p, len));
      return Status::Ok();
    case ValueType::kNumeric:
      scratch->clear();
      RETURN_IF_ERROR(AppendNumericText(p, len, scratch));
      col->AppendBytes(*scratch);
      return Status::Ok();
    case ValueType::kText:
    case ValueType::kBytes:
    case ValueType::kGeometry:
      col->AppendBytes(std::string_view(p, len));
      return Status::Ok();
  }
  return Internal("unhandled type");
}

Status ScanTable(PgConnection* conn, const TableShape& shape, size_t batch_rows,
                 const std::function<Status(const RowBatch&)>& on_batch, std::string_view where,
                 std::string_view tail) {
  RowBatch batch;
  std::string select;
  for (const auto& c : shape.columns) {
    batch.AddColumn(c.name, c.type);
    if (!select.empty()) select += ", ";
    select += fmt::format("{}::{}", QuoteIdent(c.name), PostgresTypeName(c.type));
  }
  const std::string sql = fmt::format("COPY (SELECT {} FROM {}{}{}{}{}) TO STDOUT (FORMAT binary)",
                                      select, shape.QualifiedName(), where.empty() ? "" : " WHERE ",
                                      where, tail.empty() ? "" : " ", tail);
  bool header_seen = false;
  std::string scratch;
  const size_t ncols = shape.columns.size();
  Status st = conn->CopyOut(sql, [&](std::string_view msg) -> Status {
    const char* p = msg.data();
    const char* end = p + msg.size();
    if (!header_seen) {
      if (msg.size() < kHeaderBytes) return Internal("binary COPY: short header");
      uint32_t ext = BE32(p + 15);
      p += kHeaderBytes + ext;
      header_seen = true;
    }
    while (p + 2 <= end) {
      int16_t fields = static_cast<int16_t>(BE16(p));
      p += 2;
      if (fields == -1) return Status::Ok();  // trailer
      if (static_cast<size_t>(fields) != ncols) {
        return Internal(fmt::format("binary COPY: {} fields, expected {}", fields, ncols));
      }
      for (size_t c = 0; c < ncols; ++c) {
        if (p + 4 > end) return Internal("binary COPY: truncated row");
        int32_t len = static_cast<int32_t>(BE32(p));
        p += 4;
        if (len < 0) {
          batch.columns[c].AppendNull();
          continue;
        }
        if (p + len > end) return Internal("binary COPY: truncated field");
        RETURN_IF_ERROR(
            DecodeBinaryField(shape.columns[c].type, p, len, &batch.columns[c], &scratch));
        p += len;
      }
      if (batch.num_rows() >= batch_rows) {
        RETURN_IF_ERROR(on_batch(batch));
        batch.Clear();
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) return st.WithContext("reading " + shape.QualifiedName());
  if (batch.num_rows() > 0) RETURN_IF_ERROR(on_batch(batch));
  return Status::Ok();
}

}  // namespace cutover::pg_store
