#include "cli/command.h"

#include <fmt/format.h>

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

}  // namespace cutover::cli
