// cutover.file_sync_*: what the file sync loaded from each file (by file, and
// by key for JSON files it diffs), and each of its runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// A file as the sync last loaded it.
struct SyncedFile {
  std::string path{};
  int64_t size = 0;
  int64_t mtime_ns = 0;
  std::string digest{};  // hex of a hash of the whole content
  int64_t records = 0;
};

// Every file of (migration, entity) the sync has loaded.
Result<std::vector<SyncedFile>> LoadSyncedFiles(pg_store::PgConnection* conn,
                                                const std::string& migration,
                                                const std::string& entity);

// Replaces the row of `file`.
Status SaveSyncedFile(pg_store::PgConnection* conn, const std::string& migration,
                      const std::string& entity, const SyncedFile& file);

// Marks `keys` of a file as seen by run `run` and returns, parallel to
// `keys`, the hash each had when last applied (nullopt: a key not known).
Result<std::vector<std::optional<int64_t>>> SeeKeys(pg_store::PgConnection* conn,
                                                    const std::string& migration,
                                                    const std::string& entity,
                                                    const std::string& path, int64_t run,
                                                    const std::vector<std::string>& keys);

// Records `hashes` (parallel to `keys`) as applied, seen by `run`.
Status SaveKeyHashes(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity, const std::string& path, int64_t run,
                     const std::vector<std::string>& keys, const std::vector<int64_t>& hashes);

// Up to `limit` keys of the file that run `run` did not see (records removed
// from it), and forgetting them once their rows are deleted.
Result<std::vector<std::string>> UnseenKeys(pg_store::PgConnection* conn,
                                            const std::string& migration, const std::string& entity,
                                            const std::string& path, int64_t run, size_t limit);
Status ForgetKeys(pg_store::PgConnection* conn, const std::string& migration,
                  const std::string& entity, const std::string& path,
                  const std::vector<std::string>& keys);

// One run of the file sync.
struct FileSyncRun {
  int64_t id = 0;
  std::string started_at{};   // ISO 8601, UTC
  std::string finished_at{};  // empty while it runs (or if it died)
  int64_t files_seen = 0;
  int64_t files_changed = 0;
  int64_t upserted = 0;
  int64_t deleted = 0;
  int64_t rejected = 0;
  std::string error{};  // empty: the run succeeded (or still runs)
};

// Takes the session's lock on the file sync of `migration` (held until the
// connection closes): false when another pass holds it. Two passes at once
// would each take the other's keys for removed records.
Result<bool> TryLockFileSync(pg_store::PgConnection* conn, const std::string& migration);

// A new run of `migration`; its id orders it after every earlier one.
Result<int64_t> StartFileSyncRun(pg_store::PgConnection* conn, const std::string& migration);
// Records how run `run.id` ended.
Status FinishFileSyncRun(pg_store::PgConnection* conn, const FileSyncRun& run);
// The newest run of `migration`, and the newest that succeeded.
Result<std::optional<FileSyncRun>> LatestFileSyncRun(pg_store::PgConnection* conn,
                                                     const std::string& migration,
                                                     bool succeeded_only = false);

}  // namespace cutover::catalog
