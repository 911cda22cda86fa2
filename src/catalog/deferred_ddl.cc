// Deferred indexes and constraints: capture from the catalog, drop, and the
// stepwise, claimable rebuild (see the design note in the header).
#include "catalog/deferred_ddl.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/failpoint.h"

namespace cutover::catalog {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);

// A sort of a whole table's keys: give the builds more memory than the
// default 64MB (an external merge sort is slower), but never less than the
// server is configured with. Workers build one index each at once, which
// already takes the cores: a build's own parallel workers only compete with
// them (measured: no faster even alone on 2 cores).
constexpr char kBuildSettings[] =
    "SELECT set_config('maintenance_work_mem', '256MB', true) "
    "WHERE pg_size_bytes(current_setting('maintenance_work_mem')) < pg_size_bytes('256MB'); "
    "SET LOCAL max_parallel_maintenance_workers = 0";

struct Definition {
  int step = 0;
  std::string name;
  std::string ddl;
  bool entity_key = false;
};

Status SaveDefinition(pg_store::PgConnection* conn, const std::string& migration,
                      const std::string& entity, const Definition& d) {
  auto saved = conn->Query(
      "INSERT INTO cutover.deferred_ddl (migration, entity, step, name, ddl, entity_key) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      {migration, entity, std::to_string(d.step), d.name, d.ddl, d.entity_key ? "true" : "false"});
  return saved.status();
}

std::string Join(const std::vector<std::string>& names, std::string_view suffix = "") {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + pg_store::QuoteIdent(n) + std::string(suffix);
  return out;
}

// Deletes all but one row per entity key: the greatest keep_last_by, then the
// one written last: by the latest transaction (the age of its xmin, as xids
// wrap), then last in the table. Returns how many rows it removed.
Result<int64_t> RemoveRepeatedKeys(pg_store::PgConnection* conn,
                                   const pg_store::TableShape& shape) {
  std::string order;
  for (const auto& k : shape.keep_last_by) order += pg_store::QuoteIdent(k) + " DESC NULLS LAST, ";
  order += "age(xmin), ctid DESC";
  return conn->ExecCount(fmt::format(
      "DELETE FROM {0} WHERE ctid = ANY (ARRAY (SELECT ctid FROM (SELECT ctid, row_number() "
      "OVER (PARTITION BY {1} ORDER BY {2}) AS repeat FROM {0}) ranked WHERE repeat > 1))",
      shape.QualifiedName(), Join(shape.key), order));
}

}  // namespace

Result<int> DeferTableIndexes(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity, const pg_store::TableShape& shape,
                              KeyRepeats repeats) {
  const std::string table = shape.QualifiedName();
  const std::string what = "setting the indexes of " + table + " aside for a bulk load";
  ASSIGN_OR_RETURN(auto referencing,
                   conn->Query("SELECT conname, conrelid::regclass::text FROM pg_constraint "
                               "WHERE contype = 'f' AND confrelid = $1::regclass "
                               "AND conrelid <> confrelid",
                               {table}));
  if (!referencing.rows.empty()) {
    return FailedPrecondition(fmt::format("{}: foreign key {} of {} references it", what,
                                          *referencing.rows[0][0], *referencing.rows[0][1]));
  }
  std::vector<std::string> sorted_key = shape.key;
  std::sort(sorted_key.begin(), sorted_key.end());
  std::string key_list;
  for (const auto& k : sorted_key) key_list += (key_list.empty() ? "" : ",") + k;

  // Indexes: their definition, whether they back a constraint of this table,
  // and whether they are a plain unique index on exactly the entity's key.
  ASSIGN_OR_RETURN(
      auto indexes,
      conn->Query(
          "SELECT ic.relname, pg_get_indexdef(i.indexrelid), "
          "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
          "AND c.conrelid = i.indrelid), "
          "i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND "
          "array_to_string(array(SELECT a.attname FROM unnest(i.indkey) k JOIN pg_attribute a "
          "ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname), ',') = $2 "
          "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
          "WHERE i.indrelid = $1::regclass ORDER BY ic.relname",
          {table, key_list}));
  ASSIGN_OR_RETURN(auto constraints,
                   conn->Query("SELECT c.conname, c.contype, pg_get_constraintdef(c.oid), "
                               "coalesce(ic.relname, ''), c.condeferrable, c.condeferred "
                               "FROM pg_constraint c LEFT JOIN pg_class ic ON ic.oid = c.conindid "
                               "WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u', 'x', "
                               "'f') ORDER BY c.contype = 'f' DESC, c.conname",
                               {table}));
  if (repeats == KeyRepeats::kRefused) {
    for (const auto& row : indexes.rows) {
      // pg_get_indexdef names a unique index "CREATE UNIQUE INDEX ...".
      if (row[1]->starts_with("CREATE UNIQUE") && *row[3] != "t") {
        return FailedPrecondition(fmt::format(
            "{}: unique index {} is not the key, whose repeats the load refuses", what, *row[0]));
      }
    }
    for (const auto& c : constraints.rows) {
      if (*c[1] == "x") {
        return FailedPrecondition(
            fmt::format("{}: exclusion constraint {} would be rebuilt unguarded", what, *c[0]));
      }
    }
  }
  int saved = 0;
  std::vector<std::string> drops;
  for (const auto& row : indexes.rows) {
    const std::string& name = *row[0];
    const bool backs_constraint = *row[2] == "t";
    const bool is_exclusion = [&] {
      for (const auto& c : constraints.rows) {
        if (*c[1] == "x" && *c[3] == name) return true;
      }
      return false;
    }();
    // An exclusion constraint's index comes back with the constraint.
    if (is_exclusion) continue;
    RETURN_IF_ERROR(
        SaveDefinition(conn, migration, entity,
                       {.step = 0,
                        .name = name,
                        .ddl = *row[1],
                        .entity_key = repeats == KeyRepeats::kRemoved && *row[3] == "t"})
            .WithContext(what));
    ++saved;
    if (!backs_constraint)
      drops.push_back("DROP INDEX " + pg_store::QualifiedName(shape.schema, name));
  }
  // Foreign keys are dropped first (ORDER BY above), so that nothing still
  // depends on an index when it goes.
  for (const auto& row : constraints.rows) {
    const std::string& name = *row[0];
    const std::string& type = *row[1];
    std::string ddl;
    int step = 1;
    if (type == "p" || type == "u") {
      ddl = fmt::format(
          "ALTER TABLE {} ADD CONSTRAINT {} {} USING INDEX {}{}", table, pg_store::QuoteIdent(name),
          type == "p" ? "PRIMARY KEY" : "UNIQUE", pg_store::QuoteIdent(*row[3]),
          *row[4] == "t" ? (*row[5] == "t" ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE")
                         : "");
    } else {
      step = type == "f" ? 2 : 1;
      ddl = fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", table, pg_store::QuoteIdent(name),
                        *row[2]);
    }
    RETURN_IF_ERROR(
        SaveDefinition(conn, migration, entity, {.step = step, .name = name, .ddl = ddl})
            .WithContext(what));
    ++saved;
    RETURN_IF_ERROR(conn->Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", table,
                                           pg_store::QuoteIdent(name)))
                        .WithContext(what));
  }
  for (const auto& drop : drops) RETURN_IF_ERROR(conn->Exec(drop).WithContext(what));
  return saved;
}

Result<int> DeferForeignKeys(pg_store::PgConnection* conn, const std::string& migration,
                             const std::string& entity, const pg_store::TableShape& shape,
                             const pg_store::TableShape& parent) {
  const std::string table = shape.QualifiedName();
  const std::string what = "setting the foreign keys of " + table + " aside for the load";
  ASSIGN_OR_RETURN(auto keys, conn->Query("SELECT conname, pg_get_constraintdef(oid) FROM "
                                          "pg_constraint WHERE conrelid = $1::regclass AND "
                                          "confrelid = $2::regclass AND contype = 'f' "
                                          "ORDER BY conname",
                                          {table, parent.QualifiedName()}));
  for (const auto& row : keys.rows) {
    const std::string name = pg_store::QuoteIdent(*row[0]);
    RETURN_IF_ERROR(SaveDefinition(conn, migration, entity,
                                   {.step = 2,
                                    .name = *row[0],
                                    .ddl = fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", table,
                                                       name, *row[1])})
                        .WithContext(what));
    RETURN_IF_ERROR(conn->Exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", table, name))
                        .WithContext(what));
  }
  return static_cast<int>(keys.rows.size());
}

Result<int64_t> CountDeferredKeys(pg_store::PgConnection* conn, const std::string& migration,
                                  const std::string& entity) {
  ASSIGN_OR_RETURN(auto n, conn->QueryValue("SELECT count(*) FROM cutover.deferred_ddl "
                                            "WHERE migration = $1 AND entity = $2 AND step < 2",
                                            {migration, entity}));
  return n ? std::stoll(*n) : 0;
}

Status DeferIndex(pg_store::PgConnection* conn, const std::string& migration,
                  const std::string& entity, const std::string& name,
                  const std::string& create_sql) {
  return conn
      ->Query(
          "INSERT INTO cutover.deferred_ddl (migration, entity, step, name, ddl) "
          "VALUES ($1, $2, 0, $3, $4) ON CONFLICT DO NOTHING",
          {migration, entity, name, create_sql})
      .status()
      .WithContext("deferring index " + name);
}

Result<int64_t> CountDeferred(pg_store::PgConnection* conn, const std::string& migration,
                              const std::string& entity) {
  ASSIGN_OR_RETURN(auto n, conn->QueryValue("SELECT count(*) FROM cutover.deferred_ddl "
                                            "WHERE migration = $1 AND entity = $2",
                                            {migration, entity}));
  return n ? std::stoll(*n) : 0;
}

Result<bool> RebuildOneDeferred(pg_store::PgConnection* conn, const std::string& migration,
                                const std::string& entity, const pg_store::TableShape& shape) {
  RETURN_IF_ERROR(conn->Exec("BEGIN"));
  Definition d;
  auto body = [&]() -> Result<bool> {
    ASSIGN_OR_RETURN(
        auto claimed,
        conn->Query("SELECT step, name, ddl, entity_key FROM cutover.deferred_ddl "
                    "WHERE migration = $1 AND entity = $2 AND step = (SELECT "
                    "min(step) FROM cutover.deferred_ddl WHERE migration = $1 AND "
                    "entity = $2) ORDER BY entity_key DESC, name LIMIT 1 FOR UPDATE SKIP LOCKED",
                    {migration, entity}));
    if (claimed.rows.empty()) return false;
    d.step = std::stoi(*claimed.rows[0][0]);
    d.name = *claimed.rows[0][1];
    d.ddl = *claimed.rows[0][2];
    d.entity_key = *claimed.rows[0][3] == "t";
    RETURN_IF_ERROR(conn->Exec(kBuildSettings));
    FailPoint("deferred.before_build");
    const auto started = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_rebuild"));
    Status built = conn->Exec(d.ddl);
    if (!built.ok() && built.sqlstate() == "23505" && d.entity_key) {
      RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_rebuild"));
      ASSIGN_OR_RETURN(const int64_t removed, RemoveRepeatedKeys(conn, shape));
      spdlog::warn(
          "{}: {} rows repeated a key (distinct source keys that map to one target key, or a "
          "key read twice) and were removed, keeping per key the greatest keep_last_by, then "
          "the row written last",
          entity, removed);
      built = conn->Exec(d.ddl);
    }
    RETURN_IF_ERROR(built);
    RETURN_IF_ERROR(conn->Query("DELETE FROM cutover.deferred_ddl WHERE migration = $1 AND "
                                "entity = $2 AND step = $3 AND name = $4",
                                {migration, entity, std::to_string(d.step), d.name})
                        .status());
    FailPoint("deferred.before_commit");
    // A key's index and its constraint share a name: the step tells them apart.
    static constexpr const char* kDone[] = {"built index", "restored constraint",
                                            "validated foreign key"};
    spdlog::info("{}: {} {} in {:.1f}s", entity, kDone[std::clamp(d.step, 0, 2)], d.name,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return true;
  };
  Result<bool> claimed = body();
  if (!claimed.ok()) {
    if (conn->IsHealthy()) (void)conn->Exec("ROLLBACK");
    return claimed.status().WithContext(
        d.name.empty() ? "rebuilding the deferred indexes of " + shape.QualifiedName()
                       : fmt::format("rebuilding {} of {}", d.name, shape.QualifiedName()));
  }
  RETURN_IF_ERROR(conn->Exec("COMMIT"));
  return claimed;
}

Status RebuildAllDeferred(pg_store::PgConnection* conn, const std::string& migration,
                          const std::string& entity, const pg_store::TableShape& shape) {
  for (;;) {
    ASSIGN_OR_RETURN(const bool rebuilt, RebuildOneDeferred(conn, migration, entity, shape));
    if (rebuilt) continue;
    ASSIGN_OR_RETURN(const int64_t left, CountDeferred(conn, migration, entity));
    if (left == 0) return Status::Ok();
    std::this_thread::sleep_for(kPollInterval);
  }
}

Result<std::optional<std::vector<std::string>>> EntitiesWithDeferred(pg_store::PgConnection* conn,
                                                                     const std::string& migration) {
  ASSIGN_OR_RETURN(auto table, conn->QueryValue("SELECT to_regclass('cutover.deferred_ddl')"));
  if (!table) return std::optional<std::vector<std::string>>();
  auto rows = conn->Query(
      "SELECT DISTINCT entity FROM cutover.deferred_ddl WHERE migration = $1 ORDER BY 1",
      {migration});
  if (!rows.ok()) return rows.status().WithContext("reading the deferred indexes");
  std::vector<std::string> out;
  for (const auto& r : rows->rows) out.push_back(r[0].value_or(""));
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> DeferredNames(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity) {
  ASSIGN_OR_RETURN(auto table, conn->QueryValue("SELECT to_regclass('cutover.deferred_ddl')"));
  std::vector<std::string> names;
  if (!table) return names;
  ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT name FROM cutover.deferred_ddl WHERE "
                                          "migration = $1 AND entity = $2 ORDER BY step, name",
                                          {migration, entity}));
  for (const auto& row : rows.rows) names.push_back(row[0].value_or(""));
  return names;
}

}  // namespace cutover::catalog
