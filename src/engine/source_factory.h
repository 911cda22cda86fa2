// Opens the legacy-store reader for an entity, so the runners need not know
// which store a spec names.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "source/row_source.h"
#include "spec/spec.h"

namespace cutover::engine {

// The path or name recorded as the origin of the entity's records.
Result<std::string> SourceLocationOf(const spec::MigrationSpec& migration,
                                     const spec::EntitySpec& entity);

Result<std::unique_ptr<source::RowSource>> OpenSource(const spec::MigrationSpec& migration,
                                                      const spec::EntitySpec& entity);

}  // namespace cutover::engine
