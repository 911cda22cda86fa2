// ValueText: a typed value as canonical text (a key capture, a log line), and
// the date, timestamp and uuid formatters it uses.
#pragma once

#include <cstdint>
#include <string>

#include "common/row_batch.h"

namespace cutover {

// "2024-01-02T03:04:05.123456Z"; the fraction is omitted when zero and
// otherwise always six digits.
std::string FormatTimestamptz(int64_t micros);

// "2024-01-02".
std::string FormatDate(int32_t days);

// Lowercase 8-4-4-4-12; `bytes16` must point at 16 bytes.
std::string FormatUuid(const uint8_t* bytes16);

// The value at `row` as PostgreSQL would print it: floats in the shortest
// text that reads back exactly, dates and timestamps as above, uuids
// formatted, the other types' bytes as stored; "NULL" for NULL.
std::string ValueText(const Column& col, size_t row);

}  // namespace cutover
