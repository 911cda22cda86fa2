// Rollback into a file: PostgreSQL's rows of an entity (with their children,
// into JSON) exported into the entity's JSON or Parquet file, replacing it.
#pragma once

#include <string>

#include "common/status.h"
#include "engine/rollback/state_rollback.h"
#include "spec/spec.h"

namespace cutover::engine {

// File rollback design
//
// A file has no keys to write one by one without rewriting it whole
// (stores/json/json_file_writer.h), so a file goes back by export: the
// entity's table is read in key order, a page at a time, each page's
// children read by their parent keys, every row turned into its record
// (map/document_builder.h) or its source row (map/columnar_builder.h), and
// streamed into a new file that replaces the old one at once
// (store::Replacer; a Parquet file keeps its columns' names and types). The old file is not
// edited, so the new one is exactly what an export of PostgreSQL writes:
// records in key order (children in theirs), whatever order or spelling
// the old file had, and a record without a row is simply not written.
//
// Everything is read in one REPEATABLE READ transaction, so the parents,
// their children, and the count of records that go (the old file's keys
// looked up, before the replace) all see one state of PostgreSQL. A run
// killed at any point leaves the old file or the new one, never a mix, and
// running it again writes the same bytes. The gateway's lock on the file is
// held throughout: a gateway writing the file makes the rollback fail, not
// lose a write.
Result<StateRollbackEntity> RollbackIntoFile(const spec::MigrationSpec& migration,
                                             const spec::EntitySpec& entity,
                                             const std::string& target_url,
                                             const StateRollbackRequest& request);

}  // namespace cutover::engine
