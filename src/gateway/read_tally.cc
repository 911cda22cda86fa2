// Read outcomes counted in memory and recorded in the catalog in one go.
#include "gateway/read_tally.h"

namespace cutover::gateway {
namespace {
void AddTo(catalog::ReadCounts& sum, const catalog::ReadCounts& c) {
  sum.shadow_reads += c.shadow_reads;
  sum.shadow_mismatches += c.shadow_mismatches;
  sum.postgres_reads += c.postgres_reads;
  sum.fallbacks += c.fallbacks;
}
}  // namespace

void ReadTally::Add(const std::string& entity, const catalog::ReadCounts& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  AddTo(pending_[entity], counts);
  AddTo(totals_[entity], counts);
}

std::map<std::string, catalog::ReadCounts> ReadTally::Totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

Status ReadTally::Flush(pg_store::PgConnection* conn, const std::string& migration,
                        const std::string& origin) {
  std::map<std::string, catalog::ReadCounts> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taken.swap(pending_);
  }
  for (auto it = taken.begin(); it != taken.end(); ++it) {
    Status st = catalog::RecordReads(conn, migration, it->first, origin, it->second);
    if (!st.ok()) {
      // This entity's and the later ones' counts wait for the next flush.
      std::lock_guard<std::mutex> lock(mu_);
      for (auto back = it; back != taken.end(); ++back) AddTo(pending_[back->first], back->second);
      return st;
    }
  }
  return Status::Ok();
}

}  // namespace cutover::gateway
