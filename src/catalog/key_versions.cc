// Claims of per-key versions in cutover.key_versions.
#include "catalog/key_versions.h"

#include <algorithm>

#include <fmt/format.h>

#include <unordered_map>

#include "common/row_batch.h"
#include "stores/postgres/copy_encoder.h"

namespace cutover::catalog {
namespace {

void AppendHex(std::string_view bytes, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
}

// The first column of each row, hex text, as bytes.
std::vector<std::string> HexRows(const pg_store::QueryResult& r) {
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

// Claims every candidate of `best` by one COPY, which succeeds only when
// none of their keys was claimed before; false (the savepoint rolled back)
// when one was.
Result<bool> CopyClaims(pg_store::PgConnection* conn, int32_t scope,
                        const std::vector<KeyVersion>& items, const std::vector<size_t>& order) {
  RowBatch claims;
  claims.AddColumn("scope", ValueType::kInt32);
  claims.AddColumn("key", ValueType::kBytes);
  claims.AddColumn("version", ValueType::kInt64);
  claims.AddColumn("deleted", ValueType::kBool);
  for (const size_t i : order) {
    claims.columns[0].AppendInt(scope);
    claims.columns[1].AppendBytes(items[i].key);
    claims.columns[2].AppendInt(items[i].version);
    claims.columns[3].AppendBool(items[i].deleted);
  }
  std::vector<uint32_t> rows(claims.num_rows());
  for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
  static constexpr int kOrder[] = {0, 1, 2, 3};
  std::string copy;
  pg_store::EncodeBinaryCopy(claims, kOrder, rows, /*with_ordinal=*/false, &copy);
  RETURN_IF_ERROR(conn->Exec("SAVEPOINT cutover_claims"));
  const Status st = conn->CopyIn(
      "COPY cutover.key_versions (scope, key, version, deleted) FROM STDIN (FORMAT binary)", copy);
  if (st.ok()) {
    RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_claims"));
    return true;
  }
  // 23505: a key was claimed before; anything else is the caller's error.
  if (st.sqlstate() != "23505") return st.WithContext("claiming key versions");
  RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT cutover_claims"));
  RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT cutover_claims"));
  return false;
}

// The scope of (migration, entity) in cutover.key_scopes, made on first use
// in the caller's transaction: a claim rolled back takes a scope it made
// with it, and nothing outside the transaction kept its number.
Result<int32_t> KeyScope(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity) {
  static constexpr std::string_view kFindOrMake =
      "WITH found AS (SELECT scope FROM cutover.key_scopes WHERE migration = $1 AND entity = $2), "
      "made AS (INSERT INTO cutover.key_scopes (migration, entity) SELECT $1, $2 "
      "WHERE NOT EXISTS (SELECT 1 FROM found) ON CONFLICT (migration, entity) DO NOTHING "
      "RETURNING scope) "
      "SELECT scope FROM found UNION ALL SELECT scope FROM made";
  // Empty only when another writer made the scope after this statement's
  // snapshot was taken; the next statement sees it.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(pg_store::QueryResult r, conn->Query(kFindOrMake, {migration, entity}));
    if (!r.rows.empty() && r.rows[0][0]) return static_cast<int32_t>(std::stol(*r.rows[0][0]));
  }
  return Internal(fmt::format("no key scope for migration '{}' entity '{}' after making one",
                              migration, entity));
}

// The rows of one (migration, entity) in cutover.key_versions.
constexpr std::string_view kScopeOf =
    "scope = (SELECT scope FROM cutover.key_scopes WHERE migration = $1 AND entity = $2)";

}  // namespace

Result<std::vector<bool>> ClaimKeyVersions(pg_store::PgConnection* conn,
                                           const std::string& migration, const std::string& entity,
                                           const std::vector<KeyVersion>& items,
                                           ClaimStrategy* strategy) {
  std::vector<bool> won(items.size(), false);
  if (items.empty()) return won;
  // One candidate per key: an INSERT ... ON CONFLICT may not touch a row twice.
  std::unordered_map<std::string_view, size_t> best;
  best.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto [it, inserted] = best.emplace(items[i].key, i);
    if (!inserted && items[i].version >= items[it->second].version) it->second = i;
  }
  // Claimed in key order, whoever claims: two writers claiming overlapping
  // keys (a backfill and the gateway) then lock them in one order, and never
  // deadlock.
  std::vector<size_t> order;
  order.reserve(best.size());
  for (const auto& [key, i] : best) order.push_back(i);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return items[a].key < items[b].key; });
  if (strategy != nullptr) strategy->last_copied = false;
  ASSIGN_OR_RETURN(const int32_t scope, KeyScope(conn, migration, entity));
  if (strategy != nullptr && strategy->copy_first) {
    ASSIGN_OR_RETURN(const bool copied, CopyClaims(conn, scope, items, order));
    strategy->last_copied = copied;
    if (copied) {
      for (const auto& [key, i] : best) won[i] = true;
      return won;
    }
    if (++strategy->copy_failures >= ClaimStrategy::kMaxCopyFailures) strategy->copy_first = false;
  }
  // The candidates travel as three array parameters, so the statement's text
  // (and its parse) stays the same size whatever the batch: a VALUES list of
  // literals cost more to parse and plan than the claims themselves.
  std::string keys = "{", versions = "{", deleted = "{";
  keys.reserve(best.size() * 48);
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t i = order[n];
    if (n > 0) {
      keys += ',';
      versions += ',';
      deleted += ',';
    }
    // An array element in quotes whose backslash is doubled: bytea's hex form.
    keys += "\"\\\\x";
    AppendHex(items[i].key, &keys);
    keys += '"';
    versions += std::to_string(items[i].version);
    deleted += items[i].deleted ? 't' : 'f';
  }
  keys += '}';
  versions += '}';
  deleted += '}';
  // Returns the ordinals that lost (usually none), not the winners.
  static constexpr std::string_view kClaim =
      "WITH c AS (SELECT * FROM unnest($2::bytea[], $3::bigint[], $4::bool[]) "
      "WITH ORDINALITY AS c(key, version, deleted, i)), "
      "claimed AS (INSERT INTO cutover.key_versions AS kv (scope, key, version, deleted) "
      "SELECT $1::integer, key, version, deleted FROM c "
      "ON CONFLICT (scope, key) {} RETURNING kv.key) "
      "SELECT c.i FROM c WHERE NOT EXISTS (SELECT 1 FROM claimed WHERE claimed.key = c.key)";
  const bool first_only = strategy != nullptr && strategy->first_only;
  const std::string claim = fmt::format(
      kClaim, first_only ? "DO NOTHING"
                         : "DO UPDATE SET version = excluded.version, deleted = excluded.deleted "
                           "WHERE kv.version <= excluded.version");
  ASSIGN_OR_RETURN(pg_store::QueryResult r,
                   conn->Query(claim, {std::to_string(scope), keys, versions, deleted}));
  for (size_t n : order) won[n] = true;
  for (const auto& row : r.rows) {
    // unnest's ordinality counts from 1.
    const size_t ordinal = std::stoul(row[0].value_or("0"));
    if (ordinal < 1 || ordinal > order.size()) {
      return Internal(
          fmt::format("key version claim returned ordinal {} of {}", ordinal, order.size()));
    }
    won[order[ordinal - 1]] = false;
  }
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
      conn->Query(fmt::format("SELECT encode(key, 'hex') FROM cutover.key_versions WHERE {} "
                              "AND NOT deleted AND version < $3::bigint "
                              "AND key > decode($4, 'hex') ORDER BY key LIMIT $5::int",
                              kScopeOf),
                  {migration, entity, std::to_string(version), after_hex, std::to_string(limit)}));
  return HexRows(r);
}

Result<std::vector<std::string>> UnclaimedKeys(pg_store::PgConnection* conn,
                                               const std::string& migration,
                                               const std::string& entity, const std::string& table,
                                               const std::string& key_sql, const std::string& after,
                                               int limit) {
  std::string after_hex;
  AppendHex(after, &after_hex);
  ASSIGN_OR_RETURN(
      pg_store::QueryResult r,
      conn->Query(
          fmt::format(
              "SELECT encode(k, 'hex') FROM (SELECT {} AS k FROM {}) t WHERE k > decode($3, "
              "'hex') AND NOT EXISTS (SELECT 1 FROM cutover.key_versions kv WHERE kv.scope = "
              "(SELECT scope FROM cutover.key_scopes WHERE migration = $1 AND entity = $2) AND "
              "kv.key = t.k) ORDER BY k LIMIT $4::int",
              key_sql, table),
          {migration, entity, after_hex, std::to_string(limit)}));
  return HexRows(r);
}

Result<bool> HasKeyVersions(pg_store::PgConnection* conn, const std::string& migration,
                            const std::string& entity) {
  ASSIGN_OR_RETURN(
      auto any,
      conn->QueryValue(
          fmt::format("SELECT EXISTS (SELECT 1 FROM cutover.key_versions WHERE {})", kScopeOf),
          {migration, entity}));
  return any && *any == "t";
}

Status ForgetKeyVersions(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& entity) {
  ASSIGN_OR_RETURN(pg_store::QueryResult r,
                   conn->Query(fmt::format("DELETE FROM cutover.key_versions WHERE {}", kScopeOf),
                               {migration, entity}));
  (void)r;
  return Status::Ok();
}

}  // namespace cutover::catalog
