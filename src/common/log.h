// Logging setup: one stderr logger for the whole process, plain lines when
// stderr is not a terminal so logs stay greppable.
#pragma once

#include <spdlog/spdlog.h>

namespace cutover {

// Level from CUTOVER_LOG (trace|debug|info|warn|error), default info.
void InitLogging();

// True when stderr is a terminal (progress lines redraw in place).
bool StderrIsTerminal();

}  // namespace cutover
