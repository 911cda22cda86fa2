// Hash containers keyed by std::string that a std::string_view can probe, so
// looking up a value read from a batch costs no copy of it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace cutover {

// std::hash over the characters, for std::string and std::string_view alike
// (they hash equal by the standard). Stateless; safe to share.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

}  // namespace cutover
