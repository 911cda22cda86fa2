// What every subcommand shares: how it is registered in the command table,
// the exit codes, and loading the spec with errors a user can act on.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <functional>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "engine/core/target_resolver.h"
#include "spec/spec.h"

namespace cutover::cli {

// Exit codes, stable for scripts: 0 ok; 1 the stores disagree, too many
// rejects, a guard refused a stage change, or the audit found a fault in the
// spec's patterns (a key matching two); 2 bad usage or spec (including an
// illegal stage move); 3 a runtime failure (PostgreSQL, Redis, I/O); 4 an
// audit stop condition of the spec was hit.
inline constexpr int kExitOk = 0;
inline constexpr int kExitDiffer = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 3;
inline constexpr int kExitStopCondition = 4;

// A subcommand adds its options to `app` and returns the action to run once
// the command line is parsed.
using CommandAction = std::function<int()>;
using CommandFactory = std::function<CommandAction(CLI::App* app)>;

CommandAction AddInspectCommand(CLI::App* app);
CommandAction AddBackfillCommand(CLI::App* app);
CommandAction AddVerifyCommand(CLI::App* app);
CommandAction AddRehearseCommand(CLI::App* app);
CommandAction AddPhaseCommand(CLI::App* app);
CommandAction AddServeCommand(CLI::App* app);
CommandAction AddSyncCommand(CLI::App* app);
CommandAction AddAuditCommand(CLI::App* app);
CommandAction AddRollbackCommand(CLI::App* app);

// Who runs this process, for the audit trail: "user@host (cli)", the user
// from the password database ($USER is whatever the caller exported, so it
// proves nothing about who moved a stage).
std::string OperatorName();

// "250ms", "30s", "5m", "1h": a whole number and a unit; nullopt otherwise.
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

// Loads the spec; on failure prints the error (file:line:column) and returns null.
std::unique_ptr<spec::MigrationSpec> LoadSpecOrReport(const std::string& path);
// LoadSpecOrReport, then what the source files say that the spec must agree
// with (GeoParquet reference systems: engine/geometry_crs.h). On failure
// prints the error and returns null with *exit_code kExitUsage for a spec the
// files contradict, kExitFailure for files that cannot be read.
std::unique_ptr<spec::MigrationSpec> LoadSpecWithSourcesOrReport(const std::string& path,
                                                                 int* exit_code);

// Adds --scratch, the only way (besides rehearse) to run on a scratch cluster.
void AddScratchFlag(CLI::App* app, bool* scratch);

// The spec's target, or with `scratch` the kept scratch cluster. On failure
// prints the error and returns the exit code (2 for a missing url, 3 for a
// cluster that cannot start); kExitOk otherwise.
int ResolveTargetOrReport(const spec::MigrationSpec& migration, bool scratch,
                          engine::TargetHandle* target);

}  // namespace cutover::cli
