// The logical column types cutover understands, shared by the spec, the
// mappers and the PostgreSQL target; one enum so every layer agrees.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace cutover {

enum class ValueType {
  kText,
  kInt32,    // PostgreSQL integer
  kInt64,    // PostgreSQL bigint
  kNumeric,  // exact decimal, carried as canonical text
  kFloat64,  // double precision
  kBool,
  kUuid,         // 16 raw bytes
  kDate,         // days since 2000-01-01 (PostgreSQL's epoch)
  kTimestamptz,  // microseconds since 2000-01-01 00:00:00 UTC
  kJsonb,        // JSON text
  kBytes,        // bytea
  kGeometry,     // PostGIS geometry as EWKB (SRID included)
};

// The name used in specs and messages ("text", "integer", "timestamptz", ...).
std::string_view ValueTypeName(ValueType type);

// The PostgreSQL type used for a column of this type.
std::string_view PostgresTypeName(ValueType type);

// Accepts spec spellings and common PostgreSQL aliases (int4, int8, float8,
// double precision, boolean, timestamp with time zone, json, ...).
std::optional<ValueType> ParseValueTypeName(std::string_view name);

// Every name ParseValueTypeName accepts, for "did you mean" suggestions.
const std::initializer_list<std::string_view>& ValueTypeSpellings();

// True when values of this type are stored in Column::fixed, false when they
// are stored as bytes.
bool IsFixedWidth(ValueType type);

}  // namespace cutover
