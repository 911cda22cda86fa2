// cutover.gateway_journals: one row per gateway journal, replaced each second.
#include "catalog/gateway_journals.h"

#include "catalog/schema.h"

namespace cutover::catalog {

Status ReportGatewayJournal(pg_store::PgConnection* conn, const std::string& migration,
                            const GatewayJournalReport& report) {
  RETURN_IF_ERROR(EnsureControlSchema(conn));
  auto r = conn->Query(
      "INSERT INTO cutover.gateway_journals AS g (migration, origin, journal_dir, last_seq, "
      "first_owed_seq, owed, reported_at) VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp()) "
      "ON CONFLICT (migration, journal_dir) DO UPDATE SET origin = excluded.origin, "
      "last_seq = excluded.last_seq, first_owed_seq = excluded.first_owed_seq, "
      "owed = excluded.owed, reported_at = excluded.reported_at",
      {migration, report.origin, report.journal_dir, std::to_string(report.last_seq),
       std::to_string(report.first_owed_seq), std::to_string(report.owed)});
  if (!r.ok()) return r.status().WithContext("reporting the gateway journal");
  return Status::Ok();
}

Result<double> DatabaseClock(pg_store::PgConnection* conn) {
  ASSIGN_OR_RETURN(auto now, conn->QueryValue("SELECT extract(epoch FROM clock_timestamp())"));
  return std::stod(now.value_or("0"));
}

Result<std::vector<GatewayJournalReport>> LoadGatewayJournals(pg_store::PgConnection* conn,
                                                              const std::string& migration) {
  ASSIGN_OR_RETURN(auto table, conn->QueryValue("SELECT to_regclass('cutover.gateway_journals')"));
  if (!table) return std::vector<GatewayJournalReport>();
  auto rows = conn->Query(
      "SELECT origin, journal_dir, last_seq, first_owed_seq, owed, "
      "extract(epoch FROM reported_at) "
      "FROM cutover.gateway_journals WHERE migration = $1 ORDER BY journal_dir",
      {migration});
  if (!rows.ok()) return rows.status().WithContext("reading the gateway journals");
  std::vector<GatewayJournalReport> out;
  for (const auto& r : rows->rows) {
    GatewayJournalReport g;
    g.origin = r[0].value_or("");
    g.journal_dir = r[1].value_or("");
    g.last_seq = std::stoll(r[2].value_or("0"));
    g.first_owed_seq = std::stoll(r[3].value_or("0"));
    g.owed = std::stoll(r[4].value_or("0"));
    g.reported_at = std::stod(r[5].value_or("0"));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace cutover::catalog
