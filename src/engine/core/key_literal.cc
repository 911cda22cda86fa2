// Key values as SQL literals of their types, and the condition on a whole key.
#include "engine/core/key_literal.h"

#include "engine/core/row_hasher.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

std::optional<std::string> KeyLiteral(const Column& col, size_t row) {
  constexpr int64_t kFirstDay = -730119;  // 0001-01-01, in days since 2000-01-01
  constexpr int64_t kLastDay = 2921939;   // 9999-12-31
  constexpr int64_t kMicrosPerDay = 86400LL * 1000000;
  if (col.IsNull(row)) return std::nullopt;
  switch (col.type()) {
    case ValueType::kDate:
      if (col.IntAt(row) < kFirstDay || col.IntAt(row) > kLastDay) return std::nullopt;
      break;
    case ValueType::kTimestamptz:
      if (col.IntAt(row) < kFirstDay * kMicrosPerDay ||
          col.IntAt(row) >= (kLastDay + 1) * kMicrosPerDay) {
        return std::nullopt;
      }
      break;
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kBool:
    case ValueType::kText:
    case ValueType::kNumeric:
    case ValueType::kUuid:
      break;
    default:
      return std::nullopt;
  }
  return pg_store::QuoteLiteral(ValueText(col, row)) +
         "::" + std::string(PostgresTypeName(col.type()));
}

std::optional<std::string> KeyCondition(const RowBatch& keys, size_t row) {
  std::string where;
  for (size_t c = 0; c < keys.columns.size(); ++c) {
    const std::optional<std::string> literal = KeyLiteral(keys.columns[c], row);
    if (!literal) return std::nullopt;
    // Cast as ScanTable reads the column, so a column stored as another type
    // than the spec's still compares; a cast to its own type keeps the index.
    where += (c ? " AND " : "") + pg_store::QuoteIdent(keys.names[c]) +
             "::" + std::string(PostgresTypeName(keys.columns[c].type())) + " = " + *literal;
  }
  return where;
}

}  // namespace cutover::engine
