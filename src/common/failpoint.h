// Named crash points for kill tests: CUTOVER_FAILPOINTS="name=N,..." makes
// the Nth hit of `name` kill the process with SIGKILL, as a power cut would.
#pragma once

#include <string_view>

namespace cutover {

// Cheap when the variable is unset: one relaxed load after the first call.
void FailPoint(std::string_view name);

}  // namespace cutover
