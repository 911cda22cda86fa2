#include "engine/core/post_load.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/table_ddl.h"

namespace cutover::engine {

Status FinishEntityLoad(pg_store::PgConnection* conn, const spec::EntitySpec& entity,
                        const pg_store::TableShape& shape) {
  const std::string table = shape.QualifiedName();
  RETURN_IF_ERROR(conn->Exec(fmt::format("SELECT pg_advisory_lock(hashtext({}))",
                                         pg_store::QuoteLiteral("cutover.post_load:" + table))));
  auto body = [&]() -> Status {
    for (const auto& index : entity.indexes) {
      RETURN_IF_ERROR(conn->Exec(catalog::CreateIndexSql(index, table, catalog::IfNotExists::kYes))
                          .WithContext(fmt::format("{}: creating index {}", index.where.ToString(),
                                                   index.name)));
    }
    RETURN_IF_ERROR(conn->Exec("ANALYZE " + table).WithContext("analyzing " + table));
    for (const auto& key : shape.key) {
      const int i = shape.IndexOf(key);
      if (i < 0 || (shape.columns[i].type != ValueType::kInt32 &&
                    shape.columns[i].type != ValueType::kInt64)) {
        continue;
      }
      // setval(seq, max, true) makes the next value max + 1; an empty table
      // leaves the sequence where it was, and it never moves backwards.
      const std::string sql = fmt::format(
          "SELECT setval(s, GREATEST(m, coalesce(pg_sequence_last_value(s::regclass), 0))) "
          "FROM (SELECT pg_get_serial_sequence({}, {}) AS s, "
          "(SELECT max({}) FROM {}) AS m) x WHERE s IS NOT NULL AND m IS NOT NULL",
          pg_store::QuoteLiteral(table), pg_store::QuoteLiteral(key), pg_store::QuoteIdent(key),
          table);
      RETURN_IF_ERROR(conn->Exec(sql).WithContext("moving the sequence of " + table + "." + key));
    }
    return Status::Ok();
  };
  Status st = body();
  Status unlock = conn->Exec(fmt::format("SELECT pg_advisory_unlock(hashtext({}))",
                                         pg_store::QuoteLiteral("cutover.post_load:" + table)));
  RETURN_IF_ERROR(st);
  return unlock;
}

}  // namespace cutover::engine
