// cutover.stage_audit: append an attempt, read the newest, and find when the
// migration last crossed a stage boundary.
#include "catalog/stage_audit.h"

#include "catalog/schema.h"

namespace cutover::catalog {
namespace {

// A text[] literal of `items`, for ANY($n::text[]); each element quoted.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

Status AppendAuditRow(pg_store::PgConnection* conn, const std::string& migration,
                      const AuditRow& row) {
  const std::vector<std::string> params = {
      migration,
      row.from_stage,
      std::to_string(row.from_percent),
      row.to_stage,
      row.to_percent ? std::to_string(*row.to_percent) : std::string(),
      row.who,
      row.why,
      row.forced ? "true" : "false",
      row.applied ? "true" : "false",
      row.guards.dump(),
      row.outcome,
      row.detail};
  auto r = conn->Query(
      "INSERT INTO cutover.stage_audit (migration, from_stage, from_percent, to_stage, "
      "to_percent, who, why, forced, applied, guards, outcome, detail) "
      "VALUES ($1, $2, $3, $4, NULLIF($5, '')::integer, $6, $7, $8, $9, $10::jsonb, $11, $12)",
      params);
  if (!r.ok()) return r.status().WithContext("writing the stage audit");
  return Status::Ok();
}

Result<std::vector<AuditEntry>> ReadAudit(pg_store::PgConnection* conn,
                                          const std::string& migration, int limit) {
  auto rows = conn->Query(
      "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), from_stage, "
      "from_percent, to_stage, to_percent, who, why, forced, applied, guards::text, "
      "coalesce(outcome, ''), detail "
      "FROM cutover.stage_audit WHERE migration = $1 ORDER BY id DESC LIMIT $2",
      {migration, std::to_string(limit)});
  if (!rows.ok()) {
    if (IsMissingRelation(rows.status())) return std::vector<AuditEntry>{};
    return rows.status().WithContext("reading the stage audit of " + migration);
  }
  std::vector<AuditEntry> out;
  for (const auto& r : rows->rows) {
    AuditEntry e;
    e.id = std::stoll(r[0].value_or("0"));
    e.at = r[1].value_or("");
    e.from_stage = r[2].value_or("");
    e.from_percent = std::stoi(r[3].value_or("0"));
    e.to_stage = r[4].value_or("");
    if (r[5]) e.to_percent = std::stoi(*r[5]);
    e.who = r[6].value_or("");
    e.why = r[7].value_or("");
    e.forced = r[8].value_or("f") == "t";
    e.applied = r[9].value_or("f") == "t";
    e.guards = nlohmann::json::parse(r[10].value_or("[]"), nullptr, /*allow_exceptions=*/false);
    e.outcome = r[11].value_or("");
    e.detail = r[12].value_or("");
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::optional<int64_t>> SecondsSinceAppliedMoveOutOf(pg_store::PgConnection* conn,
                                                            const std::string& migration,
                                                            const std::vector<std::string>& below) {
  auto v = conn->QueryValue(
      "SELECT floor(extract(epoch FROM clock_timestamp() - max(at)))::bigint "
      "FROM cutover.stage_audit WHERE migration = $1 AND applied "
      "AND from_stage = ANY($2::text[]) AND to_stage <> ALL($2::text[])",
      {migration, TextArray(below)});
  if (!v.ok())
    return v.status().WithContext("reading when the stage last left " + TextArray(below));
  if (!v->has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(std::stoll(**v));
}

}  // namespace cutover::catalog
