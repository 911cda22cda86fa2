// Named crash points for kill tests: CUTOVER_FAILPOINTS="name=N,..." makes
// the Nth hit of `name` kill the process with SIGKILL, as a power cut would.
// "name=pause:MS" instead makes every hit of `name` sleep MS milliseconds, so
// a test can act (restart PostgreSQL, say) while the process stands there.
// "name=value:N" gives FailPointValue(name) the value N, for a fault that is
// a wrong result rather than a crash (a planted mapping bug).
#pragma once

#include <optional>
#include <string_view>

namespace cutover {

// Cheap when the variable is unset: one relaxed load after the first call.
void FailPoint(std::string_view name);

// N when CUTOVER_FAILPOINTS holds "name=value:N"; nullopt otherwise (and
// cheaply when the variable is unset).
std::optional<long> FailPointValue(std::string_view name);

}  // namespace cutover
