// A scenario test's workspace (a folder with a spec and its data, and the
// database it migrates into) and running the cutover binary in it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "support/pg_harness.h"

namespace cutover::testing {

// A folder holding a spec (usually cutover.yaml) and its data, and the
// database it migrates into.
struct Workspace {
  std::string dir;
  std::string url;
  // Added to the environment of every command run in the workspace.
  std::vector<std::pair<std::string, std::string>> env;
};

// Runs `cutover args...` in ws.dir with DATABASE_URL=ws.url and ws.env.
CommandResult Cutover(const Workspace& ws, const std::vector<std::string>& args);

// Exit code and both output streams, for assertion messages.
std::string Describe(const CommandResult& r);

}  // namespace cutover::testing
