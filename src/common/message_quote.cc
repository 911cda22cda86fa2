// QuoteForMessage: data values made safe to print in a message.
#include "common/message_quote.h"

#include <cstdio>

namespace cutover {

std::string QuoteForMessage(std::string_view text, char quote) {
  constexpr size_t kMaxQuoted = 64;
  size_t n = text.size();
  bool truncated = false;
  if (n > kMaxQuoted) {
    n = kMaxQuoted;
    // Back off to a UTF-8 boundary so the message stays valid UTF-8.
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    truncated = true;
  }
  std::string out(1, quote);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (truncated) out += "...";
  out += quote;
  return out;
}

}  // namespace cutover
