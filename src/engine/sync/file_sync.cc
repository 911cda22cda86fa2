// RunFileSync: each file's size, time and digest against the last pass; new
// and changed files applied through EntitySync, JSON files diffed by key.
#include "engine/sync/file_sync.h"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/file_sync.h"
#include "catalog/schema.h"
#include "catalog/stage.h"
#include "common/failpoint.h"
#include "common/file_match.h"
#include "common/json_text.h"
#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/legacy_write_back.h"
#include "engine/core/source_factory.h"
#include "stores/postgres/pg_connection.h"
#include "stores/registry.h"

namespace cutover::engine {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> ExtensionsOf(const std::string& type) {
  if (type == "json") return {".json", ".jsonl", ".ndjson"};
  return {"." + type};
}

// XXH3-128 of every byte of `path`, as 32 hex digits.
Result<std::string> Digest(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return IoError("cannot open " + path + " to digest it");
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state(XXH3_createState(),
                                                                        &XXH3_freeState);
  XXH3_128bits_reset(state.get());
  std::vector<char> buffer(1 << 20);
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    XXH3_128bits_update(state.get(), buffer.data(), n);
  }
  if (std::ferror(file.get())) return IoError("cannot read " + path + " to digest it");
  const XXH128_hash_t h = XXH3_128bits_digest(state.get());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

// The records of `in` at `picks`, with their positions, keys and versions.
store::StoreBatch Select(const store::StoreBatch& in, const std::vector<size_t>& picks) {
  store::StoreBatch out;
  out.origin = in.origin;
  out.rows = in.rows.Select(picks);
  out.end = in.end;
  out.versions_floor = in.versions_floor;
  out.repeats_share_claim = in.repeats_share_claim;
  for (size_t i : picks) {
    out.positions.push_back(in.positions[i]);
    if (i < in.versions.size()) out.versions.push_back(in.versions[i]);
    if (i < in.source_keys.size()) out.source_keys.push_back(in.source_keys[i]);
  }
  return out;
}

class EntityFileSync {
 public:
  EntityFileSync(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                 const spec::SourceSpec& source, const FileSyncRequest& request,
                 pg_store::PgConnection* conn, int64_t run)
      : migration_(migration),
        entity_(entity),
        source_(source),
        request_(request),
        conn_(conn),
        run_(run) {}

  Result<FileSyncEntity> Run() {
    out_.entity = entity_.name;
    ASSIGN_OR_RETURN(const std::string location, SourceLocationOf(migration_, entity_));
    Result<std::vector<std::string>> matched = MatchFiles(location, ExtensionsOf(source_.type));
    std::vector<std::string> files;
    if (matched.ok()) {
      files = std::move(*matched);
    } else if (matched.status().code() != StatusCode::kNotFound) {
      return matched.status();
    }
    ASSIGN_OR_RETURN(const std::vector<catalog::SyncedFile> known,
                     catalog::LoadSyncedFiles(conn_, migration_.name, entity_.name));
    std::map<std::string, catalog::SyncedFile> by_path;
    for (const auto& f : known) by_path[f.path] = f;
    // Paths are kept relative to the source's folder, so a moved project
    // keeps its history.
    const fs::path base = fs::is_directory(source_.path) ? fs::path(source_.path)
                                                         : fs::path(source_.path).parent_path();
    for (const std::string& file : files) {
      const std::string name = fs::path(file).lexically_relative(base).string();
      auto seen = by_path.find(name);
      const catalog::SyncedFile* before = seen == by_path.end() ? nullptr : &seen->second;
      RETURN_IF_ERROR(SyncFile(file, name, before).WithContext(file));
      if (seen != by_path.end()) by_path.erase(seen);
    }
    out_.files_gone = static_cast<int64_t>(by_path.size());
    for (const auto& [name, file] : by_path) {
      spdlog::warn("sync: {}: {} was loaded before and is gone; its rows stay", entity_.name, name);
    }
    return out_;
  }

 private:
  Status SyncFile(const std::string& file, const std::string& name,
                  const catalog::SyncedFile* before) {
    ++out_.files_seen;
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) return IoError("cannot stat " + file);
    catalog::SyncedFile now{
        .path = name,
        .size = static_cast<int64_t>(st.st_size),
        .mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
        .digest = {},
        .records = 0};
    if (before != nullptr && before->size == now.size && before->mtime_ns == now.mtime_ns) {
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(now.digest, Digest(file));
    if (before != nullptr && before->digest == now.digest) {
      ++out_.files_touched;
      now.records = before->records;
      return catalog::SaveSyncedFile(conn_, migration_.name, entity_.name, now);
    }
    ++(before == nullptr ? out_.files_new : out_.files_changed);
    spdlog::info("sync: {}: {} is {}; applying it", entity_.name, name,
                 before == nullptr ? "new" : "changed");
    RETURN_IF_ERROR(CheckStage());
    if (before != nullptr) {
      // Until this file is applied whole, no size, time or digest of it
      // counts as loaded: a pass that fails half way does it again, even if
      // the file goes back to the content loaded before.
      RETURN_IF_ERROR(catalog::SaveSyncedFile(
          conn_, migration_.name, entity_.name,
          {.path = name, .size = -1, .mtime_ns = -1, .digest = {}, .records = 0}));
    }
    ASSIGN_OR_RETURN(now.records, source_.type == "json"
                                      ? ApplyByKey(file, name, now, before == nullptr)
                                      : ApplyAll(file));
    FailPoint("file_sync.before_file_saved");
    return catalog::SaveSyncedFile(conn_, migration_.name, entity_.name, now);
  }

  // Every record of `store`, a batch at a time; returns how many.
  Result<int64_t> ForEachBatch(store::Store* store,
                               const std::function<Status(const store::StoreBatch&)>& each) {
    int64_t records = 0;
    store::SnapshotReader& reader = store->snapshot();
    ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, reader.Plan());
    store::StoreBatch in;
    for (const store::Partition& partition : partitions) {
      ASSIGN_OR_RETURN(auto batches, reader.Open(partition, store::Cursor{}));
      for (;;) {
        ASSIGN_OR_RETURN(const bool more,
                         batches->Next(static_cast<size_t>(request_.batch_size), &in));
        if (!more) break;
        records += static_cast<int64_t>(in.size());
        RETURN_IF_ERROR(each(in));
      }
    }
    out_.records_read += records;
    return records;
  }

  // A pass stops once the stage reaches primary, between files: the files
  // then hold an older state than PostgreSQL.
  Status CheckStage() {
    ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> stage,
                     catalog::ReadStageRow(conn_, migration_.name));
    if (stage && (stage->stage == "primary" || stage->stage == "complete")) {
      return FailedPrecondition(fmt::format(
          "{} moved to stage {} during the pass: PostgreSQL takes the writes first now, so the "
          "files are not loaded into it",
          migration_.name, stage->stage));
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<EntitySync>> Syncer(store::Store* store) {
    ASSIGN_OR_RETURN(auto sync, EntitySync::Create(migration_, entity_, store));
    RETURN_IF_ERROR(sync->Prepare(conn_));
    return sync;
  }

  // Every row of a Parquet or CSV file, applied.
  Result<int64_t> ApplyAll(const std::string& file) {
    stores::StoreOptions options;
    options.key_columns = spec::KeySourceColumns(entity_);
    options.versioned = true;
    options.chunk_rows = migration_.backfill.chunk_rows;
    ASSIGN_OR_RETURN(auto store, stores::OpenStore(source_, file, options));
    ASSIGN_OR_RETURN(auto sync, Syncer(store.get()));
    ASSIGN_OR_RETURN(const int64_t records,
                     ForEachBatch(store.get(), [&](const store::StoreBatch& in) {
                       return sync->Apply(conn_, in, {}, in.versions_floor, &out_.counts);
                     }));
    return records;
  }

  // Deletes the rows of `gone` keys. A key that names no row key (a record
  // that had none, or a malformed one) is counted as rejected and let go,
  // rather than stop every later pass.
  Status DeleteGone(EntitySync* sync, const std::vector<std::string>& gone, int64_t version) {
    Status all = sync->Apply(conn_, store::StoreBatch{}, gone, version, &out_.counts);
    if (all.ok() || all.code() != StatusCode::kDataError) return all;
    for (const std::string& key : gone) {
      Status one = sync->Apply(conn_, store::StoreBatch{}, {key}, version, &out_.counts);
      if (one.code() == StatusCode::kDataError) {
        spdlog::warn("sync: {}: a removed record's key does not name a row: {}", entity_.name,
                     one.message());
        ++out_.counts.rejected;
        continue;
      }
      RETURN_IF_ERROR(one);
    }
    return Status::Ok();
  }

  // A JSON file diffed by key against the hashes of the last pass.
  // `first`: no pass applied this file whole before, so there are no
  // hashes of its last state.
  Result<int64_t> ApplyByKey(const std::string& file, const std::string& name,
                             const catalog::SyncedFile& now, bool first) {
    const std::optional<std::string> key_field = spec::JsonKeyField(entity_);
    if (!key_field) {
      return FailedPrecondition(
          fmt::format("{}: a JSON file is diffed by its records' keys, which needs one key column",
                      entity_.name));
    }
    stores::StoreOptions options;
    options.key_field = *key_field;
    options.versioned = true;
    ASSIGN_OR_RETURN(auto store, stores::OpenStore(source_, file, options));
    ASSIGN_OR_RETURN(auto sync, Syncer(store.get()));
    auto diff = [&](const store::StoreBatch& in) -> Status {
      const int doc = in.rows.IndexOf("$doc");
      if (doc < 0 || in.source_keys.size() != in.size()) {
        return Internal(entity_.name + ": the JSON store's records carry no keys");
      }
      // A record's hash ignores the whitespace between its tokens, so a
      // file written again with other indentation changes nothing.
      std::vector<int64_t> hashes;
      std::string compact;
      for (size_t r = 0; r < in.size(); ++r) {
        compact.clear();
        AppendCompactJson(in.rows.columns[doc].BytesAt(r), &compact);
        hashes.push_back(static_cast<int64_t>(XXH3_64bits(compact.data(), compact.size())));
      }
      // A key the batch holds twice is its last record's, as the backfill
      // reads such a file.
      std::map<std::string, size_t> last;
      for (size_t r = 0; r < in.size(); ++r) last[in.source_keys[r]] = r;
      std::vector<std::string> keys;
      std::vector<size_t> rows;
      for (const auto& [key, r] : last) {
        keys.push_back(key);
        rows.push_back(r);
      }
      ASSIGN_OR_RETURN(const std::vector<std::optional<int64_t>> stored,
                       catalog::SeeKeys(conn_, migration_.name, entity_.name, name, run_, keys));
      std::vector<size_t> picks;
      std::vector<std::string> applied_keys;
      std::vector<int64_t> applied_hashes;
      for (size_t k = 0; k < keys.size(); ++k) {
        if (stored[k] && *stored[k] == hashes[rows[k]]) continue;
        picks.push_back(rows[k]);
        applied_keys.push_back(keys[k]);
        applied_hashes.push_back(hashes[rows[k]]);
      }
      std::sort(picks.begin(), picks.end());
      out_.records_unchanged += static_cast<int64_t>(keys.size() - picks.size());
      // Records whose key comes again later in the batch: the later one is
      // the key's record, as the backfill reads the file.
      out_.records_repeated += static_cast<int64_t>(in.size() - keys.size());
      if (picks.empty()) return Status::Ok();
      RETURN_IF_ERROR(sync->Apply(conn_, Select(in, picks), {}, in.versions_floor, &out_.counts));
      return catalog::SaveKeyHashes(conn_, migration_.name, entity_.name, name, run_, applied_keys,
                                    applied_hashes);
    };
    ASSIGN_OR_RETURN(const int64_t records, ForEachBatch(store.get(), diff));
    // Keys the file no longer has: their rows go, as of the file's time.
    const int64_t version = now.mtime_ns / 1000;
    // In a glob, another file may hold a key this one dropped: only an
    // entity of one file deletes.
    ASSIGN_OR_RETURN(const std::string location, SourceLocationOf(migration_, entity_));
    const bool deletes = !IsGlob(location);
    for (;;) {
      ASSIGN_OR_RETURN(const std::vector<std::string> gone,
                       catalog::UnseenKeys(conn_, migration_.name, entity_.name, name, run_,
                                           static_cast<size_t>(request_.batch_size)));
      if (gone.empty()) break;
      if (deletes) RETURN_IF_ERROR(DeleteGone(sync.get(), gone, version));
      if (!deletes) out_.records_gone_kept += static_cast<int64_t>(gone.size());
      RETURN_IF_ERROR(catalog::ForgetKeys(conn_, migration_.name, entity_.name, name, gone));
    }
    if (first && deletes)
      RETURN_IF_ERROR(DeleteRowsWithoutRecords(store.get(), sync.get(), version));
    return records;
  }

  // A file's first pass has no hashes of its last state: PostgreSQL's rows
  // are that state (the backfill's, or the gateway's), so a row whose key
  // the file does not hold is a record removed since. The file's keys, as
  // its records map to row keys, are gathered in a temporary table (the
  // memory stays PostgreSQL's), the rows without one found by one anti-join
  // into another, and deleted from there a page at a time, through the same
  // path as a removed record.
  Status DeleteRowsWithoutRecords(store::Store* store, EntitySync* sync, int64_t version) {
    const pg_store::TableShape shape = PlanTables(migration_, entity_)[0].shape;
    const std::string keys = KeyColumnList(shape);
    RETURN_IF_ERROR(conn_->Exec(
        "DROP TABLE IF EXISTS pg_temp.cutover_file_keys, pg_temp.cutover_rows_without_record"));
    RETURN_IF_ERROR(
        conn_->Exec(fmt::format("CREATE TEMP TABLE cutover_file_keys AS SELECT {} FROM {} LIMIT 0",
                                keys, shape.QualifiedName())));
    RETURN_IF_ERROR(ScanLegacyKeys(
        migration_, store->snapshot(), entity_, shape, static_cast<size_t>(request_.batch_size),
        [&](const LegacyKeyBatch& batch) -> Status {
          if (batch.tuples.empty()) return Status::Ok();
          std::string values;
          for (const std::string& t : batch.tuples) {
            values += (values.empty() ? "(" : ", (") + t + ")";
          }
          return conn_->Exec(
              fmt::format("INSERT INTO pg_temp.cutover_file_keys VALUES {}", values));
        }));
    RETURN_IF_ERROR(conn_->Exec("ANALYZE pg_temp.cutover_file_keys"));
    RETURN_IF_ERROR(conn_->Exec(fmt::format(
        "CREATE TEMP TABLE cutover_rows_without_record AS SELECT {} FROM {} t WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_temp.cutover_file_keys h WHERE ({}) = ({}))",
        KeyColumnList(shape, "t."), shape.QualifiedName(), KeyColumnList(shape, "h."),
        KeyColumnList(shape, "t."))));
    // One key column (JsonKeyField): its text is a legacy key that maps back
    // to this row's key.
    const std::string key = pg_store::QuoteIdent(shape.key[0]);
    for (;;) {
      ASSIGN_OR_RETURN(
          const pg_store::QueryResult page,
          conn_->Query(fmt::format(
              "DELETE FROM pg_temp.cutover_rows_without_record WHERE ctid IN (SELECT ctid FROM "
              "pg_temp.cutover_rows_without_record LIMIT {}) RETURNING {}::text",
              request_.batch_size, key)));
      if (page.rows.empty()) break;
      std::vector<std::string> gone;
      for (const auto& row : page.rows) {
        if (row[0]) gone.push_back(*row[0]);
      }
      spdlog::info("sync: {}: {} rows whose key the file does not hold: deleting them",
                   entity_.name, gone.size());
      out_.rows_without_record += static_cast<int64_t>(gone.size());
      RETURN_IF_ERROR(DeleteGone(sync, gone, version));
    }
    return conn_->Exec(
        "DROP TABLE IF EXISTS pg_temp.cutover_file_keys, pg_temp.cutover_rows_without_record");
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const spec::SourceSpec& source_;
  const FileSyncRequest& request_;
  pg_store::PgConnection* conn_;
  const int64_t run_;
  FileSyncEntity out_;
};

Result<std::vector<const spec::EntitySpec*>> SelectFileEntities(
    const spec::MigrationSpec& migration, const std::vector<std::string>& names) {
  std::vector<const spec::EntitySpec*> out;
  if (names.empty()) {
    for (const auto& e : migration.entities) {
      if (IsFileEntity(migration, e)) out.push_back(&e);
    }
    if (out.empty()) {
      return InvalidArgument(migration.name + " has no entity of a json, parquet or csv source");
    }
    return out;
  }
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child() || match.is_dimension() || !IsFileEntity(migration, *match.entity)) {
      return InvalidArgument(fmt::format(
          "--entity {}: the file sync takes top-level entities of json, parquet and csv sources",
          name));
    }
    out.push_back(match.entity);
  }
  return out;
}

}  // namespace

bool IsFileEntity(const spec::MigrationSpec& migration, const spec::EntitySpec& entity) {
  if (entity.source.empty()) return false;
  const spec::SourceSpec* source = migration.FindSource(entity.source);
  return source != nullptr &&
         (source->type == "json" || source->type == "parquet" || source->type == "csv");
}

Result<FileSyncReport> RunFileSync(const spec::MigrationSpec& migration,
                                   const std::string& target_url, const FileSyncRequest& request) {
  if (request.batch_size < 1) return InvalidArgument("--batch-size must be at least 1");
  ASSIGN_OR_RETURN(const std::vector<const spec::EntitySpec*> entities,
                   SelectFileEntities(migration, request.entities));
  ASSIGN_OR_RETURN(auto conn,
                   pg_store::PgConnection::ConnectWithRetry(target_url, request.retry_for));
  RETURN_IF_ERROR(catalog::EnsureControlSchema(conn.get()));
  // From primary on the application writes PostgreSQL: the files are the
  // older state, and loading them would overwrite newer rows.
  ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> stage,
                   catalog::ReadStageRow(conn.get(), migration.name));
  if (stage && (stage->stage == "primary" || stage->stage == "complete")) {
    return FailedPrecondition(fmt::format(
        "{} is at stage {}: PostgreSQL takes the writes first, so its files hold an older state "
        "and are not loaded into it",
        migration.name, stage->stage));
  }
  ASSIGN_OR_RETURN(const bool alone, catalog::TryLockFileSync(conn.get(), migration.name));
  if (!alone) {
    return FailedPrecondition(fmt::format(
        "another file sync pass of {} is running (a `cutover sync` or a `cutover serve` with "
        "sync.every); one pass at a time",
        migration.name));
  }
  FileSyncReport report;
  ASSIGN_OR_RETURN(report.run, catalog::StartFileSyncRun(conn.get(), migration.name));
  catalog::FileSyncRun run{.id = report.run};
  Status failed = Status::Ok();
  for (const spec::EntitySpec* entity : entities) {
    EntityFileSync sync(migration, *entity, *migration.FindSource(entity->source), request,
                        conn.get(), report.run);
    Result<FileSyncEntity> done = sync.Run();
    if (!done.ok()) {
      failed = done.status().WithContext("syncing " + entity->name);
      break;
    }
    run.files_seen += done->files_seen;
    run.files_changed += done->files_new + done->files_changed;
    run.upserted += done->counts.upserted;
    run.deleted += done->counts.deleted;
    run.rejected += done->counts.rejected;
    report.entities.push_back(std::move(*done));
  }
  run.error = failed.ok() ? "" : failed.message();
  if (conn->IsHealthy()) {
    if (Status saved = catalog::FinishFileSyncRun(conn.get(), run); !saved.ok() && failed.ok()) {
      return saved.WithContext("recording the sync run");
    }
  }
  if (!failed.ok()) return failed;
  return report;
}

nlohmann::json FileSyncReportJson(const FileSyncReport& report) {
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : report.entities) {
    entities.push_back({{"entity", e.entity},
                        {"files_seen", e.files_seen},
                        {"files_new", e.files_new},
                        {"files_changed", e.files_changed},
                        {"files_touched", e.files_touched},
                        {"files_gone", e.files_gone},
                        {"records_read", e.records_read},
                        {"records_unchanged", e.records_unchanged},
                        {"records_repeated", e.records_repeated},
                        {"records_gone_kept", e.records_gone_kept},
                        {"rows_without_record", e.rows_without_record},
                        {"upserted", e.counts.upserted},
                        {"deleted", e.counts.deleted},
                        {"superseded", e.counts.superseded},
                        {"rejected", e.counts.rejected}});
  }
  return {{"run", report.run}, {"entities", std::move(entities)}};
}

std::string FormatFileSyncReport(const FileSyncReport& report) {
  std::string out = fmt::format("file sync run {}\n", report.run);
  for (const auto& e : report.entities) {
    out += fmt::format(
        "{}: {} files ({} new, {} changed, {} only touched, {} gone); {} records read, {} "
        "unchanged; {} upserted, {} deleted, {} superseded by a newer state, {} rejected{}{}{}\n",
        e.entity, e.files_seen, e.files_new, e.files_changed, e.files_touched, e.files_gone,
        e.records_read, e.records_unchanged, e.counts.upserted, e.counts.deleted,
        e.counts.superseded, e.counts.rejected,
        e.records_gone_kept > 0
            ? fmt::format("; {} records gone from a file of the glob kept (another file may hold "
                          "them)",
                          e.records_gone_kept)
            : "",
        e.records_repeated > 0
            ? fmt::format("; {} records whose key a later record of the file repeats (the later "
                          "one counts)",
                          e.records_repeated)
            : "",
        e.rows_without_record > 0
            ? fmt::format("; of the deleted, {} rows whose key a file seen for the first time "
                          "does not hold (removed since the backfill)",
                          e.rows_without_record)
            : "");
  }
  return out;
}

}  // namespace cutover::engine
