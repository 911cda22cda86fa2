#include "common/value_type.h"

#include <utility>

namespace cutover {
namespace {

struct Spelling {
  std::string_view name;
  ValueType type;
};

constexpr Spelling kSpellings[] = {
    {"text", ValueType::kText},
    {"varchar", ValueType::kText},
    {"string", ValueType::kText},
    {"integer", ValueType::kInt32},
    {"int", ValueType::kInt32},
    {"int4", ValueType::kInt32},
    {"bigint", ValueType::kInt64},
    {"int8", ValueType::kInt64},
    {"numeric", ValueType::kNumeric},
    {"decimal", ValueType::kNumeric},
    {"float8", ValueType::kFloat64},
    {"double precision", ValueType::kFloat64},
    {"double", ValueType::kFloat64},
    {"float", ValueType::kFloat64},
    {"bool", ValueType::kBool},
    {"boolean", ValueType::kBool},
    {"uuid", ValueType::kUuid},
    {"date", ValueType::kDate},
    {"timestamptz", ValueType::kTimestamptz},
    {"timestamp with time zone", ValueType::kTimestamptz},
    {"jsonb", ValueType::kJsonb},
    {"json", ValueType::kJsonb},
    {"bytea", ValueType::kBytes},
    {"bytes", ValueType::kBytes},
    {"geometry", ValueType::kGeometry},
};

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kText:
      return "text";
    case ValueType::kInt32:
      return "integer";
    case ValueType::kInt64:
      return "bigint";
    case ValueType::kNumeric:
      return "numeric";
    case ValueType::kFloat64:
      return "float8";
    case ValueType::kBool:
      return "bool";
    case ValueType::kUuid:
      return "uuid";
    case ValueType::kDate:
      return "date";
    case ValueType::kTimestamptz:
      return "timestamptz";
    case ValueType::kJsonb:
      return "jsonb";
    case ValueType::kBytes:
      return "bytea";
    case ValueType::kGeometry:
      return "geometry";
  }
  return "unknown";
}

std::string_view PostgresTypeName(ValueType type) {
  switch (type) {
    case ValueType::kText:
      return "text";
    case ValueType::kInt32:
      return "integer";
    case ValueType::kInt64:
      return "bigint";
    case ValueType::kNumeric:
      return "numeric";
    case ValueType::kFloat64:
      return "double precision";
    case ValueType::kBool:
      return "boolean";
    case ValueType::kUuid:
      return "uuid";
    case ValueType::kDate:
      return "date";
    case ValueType::kTimestamptz:
      return "timestamp with time zone";
    case ValueType::kJsonb:
      return "jsonb";
    case ValueType::kBytes:
      return "bytea";
    case ValueType::kGeometry:
      return "geometry";
  }
  return "text";
}

std::optional<ValueType> ParseValueTypeName(std::string_view name) {
  for (const auto& s : kSpellings) {
    if (s.name == name) return s.type;
  }
  return std::nullopt;
}

const std::initializer_list<std::string_view>& ValueTypeSpellings() {
  static const std::initializer_list<std::string_view> kNames = {
      "text",    "varchar", "string",      "integer",
      "int",     "int4",    "bigint",      "int8",
      "numeric", "decimal", "float8",      "double precision",
      "double",  "float",   "bool",        "boolean",
      "uuid",    "date",    "timestamptz", "timestamp with time zone",
      "jsonb",   "json"};
  return kNames;
}

bool IsFixedWidth(ValueType type) {
  switch (type) {
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kFloat64:
    case ValueType::kBool:
    case ValueType::kDate:
    case ValueType::kTimestamptz:
      return true;
    default:
      return false;
  }
}

}  // namespace cutover
