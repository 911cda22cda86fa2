// RunTagRollback: finds the entities a tag names, counts their tagged rows,
// and deletes them batch by batch with their children (see the design block).
#include "engine/rollback/tag_rollback.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "catalog/ledger.h"
#include "catalog/partition_ledger.h"
#include "catalog/schema.h"
#include "catalog/stage.h"
#include "catalog/stage_audit.h"
#include "common/failpoint.h"
#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/retry.h"
#include "stores/postgres/transaction.h"

namespace cutover::engine {
namespace {

// Stages at which PostgreSQL answers no read: its rows may go.
constexpr std::string_view kStagesAllowed[] = {"legacy", "dual_write", "shadow"};

std::string PlainName(const pg_store::TableShape& shape) {
  return shape.schema + "." + shape.table;
}

// The SQL for one entity: a count of what carries the tag, and a batch
// delete. Table i of the plan is CTE t<i>; a child joins its parent's CTE on
// its link columns, so both statements reach every descendant.
struct EntitySql {
  std::string count;
  std::string delete_batch;  // $1 the tag, $2 the batch size
  std::string exists;        // the entity's table, for to_regclass
};

EntitySql BuildSql(const spec::EntitySpec& entity, const std::vector<PlannedTable>& tables) {
  const spec::TagSpec& tag = *entity.tag;
  const std::string tag_column = pg_store::QuoteIdent(tag.column);
  const std::string tagged =
      tag.jsonb ? fmt::format("{} ->> 'source' = $1", tag_column) : tag_column + " = $1";
  const std::string top = tables[0].shape.QualifiedName();

  std::string count_ctes = fmt::format("t0 AS (SELECT * FROM {} WHERE {})", top, tagged);
  std::string delete_ctes = fmt::format(
      "t0 AS (DELETE FROM {0} WHERE ctid IN (SELECT ctid FROM {0} WHERE {1} LIMIT $2 FOR "
      "UPDATE) RETURNING *)",
      top, tagged);
  std::string select = "SELECT (SELECT count(*) FROM t0)";
  for (size_t i = 1; i < tables.size(); ++i) {
    const PlannedTable& t = tables[i];
    std::string on;
    for (const auto& [child_col, parent_col] : t.entity->parent_columns) {
      if (!on.empty()) on += " AND ";
      on += fmt::format("c.{} = p.{}", pg_store::QuoteIdent(child_col),
                        pg_store::QuoteIdent(parent_col));
    }
    count_ctes += fmt::format(", t{} AS (SELECT c.* FROM {} c JOIN t{} p ON {})", i,
                              t.shape.QualifiedName(), t.parent, on);
    delete_ctes += fmt::format(", t{} AS (DELETE FROM {} c USING t{} p WHERE {} RETURNING c.*)", i,
                               t.shape.QualifiedName(), t.parent, on);
    select += fmt::format(", (SELECT count(*) FROM t{})", i);
  }
  return EntitySql{.count = "WITH " + count_ctes + " " + select,
                   .delete_batch = "WITH " + delete_ctes + " " + select,
                   .exists = top};
}

Result<std::vector<int64_t>> Counts(const pg_store::QueryResult& result, size_t tables) {
  std::vector<int64_t> counts;
  if (result.rows.size() != 1 || result.rows[0].size() != tables) {
    return Internal("a count of the tagged rows returned an unexpected shape");
  }
  for (const auto& cell : result.rows[0]) counts.push_back(cell ? std::stoll(*cell) : 0);
  return counts;
}

// The entities the request names, each checked to carry the tag.
Result<std::vector<const spec::EntitySpec*>> SelectEntities(const spec::MigrationSpec& migration,
                                                            const TagRollbackRequest& request) {
  std::map<std::string, std::vector<std::string>> tags;  // tag -> entities
  for (const auto& e : migration.entities) {
    if (e.tag) tags[e.tag->value].push_back(e.name);
  }
  std::string known;
  for (const auto& [value, names] : tags) {
    if (!known.empty()) known += ", ";
    known += fmt::format("\"{}\" ({})", value, fmt::join(names, ", "));
  }
  if (known.empty()) known = "none (only entities of redis sources carry a tag)";

  std::vector<const spec::EntitySpec*> out;
  if (request.entities.empty()) {
    for (const auto& e : migration.entities) {
      if (e.tag && e.tag->value == request.tag) out.push_back(&e);
    }
    if (out.empty()) {
      return InvalidArgument(
          fmt::format("--tag {}: no entity of the spec is tagged so; tags in the spec: {}",
                      request.tag, known));
    }
    return out;
  }
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child()) {
      return InvalidArgument(
          fmt::format("--entity {}: rows of a child table go with their parent's; name {}", name,
                      match.top_level->name));
    }
    const spec::EntitySpec& e = *match.entity;
    if (!e.tag) {
      return InvalidArgument(fmt::format(
          "--entity {}: its rows carry no source tag (only entities of redis sources do)", name));
    }
    if (e.tag->value != request.tag) {
      return InvalidArgument(fmt::format("--entity {}: it is tagged \"{}\", not \"{}\"", name,
                                         e.tag->value, request.tag));
    }
    if (std::find(out.begin(), out.end(), &e) == out.end()) out.push_back(&e);
  }
  return out;
}

std::string CountsText(const TagRollbackEntity& e) {
  std::string text;
  for (const auto& t : e.tables) {
    if (!text.empty()) text += ", ";
    text += fmt::format("{} {}", t.table, t.rows);
  }
  return text;
}

class EntityRollback {
 public:
  EntityRollback(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                 const TagRollbackRequest& request, const catalog::StageRow& stage,
                 std::unique_ptr<pg_store::PgConnection>* conn, const std::string& url)
      : migration_(migration),
        entity_(entity),
        request_(request),
        stage_(stage),
        conn_(conn),
        url_(url),
        tables_(PlanTables(migration, entity)),
        sql_(BuildSql(entity, tables_)) {}

  Result<TagRollbackEntity> Run() {
    TagRollbackEntity out{.entity = entity_.name, .tag_column = entity_.tag->column};
    for (const auto& t : tables_) out.tables.push_back({.table = PlainName(t.shape)});
    ASSIGN_OR_RETURN(const std::optional<std::string> exists,
                     (*conn_)->QueryValue("SELECT to_regclass($1)::text", {sql_.exists}));
    if (!exists) {
      out.table_exists = false;  // never backfilled: nothing to delete
      return out;
    }
    ASSIGN_OR_RETURN(const std::vector<int64_t> planned, Count());
    if (request_.dry_run) {
      for (size_t i = 0; i < planned.size(); ++i) out.tables[i].rows = planned[i];
      return Finish(std::move(out));
    }
    if (planned[0] == 0) return Finish(std::move(out));
    bool first = true;
    for (;;) {
      std::vector<int64_t> deleted;
      RETURN_IF_ERROR(pg_store::RunWithRetry(
          conn_, url_, request_.retry_for, "deleting tagged rows of " + entity_.name, [&] {
            pg_store::Transaction tx(conn_->get());
            RETURN_IF_ERROR(tx.status());
            if (first) RETURN_IF_ERROR(ForgetBackfill(planned));
            ASSIGN_OR_RETURN(auto result,
                             (*conn_)->Query(sql_.delete_batch,
                                             {request_.tag, std::to_string(request_.batch_size)}));
            ASSIGN_OR_RETURN(deleted, Counts(result, tables_.size()));
            FailPoint("rollback.before_commit");
            return tx.Commit();
          }));
      FailPoint("rollback.after_batch");
      first = false;
      for (size_t i = 0; i < deleted.size(); ++i) out.tables[i].rows += deleted[i];
      spdlog::info("rollback --tag {}: {}: {} rows deleted so far", request_.tag, entity_.name,
                   out.tables[0].rows);
      if (deleted[0] < request_.batch_size) break;
    }
    return Finish(std::move(out));
  }

 private:
  Result<std::vector<int64_t>> Count() {
    ASSIGN_OR_RETURN(auto result, (*conn_)->Query(sql_.count, {request_.tag}));
    return Counts(result, tables_.size());
  }

  // In the first batch's transaction: the entity is no longer backfilled,
  // and the audit trail says what is being deleted.
  Status ForgetBackfill(const std::vector<int64_t>& planned) {
    for (const auto& t : tables_) {
      RETURN_IF_ERROR(catalog::ResetLedger(conn_->get(), migration_.name, t.entity->name));
    }
    RETURN_IF_ERROR(catalog::DeletePartitions(conn_->get(), migration_.name, entity_.name));
    TagRollbackEntity counted{.entity = entity_.name};
    for (size_t i = 0; i < tables_.size(); ++i) {
      counted.tables.push_back({.table = PlainName(tables_[i].shape), .rows = planned[i]});
    }
    catalog::AuditRow row{.from_stage = stage_.stage,
                          .from_percent = stage_.percent,
                          .to_stage = stage_.stage,
                          .to_percent = stage_.percent,
                          .who = request_.who,
                          .why = fmt::format("rollback --tag {}", request_.tag),
                          .forced = false,
                          .applied = true,
                          .guards = nlohmann::json::array(),
                          .outcome = "rollback",
                          .detail = fmt::format("deleting the rows of {} tagged \"{}\": {}",
                                                entity_.name, request_.tag, CountsText(counted))};
    return catalog::AppendAuditRow(conn_->get(), migration_.name, row);
  }

  // What each table holds besides: counted after the deletes (with
  // dry_run, what would be left).
  Result<TagRollbackEntity> Finish(TagRollbackEntity out) {
    for (size_t i = 0; i < tables_.size(); ++i) {
      ASSIGN_OR_RETURN(const std::optional<std::string> rows,
                       (*conn_)->QueryValue(fmt::format("SELECT count(*) FROM {}",
                                                        tables_[i].shape.QualifiedName())));
      TagRollbackTable& t = out.tables[i];
      t.kept = rows ? std::stoll(*rows) : 0;
      if (request_.dry_run) t.kept -= t.rows;
    }
    return out;
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const TagRollbackRequest& request_;
  const catalog::StageRow& stage_;
  std::unique_ptr<pg_store::PgConnection>* conn_;
  const std::string& url_;
  std::vector<PlannedTable> tables_;
  EntitySql sql_;
};

}  // namespace

int64_t TagRollbackReport::total_rows() const {
  int64_t total = 0;
  for (const auto& e : entities) {
    for (const auto& t : e.tables) total += t.rows;
  }
  return total;
}

Result<TagRollbackReport> RunTagRollback(const spec::MigrationSpec& migration,
                                         const std::string& target_url,
                                         const TagRollbackRequest& request) {
  if (request.tag.empty()) return InvalidArgument("--tag must not be empty");
  if (request.batch_size < 1) return InvalidArgument("--batch-size must be at least 1");
  ASSIGN_OR_RETURN(const std::vector<const spec::EntitySpec*> entities,
                   SelectEntities(migration, request));
  ASSIGN_OR_RETURN(auto conn,
                   pg_store::PgConnection::ConnectWithRetry(target_url, request.retry_for));
  if (!request.dry_run) RETURN_IF_ERROR(catalog::EnsureControlSchema(conn.get()));
  ASSIGN_OR_RETURN(const std::optional<catalog::StageRow> row,
                   catalog::ReadStageRow(conn.get(), migration.name));
  catalog::StageRow stage;
  stage.stage = "legacy";  // never moved
  if (row) stage = *row;
  if (std::find(std::begin(kStagesAllowed), std::end(kStagesAllowed), stage.stage) ==
      std::end(kStagesAllowed)) {
    return FailedPrecondition(fmt::format(
        "{} is at stage {}: PostgreSQL answers reads, so rows cannot be taken from it; move the "
        "stage back to shadow or before first (cutover phase SPEC set shadow)",
        migration.name, stage.stage));
  }
  TagRollbackReport report{.tag = request.tag, .dry_run = request.dry_run, .stage = stage.stage};
  for (const spec::EntitySpec* entity : entities) {
    EntityRollback run(migration, *entity, request, stage, &conn, target_url);
    ASSIGN_OR_RETURN(TagRollbackEntity done, run.Run());
    report.entities.push_back(std::move(done));
  }
  return report;
}

nlohmann::json TagRollbackReportJson(const TagRollbackReport& report) {
  nlohmann::json entities = nlohmann::json::array();
  for (const auto& e : report.entities) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : e.tables) {
      tables.push_back({{"table", t.table}, {"rows", t.rows}, {"kept", t.kept}});
    }
    entities.push_back({{"entity", e.entity},
                        {"tag_column", e.tag_column},
                        {"table_exists", e.table_exists},
                        {"tables", std::move(tables)}});
  }
  return {{"tag", report.tag},
          {"dry_run", report.dry_run},
          {"stage", report.stage},
          {"rows", report.total_rows()},
          {"entities", std::move(entities)}};
}

std::string FormatTagRollbackReport(const TagRollbackReport& report) {
  std::string out;
  const char* verb = report.dry_run ? "would delete" : "deleted";
  for (const auto& e : report.entities) {
    if (!e.table_exists) {
      out += fmt::format("{}: no table yet, nothing to delete\n", e.entity);
      continue;
    }
    for (const auto& t : e.tables) {
      out += fmt::format("{}: {} {} rows of {} ({} other rows kept)\n", e.entity, verb, t.rows,
                         t.table, t.kept);
    }
  }
  out += fmt::format("{}{} {} rows tagged \"{}\" in all\n", report.dry_run ? "dry run: " : "", verb,
                     report.total_rows(), report.tag);
  return out;
}

}  // namespace cutover::engine
