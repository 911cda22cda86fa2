// RedisKeySql: the pattern's literals and capture columns, concatenated as bytea.
#include "engine/core/redis_key_sql.h"

#include <algorithm>

#include "stores/postgres/pg_connection.h"

namespace cutover::engine {
namespace {

std::string ByteaLiteral(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "'\\x";
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out + "'::bytea";
}

// The column that holds `capture` (the last one reading it), or null.
const spec::ColumnSpec* CaptureColumn(const spec::EntitySpec& entity, const std::string& capture) {
  const spec::ColumnSpec* column = nullptr;
  for (const auto& c : entity.columns) {
    if (c.from == capture) column = &c;
  }
  return column;
}

}  // namespace

bool CapturesAreTheKey(const spec::EntitySpec& entity, const pg_store::TableShape& shape) {
  if (!entity.redis) return false;
  std::vector<std::string> key_columns;
  for (const std::string& capture : entity.redis->pattern.captures()) {
    const spec::ColumnSpec* column = CaptureColumn(entity, capture);
    if (column == nullptr) return false;
    if (column->type != ValueType::kText && column->type != ValueType::kBytes &&
        column->type != ValueType::kDate) {
      return false;
    }
    key_columns.push_back(column->name);
  }
  std::vector<std::string> table_key = shape.key;
  std::sort(key_columns.begin(), key_columns.end());
  std::sort(table_key.begin(), table_key.end());
  return !key_columns.empty() && key_columns == table_key;
}

std::optional<std::string> RedisKeySql(const spec::EntitySpec& entity,
                                       const pg_store::TableShape& shape) {
  if (!entity.children.empty() || !CapturesAreTheKey(entity, shape)) return std::nullopt;
  const spec::KeyPattern& pattern = entity.redis->pattern;
  std::string sql = ByteaLiteral(pattern.literals()[0]);
  for (size_t i = 0; i < pattern.captures().size(); ++i) {
    // CapturesAreTheKey found each one.
    const spec::ColumnSpec* column = CaptureColumn(entity, pattern.captures()[i]);
    const std::string name = pg_store::QuoteIdent(column->name);
    if (column->type == ValueType::kText) {
      sql += " || convert_to(" + name + ", 'UTF8')";
    } else if (column->type == ValueType::kDate) {
      // The one spelling a date capture is read in (stores/redis/redis_document.h).
      sql += " || convert_to(to_char(" + name + ", 'YYYY-MM-DD'), 'UTF8')";
    } else {
      sql += " || " + name;
    }
    sql += " || " + ByteaLiteral(pattern.literals()[i + 1]);
  }
  return sql;
}

}  // namespace cutover::engine
