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

}  // namespace

std::optional<std::string> RedisKeySql(const spec::EntitySpec& entity,
                                       const pg_store::TableShape& shape) {
  if (!entity.redis || !entity.children.empty()) return std::nullopt;
  const spec::KeyPattern& pattern = entity.redis->pattern;
  std::vector<std::string> key_columns;
  std::string sql = ByteaLiteral(pattern.literals()[0]);
  for (size_t i = 0; i < pattern.captures().size(); ++i) {
    const spec::ColumnSpec* column = nullptr;
    for (const auto& c : entity.columns) {
      if (c.from == pattern.captures()[i]) column = &c;
    }
    if (column == nullptr) return std::nullopt;
    const std::string name = pg_store::QuoteIdent(column->name);
    if (column->type == ValueType::kText) {
      sql += " || convert_to(" + name + ", 'UTF8')";
    } else if (column->type == ValueType::kBytes) {
      sql += " || " + name;
    } else {
      return std::nullopt;
    }
    sql += " || " + ByteaLiteral(pattern.literals()[i + 1]);
    key_columns.push_back(column->name);
  }
  std::vector<std::string> table_key = shape.key;
  std::sort(key_columns.begin(), key_columns.end());
  std::sort(table_key.begin(), table_key.end());
  if (key_columns.empty() || key_columns != table_key) return std::nullopt;
  return sql;
}

}  // namespace cutover::engine
