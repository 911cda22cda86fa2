// RunStateRollback: PostgreSQL's rows written back into Redis page by page
// under the keys' locks, then the Redis keys without a row deleted.
#include "engine/rollback/state_rollback.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "catalog/stage.h"
#include "common/failpoint.h"
#include "engine/core/entity_selection.h"
#include "engine/core/legacy_write_back.h"
#include "engine/core/source_factory.h"
#include "engine/rollback/file_rollback.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"

namespace cutover::engine {
namespace {

constexpr std::string_view kStagesAllowed[] = {"primary", "complete"};

}  // namespace

std::string WhyCannotGoBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity) {
  if (entity.source.empty()) return "";  // a lookup dimension: nothing of its own to write
  const spec::SourceSpec* source = migration.FindSource(entity.source);
  if (!entity.redis && !entity.iotdb &&
      (source == nullptr || (source->type != "json" && source->type != "parquet"))) {
    return fmt::format("writing rows back into {} sources is not built yet",
                       source != nullptr ? source->type : "its");
  }
  if (entity.iotdb && entity.iotdb->layout == spec::IotdbSeriesSpec::Layout::kWide &&
      source != nullptr && source->url.empty()) {
    return "a wide layout's rows are not written back into export files (over REST they are)";
  }
  if (!entity.redis && !entity.iotdb) {
    std::error_code ec;
    Result<std::string> location = SourceLocationOf(migration, entity);
    if (location.ok() && std::filesystem::is_directory(*location, ec)) {
      return "its rows come from the files of a folder, and a row does not say which one";
    }
  }
  if (!entity.write_back) {
    const std::string problem = spec::InvertibilityProblem(entity);
    return "it does not declare write_back: true" +
           (problem.empty() ? std::string() : " (and " + problem + ")");
  }
  return "";
}

namespace {

class EntityStateRollback {
 public:
  EntityStateRollback(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                      const StateRollbackRequest& request, const std::string& url)
      : migration_(migration), entity_(entity), request_(request), url_(url) {}

  Result<StateRollbackEntity> Run() {
    out_.entity = entity_.name;
    ASSIGN_OR_RETURN(conn_, pg_store::PgConnection::ConnectWithRetry(url_, request_.retry_for));
    ASSIGN_OR_RETURN(back_, LegacyWriteBack::Open(migration_, entity_, "rollback"));
    const pg_store::TableShape& shape = back_->shape();
    ASSIGN_OR_RETURN(const std::optional<std::string> exists,
                     conn_->QueryValue("SELECT to_regclass($1)::text", {shape.QualifiedName()}));
    if (!exists) {
      return FailedPrecondition(
          fmt::format("{}: table {} does not exist, so PostgreSQL holds no state to write back",
                      entity_.name, shape.QualifiedName()));
    }
    RETURN_IF_ERROR(CopyRows());
    RETURN_IF_ERROR(DeleteKeysWithoutRows());
    return out_;
  }

 private:
  size_t BatchSize() const {
    return request_.batch_size > 0 ? static_cast<size_t>(request_.batch_size) : 1000;
  }

  // Pass 1: every row, a page at a time in key order, written back whole.
  Status CopyRows() {
    const pg_store::TableShape& shape = back_->shape();
    const size_t page_size = BatchSize();
    const std::string order = fmt::format("ORDER BY {} LIMIT {}", KeyColumnList(shape), page_size);
    std::optional<std::string> after;  // the last key copied, as literals
    RowBatch page;
    for (;;) {
      const std::string where =
          after ? fmt::format("({}) > ({})", KeyColumnList(shape), *after) : std::string();
      RETURN_IF_ERROR(pg_store::RunWithRetry(
          &conn_, url_, request_.retry_for, "reading the rows of " + entity_.name,
          [&] { return back_->Read(conn_.get(), where, order, page_size, &page); }));
      const size_t n = page.num_rows();
      if (n == 0) return Status::Ok();
      std::optional<std::string> last = KeyTupleLiteral(page, shape, n - 1);
      if (!last) {
        return DataError(
            fmt::format("{}: a row's key has no exact SQL form to read it again by", entity_.name));
      }
      if (request_.dry_run) {
        out_.written += static_cast<int64_t>(n);
      } else {
        WriteBackCounts counts;
        RETURN_IF_ERROR(pg_store::RunWithRetry(
            &conn_, url_, request_.retry_for, "writing back the rows of " + entity_.name, [&] {
              ASSIGN_OR_RETURN(counts, back_->WriteKeys(conn_.get(), page));
              return Status::Ok();
            }));
        out_.written += counts.written;
        out_.deleted += counts.deleted;
        FailPoint("rollback.after_page");
      }
      after = std::move(*last);
      spdlog::info("rollback: {}: {} rows written back so far", entity_.name, out_.written);
      if (n < page_size) return Status::Ok();
    }
  }

  // Pass 2: every legacy key of the entity's pattern without a row, deleted.
  Status DeleteKeysWithoutRows() {
    RETURN_IF_ERROR(ScanLegacyKeys(
        migration_, back_->legacy().snapshot(), entity_, back_->shape(), BatchSize(),
        [&](const LegacyKeyBatch& batch) -> Status {
          out_.scanned += static_cast<int64_t>(batch.scanned);
          out_.unmapped += static_cast<int64_t>(batch.scanned - batch.tuples.size());
          ASSIGN_OR_RETURN(const std::vector<size_t> missing,
                           back_->Missing(conn_.get(), batch.tuples));
          if (missing.empty()) return Status::Ok();
          if (request_.dry_run) {
            out_.deleted += static_cast<int64_t>(missing.size());
            return Status::Ok();
          }
          std::vector<std::string> doubtful;
          std::vector<std::string> doubtful_keys;
          for (size_t i : missing) {
            doubtful.push_back(batch.tuples[i]);
            doubtful_keys.push_back(batch.legacy_keys[i]);
          }
          int64_t deleted = 0;
          RETURN_IF_ERROR(pg_store::RunWithRetry(
              &conn_, url_, request_.retry_for, "deleting legacy keys of " + entity_.name, [&] {
                ASSIGN_OR_RETURN(
                    deleted, back_->DeleteKeysWithoutRows(conn_.get(), doubtful, doubtful_keys));
                return Status::Ok();
              }));
          out_.deleted += deleted;
          return Status::Ok();
        }));
    spdlog::info("rollback: {}: {} legacy keys scanned, {} without a row {}", entity_.name,
                 out_.scanned, out_.deleted, request_.dry_run ? "found" : "deleted");
    return Status::Ok();
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const StateRollbackRequest& request_;
  const std::string& url_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  std::unique_ptr<LegacyWriteBack> back_;
  StateRollbackEntity out_;
};

Result<std::vector<const spec::EntitySpec*>> SelectEntities(const spec::MigrationSpec& migration,
                                                            const StateRollbackRequest& request) {
  std::vector<const spec::EntitySpec*> out;
  if (request.entities.empty()) {
    std::vector<std::string> problems;
    for (const auto& e : migration.entities) {
      if (e.source.empty()) continue;
      if (const std::string why = WhyCannotGoBack(migration, e); !why.empty()) {
        problems.push_back(e.name + ": " + why);
      }
      out.push_back(&e);
    }
    if (!problems.empty()) {
      return InvalidArgument(fmt::format(
          "the whole migration cannot go back, and nothing was written: {}; roll back the others "
          "with --entity (the stage then stays where it is)",
          fmt::join(problems, "; ")));
    }
    return out;
  }
  return EntitiesNamedToGoBack(migration, request.entities);
}

}  // namespace

Result<std::vector<const spec::EntitySpec*>> EntitiesNamedToGoBack(
    const spec::MigrationSpec& migration, const std::vector<std::string>& names) {
  std::vector<const spec::EntitySpec*> out;
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child() || match.is_dimension()) {
      return InvalidArgument(fmt::format(
          "--entity {}: only a top-level entity with a source of its own goes back", name));
    }
    if (const std::string why = WhyCannotGoBack(migration, *match.entity); !why.empty()) {
      return InvalidArgument(fmt::format("--entity {}: {}", name, why));
    }
    if (std::find(out.begin(), out.end(), match.entity) == out.end()) out.push_back(match.entity);
  }
  return out;
}

Result<StateRollbackReport> RunStateRollback(const spec::MigrationSpec& migration,
                                             const std::string& target_url,
                                             const StateRollbackRequest& request) {
  if (request.batch_size < 0) return InvalidArgument("--batch-size must be at least 1");
  ASSIGN_OR_RETURN(const std::vector<const spec::EntitySpec*> entities,
                   SelectEntities(migration, request));
  ASSIGN_OR_RETURN(auto conn,
                   pg_store::PgConnection::ConnectWithRetry(target_url, request.retry_for));
  ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> row,
                   catalog::ReadStageRow(conn.get(), migration.name));
  const std::string stage = row ? row->stage : "legacy";
  if (std::find(std::begin(kStagesAllowed), std::end(kStagesAllowed), stage) ==
      std::end(kStagesAllowed)) {
    return FailedPrecondition(fmt::format(
        "{} is at stage {}: the legacy store still takes every write first, so it already holds "
        "them; a rollback writes PostgreSQL's state back from primary on",
        migration.name, stage));
  }
  StateRollbackReport report{.stage = stage,
                             .whole = request.entities.empty(),
                             .dry_run = request.dry_run,
                             .entities = {}};
  for (const spec::EntitySpec* entity : entities) {
    const spec::SourceSpec* source = migration.FindSource(entity->source);
    // A store of keys (Redis, IoTDB's REST service) takes each row where
    // it is; files (IoTDB's export folder too) are written anew.
    if (entity->redis || (entity->iotdb && source != nullptr && !source->url.empty())) {
      EntityStateRollback run(migration, *entity, request, target_url);
      ASSIGN_OR_RETURN(StateRollbackEntity done, run.Run());
      report.entities.push_back(std::move(done));
    } else {
      ASSIGN_OR_RETURN(StateRollbackEntity done,
                       RollbackIntoFile(migration, *entity, target_url, request));
      report.entities.push_back(std::move(done));
    }
  }
  return report;
}

nlohmann::json StateRollbackReportJson(const StateRollbackReport& report) {
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : report.entities) {
    entities.push_back({{"entity", e.entity},
                        {"written", e.written},
                        {"deleted", e.deleted},
                        {"legacy_keys_scanned", e.scanned},
                        {"legacy_keys_unmapped", e.unmapped}});
    if (!e.file.empty()) entities.back()["file"] = e.file;
  }
  return {{"stage", report.stage},
          {"whole", report.whole},
          {"dry_run", report.dry_run},
          {"entities", std::move(entities)}};
}

std::string FormatStateRollbackReport(const StateRollbackReport& report) {
  std::string out;
  for (const auto& e : report.entities) {
    if (!e.file.empty()) {
      out += fmt::format(
          "{}: {} {} with PostgreSQL's {} rows in key order; {} of its {} records {} (no row{})\n",
          e.entity, report.dry_run ? "would rewrite" : "rewrote", e.file, e.written,
          e.deleted + e.unmapped, e.scanned, report.dry_run ? "would go" : "went",
          e.unmapped > 0
              ? fmt::format(", {} of them without a key that reads as a row key", e.unmapped)
              : "");
      continue;
    }
    out += fmt::format(
        "{}: {} {} PostgreSQL rows back into legacy, {} {} legacy keys without a row ({} keys "
        "scanned{})\n",
        e.entity, report.dry_run ? "would write" : "wrote", e.written,
        report.dry_run ? "would delete" : "deleted", e.deleted, e.scanned,
        e.unmapped > 0 ? fmt::format(", {} left alone: their key maps to no row key", e.unmapped)
                       : "");
  }
  return out;
}

}  // namespace cutover::engine
