#include "engine/core/target_resolver.h"

#include <filesystem>
#include <regex>
#include <vector>

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

std::string MissingUrlMessage(const spec::MigrationSpec& migration) {
  const auto& target = migration.target;
  std::vector<std::string> variables;
  static const std::regex kVariable(R"(\$\{([A-Za-z_][A-Za-z0-9_]*))");
  for (std::sregex_iterator it(target.url_text.begin(), target.url_text.end(), kVariable), end;
       it != end; ++it) {
    variables.push_back((*it)[1].str());
  }
  const std::string where = target.where.line > 0 ? target.where.ToString() + ": " : "";
  if (target.url_text.empty()) {
    return fmt::format(
        "{}the spec has no target.url: add one (e.g. url: \"${{DATABASE_URL}}\"), or pass "
        "--scratch to run on a scratch PostgreSQL",
        where);
  }
  if (variables.empty()) {
    return fmt::format(
        "{}target.url is empty: give it a PostgreSQL URL, or pass --scratch to run "
        "on a scratch PostgreSQL",
        where);
  }
  return fmt::format(
      "{}target.url ({}) is empty: set {}, or pass --scratch to run on a scratch PostgreSQL", where,
      target.url_text, fmt::join(variables, " or "));
}

Result<TargetHandle> ResolveTarget(const spec::MigrationSpec& migration, TargetChoice choice) {
  TargetHandle handle;
  if (choice == TargetChoice::kSpecUrl) {
    if (!migration.target.url || migration.target.url->empty()) {
      return InvalidArgument(MissingUrlMessage(migration));
    }
    handle.url = *migration.target.url;
    return handle;
  }
  pg_store::ScratchOptions options;
  options.ephemeral = choice == TargetChoice::kEphemeralScratch;
  if (options.ephemeral) {
    ASSIGN_OR_RETURN(options.data_dir, pg_store::MakeTempDir("cutover-rehearse-"));
  } else {
    options.data_dir = (std::filesystem::path(migration.work_dir) / "scratch-pg").string();
  }
  spdlog::info("starting a scratch PostgreSQL in {}", options.data_dir);
  auto cluster = pg_store::ScratchCluster::Start(options);
  if (!cluster.ok()) return cluster.status().WithContext("starting the scratch PostgreSQL");
  handle.url = (*cluster)->url();
  handle.scratch = std::move(cluster).value();
  return handle;
}

}  // namespace cutover::engine
