// UTF-8 checks for text that must leave the process as JSON or PostgreSQL
// text (reject files, cutover.rejects), which both refuse invalid bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cutover {

bool IsValidUtf8(std::string_view text);

// Valid UTF-8 without NUL: invalid bytes and NUL become "\xNN".
std::string EscapeInvalidUtf8(std::string_view text);

std::string Base64(std::string_view bytes);

// Appends code point `cp` (at most 0x10FFFF, not a surrogate) as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out);

}  // namespace cutover
