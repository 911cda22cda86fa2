// cutover.gateway_journals: what each gateway process's local journal still
// owes, reported every second, so a stage change can wait for every one to drain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

struct GatewayJournalReport {
  std::string origin;          // "host:pid" of the gateway process
  std::string journal_dir;     // the journal's directory on that host
  int64_t last_seq = 0;        // the newest write it made durable
  int64_t first_owed_seq = 0;  // the oldest write it still owes; 0 when none
  int64_t owed = 0;
  // Read back only, on PostgreSQL's clock (never the gateways'): when the
  // report was made, in Unix seconds.
  double reported_at = 0;
};

// Replaces the row of (migration, report.journal_dir), stamped with
// PostgreSQL's clock. Creates the schema when missing.
Status ReportGatewayJournal(pg_store::PgConnection* conn, const std::string& migration,
                            const GatewayJournalReport& report);

// PostgreSQL's clock_timestamp() in Unix seconds: the clock reported_at is on.
Result<double> DatabaseClock(pg_store::PgConnection* conn);

// Every row of `migration`; empty when the table does not exist yet.
Result<std::vector<GatewayJournalReport>> LoadGatewayJournals(pg_store::PgConnection* conn,
                                                              const std::string& migration);

}  // namespace cutover::catalog
