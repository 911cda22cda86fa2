// DuckDB vector -> RowBatch column copies: epochs shifted from 1970 to 2000,
// decimals and 128-bit integers written as canonical numeric text.
#include "stores/duckdb/vector_converter.h"

#include <cstring>
#include <limits>

#include "stores/duckdb/duckdb_session.h"

namespace cutover::duckdb_store {
namespace {

// 1970-01-01 -> 2000-01-01.
constexpr int64_t kEpochShiftDays = 10957;
constexpr int64_t kEpochShiftMicros = kEpochShiftDays * 86400LL * 1000000LL;

// DuckDB's infinities and PostgreSQL's, which differ for the negative one.
constexpr int32_t kDuckDateInfinity = std::numeric_limits<int32_t>::max();
constexpr int64_t kDuckTimestampInfinity = std::numeric_limits<int64_t>::max();

int64_t DateToOurs(int32_t days) {
  if (days == kDuckDateInfinity) return std::numeric_limits<int32_t>::max();
  if (days == -kDuckDateInfinity) return std::numeric_limits<int32_t>::min();
  return static_cast<int64_t>(days) - kEpochShiftDays;
}

int64_t MicrosToOurs(int64_t micros) {
  if (micros == kDuckTimestampInfinity) return std::numeric_limits<int64_t>::max();
  if (micros == -kDuckTimestampInfinity) return std::numeric_limits<int64_t>::min();
  return micros - kEpochShiftMicros;
}

bool IsValid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || ((validity[row >> 6] >> (row & 63)) & 1) != 0;
}

std::string_view StringOf(const duckdb_string_t& s) {
  const uint32_t length = s.value.inlined.length;
  if (length <= 12) return {s.value.inlined.inlined, length};
  return {s.value.pointer.ptr, length};
}

std::string DecimalTypeName(uint8_t width, uint8_t scale) {
  return "numeric(" + std::to_string(width) + "," + std::to_string(scale) + ")";
}

template <typename T, typename F>
void AppendFixed(duckdb_vector vector, idx_t begin, idx_t end, Column* out, F convert) {
  const T* data = static_cast<const T*>(duckdb_vector_get_data(vector));
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  for (idx_t i = begin; i < end; ++i) {
    if (!IsValid(validity, i)) {
      out->AppendNull();
    } else {
      convert(data[i], out);
    }
  }
}

Int128 HugeOf(const duckdb_hugeint& h) {
  return static_cast<Int128>((static_cast<UInt128>(static_cast<uint64_t>(h.upper)) << 64) |
                             h.lower);
}

}  // namespace

ColumnPlan PlanColumn(const std::string& name, duckdb_logical_type type) {
  ColumnPlan plan;
  plan.name = name;
  auto set = [&plan](ValueType t, NativeKind k, const char* pg) {
    plan.type = t;
    plan.kind = k;
    plan.postgres_type = pg;
  };
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN:
      set(ValueType::kBool, NativeKind::kBool, "boolean");
      break;
    case DUCKDB_TYPE_TINYINT:
      set(ValueType::kInt32, NativeKind::kInt8, "smallint");
      break;
    case DUCKDB_TYPE_SMALLINT:
      set(ValueType::kInt32, NativeKind::kInt16, "smallint");
      break;
    case DUCKDB_TYPE_INTEGER:
      set(ValueType::kInt32, NativeKind::kInt32, "integer");
      break;
    case DUCKDB_TYPE_BIGINT:
      set(ValueType::kInt64, NativeKind::kInt64, "bigint");
      break;
    case DUCKDB_TYPE_UTINYINT:
      set(ValueType::kInt32, NativeKind::kUInt8, "smallint");
      break;
    case DUCKDB_TYPE_USMALLINT:
      set(ValueType::kInt32, NativeKind::kUInt16, "integer");
      break;
    case DUCKDB_TYPE_UINTEGER:
      set(ValueType::kInt64, NativeKind::kUInt32, "bigint");
      break;
    case DUCKDB_TYPE_UBIGINT:
      set(ValueType::kNumeric, NativeKind::kUInt64, "numeric(20,0)");
      break;
    case DUCKDB_TYPE_HUGEINT:
      set(ValueType::kNumeric, NativeKind::kHugeint, "numeric(39,0)");
      break;
    case DUCKDB_TYPE_UHUGEINT:
      set(ValueType::kNumeric, NativeKind::kUHugeint, "numeric(39,0)");
      break;
    case DUCKDB_TYPE_FLOAT:
      set(ValueType::kFloat64, NativeKind::kFloat, "real");
      break;
    case DUCKDB_TYPE_DOUBLE:
      set(ValueType::kFloat64, NativeKind::kDouble, "double precision");
      break;
    case DUCKDB_TYPE_DECIMAL: {
      const uint8_t width = duckdb_decimal_width(type);
      plan.scale = duckdb_decimal_scale(type);
      NativeKind kind = NativeKind::kDecimal128;
      switch (duckdb_decimal_internal_type(type)) {
        case DUCKDB_TYPE_SMALLINT:
          kind = NativeKind::kDecimal16;
          break;
        case DUCKDB_TYPE_INTEGER:
          kind = NativeKind::kDecimal32;
          break;
        case DUCKDB_TYPE_BIGINT:
          kind = NativeKind::kDecimal64;
          break;
        default:
          break;
      }
      set(ValueType::kNumeric, kind, "");
      plan.postgres_type = DecimalTypeName(width, plan.scale);
      break;
    }
    case DUCKDB_TYPE_VARCHAR:
      set(ValueType::kText, NativeKind::kVarchar, "text");
      break;
    case DUCKDB_TYPE_BLOB:
      set(ValueType::kBytes, NativeKind::kBlob, "bytea");
      plan.orderable = false;
      break;
    case DUCKDB_TYPE_DATE:
      set(ValueType::kDate, NativeKind::kDate, "date");
      break;
    case DUCKDB_TYPE_TIMESTAMP_S:
      set(ValueType::kTimestamptz, NativeKind::kTimestampS, "timestamptz");
      plan.wall_clock = true;
      break;
    case DUCKDB_TYPE_TIMESTAMP_MS:
      set(ValueType::kTimestamptz, NativeKind::kTimestampMs, "timestamptz");
      plan.wall_clock = true;
      break;
    case DUCKDB_TYPE_TIMESTAMP:
      set(ValueType::kTimestamptz, NativeKind::kTimestampUs, "timestamptz");
      plan.wall_clock = true;
      break;
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      set(ValueType::kTimestamptz, NativeKind::kTimestampUs, "timestamptz");
      break;
    case DUCKDB_TYPE_TIMESTAMP_NS:
      set(ValueType::kTimestamptz, NativeKind::kTimestampNs, "timestamptz");
      plan.wall_clock = true;
      break;
    case DUCKDB_TYPE_UUID:
      set(ValueType::kUuid, NativeKind::kUuid, "uuid");
      break;
    case DUCKDB_TYPE_ENUM: {
      const duckdb_type internal = duckdb_enum_internal_type(type);
      set(ValueType::kText,
          internal == DUCKDB_TYPE_UTINYINT    ? NativeKind::kEnum8
          : internal == DUCKDB_TYPE_USMALLINT ? NativeKind::kEnum16
                                              : NativeKind::kEnum32,
          "text");
      const uint32_t size = duckdb_enum_dictionary_size(type);
      plan.enum_values.reserve(size);
      for (uint32_t i = 0; i < size; ++i) {
        char* value = duckdb_enum_dictionary_value(type, i);
        plan.enum_values.emplace_back(value != nullptr ? value : "");
        duckdb_free(value);
      }
      break;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_UNION:
      // Nested values are rendered by DuckDB itself; one string per value is
      // the price of not re-implementing JSON for every nested shape.
      set(ValueType::kJsonb, NativeKind::kVarchar, "jsonb");
      plan.wrap = ColumnPlan::Wrap::kToJson;
      plan.orderable = false;
      break;
    case DUCKDB_TYPE_BIGNUM:
      set(ValueType::kNumeric, NativeKind::kVarchar, "numeric");
      plan.wrap = ColumnPlan::Wrap::kCastVarchar;
      break;
    case DUCKDB_TYPE_TIME:
      set(ValueType::kText, NativeKind::kVarchar, "time");
      plan.wrap = ColumnPlan::Wrap::kCastVarchar;
      break;
    case DUCKDB_TYPE_TIME_TZ:
      set(ValueType::kText, NativeKind::kVarchar, "timetz");
      plan.wrap = ColumnPlan::Wrap::kCastVarchar;
      break;
    case DUCKDB_TYPE_INTERVAL:
      set(ValueType::kText, NativeKind::kVarchar, "interval");
      plan.wrap = ColumnPlan::Wrap::kCastVarchar;
      break;
    default:
      set(ValueType::kText, NativeKind::kVarchar, "text");
      plan.wrap = ColumnPlan::Wrap::kCastVarchar;
      break;
  }
  return plan;
}

std::string ColumnPlan::SelectExpr(const std::string& base) const {
  switch (wrap) {
    case Wrap::kNone:
      return base;
    case Wrap::kToJson:
      return "CAST(to_json(" + base + ") AS VARCHAR)";
    case Wrap::kCastVarchar:
      return "CAST(" + base + " AS VARCHAR)";
  }
  return base;
}

void AppendVector(const ColumnPlan& plan, duckdb_vector vector, idx_t begin, idx_t end,
                  Column* out) {
  switch (plan.kind) {
    case NativeKind::kBool:
      AppendFixed<bool>(vector, begin, end, out, [](bool v, Column* c) { c->AppendBool(v); });
      break;
    case NativeKind::kInt8:
      AppendFixed<int8_t>(vector, begin, end, out, [](int8_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kInt16:
      AppendFixed<int16_t>(vector, begin, end, out, [](int16_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kInt32:
      AppendFixed<int32_t>(vector, begin, end, out, [](int32_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kInt64:
      AppendFixed<int64_t>(vector, begin, end, out, [](int64_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kUInt8:
      AppendFixed<uint8_t>(vector, begin, end, out, [](uint8_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kUInt16:
      AppendFixed<uint16_t>(vector, begin, end, out,
                            [](uint16_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kUInt32:
      AppendFixed<uint32_t>(vector, begin, end, out,
                            [](uint32_t v, Column* c) { c->AppendInt(v); });
      break;
    case NativeKind::kUInt64: {
      std::string text;
      AppendFixed<uint64_t>(vector, begin, end, out, [&text](uint64_t v, Column* c) {
        text.clear();
        AppendUnsignedText(v, &text);
        c->AppendBytes(text);
      });
      break;
    }
    case NativeKind::kFloat:
      AppendFixed<float>(vector, begin, end, out,
                         [](float v, Column* c) { c->AppendFloat(static_cast<double>(v)); });
      break;
    case NativeKind::kDouble:
      AppendFixed<double>(vector, begin, end, out, [](double v, Column* c) { c->AppendFloat(v); });
      break;
    case NativeKind::kDecimal16:
    case NativeKind::kDecimal32:
    case NativeKind::kDecimal64:
    case NativeKind::kDecimal128: {
      std::string text;
      const int scale = plan.scale;
      auto emit = [&text, scale](Int128 v, Column* c) {
        text.clear();
        AppendDecimalText(v, scale, &text);
        c->AppendBytes(text);
      };
      if (plan.kind == NativeKind::kDecimal16) {
        AppendFixed<int16_t>(vector, begin, end, out, emit);
      } else if (plan.kind == NativeKind::kDecimal32) {
        AppendFixed<int32_t>(vector, begin, end, out, emit);
      } else if (plan.kind == NativeKind::kDecimal64) {
        AppendFixed<int64_t>(vector, begin, end, out, emit);
      } else {
        AppendFixed<duckdb_hugeint>(
            vector, begin, end, out,
            [&emit](const duckdb_hugeint& h, Column* c) { emit(HugeOf(h), c); });
      }
      break;
    }
    case NativeKind::kHugeint: {
      std::string text;
      AppendFixed<duckdb_hugeint>(vector, begin, end, out,
                                  [&text](const duckdb_hugeint& h, Column* c) {
                                    text.clear();
                                    AppendDecimalText(HugeOf(h), 0, &text);
                                    c->AppendBytes(text);
                                  });
      break;
    }
    case NativeKind::kUHugeint: {
      std::string text;
      AppendFixed<duckdb_uhugeint>(
          vector, begin, end, out, [&text](const duckdb_uhugeint& h, Column* c) {
            text.clear();
            AppendUnsignedText((static_cast<UInt128>(h.upper) << 64) | h.lower, &text);
            c->AppendBytes(text);
          });
      break;
    }
    case NativeKind::kVarchar:
    case NativeKind::kBlob:
      AppendFixed<duckdb_string_t>(
          vector, begin, end, out,
          [](const duckdb_string_t& s, Column* c) { c->AppendBytes(StringOf(s)); });
      break;
    case NativeKind::kDate:
      AppendFixed<int32_t>(vector, begin, end, out,
                           [](int32_t v, Column* c) { c->AppendInt(DateToOurs(v)); });
      break;
    case NativeKind::kTimestampS:
      AppendFixed<int64_t>(vector, begin, end, out, [](int64_t v, Column* c) {
        c->AppendInt(v == kDuckTimestampInfinity || v == -kDuckTimestampInfinity
                         ? MicrosToOurs(v)
                         : MicrosToOurs(v * 1000000));
      });
      break;
    case NativeKind::kTimestampMs:
      AppendFixed<int64_t>(vector, begin, end, out, [](int64_t v, Column* c) {
        c->AppendInt(v == kDuckTimestampInfinity || v == -kDuckTimestampInfinity
                         ? MicrosToOurs(v)
                         : MicrosToOurs(v * 1000));
      });
      break;
    case NativeKind::kTimestampUs:
      AppendFixed<int64_t>(vector, begin, end, out,
                           [](int64_t v, Column* c) { c->AppendInt(MicrosToOurs(v)); });
      break;
    case NativeKind::kTimestampNs:
      AppendFixed<int64_t>(vector, begin, end, out, [](int64_t v, Column* c) {
        c->AppendInt(v == kDuckTimestampInfinity || v == -kDuckTimestampInfinity
                         ? MicrosToOurs(v)
                         : MicrosToOurs(v / 1000));
      });
      break;
    case NativeKind::kUuid:
      AppendFixed<duckdb_hugeint>(vector, begin, end, out, [](const duckdb_hugeint& h, Column* c) {
        const uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63);
        char bytes[16];
        for (int i = 0; i < 8; ++i) {
          bytes[i] = static_cast<char>(upper >> (56 - 8 * i));
          bytes[8 + i] = static_cast<char>(h.lower >> (56 - 8 * i));
        }
        c->AppendBytes(std::string_view(bytes, 16));
      });
      break;
    case NativeKind::kEnum8:
      AppendFixed<uint8_t>(vector, begin, end, out,
                           [&plan](uint8_t v, Column* c) { c->AppendBytes(plan.enum_values[v]); });
      break;
    case NativeKind::kEnum16:
      AppendFixed<uint16_t>(vector, begin, end, out, [&plan](uint16_t v, Column* c) {
        c->AppendBytes(plan.enum_values[v]);
      });
      break;
    case NativeKind::kEnum32:
      AppendFixed<uint32_t>(vector, begin, end, out, [&plan](uint32_t v, Column* c) {
        c->AppendBytes(plan.enum_values[v]);
      });
      break;
  }
}

}  // namespace cutover::duckdb_store
