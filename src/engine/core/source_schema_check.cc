// CheckSourceSchema: the spec's columns against the union of a glob's files,
// then file by file.
#include "engine/core/source_schema_check.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "map/columnar_mapper.h"

namespace cutover::engine {

Status CheckSourceSchema(const spec::SourceSpec& source_spec, const spec::EntitySpec& entity,
                         store::ChunkedSource* source) {
  ASSIGN_OR_RETURN(auto columns, source->Describe());
  ASSIGN_OR_RETURN(auto mapper, map::ColumnarMapper::Create(entity));
  RETURN_IF_ERROR(mapper->CheckSource(columns));
  const std::vector<std::string> read = mapper->SourceColumns();
  // Columns the spec never reads are never decoded (nor can they fail).
  source->ReadOnly(read);
  ASSIGN_OR_RETURN(const auto missing, source->MissingColumns(read));
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

}  // namespace cutover::engine
