// Text -> typed column value by the spec's column rules, shared by the JSON
// and the columnar mapper so that a string converts alike from either.
#pragma once

#include <cstdint>
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

// Appends minified JSON for a jsonb column; refuses the escape \u0000,
// which jsonb cannot store (SQLSTATE 22P05).
Status AppendJsonText(std::string json, Column* out);

}  // namespace cutover::map
