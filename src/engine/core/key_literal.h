// Key values as SQL literals, for finding a few rows by key with the key index
// (verify's second pass, the gateway's reads of PostgreSQL).
#pragma once

#include <optional>
#include <string>

#include "common/row_batch.h"

namespace cutover::engine {

// A key value as a SQL literal of its type, or nullopt for types (and
// values, such as infinite dates) whose text PostgreSQL might not read back.
std::optional<std::string> KeyLiteral(const Column& col, size_t row);

}  // namespace cutover::engine
