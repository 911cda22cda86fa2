// CheckSourceSchema: the spec's columns against the union of a glob's files,
// then file by file.
#include "engine/core/source_schema_check.h"

#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "map/columnar_mapper.h"

namespace cutover::engine {

namespace {

using MissingColumns = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Both readers' checks: `columns` are the source's, `select_and_find_missing`
// restricts reading to the columns it is given and names the files that lack
// some of them.
Status Check(const spec::SourceSpec& source_spec, const spec::EntitySpec& entity,
             const std::vector<std::pair<std::string, ValueType>>& columns,
             const std::function<Result<MissingColumns>(const std::vector<std::string>&)>&
                 select_and_find_missing) {
  ASSIGN_OR_RETURN(auto mapper, map::ColumnarMapper::Create(entity));
  RETURN_IF_ERROR(mapper->CheckSource(columns));
  ASSIGN_OR_RETURN(const MissingColumns missing, select_and_find_missing(mapper->SourceColumns()));
  if (missing.empty()) return Status::Ok();
  std::string listed;
  constexpr size_t kListed = 5;
  for (size_t i = 0; i < missing.size() && i < kListed; ++i) {
    listed += fmt::format("{}{} lacks {}", i ? "; " : "", missing[i].first,
                          fmt::join(missing[i].second, ", "));
  }
  if (missing.size() > kListed)
    listed += fmt::format("; and {} more files", missing.size() - kListed);
  if (source_spec.on_missing_column == spec::SourceSpec::OnMissingColumn::kNull) {
    spdlog::warn("{}: source '{}': {}; read as NULL there (on_missing_column: null)", entity.name,
                 source_spec.name, listed);
    return Status::Ok();
  }
  return InvalidArgument(fmt::format(
      "{}: source '{}' ({}): files differ in their columns: {}, which entity '{}' reads and other "
      "files have. Fix the files, or set `on_missing_column: null` on the source to read the "
      "missing columns as NULL",
      source_spec.where.ToString(), source_spec.name, source_spec.path, listed, entity.name));
}

}  // namespace

Status CheckSourceSchema(const spec::SourceSpec& source_spec, const spec::EntitySpec& entity,
                         store::SnapshotReader* source) {
  ASSIGN_OR_RETURN(const auto described, source->Describe());
  std::vector<std::pair<std::string, ValueType>> columns;
  for (const auto& c : described) columns.emplace_back(c.name, c.type);
  return Check(source_spec, entity, columns, [&](const std::vector<std::string>& read) {
    // Columns the spec never reads are never decoded (nor can they fail).
    source->SelectColumns(read);
    return source->MissingColumns(read);
  });
}

}  // namespace cutover::engine
