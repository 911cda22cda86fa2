// `cutover sync` for file sources (JSON, Parquet, CSV): one pass that finds
// the files changed since the last pass and applies only what changed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "engine/core/entity_sync.h"
#include "spec/spec.h"

namespace cutover::engine {

struct FileSyncRequest {
  // Top-level entities of file sources; empty: every one of the spec.
  std::vector<std::string> entities;
  int batch_size = 1000;  // records compared and applied per transaction
  std::chrono::milliseconds retry_for{60'000};
};

struct FileSyncEntity {
  std::string entity{};
  int64_t files_seen = 0;
  int64_t files_new = 0;          // not loaded by an earlier pass
  int64_t files_changed = 0;      // loaded before, different now
  int64_t files_touched = 0;      // a new modification time, the same content: not loaded
  int64_t files_gone = 0;         // loaded before, no longer there: their rows stay
  int64_t records_read = 0;       // records of new and changed files
  int64_t records_unchanged = 0;  // of JSON files diffed by key: as last applied
  // Of JSON files: records whose key a later record of the same read batch
  // repeats (the later one is the key's record; neither changed nor new).
  int64_t records_repeated = 0;
  // Records gone from a file of a glob: their rows stay (another file may
  // hold the key).
  int64_t records_gone_kept = 0;
  // A JSON file's first pass: rows whose key the file does not hold (records
  // removed since the backfill), deleted.
  int64_t rows_without_record = 0;
  ApplyCounts counts{};
};

struct FileSyncReport {
  int64_t run = 0;  // cutover.file_sync_runs id
  std::vector<FileSyncEntity> entities{};
};

// Whether `entity` is read from files (json, parquet or csv).
bool IsFileEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity);

// File sync design
//
// A pass looks at every file of each entity's source (its file, folder or
// glob) and compares it with what cutover.file_sync_files says the last
// pass loaded: the same size and modification time is the same file, not
// read at all; otherwise its content digest (XXH3-128 of every byte) is
// computed, and the same digest only records the new time. A new or changed
// file is then applied through EntitySync, so every write is a key's whole
// state claimed by version (catalog/key_versions.h): a backfill, the
// gateway or another pass racing this one converges on the newest state,
// and the spec's dedup rule (`keep_last_by`) decides between a row already
// loaded and a file's row.
//   - A Parquet or CSV file: every row applied (a collector's new file, a
//     file rewritten). Rows a file no longer has are not deleted: such
//     sources grow by files.
//   - A JSON file: diffed by key against cutover.file_sync_keys, a hash of
//     each record as last applied (of its text without the whitespace
//     between tokens, so a file indented anew is not all changed). A record
//     whose hash differs (or that is new) is applied; a key the file no longer has is deleted, rows
//     and children. A file seen for the first time has no hashes yet: all its records are applied
//     (harmless: the same state again) and recorded, and PostgreSQL's rows stand for its last
//     state: a row whose key the file does not hold is deleted (a record removed since the
//     backfill).
// The file's row is saved only after its records are applied, so a pass
// killed half way does the file again: applying a state twice changes
// nothing. A file that is gone is reported, and its rows stay. From
// `primary` on a pass is refused: the files then hold the older state. Each
// pass is
// a row of cutover.file_sync_runs (what `GET /v1/sync` reports), its error
// kept when it fails.
Result<FileSyncReport> RunFileSync(const spec::MigrationSpec& migration,
                                   const std::string& target_url, const FileSyncRequest& request);

nlohmann::json FileSyncReportJson(const FileSyncReport& report);
std::string FormatFileSyncReport(const FileSyncReport& report);

}  // namespace cutover::engine
