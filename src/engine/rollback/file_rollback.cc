// RollbackIntoFile: pages of parents and their children, in one snapshot,
// built into records and streamed through the file's Replacer.
#include "engine/rollback/file_rollback.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "common/failpoint.h"
#include "engine/core/family_reader.h"
#include "engine/core/legacy_write_back.h"
#include "engine/core/source_factory.h"
#include "map/columnar_builder.h"
#include "map/document_builder.h"
#include "map/record_builder.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {
namespace {

class FileRollback {
 public:
  FileRollback(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
               const std::string& url, const StateRollbackRequest& request)
      : migration_(migration), entity_(entity), url_(url), request_(request) {}

  Result<StateRollbackEntity> Run() {
    out_.entity = entity_.name;
    if (entity_.iotdb) {
      ASSIGN_OR_RETURN(points_, map::RecordBuilder::Create(entity_));
    } else if (entity_.children.empty() && IsChunkedEntity(migration_, entity_)) {
      ASSIGN_OR_RETURN(columnar_, map::ColumnarBuilder::Create(entity_));
    } else {
      ASSIGN_OR_RETURN(builder_, map::DocumentBuilder::Create(entity_));
    }
    ASSIGN_OR_RETURN(family_, FamilyReader::Create(migration_, entity_));
    shape_ = family_.shape();
    ASSIGN_OR_RETURN(store_, OpenEntityStore(migration_, entity_, 1));
    ASSIGN_OR_RETURN(out_.file, SourceLocationOf(migration_, entity_));
    store::Replacer* replacer = store_->replacer();
    if (replacer == nullptr) {
      return FailedPrecondition(
          fmt::format("{}: {} is not one file, so PostgreSQL's rows cannot be written back into it",
                      entity_.name, out_.file));
    }
    ASSIGN_OR_RETURN(conn_, pg_store::PgConnection::ConnectWithRetry(url_, request_.retry_for));
    ASSIGN_OR_RETURN(const std::optional<std::string> exists,
                     conn_->QueryValue("SELECT to_regclass($1)::text", {shape_.QualifiedName()}));
    if (!exists) {
      return FailedPrecondition(
          fmt::format("{}: table {} does not exist, so PostgreSQL holds no state to write back",
                      entity_.name, shape_.QualifiedName()));
    }
    // The file's lock first, so no gateway writes it between the count and
    // the replace.
    if (!request_.dry_run) RETURN_IF_ERROR(replacer->Begin());
    RETURN_IF_ERROR(conn_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
    Status counted = CountRecordsWithoutRows();
    if (!counted.ok()) {
      replacer->Abort();
      return counted;
    }
    Status exported = Export(replacer);
    if (exported.ok() && !request_.dry_run) exported = replacer->Commit();
    if (!exported.ok()) {
      replacer->Abort();
      return exported.WithContext("writing " + entity_.name + " back into its file");
    }
    RETURN_IF_ERROR(conn_->Exec("COMMIT"));
    spdlog::info("rollback: {}: {} records {} into its file, {} records without a row {}",
                 entity_.name, out_.written, request_.dry_run ? "would be written" : "written",
                 out_.deleted + out_.unmapped, request_.dry_run ? "would go" : "gone");
    return out_;
  }

 private:
  // The old file's records whose key has no row (or does not read as one):
  // they are not in the export.
  Status CountRecordsWithoutRows() {
    return ScanLegacyKeys(migration_, store_->snapshot(), entity_, shape_, BatchSize(),
                          [&](const LegacyKeyBatch& batch) -> Status {
                            out_.scanned += static_cast<int64_t>(batch.scanned);
                            out_.unmapped +=
                                static_cast<int64_t>(batch.scanned - batch.tuples.size());
                            ASSIGN_OR_RETURN(const std::vector<size_t> missing,
                                             KeysWithoutRows(conn_.get(), shape_, batch.tuples));
                            out_.deleted += static_cast<int64_t>(missing.size());
                            return Status::Ok();
                          });
  }

  Status Export(store::Replacer* replacer) {
    const size_t page_size = BatchSize();
    const std::string keys = KeyColumnList(shape_);
    std::optional<std::string> after;
    FamilyPage page;
    RowBatch documents;
    for (;;) {
      const std::string where = after ? fmt::format("({}) > {}", keys, *after) : std::string();
      RETURN_IF_ERROR(family_.Read(conn_.get(), where,
                                   fmt::format("ORDER BY {} LIMIT {}", keys, page_size), &page));
      const size_t n = page.rows.num_rows();
      if (n == 0) return Status::Ok();
      // The page in the store's shape: a Parquet file's columns, or records.
      if (columnar_ != nullptr) {
        RETURN_IF_ERROR(columnar_->Build(page.rows, &documents));
      } else {
        documents.Clear();
        if (documents.columns.empty()) documents.AddColumn("$doc", ValueType::kText);
        std::string text;
        for (size_t r = 0; r < n; ++r) {
          if (points_ != nullptr) {
            ASSIGN_OR_RETURN(text, points_->Build(page.rows, r));
          } else {
            text.clear();
            RETURN_IF_ERROR(builder_->Append(page.rows, r, page.children[r], &text));
          }
          documents.columns[0].AppendBytes(text);
        }
      }
      if (!request_.dry_run) {
        for (size_t r = 0; r < n; ++r) {
          store::RecordKey key;
          if (builder_ != nullptr && HasMemberName()) {
            ASSIGN_OR_RETURN(std::string name, builder_->MemberName(page.rows, r));
            key.push_back(std::move(name));
          }
          RETURN_IF_ERROR(replacer->Append(key, documents, r));
        }
        FailPoint("file_rollback.after_page");
      }
      out_.written += static_cast<int64_t>(n);
      after = page.key_tuples.back();
      if (n < page_size) return Status::Ok();
    }
  }

  // A page of a file's export is written to no transaction, so it can be
  // larger than a Redis page: 10000 rows unless --batch-size says.
  size_t BatchSize() const {
    return request_.batch_size > 0 ? static_cast<size_t>(request_.batch_size) : 10000;
  }

  bool HasMemberName() const {
    for (const spec::ColumnSpec& c : entity_.columns) {
      if (c.from == "$key") return true;
    }
    return false;
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const std::string& url_;
  const StateRollbackRequest& request_;
  FamilyReader family_;
  pg_store::TableShape shape_;
  std::unique_ptr<map::DocumentBuilder> builder_;   // a JSON file's records
  std::unique_ptr<map::ColumnarBuilder> columnar_;  // or a Parquet file's rows
  std::unique_ptr<map::RecordBuilder> points_;      // or an IoTDB export's points
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  StateRollbackEntity out_;
};

}  // namespace

Result<StateRollbackEntity> RollbackIntoFile(const spec::MigrationSpec& migration,
                                             const spec::EntitySpec& entity,
                                             const std::string& target_url,
                                             const StateRollbackRequest& request) {
  FileRollback run(migration, entity, target_url, request);
  return run.Run();
}

}  // namespace cutover::engine
