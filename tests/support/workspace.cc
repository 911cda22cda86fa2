// A scenario test's workspace and running the cutover binary in it.
#include "support/workspace.h"

namespace cutover::testing {

CommandResult Cutover(const Workspace& ws, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", ws.url}};
  env.insert(env.end(), ws.env.begin(), ws.env.end());
  return RunCommand(argv, env, ws.dir);
}

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

}  // namespace cutover::testing
