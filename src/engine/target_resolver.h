// Decides which PostgreSQL a command talks to: the spec's target.url, or a
// scratch cluster under the work directory that cutover starts and stops.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "spec/spec.h"
#include "target/scratch_cluster.h"

namespace cutover::engine {

// Keeps a scratch cluster running while the command needs it.
struct TargetHandle {
  std::string url;
  std::unique_ptr<target::ScratchCluster> scratch;  // null for a real target
  std::string Describe() const;                     // never shows a password
};

// `ephemeral` scratch clusters live in a temp dir and vanish on exit
// (rehearse); otherwise the scratch data dir is <work_dir>/scratch-pg, so
// backfill and verify, run one after the other, see the same data.
Result<TargetHandle> ResolveTarget(const spec::MigrationSpec& migration, bool ephemeral);

}  // namespace cutover::engine
