// Waiting for every gateway journal to land what it acknowledged ("GatewayDrain design").
#include "control/gateway_drain.h"

#include <map>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "catalog/gateway_journals.h"

namespace cutover::control {

Result<GuardResult> WaitForGatewayDrain(pg_store::PgConnection* conn, const std::string& migration,
                                        std::chrono::milliseconds timeout,
                                        std::chrono::milliseconds stale_after) {
  ASSIGN_OR_RETURN(const double t0, catalog::DatabaseClock(conn));
  const double stale = stale_after.count() / 1000.0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<std::string, int64_t> acknowledged_by;  // journal -> A, from its first report after t0
  for (;;) {
    ASSIGN_OR_RETURN(const auto reports, catalog::LoadGatewayJournals(conn, migration));
    ASSIGN_OR_RETURN(const double now, catalog::DatabaseClock(conn));
    std::vector<std::string> pending;
    int live = 0;
    for (const catalog::GatewayJournalReport& g : reports) {
      const std::string where = g.origin + " (" + g.journal_dir + ")";
      if (now - g.reported_at > stale) {
        if (g.owed > 0) {
          pending.push_back(fmt::format(
              "{} last reported {:.0f}s ago with {} writes owed; start it again so it replays "
              "them",
              where, now - g.reported_at, g.owed));
        }
        continue;
      }
      ++live;
      if (g.reported_at < t0) {
        pending.push_back(where + " has not reported since the move began");
        continue;
      }
      const int64_t a = acknowledged_by.emplace(g.journal_dir, g.last_seq).first->second;
      if (g.first_owed_seq != 0 && g.first_owed_seq <= a) {
        pending.push_back(
            fmt::format("{} still owes {} writes, the oldest #{} (acknowledged "
                        "before the move: up to #{})",
                        where, g.owed, g.first_owed_seq, a));
      }
    }
    if (pending.empty()) {
      return GuardResult{
          "gateways_drained", true,
          reports.empty()
              ? "no gateway journal is on record (a gateway reports before it serves)"
              : fmt::format("{} running gateway journal(s) hold no write acknowledged before the "
                            "move",
                            live)};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return GuardResult{"gateways_drained", false,
                         fmt::format("after {} ms: {}", timeout.count(), fmt::join(pending, "; "))};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace cutover::control
