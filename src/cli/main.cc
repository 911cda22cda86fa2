// cutover's entry point: the command table. Each subcommand lives in its own
// cmd_<name>.cc and registers its options and action here.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <system_error>

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "common/log.h"

namespace {

struct CommandEntry {
  const char* name;
  const char* summary;
  cutover::cli::CommandFactory add;
};

const CommandEntry kCommands[] = {
    {"inspect", "Show what each legacy source holds and propose the tables (CREATE TABLE)",
     cutover::cli::AddInspectCommand},
    {"audit", "Count what lives in the Redis sources and check the spec's stop conditions",
     cutover::cli::AddAuditCommand},
    {"backfill", "Copy every source record into PostgreSQL, resumably, in checkpointed batches",
     cutover::cli::AddBackfillCommand},
    {"verify", "Prove PostgreSQL holds exactly what the legacy store holds; exit 0 only if so",
     cutover::cli::AddVerifyCommand},
    {"rehearse",
     "Run the whole migration against a scratch PostgreSQL that cutover starts and removes",
     cutover::cli::AddRehearseCommand},
    {"phase", "Show or change the migration's stage (legacy ... complete), guarded and audited",
     cutover::cli::AddPhaseCommand},
    {"serve", "Serve health, Prometheus metrics and the stage/routing API over HTTP",
     cutover::cli::AddServeCommand},
    {"sync",
     "Keep PostgreSQL in step with a live Redis (change capture), repairing every gap it detects",
     cutover::cli::AddSyncCommand},
    {"rollback",
     "Write PostgreSQL's state back into the legacy store and move back to dual_write; or "
     "delete exactly the rows one source tag wrote (--tag)",
     cutover::cli::AddRollbackCommand},
};

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes its socket (Redis, PostgreSQL, the TLS tunnel's
  // relay) makes the next write fail with EPIPE, which its caller reports
  // with the connection it was; the default SIGPIPE would end the process
  // without a word. (Children the scratch cluster starts reset it.)
  std::signal(SIGPIPE, SIG_IGN);
  cutover::InitLogging();
  CLI::App app{
      "cutover moves a live application's data from a legacy store into PostgreSQL\n"
      "without downtime and without losing a write. One spec file describes a migration."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cutover 0.1.0");
  cutover::cli::CommandAction action;
  for (const auto& entry : kCommands) {
    CLI::App* sub = app.add_subcommand(entry.name, entry.summary);
    auto run = entry.add(sub);
    sub->callback([&action, run] { action = run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : cutover::cli::kExitUsage;
  }
  if (!action) return cutover::cli::kExitUsage;
  try {
    return action();
  } catch (const std::system_error& e) {
    // Output to a reader that went away (`cutover verify --json | head`):
    // nobody is left to tell, so stop as SIGPIPE would have.
    if (e.code().value() == EPIPE) return 128 + SIGPIPE;
    throw;
  }
}
