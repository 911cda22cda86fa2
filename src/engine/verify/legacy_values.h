// Legacy values compared as the values of a column's type, not as spellings:
// what the round trip uses to tell a lost digit from a different format.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "spec/spec.h"

namespace cutover::engine {

// A decimal ("-001.2300", "1.5e3") as sign, significant digits and the
// power of ten of the last one ("-123e-2"), so that equal numbers have one
// text; nullopt when `text` is no decimal.
std::optional<std::string> CanonicalDecimal(std::string_view text);

// Whether `legacy` and `rebuilt` (JSON values as a legacy store holds them:
// strings as they are, numbers and booleans as JSON) are one value of
// `column`'s type: numbers as exact decimals (1.50 equals 1.5; 3.14159265
// does not equal 3.1416), times as instants (in the column's `format:`),
// uuids in any case, jsonb as parsed JSON, other values as text. Null
// equals only null.
bool SameLegacyValue(const nlohmann::json& legacy, const nlohmann::json& rebuilt,
                     const spec::ColumnSpec& column);

// One text per value of `column`'s type (as SameLegacyValue compares), to
// match the elements of two arrays by their key.
std::string CanonicalLegacyText(const nlohmann::json& value, const spec::ColumnSpec& column);

// The value at the dotted `path` ("a.b") under `root`; null when absent.
// An empty path is `root` itself.
nlohmann::json AtPath(const nlohmann::json& root, std::string_view path);

}  // namespace cutover::engine
