// Maps DuckDB column types onto our ValueTypes and copies DuckDB vectors into
// RowBatch columns, value by value in native form (no detour through text).
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/row_batch.h"
#include "common/value_type.h"
#include "stores/duckdb/decimal_text.h"

namespace cutover::duckdb_store {

// How a column's DuckDB vector is laid out, after the reading query's
// select expression (nested and exotic types arrive as VARCHAR from SQL).
enum class NativeKind {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,  // -> numeric text (may exceed bigint)
  kFloat,   // widened exactly to double
  kDouble,
  kDecimal16,  // DECIMAL stored as int16/32/64/128, with `scale`
  kDecimal32,
  kDecimal64,
  kDecimal128,
  kHugeint,   // -> numeric text
  kUHugeint,  // -> numeric text
  kVarchar,   // text; also nested values rendered by to_json() and casts
  kBlob,
  kDate,        // days since 1970 -> days since 2000
  kTimestampS,  // -> microseconds since 2000 UTC
  kTimestampMs,
  kTimestampUs,  // TIMESTAMP (a wall clock: ColumnPlan::wall_clock) and TIMESTAMP WITH TIME ZONE
  kTimestampNs,  // truncated toward zero to microseconds, as DuckDB's cast does
  kUuid,         // hugeint with the top bit flipped -> 16 big-endian bytes
  kEnum8,        // dictionary index -> the dictionary's text
  kEnum16,
  kEnum32,
};

// One column of a DuckDB relation as our readers see it. Plain data, built
// once per source and shared read-only by every reader.
struct ColumnPlan {
  std::string name;
  ValueType type = ValueType::kText;
  NativeKind kind = NativeKind::kVarchar;
  uint8_t scale = 0;  // DECIMAL
  // A timestamp without a zone (DuckDB TIMESTAMP, _S, _MS, _NS; Parquet's
  // isAdjustedToUTC=false): a wall-clock time, carried as if UTC and marked
  // so (Column::wall_clock) for the mapper to apply the spec's zone.
  bool wall_clock = false;
  std::vector<std::string> enum_values;  // ENUM dictionary
  // Types we carry as text are rendered by DuckDB in the reading query.
  enum class Wrap { kNone, kToJson, kCastVarchar };
  Wrap wrap = Wrap::kNone;
  std::string native_type;    // DuckDB's spelling, from DESCRIBE
  std::string postgres_type;  // what a proposed table would use
  bool orderable = true;      // min/max mean something

  // The reading query's expression for this column given `base`, the SQL
  // that yields the stored value (usually the quoted column name).
  std::string SelectExpr(const std::string& base) const;
};

// Plans a column of DuckDB logical type `type` (not consumed).
ColumnPlan PlanColumn(const std::string& name, duckdb_logical_type type);

// Appends rows [begin, end) of `vector`, laid out as `plan.kind`, to `out`
// (whose type is plan.type).
void AppendVector(const ColumnPlan& plan, duckdb_vector vector, idx_t begin, idx_t end,
                  Column* out);

}  // namespace cutover::duckdb_store
