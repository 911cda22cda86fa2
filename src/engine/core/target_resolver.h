// Decides which PostgreSQL a command talks to: the spec's target.url, or a
// scratch cluster that cutover starts and stops, but only when asked for one.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/postgres/scratch_cluster.h"

namespace cutover::engine {

// Keeps a scratch cluster running while the command needs it.
struct TargetHandle {
  std::string url;
  std::unique_ptr<pg_store::ScratchCluster> scratch;  // null for a real target
  std::string Describe() const;                       // never shows a password
};

// Which PostgreSQL a command may use. A scratch cluster is never a silent
// fallback: a command without target.url that was not asked for a scratch
// one fails, naming the variable the url comes from.
enum class TargetChoice {
  kSpecUrl,          // target.url; InvalidArgument when it is empty or absent
  kKeptScratch,      // --scratch: <work_dir>/scratch-pg, kept between commands
                     // so that backfill then verify see the same data
  kEphemeralScratch  // rehearse: a temp dir, removed on exit
};

Result<TargetHandle> ResolveTarget(const spec::MigrationSpec& migration, TargetChoice choice);

// "target.url is empty: set DATABASE_URL, or pass --scratch ..." for a spec
// whose url is empty or absent; names the ${VAR}s of the url's text.
std::string MissingUrlMessage(const spec::MigrationSpec& migration);

}  // namespace cutover::engine
