#include "engine/target_resolver.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"

namespace cutover::engine {

std::string TargetHandle::Describe() const {
  if (scratch) {
    return fmt::format("scratch PostgreSQL on 127.0.0.1:{} ({})", scratch->port(),
                       scratch->data_dir());
  }
  return RedactSecrets(url);
}

Result<TargetHandle> ResolveTarget(const spec::MigrationSpec& migration, bool ephemeral) {
  TargetHandle handle;
  if (migration.target.url && !migration.target.url->empty()) {
    handle.url = *migration.target.url;
    return handle;
  }
  target::ScratchOptions options;
  options.ephemeral = ephemeral;
  if (ephemeral) {
    ASSIGN_OR_RETURN(options.data_dir, target::MakeTempDir("cutover-rehearse-"));
  } else {
    options.data_dir = (std::filesystem::path(migration.work_dir) / "scratch-pg").string();
  }
  spdlog::info("starting a scratch PostgreSQL in {}", options.data_dir);
  auto cluster = target::ScratchCluster::Start(options);
  if (!cluster.ok()) return cluster.status().WithContext("starting the scratch PostgreSQL");
  handle.url = (*cluster)->url();
  handle.scratch = std::move(cluster).value();
  return handle;
}

}  // namespace cutover::engine
