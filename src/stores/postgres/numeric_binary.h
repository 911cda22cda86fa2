// PostgreSQL's binary numeric (base-10,000 digits, as binary COPY sends it)
// printed as PostgreSQL's numeric_out prints it, without asking the server to.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cutover::pg_store {

// Appends to `out` the text of the binary numeric at `p` (`len` bytes):
// "-12.50" for a value of scale 2, "NaN", "Infinity", "-Infinity". An error
// when the bytes are not a well-formed binary numeric.
Status AppendNumericText(const char* p, uint32_t len, std::string* out);

}  // namespace cutover::pg_store
