#include "common/reject.h"

#include <fmt/format.h>

namespace cutover {

std::string Reject::PositionText() const {
  std::string out = source;
  if (line >= 0) out += fmt::format(":{}", line);
  if (byte_offset >= 0) out += fmt::format(" (byte {})", byte_offset);
  if (!item.empty()) out += " " + item;
  return out;
}

}  // namespace cutover
