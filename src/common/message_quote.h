// QuoteForMessage: a value from the data, quoted for an error message so the
// user can find it, but cut short and with control bytes escaped.
#pragma once

#include <string>
#include <string_view>

namespace cutover {

// `text` between two `quote` characters: at most 64 bytes of it (cut at a
// UTF-8 boundary, then "..."), and every control byte, DEL and backslash as
// \xNN, so that a multi-megabyte value or a BLOB's NUL cannot wreck a log
// line.
std::string QuoteForMessage(std::string_view text, char quote);

}  // namespace cutover
