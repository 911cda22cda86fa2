// One NOT EXISTS query per `references:` column: the count, then the keys.
#include "engine/verify/orphans.h"

#include <fmt/format.h>

namespace cutover::engine::verify {

Status CheckReferences(pg_store::PgConnection* conn, const spec::MigrationSpec& migration,
                       const spec::EntitySpec& entity, int64_t max_listed, TableVerdict* verdict) {
  const std::string table =
      pg_store::QuoteIdent(entity.schema) + "." + pg_store::QuoteIdent(entity.table);
  std::string key_text;
  for (const auto& k : entity.key) {
    key_text += fmt::format("{}'{}=' || coalesce(c.{}::text, 'NULL')",
                            key_text.empty() ? "" : " || ',' || ", k, pg_store::QuoteIdent(k));
  }
  for (const auto& column : entity.columns) {
    if (!column.references) continue;
    const spec::EntitySpec* parent = migration.FindEntity(column.references->entity);
    if (parent == nullptr) continue;  // the loader refuses this
    const std::string parent_table =
        pg_store::QuoteIdent(parent->schema) + "." + pg_store::QuoteIdent(parent->table);
    const std::string where = fmt::format(
        "FROM {} c WHERE c.{} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.{} = c.{})",
        table, pg_store::QuoteIdent(column.name), parent_table,
        pg_store::QuoteIdent(column.references->column), pg_store::QuoteIdent(column.name));
    OrphanCheck check;
    check.column = column.name;
    check.references = column.references->entity + "." + column.references->column;
    ASSIGN_OR_RETURN(std::optional<std::string> count,
                     conn->QueryValue("SELECT count(*) " + where));
    check.orphans = count ? std::stoll(*count) : 0;
    if (check.orphans > 0 && max_listed > 0) {
      ASSIGN_OR_RETURN(pg_store::QueryResult keys,
                       conn->Query(fmt::format("SELECT {} {} ORDER BY 1 LIMIT {}", key_text, where,
                                               max_listed)));
      for (const auto& row : keys.rows) check.keys.push_back(row[0].value_or(""));
    }
    verdict->orphans.push_back(std::move(check));
  }
  return Status::Ok();
}

}  // namespace cutover::engine::verify
