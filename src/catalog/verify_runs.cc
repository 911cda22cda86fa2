// cutover.verify_runs: record a verify's verdicts and read the latest per
// entity.
#include "catalog/verify_runs.h"

namespace cutover::catalog {

Status RecordVerifyRuns(pg_store::PgConnection* conn, const std::string& migration,
                        std::span<const VerifyRun> runs) {
  for (const auto& v : runs) {
    auto r = conn->Query(
        "INSERT INTO cutover.verify_runs (migration, entity, source_rows, target_rows, missing, "
        "extra, changed, clean) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {migration, v.entity, std::to_string(v.source_rows), std::to_string(v.target_rows),
         std::to_string(v.missing), std::to_string(v.extra), std::to_string(v.changed),
         v.clean ? "true" : "false"});
    if (!r.ok()) return r.status().WithContext("recording the verify outcome");
  }
  return Status::Ok();
}

Result<std::vector<VerifyRun>> LatestVerifyRuns(pg_store::PgConnection* conn,
                                                const std::string& migration) {
  auto rows = conn->Query(
      "SELECT DISTINCT ON (entity) entity, clean, missing, extra, changed, source_rows, "
      "target_rows FROM cutover.verify_runs WHERE migration = $1 ORDER BY entity, id DESC",
      {migration});
  if (!rows.ok()) return rows.status().WithContext("reading the verify runs");
  auto n = [](const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; };
  std::vector<VerifyRun> out;
  for (const auto& r : rows->rows) {
    out.push_back({.entity = r[0].value_or(""),
                   .source_rows = n(r[5]),
                   .target_rows = n(r[6]),
                   .missing = n(r[2]),
                   .extra = n(r[3]),
                   .changed = n(r[4]),
                   .clean = r[1].value_or("f") == "t"});
  }
  return out;
}

}  // namespace cutover::catalog
