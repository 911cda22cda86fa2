// "Did you mean ...?" for misspelled names in the spec: picks the valid name
// closest to a given one by edit distance, or nothing when none is close.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::spec {

// Optimal-string-alignment distance: insertions, deletions, substitutions and
// swaps of two adjacent characters each cost 1, since a swap is the most
// common typing slip ("tabel") and plain Levenshtein would charge it 2.
size_t EditDistance(std::string_view a, std::string_view b);

// The entry of `valid` closest to `given`, the first one on a tie; "" when the
// best distance exceeds max(2, given.size() / 2) or would rewrite the whole
// candidate, because suggesting an unrelated name misleads more than silence.
std::string NearestName(std::string_view given, const std::vector<std::string_view>& valid);

}  // namespace cutover::spec
