#include "cli/command.h"

#include <fmt/format.h>

#include "engine/geometry_crs.h"
#include "spec/spec_loader.h"

namespace cutover::cli {

std::unique_ptr<spec::MigrationSpec> LoadSpecOrReport(const std::string& path) {
  auto loaded = spec::LoadSpec(path);
  if (!loaded.ok()) {
    fmt::print(stderr, "error: {}\n", loaded.status().message());
    return nullptr;
  }
  return std::make_unique<spec::MigrationSpec>(std::move(loaded).value());
}

std::unique_ptr<spec::MigrationSpec> LoadSpecWithSourcesOrReport(const std::string& path,
                                                                 int* exit_code) {
  auto migration = LoadSpecOrReport(path);
  if (!migration) {
    *exit_code = kExitUsage;
    return nullptr;
  }
  const Status st = engine::ResolveGeometrySrids(migration.get());
  if (!st.ok()) {
    fmt::print(stderr, "error: {}\n", st.message());
    *exit_code = st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
    return nullptr;
  }
  return migration;
}

}  // namespace cutover::cli
