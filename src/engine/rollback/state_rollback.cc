// RunStateRollback: PostgreSQL's rows written back into Redis page by page
// under the keys' locks, then the Redis keys without a row deleted.
#include "engine/rollback/state_rollback.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "catalog/key_locks.h"
#include "catalog/stage.h"
#include "common/failpoint.h"
#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/key_literal.h"
#include "engine/core/source_factory.h"
#include "map/document_mapper.h"
#include "map/record_builder.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"
#include "stores/postgres/table_reader.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {
namespace {

constexpr std::string_view kStagesAllowed[] = {"primary", "complete"};

// Why the rows of `entity` cannot be written back, or "" when they can.
std::string CannotGoBack(const spec::MigrationSpec& migration, const spec::EntitySpec& entity) {
  if (entity.source.empty()) return "";  // a lookup dimension: nothing of its own to write
  const spec::SourceSpec* source = migration.FindSource(entity.source);
  if (!entity.redis) {
    return fmt::format("writing rows back into {} sources is not built yet",
                       source != nullptr ? source->type : "its");
  }
  if (!entity.write_back) {
    const std::string problem = spec::InvertibilityProblem(entity);
    return "it does not declare write_back: true" +
           (problem.empty() ? std::string() : " (and " + problem + ")");
  }
  return "";
}

// "k1", "k2" quoted and joined.
std::string KeyList(const pg_store::TableShape& shape, std::string_view prefix = {}) {
  std::string out;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::string(prefix) + pg_store::QuoteIdent(shape.key[i]);
  }
  return out;
}

// The key values of `rows`' row `r` as SQL literals, "l1, l2"; nullopt when
// one has no exact literal.
std::optional<std::string> KeyTuple(const RowBatch& rows, const pg_store::TableShape& shape,
                                    size_t r) {
  std::string out;
  for (size_t i = 0; i < shape.key.size(); ++i) {
    const int c = rows.IndexOf(shape.key[i]);
    if (c < 0) return std::nullopt;
    std::optional<std::string> literal = KeyLiteral(rows.columns[static_cast<size_t>(c)], r);
    if (!literal) return std::nullopt;
    out += (i > 0 ? ", " : "") + *literal;
  }
  return out;
}

class EntityStateRollback {
 public:
  EntityStateRollback(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                      const StateRollbackRequest& request, const std::string& url)
      : migration_(migration),
        entity_(entity),
        request_(request),
        url_(url),
        shape_(PlanTables(migration, entity)[0].shape) {}

  Result<StateRollbackEntity> Run() {
    out_.entity = entity_.name;
    ASSIGN_OR_RETURN(conn_, pg_store::PgConnection::ConnectWithRetry(url_, request_.retry_for));
    ASSIGN_OR_RETURN(builder_, map::RecordBuilder::Create(entity_));
    ASSIGN_OR_RETURN(store_, OpenEntityStore(migration_, entity_, 1));
    writer_ = store_->writer();
    if (writer_ == nullptr) {
      return FailedPrecondition(entity_.name + ": its legacy store takes no writes");
    }
    ASSIGN_OR_RETURN(const std::optional<std::string> exists,
                     conn_->QueryValue("SELECT to_regclass($1)::text", {shape_.QualifiedName()}));
    if (!exists) {
      return FailedPrecondition(
          fmt::format("{}: table {} does not exist, so PostgreSQL holds no state to write back",
                      entity_.name, shape_.QualifiedName()));
    }
    RETURN_IF_ERROR(CopyRows());
    RETURN_IF_ERROR(DeleteKeysWithoutRows());
    return out_;
  }

 private:
  // Reads rows by `where` (and `tail`) into one batch of at most `limit`.
  Status Read(std::string_view where, std::string_view tail, size_t limit, RowBatch* rows) {
    *rows = RowBatch();
    bool first = true;
    return pg_store::ScanTable(
        conn_.get(), shape_, limit + 1,
        [&](const RowBatch& batch) -> Status {
          if (!first) return Internal("a page of rows came in more than one batch");
          first = false;
          *rows = batch;
          return Status::Ok();
        },
        where, tail);
  }

  // Pass 1: every row, a page at a time in key order, written back whole.
  Status CopyRows() {
    const size_t page_size = static_cast<size_t>(request_.batch_size);
    const std::string order = fmt::format("ORDER BY {} LIMIT {}", KeyList(shape_), page_size);
    std::optional<std::string> after;  // the last key copied, as literals
    RowBatch page;
    for (;;) {
      const std::string where =
          after ? fmt::format("({}) > ({})", KeyList(shape_), *after) : std::string();
      RETURN_IF_ERROR(pg_store::RunWithRetry(&conn_, url_, request_.retry_for,
                                             "reading the rows of " + entity_.name,
                                             [&] { return Read(where, order, page_size, &page); }));
      const size_t n = page.num_rows();
      if (n == 0) return Status::Ok();
      std::vector<std::string> tuples;
      for (size_t r = 0; r < n; ++r) {
        std::optional<std::string> tuple = KeyTuple(page, shape_, r);
        if (!tuple) {
          return DataError(fmt::format("{}: a row's key has no exact SQL form to read it again by",
                                       entity_.name));
        }
        tuples.push_back("(" + *tuple + ")");
      }
      if (request_.dry_run) {
        out_.written += static_cast<int64_t>(n);
      } else {
        RETURN_IF_ERROR(pg_store::RunWithRetry(&conn_, url_, request_.retry_for,
                                               "writing back the rows of " + entity_.name,
                                               [&] { return WritePage(page, tuples); }));
        FailPoint("rollback.after_page");
      }
      after = tuples.back().substr(1, tuples.back().size() - 2);
      spdlog::info("rollback: {}: {} rows written back so far", entity_.name, out_.written);
      if (n < page_size) return Status::Ok();
    }
  }

  // One page under its keys' locks: read again, written, then unlocked.
  Status WritePage(const RowBatch& page, const std::vector<std::string>& tuples) {
    pg_store::Transaction tx(conn_.get());
    RETURN_IF_ERROR(tx.status());
    std::vector<std::string> keys;
    std::vector<int64_t> locks;
    for (size_t r = 0; r < page.num_rows(); ++r) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(page, r));
      locks.push_back(catalog::KeyLockId(migration_.name, entity_.name, key));
      keys.push_back(std::move(key));
    }
    RETURN_IF_ERROR(catalog::LockKeysForTransaction(conn_.get(), locks));
    RowBatch fresh;
    RETURN_IF_ERROR(
        Read(fmt::format("({}) IN (VALUES {})", KeyList(shape_), fmt::join(tuples, ", ")), {},
             page.num_rows(), &fresh));
    std::set<std::string> present;
    int64_t written = 0, deleted = 0;
    Status staged;
    for (size_t r = 0; r < fresh.num_rows() && staged.ok(); ++r) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(fresh, r));
      ASSIGN_OR_RETURN(const std::string document, builder_->Build(fresh, r));
      RowBatch doc;
      doc.AddColumn("$doc", ValueType::kJsonb);
      doc.columns[0].AppendBytes(document);
      staged = writer_->Upsert({key}, doc, 0);
      present.insert(std::move(key));
      ++written;
    }
    // A row deleted since the page was read: its key goes too.
    for (const std::string& key : keys) {
      if (staged.ok() && !present.contains(key)) {
        staged = writer_->Delete({key});
        ++deleted;
      }
    }
    FailPoint("rollback.before_legacy_flush");
    if (staged.ok()) staged = writer_->Flush();
    if (!staged.ok()) {
      writer_->Discard();
      return staged.WithContext("writing back the rows of " + entity_.name);
    }
    FailPoint("rollback.after_legacy_flush");
    RETURN_IF_ERROR(tx.Commit());
    out_.written += written;
    out_.deleted += deleted;
    return Status::Ok();
  }

  // The rows of `keys` (VALUES rows "(i, l1, l2)") that PostgreSQL lacks, by i.
  Result<std::vector<size_t>> Missing(const std::vector<std::string>& values) {
    std::string match;
    std::string names = "i";
    for (size_t i = 0; i < shape_.key.size(); ++i) {
      const std::string column = pg_store::QuoteIdent(shape_.key[i]);
      match += fmt::format("{}t.{} = v.{}", i > 0 ? " AND " : "", column, column);
      names += ", " + column;
    }
    ASSIGN_OR_RETURN(
        auto result,
        conn_->Query(fmt::format("SELECT v.i FROM (VALUES {}) AS v({}) WHERE NOT "
                                 "EXISTS (SELECT 1 FROM {} t WHERE {})",
                                 fmt::join(values, ", "), names, shape_.QualifiedName(), match)));
    std::vector<size_t> missing;
    for (const auto& row : result.rows) missing.push_back(std::stoul(row[0].value_or("0")));
    return missing;
  }

  // Pass 2: every legacy key of the entity's pattern without a row, deleted.
  Status DeleteKeysWithoutRows() {
    spec::EntitySpec keys_only = entity_;
    keys_only.children.clear();
    keys_only.columns.clear();
    keys_only.tag.reset();
    for (const auto& k : entity_.key) keys_only.columns.push_back(*entity_.FindColumn(k));
    ASSIGN_OR_RETURN(auto mapper, map::DocumentMapper::Create(keys_only));
    store::SnapshotReader& reader = store_->snapshot();
    ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, reader.Plan());
    store::StoreBatch in;
    map::MappedBatch mapped;
    for (const store::Partition& partition : partitions) {
      ASSIGN_OR_RETURN(auto batches, reader.Open(partition, store::Cursor{}));
      for (;;) {
        ASSIGN_OR_RETURN(const bool more,
                         batches->Next(static_cast<size_t>(request_.batch_size), &in));
        if (!more) break;
        out_.scanned += static_cast<int64_t>(in.size());
        mapper->Map(in, &mapped);
        const RowBatch& rows = mapped.tables[0];
        std::vector<std::string> values;
        std::vector<std::string> legacy_keys;
        for (size_t r = 0; r < rows.num_rows(); ++r) {
          const std::optional<std::string> tuple = KeyTuple(rows, shape_, r);
          const uint32_t record = mapped.origins[0][r].record;
          if (!tuple || record >= in.source_keys.size()) continue;
          values.push_back(fmt::format("({}, {})", legacy_keys.size(), *tuple));
          legacy_keys.push_back(in.source_keys[record]);
        }
        out_.unmapped += static_cast<int64_t>(in.size() - legacy_keys.size());
        if (values.empty()) continue;
        ASSIGN_OR_RETURN(const std::vector<size_t> missing, Missing(values));
        if (missing.empty()) continue;
        if (request_.dry_run) {
          out_.deleted += static_cast<int64_t>(missing.size());
          continue;
        }
        std::vector<std::string> doubtful;
        std::vector<std::string> doubtful_keys;
        for (size_t i : missing) {
          doubtful.push_back(values[i]);
          doubtful_keys.push_back(legacy_keys[i]);
        }
        RETURN_IF_ERROR(pg_store::RunWithRetry(
            &conn_, url_, request_.retry_for, "deleting legacy keys of " + entity_.name,
            [&] { return DeleteLocked(doubtful, doubtful_keys); }));
      }
    }
    spdlog::info("rollback: {}: {} legacy keys scanned, {} without a row {}", entity_.name,
                 out_.scanned, out_.deleted, request_.dry_run ? "found" : "deleted");
    return Status::Ok();
  }

  // Deletes the keys still without a row once their locks are held.
  // `values` are VALUES rows numbered from 0, parallel to `keys`.
  Status DeleteLocked(std::vector<std::string> values, const std::vector<std::string>& keys) {
    pg_store::Transaction tx(conn_.get());
    RETURN_IF_ERROR(tx.status());
    std::vector<int64_t> locks;
    for (size_t i = 0; i < keys.size(); ++i) {
      locks.push_back(catalog::KeyLockId(migration_.name, entity_.name, keys[i]));
      // Renumbered 0.. for the second look.
      values[i] = fmt::format("({}{}", i, values[i].substr(values[i].find(',')));
    }
    RETURN_IF_ERROR(catalog::LockKeysForTransaction(conn_.get(), locks));
    ASSIGN_OR_RETURN(const std::vector<size_t> still, Missing(values));
    Status staged;
    for (size_t i : still) {
      if (staged.ok()) staged = writer_->Delete({keys[i]});
    }
    if (staged.ok()) staged = writer_->Flush();
    if (!staged.ok()) {
      writer_->Discard();
      return staged.WithContext("deleting legacy keys of " + entity_.name);
    }
    RETURN_IF_ERROR(tx.Commit());
    out_.deleted += static_cast<int64_t>(still.size());
    return Status::Ok();
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const StateRollbackRequest& request_;
  const std::string& url_;
  pg_store::TableShape shape_;
  std::unique_ptr<pg_store::PgConnection> conn_;
  std::unique_ptr<map::RecordBuilder> builder_;
  std::unique_ptr<store::Store> store_;
  store::Writer* writer_ = nullptr;
  StateRollbackEntity out_;
};

Result<std::vector<const spec::EntitySpec*>> SelectEntities(const spec::MigrationSpec& migration,
                                                            const StateRollbackRequest& request) {
  std::vector<const spec::EntitySpec*> out;
  if (request.entities.empty()) {
    std::vector<std::string> problems;
    for (const auto& e : migration.entities) {
      if (e.source.empty()) continue;
      if (const std::string why = CannotGoBack(migration, e); !why.empty()) {
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
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child() || match.is_dimension()) {
      return InvalidArgument(fmt::format(
          "--entity {}: only a top-level entity with a source of its own goes back", name));
    }
    if (const std::string why = CannotGoBack(migration, *match.entity); !why.empty()) {
      return InvalidArgument(fmt::format("--entity {}: {}", name, why));
    }
    if (std::find(out.begin(), out.end(), match.entity) == out.end()) out.push_back(match.entity);
  }
  return out;
}

}  // namespace

Result<StateRollbackReport> RunStateRollback(const spec::MigrationSpec& migration,
                                             const std::string& target_url,
                                             const StateRollbackRequest& request) {
  if (request.batch_size < 1) return InvalidArgument("--batch-size must be at least 1");
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
    EntityStateRollback run(migration, *entity, request, target_url);
    ASSIGN_OR_RETURN(StateRollbackEntity done, run.Run());
    report.entities.push_back(std::move(done));
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
  }
  return {{"stage", report.stage},
          {"whole", report.whole},
          {"dry_run", report.dry_run},
          {"entities", std::move(entities)}};
}

std::string FormatStateRollbackReport(const StateRollbackReport& report) {
  std::string out;
  for (const auto& e : report.entities) {
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
