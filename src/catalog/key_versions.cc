// Claims of per-key versions in cutover.key_versions.
#include "catalog/key_versions.h"

#include <fmt/format.h>

#include <unordered_map>

namespace cutover::catalog {
namespace {

void AppendHex(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

}  // namespace

Result<std::vector<bool>> ClaimKeyVersions(pg_store::PgConnection* conn,
                                           const std::string& migration, const std::string& entity,
                                           const std::vector<KeyVersion>& items) {
  std::vector<bool> won(items.size(), false);
  if (items.empty()) return won;
  // One candidate per key: an INSERT ... ON CONFLICT may not touch a row twice.
  std::unordered_map<std::string_view, size_t> best;
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, inserted] = best.emplace(items[i].key, i);
    if (!inserted && items[i].version >= items[it->second].version) it->second = i;
  }
  std::string values;
  values.reserve(best.size() * 48);
  std::vector<size_t> order;
  order.reserve(best.size());
  for (const auto& [key, i] : best) {
    values += values.empty() ? "(" : ",(";
    values += std::to_string(order.size());
    values += ",'\\x";
    AppendHex(key, &values);
    values += "'::bytea,";
    values += std::to_string(items[i].version);
    values += items[i].deleted ? ",true)" : ",false)";
    order.push_back(i);
  }
  const std::string sql = fmt::format(
      "WITH c(i, key, version, deleted) AS (VALUES {}), "
      "claimed AS (INSERT INTO cutover.key_versions AS kv (migration, entity, key, version, "
      "deleted) SELECT $1, $2, key, version, deleted FROM c "
      "ON CONFLICT (migration, entity, key) DO UPDATE SET version = excluded.version, "
      "deleted = excluded.deleted WHERE kv.version <= excluded.version RETURNING kv.key) "
      "SELECT c.i FROM c JOIN claimed USING (key)",
      values);
  ASSIGN_OR_RETURN(pg_store::QueryResult r, conn->Query(sql, {migration, entity}));
  for (const auto& row : r.rows) won[order[std::stoul(row[0].value_or("0"))]] = true;
  return won;
}

Result<std::vector<std::string>> KeysOlderThan(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity, int64_t version,
                                               const std::string& after, int limit) {
  std::string after_hex;
  AppendHex(after, &after_hex);
  ASSIGN_OR_RETURN(
      pg_store::QueryResult r,
      conn->Query("SELECT encode(key, 'hex') FROM cutover.key_versions WHERE migration = $1 "
                  "AND entity = $2 AND NOT deleted AND version < $3::bigint "
                  "AND key > decode($4, 'hex') ORDER BY key LIMIT $5::int",
                  {migration, entity, std::to_string(version), after_hex, std::to_string(limit)}));
  std::vector<std::string> keys;
  for (const auto& row : r.rows) {
    const std::string hex = row[0].value_or("");
    std::string key;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      key.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

Status ForgetKeyVersions(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity) {
  ASSIGN_OR_RETURN(pg_store::QueryResult r,
                   conn->Query("DELETE FROM cutover.key_versions WHERE migration = $1 AND "
                               "entity = $2",
                               {migration, entity}));
  (void)r;
  return Status::Ok();
}

}  // namespace cutover::catalog
