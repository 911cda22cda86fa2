// PointValue: the value of a point to write back, taken from a rebuilt row's
// document as its series' type holds it (for insertTablet, SQL and CSV alike).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "stores/iotdb/iotdb_types.h"

namespace cutover::iotdb_store {

// The document members (map::IotdbRecordBuilder's) a value of `type` is
// taken from, in order: its family's first, "$value" last.
std::vector<std::string_view> MembersFor(IotdbType type);

// A JSON integer, an integral double up to 2^53, or a string of digits, as
// an int64; nullopt otherwise.
std::optional<int64_t> IntegerOf(const nlohmann::json& v);

// {"$bytes": hex} or "0x<hex>" as lowercase hex; nullopt otherwise.
std::optional<std::string> HexOf(const nlohmann::json& v);

// `v` as insertTablet takes a value of `type`: a JSON boolean, integer or
// number ("NaN", "Infinity" as strings), text, a DATE as the integer
// yyyyMMdd, a TIMESTAMP as its epoch in `precision`, and a BLOB as its hex
// (for an X'..' literal). DataError when the type cannot hold it exactly.
Result<nlohmann::json> TabletValue(IotdbType type, const nlohmann::json& v,
                                   TimePrecision precision);

// The value of the point of `doc` (a long document) for a series of `type`:
// its first member MembersFor names, through TabletValue. nullopt when the
// document has none of them.
Result<std::optional<nlohmann::json>> PointValue(IotdbType type, const nlohmann::json& doc,
                                                 TimePrecision precision);

// A value of a column of `type` as IoTDB's REST API answers it, canonical
// (iotdb_types.h). DataError for a JSON kind the type never comes as.
Result<IotdbValue> ValueFromRest(const nlohmann::json& v, IotdbType type, TimePrecision precision);

// What IoTDB holds, canonical, after a point of `type` was written as
// `sent` (TabletValue's form; a BLOB's hex): what a read of the point
// would give, without the read. FailedPrecondition for a FLOAT: IoTDB
// prints a single with Java's digits, which only a read gives.
Result<IotdbValue> StoredValue(IotdbType type, const nlohmann::json& sent, TimePrecision precision);

}  // namespace cutover::iotdb_store
