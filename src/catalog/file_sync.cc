// The file sync's catalog rows: files, per-key hashes (keys as bytea, passed
// as array parameters so a batch is one statement), and runs.
#include "catalog/file_sync.h"

#include <fmt/format.h>

namespace cutover::catalog {
namespace {

// `keys` as a bytea[] literal: each element quoted, its backslash doubled.
std::string ByteaArray(const std::vector<std::string>& keys) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "{";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    out += "\"\\\\x";
    for (unsigned char c : keys[i]) {
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
    out += '"';
  }
  return out + "}";
}

std::string FromHex(std::string_view hex) {
  if (hex.starts_with("\\x")) hex.remove_prefix(2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

int64_t Int(const std::optional<std::string>& v) {
  return v ? std::stoll(*v) : 0;
}

}  // namespace

Result<std::vector<SyncedFile>> LoadSyncedFiles(pg_store::PgConnection* conn,
                                                const std::string& migration,
                                                const std::string& entity) {
  ASSIGN_OR_RETURN(auto r, conn->Query("SELECT path, size, mtime_ns, digest, records FROM "
                                       "cutover.file_sync_files WHERE migration = $1 AND "
                                       "entity = $2 ORDER BY path",
                                       {migration, entity}));
  std::vector<SyncedFile> out;
  for (const auto& row : r.rows) {
    out.push_back({.path = row[0].value_or(""),
                   .size = Int(row[1]),
                   .mtime_ns = Int(row[2]),
                   .digest = row[3].value_or(""),
                   .records = Int(row[4])});
  }
  return out;
}

Status SaveSyncedFile(pg_store::PgConnection* conn, const std::string& migration,
                      const std::string& entity, const SyncedFile& file) {
  return conn
      ->Query(
          "INSERT INTO cutover.file_sync_files (migration, entity, path, size, mtime_ns, "
          "digest, records) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (migration, "
          "entity, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
          "digest = excluded.digest, records = excluded.records, synced_at = now()",
          {migration, entity, file.path, std::to_string(file.size), std::to_string(file.mtime_ns),
           file.digest, std::to_string(file.records)})
      .status();
}

Result<std::vector<std::optional<int64_t>>> SeeKeys(pg_store::PgConnection* conn,
                                                    const std::string& migration,
                                                    const std::string& entity,
                                                    const std::string& path, int64_t run,
                                                    const std::vector<std::string>& keys) {
  std::vector<std::optional<int64_t>> out(keys.size());
  if (keys.empty()) return out;
  ASSIGN_OR_RETURN(
      auto r,
      conn->Query("WITH k AS (SELECT * FROM unnest($5::bytea[]) WITH ORDINALITY AS k(key, i)), "
                  "seen AS (UPDATE cutover.file_sync_keys f SET seen_run = $4 FROM k "
                  "WHERE f.migration = $1 AND f.entity = $2 AND f.path = $3 AND f.key = k.key "
                  "RETURNING k.i, f.record_hash) SELECT i, record_hash FROM seen",
                  {migration, entity, path, std::to_string(run), ByteaArray(keys)}));
  for (const auto& row : r.rows) {
    const size_t i = std::stoul(row[0].value_or("0"));
    if (i >= 1 && i <= keys.size()) out[i - 1] = Int(row[1]);
  }
  return out;
}

Status SaveKeyHashes(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity, const std::string& path, int64_t run,
                     const std::vector<std::string>& keys, const std::vector<int64_t>& hashes) {
  if (keys.empty()) return Status::Ok();
  std::string hash_array = "{";
  for (size_t i = 0; i < hashes.size(); ++i) {
    hash_array += (i > 0 ? "," : "") + std::to_string(hashes[i]);
  }
  hash_array += "}";
  return conn
      ->Query(
          "INSERT INTO cutover.file_sync_keys (migration, entity, path, key, record_hash, "
          "seen_run) SELECT $1, $2, $3, k, h, $4 FROM unnest($5::bytea[], $6::bigint[]) "
          "AS u(k, h) ON CONFLICT (migration, entity, path, key) DO UPDATE SET "
          "record_hash = excluded.record_hash, seen_run = excluded.seen_run",
          {migration, entity, path, std::to_string(run), ByteaArray(keys), hash_array})
      .status();
}

Result<std::vector<std::string>> UnseenKeys(pg_store::PgConnection* conn,
                                            const std::string& migration, const std::string& entity,
                                            const std::string& path, int64_t run, size_t limit) {
  ASSIGN_OR_RETURN(auto r,
                   conn->Query(fmt::format("SELECT encode(key, 'hex') FROM cutover.file_sync_keys "
                                           "WHERE migration = $1 AND entity = $2 AND "
                                           "path = $3 AND seen_run <> $4 LIMIT {}",
                                           limit),
                               {migration, entity, path, std::to_string(run)}));
  std::vector<std::string> out;
  for (const auto& row : r.rows) out.push_back(FromHex(row[0].value_or("")));
  return out;
}

Status ForgetKeys(pg_store::PgConnection* conn, const std::string& migration,
                  const std::string& entity, const std::string& path,
                  const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::Ok();
  return conn
      ->Query(
          "DELETE FROM cutover.file_sync_keys WHERE migration = $1 AND entity = $2 AND "
          "path = $3 AND key = ANY($4::bytea[])",
          {migration, entity, path, ByteaArray(keys)})
      .status();
}

Result<bool> TryLockFileSync(pg_store::PgConnection* conn, const std::string& migration) {
  ASSIGN_OR_RETURN(auto got, conn->QueryValue("SELECT pg_try_advisory_lock(hashtextextended("
                                              "'cutover.file_sync:' || $1, 0))",
                                              {migration}));
  return got && *got == "t";
}

Result<int64_t> StartFileSyncRun(pg_store::PgConnection* conn, const std::string& migration) {
  ASSIGN_OR_RETURN(auto id,
                   conn->QueryValue("INSERT INTO cutover.file_sync_runs (migration) VALUES ($1) "
                                    "RETURNING id",
                                    {migration}));
  return Int(id);
}

Status FinishFileSyncRun(pg_store::PgConnection* conn, const FileSyncRun& run) {
  return conn
      ->Query(
          "UPDATE cutover.file_sync_runs SET finished_at = now(), files_seen = $2, "
          "files_changed = $3, upserted = $4, deleted = $5, rejected = $6, "
          "error = NULLIF($7, '') WHERE id = $1",
          {std::to_string(run.id), std::to_string(run.files_seen),
           std::to_string(run.files_changed), std::to_string(run.upserted),
           std::to_string(run.deleted), std::to_string(run.rejected), run.error})
      .status();
}

Result<std::optional<FileSyncRun>> LatestFileSyncRun(pg_store::PgConnection* conn,
                                                     const std::string& migration,
                                                     bool succeeded_only) {
  ASSIGN_OR_RETURN(
      auto r,
      conn->Query(
          fmt::format(
              "SELECT id, to_char(started_at AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), to_char(finished_at AT TIME ZONE 'UTC', "
              "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), files_seen, files_changed, upserted, "
              "deleted, rejected, error FROM cutover.file_sync_runs WHERE migration = $1 {} "
              "ORDER BY id DESC LIMIT 1",
              succeeded_only ? "AND finished_at IS NOT NULL AND error IS NULL" : ""),
          {migration}));
  if (r.rows.empty()) return std::optional<FileSyncRun>();
  const auto& row = r.rows[0];
  return std::optional<FileSyncRun>(FileSyncRun{.id = Int(row[0]),
                                                .started_at = row[1].value_or(""),
                                                .finished_at = row[2].value_or(""),
                                                .files_seen = Int(row[3]),
                                                .files_changed = Int(row[4]),
                                                .upserted = Int(row[5]),
                                                .deleted = Int(row[6]),
                                                .rejected = Int(row[7]),
                                                .error = row[8].value_or("")});
}

}  // namespace cutover::catalog
