// Text -> typed column value by the spec's column rules, shared by the JSON
// and the columnar mapper so that a string converts alike from either.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/row_batch.h"
#include "common/status.h"
#include "spec/spec.h"

namespace cutover::map {

// Appends `text` converted to c.type (timestamps by c.time_format) to `out`,
// or returns a DataError naming what is wrong and appends nothing. Text with
// a NUL byte is refused (PostgreSQL text cannot hold it); a string mapped to
// jsonb becomes a JSON string. bytea and geometry are not read from text.
Status AppendFromText(std::string_view text, const spec::ColumnSpec& c, Column* out);

// Appends an integer converted to c.type: range-checked for integer, 0/1 for
// bool, epoch seconds or milliseconds for timestamptz (by c.time_format),
// decimal text for numeric, text and jsonb. Other types are a DataError.
Status AppendFromInteger(int64_t v, const spec::ColumnSpec& c, Column* out);

// Numeric text as PostgreSQL's numeric keeps it: the value and its scale
// (the digits after the point, "1.00" stays "1.00", "1.5e-3" is "0.0015",
// "1.50e1" is "15.0"), with no exponent, no leading zeros and no "-0";
// "NaN" for NaN. The scale is part of what an application reads back.
Result<std::string> NumericText(std::string_view text);
// Whether `text` is already what NumericText returns for it, checked without
// allocating (decimals as DuckDB and PostgreSQL print them).
bool IsNumericText(std::string_view text);
// `text` (as NumericText returns) at `scale` digits after the point when
// that only adds or drops zeros; nullopt when it would round, as a column
// of declared scale would when storing it.
std::optional<std::string> NumericAtScale(std::string_view text, int scale);

// `text` as a JSON string literal: quoted, with '"', '\\' and the control
// characters below U+0020 escaped (the short escapes where JSON has one,
// \u00XX otherwise) and every other byte as it is, so UTF-8 stays UTF-8.
std::string JsonQuoted(std::string_view text);

// Appends minified JSON for a jsonb column; refuses the escape \u0000,
// which jsonb cannot store (SQLSTATE 22P05).
Status AppendJsonText(std::string json, Column* out);

// `v` as a double column stores it: unchanged, except under the test-only
// failpoint map.round_float=value:N, a planted mapping bug (rounding to N
// digits) that plain verify shares with backfill and `verify --round-trip`
// must catch.
double StoredFloat(double v);

}  // namespace cutover::map
