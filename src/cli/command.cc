// What the subcommands share: loading the spec and choosing the target, each
// failure printed once with what to do about it.
#include "cli/command.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "engine/core/geometry_crs.h"
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

void AddScratchFlag(CLI::App* app, bool* scratch) {
  app->add_flag("--scratch", *scratch,
                "Run on a scratch PostgreSQL that cutover starts under the spec's .cutover/ "
                "folder and keeps, so that backfill, verify and phase see the same data "
                "(default off: the spec's target.url, which must then be set)");
}

int ResolveTargetOrReport(const spec::MigrationSpec& migration, bool scratch,
                          engine::TargetHandle* target) {
  auto resolved = engine::ResolveTarget(
      migration, scratch ? engine::TargetChoice::kKeptScratch : engine::TargetChoice::kSpecUrl);
  if (!resolved.ok()) {
    fmt::print(stderr, "error: {}\n", resolved.status().message());
    return resolved.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  *target = std::move(resolved).value();
  return kExitOk;
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

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  const int64_t n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  return std::nullopt;
}

std::string OperatorName() {
  const uid_t uid = geteuid();
  std::string user = fmt::format("uid {}", uid);
  std::vector<char> buf(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && *found->pw_name != '\0') {
    user = found->pw_name;
  }
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}@{} (cli)", user, host);
}

}  // namespace cutover::cli
