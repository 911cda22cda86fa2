// Removes credentials from connection strings before they reach a log, an
// error message or an HTTP response.
#pragma once

#include <string>
#include <string_view>

namespace cutover {

// "postgresql://u:secret@h/db" -> "postgresql://u:***@h/db"; in key=value
// conninfo strings, password=... becomes password=***. Other text unchanged.
std::string RedactSecrets(std::string_view text);

}  // namespace cutover
