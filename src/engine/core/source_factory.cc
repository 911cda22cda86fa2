#include "engine/core/source_factory.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "stores/registry.h"

namespace cutover::engine {

Result<std::string> SourceLocationOf(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity) {
  const spec::SourceSpec* src = migration.FindSource(entity.source);
  if (src == nullptr) {
    return InvalidArgument(
        fmt::format("entity '{}' names unknown source '{}'", entity.name, entity.source));
  }
  std::filesystem::path path(src->path);
  if (!entity.file.empty()) path /= entity.file;
  return path.lexically_normal().string();
}

Result<std::unique_ptr<store::Store>> OpenEntityStore(const spec::MigrationSpec& migration,
                                                      const spec::EntitySpec& entity, int jobs,
                                                      bool file_versions,
                                                      std::shared_ptr<store::SharedPass> pass) {
  const spec::SourceSpec* src = migration.FindSource(entity.source);
  if (src != nullptr && (src->type == "redis" || src->type == "iotdb")) {
    stores::StoreOptions options;
    options.entity = &entity;
    options.pass = std::move(pass);
    return stores::OpenStore(*src, src->url, options);
  }
  ASSIGN_OR_RETURN(std::string path, SourceLocationOf(migration, entity));
  if (src->type == "json" && std::filesystem::is_directory(path)) {
    return InvalidArgument(
        fmt::format("{}: source path {} is a directory; give the entity a `file:`",
                    entity.where.ToString(), path));
  }
  stores::StoreOptions options;
  if (src->type == "json") {
    if (const std::optional<std::string> key_field = spec::JsonKeyField(entity)) {
      options.key_field = *key_field;
      options.versioned = file_versions;
    }
  }
  if (src->type == "parquet") {
    options.key_columns = spec::KeySourceColumns(entity);
    options.versioned = file_versions;
  }
  options.chunk_rows = migration.backfill.chunk_rows;
  // Each worker reads one partition at a time: one DuckDB thread per worker
  // keeps the cores for the mapping and for PostgreSQL.
  options.threads = std::max(1, jobs);
  return stores::OpenStore(*src, path, options);
}

std::shared_ptr<store::SharedPass> OpenSharedPass(
    const spec::MigrationSpec& migration, const std::vector<const spec::EntitySpec*>& entities,
    int64_t batch_size) {
  if (entities.empty()) return nullptr;
  const spec::SourceSpec* src = migration.FindSource(entities[0]->source);
  if (src == nullptr) return nullptr;
  return stores::OpenSharedPass(*src, entities, batch_size);
}

bool IsChunkedEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity) {
  const spec::SourceSpec* s = migration.FindSource(entity.source);
  return s != nullptr && (s->type == "parquet" || s->type == "csv");
}

int DefaultJobs() {
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace cutover::engine
