// Key values as SQL literals of their types.
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

}  // namespace cutover::engine
