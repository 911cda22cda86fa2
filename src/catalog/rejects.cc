// cutover.rejects: insert (idempotently, keyed by position), forget and page
// through the rejects of a migration.
#include "catalog/rejects.h"

#include <fmt/format.h>

#include "common/utf8.h"

namespace cutover::catalog {
namespace {

std::string HexBytea(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string FromHex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace

Status InsertRejects(pg_store::PgConnection* conn, const std::string& migration,
                     std::span<const Reject> rejects) {
  for (const auto& rj : rejects) {
    auto r = conn->Query(
        "INSERT INTO cutover.rejects (migration, entity, source, byte_offset, line, "
        "record_index, item, field, reason, record) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9, $10::bytea) "
        "ON CONFLICT (migration, entity, source, record_index, item) DO UPDATE SET "
        "byte_offset = EXCLUDED.byte_offset, line = EXCLUDED.line, field = EXCLUDED.field, "
        "reason = EXCLUDED.reason, record = EXCLUDED.record, rejected_at = now()",
        {migration, rj.entity, EscapeInvalidUtf8(rj.source), std::to_string(rj.byte_offset),
         std::to_string(rj.line), std::to_string(rj.record_index), EscapeInvalidUtf8(rj.item),
         EscapeInvalidUtf8(rj.field), EscapeInvalidUtf8(rj.reason), HexBytea(rj.record)});
    if (!r.ok()) return r.status().WithContext("recording a reject of " + rj.entity);
  }
  return Status::Ok();
}

Status DeleteRejects(pg_store::PgConnection* conn, const std::string& migration,
                     const std::string& entity) {
  auto r = conn->Query("DELETE FROM cutover.rejects WHERE migration = $1 AND entity = $2",
                       {migration, entity});
  return r.ok() ? Status::Ok() : r.status().WithContext("forgetting the rejects of " + entity);
}

Result<std::vector<Reject>> ReadRejectsPage(pg_store::PgConnection* conn,
                                            const std::string& migration, int64_t* after_id,
                                            int limit) {
  auto page = conn->Query(
      "SELECT id, entity, source, coalesce(byte_offset, -1), coalesce(line, -1), record_index, "
      "item, coalesce(field, ''), reason, encode(coalesce(record, ''::bytea), 'hex') "
      "FROM cutover.rejects WHERE migration = $1 AND id > $2 ORDER BY id LIMIT $3",
      {migration, std::to_string(*after_id), std::to_string(limit)});
  if (!page.ok()) return page.status().WithContext("reading the rejects of " + migration);
  std::vector<Reject> out;
  out.reserve(page->rows.size());
  for (const auto& row : page->rows) {
    Reject r;
    r.entity = row[1].value_or("");
    r.source = row[2].value_or("");
    r.byte_offset = std::stoll(row[3].value_or("-1"));
    r.line = std::stoll(row[4].value_or("-1"));
    r.record_index = std::stoll(row[5].value_or("-1"));
    r.item = row[6].value_or("");
    r.field = row[7].value_or("");
    r.reason = row[8].value_or("");
    r.record = FromHex(row[9].value_or(""));
    out.push_back(std::move(r));
    *after_id = std::stoll(row[0].value_or("0"));
  }
  return out;
}

}  // namespace cutover::catalog
