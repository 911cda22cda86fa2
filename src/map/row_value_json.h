// RowValueJson: a column's value as the JSON a legacy record held it in, for
// the builders that turn PostgreSQL rows back into legacy records.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/row_batch.h"

namespace cutover::map {

// Lowercase hex of `bytes`.
std::string HexBytes(std::string_view bytes);

// `col`'s value at `row` as JSON: NULL as null; integers, booleans and
// finite floats as JSON numbers and booleans (NaN and the infinities as the
// strings "NaN", "Infinity", "-Infinity"); dates "yyyy-mm-dd"; timestamps
// ISO 8601 in UTC; uuids lowercase; jsonb parsed; bytes as text when they
// are UTF-8, else {"$bytes": hex}. A numeric is its text, where its scale
// ("12.50") is part of the value, or a JSON number with
// `numeric_as_number`.
nlohmann::ordered_json RowValueJson(const Column& col, size_t row, bool numeric_as_number = false);

// A key part's text: a string as it is, {"$bytes": hex} as its bytes,
// anything else as its JSON text.
std::string KeyPartText(const nlohmann::ordered_json& value);

}  // namespace cutover::map
