#include "common/redact.h"

#include <regex>

namespace cutover {

std::string RedactSecrets(std::string_view text) {
  // URLs: scheme://user:password@host -> keep the user, hide the password.
  static const std::regex kUrlPassword(R"(([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]*@)");
  // conninfo and query strings: password=... up to whitespace, & or quote.
  static const std::regex kKeyValuePassword(R"((password\s*=\s*)('[^']*'|[^\s&']+))",
                                            std::regex::icase);
  std::string out = std::regex_replace(std::string(text), kUrlPassword, "$1:***@");
  return std::regex_replace(out, kKeyValuePassword, "$1***");
}

}  // namespace cutover
