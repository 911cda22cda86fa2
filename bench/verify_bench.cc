// Benchmark: `cutover verify` of the agriprofit price history on equal stores
// against PostgreSQL's own hashtext scan, then pinpointing 10 planted changes.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "process_meter.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"

namespace {

using cutover::Status;
using cutover::bench::CountRows;
using cutover::bench::Exec;
using cutover::bench::Measure;
using cutover::bench::Run;
using cutover::bench::ShowFile;
using cutover::pg_store::PgConnection;
using cutover::pg_store::ScratchCluster;

constexpr char kScanSql[] = "SELECT sum(hashtext(t::text)) FROM price_history t";

// What one `cutover verify --json` run found, summed over entities except
// the per-side counts, which are price_history's.
struct VerifyOutcome {
  Run run;
  bool parsed = false;
  double report_seconds = 0;
  long long source_records = 0;  // records read from Parquet, repeats included
  long long target_rows = 0;
  long long missing = 0, extra = 0, changed = 0;
  std::set<std::string> named_keys;  // "entity: kind key", as listed
};

VerifyOutcome MeasureVerify(const std::string& name, const std::string& cutover,
                            const std::string& spec, const std::string& url,
                            const std::string& files) {
  VerifyOutcome out;
  const std::string json_path = files + "/verify.json", log = files + "/verify.log";
  out.run = Measure(name, {cutover, "verify", spec, "--json", "--jobs", "2"},
                    {"DATABASE_URL=" + url}, json_path, log);
  try {
    std::ifstream in(json_path);
    auto j = nlohmann::json::parse(in);
    out.report_seconds = j.at("seconds").get<double>();
    for (const auto& e : j.at("entities")) {
      const std::string entity = e.at("entity").get<std::string>();
      if (entity == "price_history") {
        out.source_records = e.at("source_rows").get<long long>() +
                             e.at("source_duplicates").get<long long>() +
                             e.at("unmappable").get<long long>();
        out.target_rows = e.at("target_rows").get<long long>();
      }
      out.missing += e.at("missing").get<long long>();
      out.extra += e.at("extra").get<long long>();
      out.changed += e.at("changed").get<long long>();
      for (const auto& k : e.at("missing_keys")) {
        out.named_keys.insert(entity + ": missing " + k.get<std::string>());
      }
      for (const auto& k : e.at("extra_keys")) {
        out.named_keys.insert(entity + ": extra " + k.get<std::string>());
      }
      for (const auto& k : e.at("changed_keys")) {
        out.named_keys.insert(entity + ": changed " + k.at("key").get<std::string>());
      }
    }
    out.parsed = true;
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}: cannot read the JSON report: {}\n", name, e.what());
    ShowFile(log);
  }
  return out;
}

// Behind cutover's back: 6 rows get another modal_price (changed), 2 are
// deleted (missing) and 2 are inserted on dates no source row has (extra).
bool PlantTenDifferences(const std::string& url) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) return false;
  auto keys = (*conn)->Query(
      "SELECT commodity_id, market_id, date FROM price_history t ORDER BY hashtext(t::text) "
      "LIMIT 8");
  if (!keys.ok() || keys->rows.size() != 8) return false;
  std::string sql = "BEGIN;";
  for (size_t i = 0; i < keys->rows.size(); ++i) {
    const auto& k = keys->rows[i];
    const std::string where =
        fmt::format("commodity_id = {} AND market_id = {} AND date = '{}'", *k[0], *k[1], *k[2]);
    if (i < 6) {
      sql += fmt::format("UPDATE price_history SET modal_price = modal_price + 1 WHERE {};", where);
    } else {
      sql += fmt::format("DELETE FROM price_history WHERE {};", where);
    }
    if (i < 2) {
      sql += fmt::format(
          "INSERT INTO price_history SELECT commodity_id, market_id, date - 10000, state, "
          "min_price, max_price, modal_price, arrivals_tonnes, updated_at FROM price_history "
          "WHERE {};",
          where);
    }
  }
  sql += "COMMIT";
  Status s = (*conn)->Exec(sql);
  if (!s.ok()) fmt::print(stderr, "planting differences: {}\n", s.message());
  return s.ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: {} CUTOVER_BINARY SPEC ROWS\n", argv[0]);
    return 2;
  }
  const std::string cutover = argv[1], spec = argv[2];
  const long long rows = std::atoll(argv[3]);
  auto files = cutover::pg_store::MakeTempDir("cutover-bench-files-");
  auto dir = cutover::pg_store::MakeTempDir("cutover-bench-pg-");
  if (!files.ok() || !dir.ok()) return 3;
  const cutover::bench::RemoveOnExit remove_files(*files);
  auto cluster = ScratchCluster::Start({*dir, /*ephemeral=*/true, "bench"});
  if (!cluster.ok()) {
    fmt::print(stderr, "cannot start PostgreSQL: {}\n", cluster.status().message());
    return 3;
  }
  const std::string url = (*cluster)->url();
  const std::string load_before = cutover::bench::LoadAverage();

  const std::string load_log = *files + "/backfill.log";
  Run load = Measure("cutover backfill --jobs 2",
                     {cutover, "backfill", spec, "--create-tables", "--jobs", "2"},
                     {"DATABASE_URL=" + url}, load_log, load_log);
  const long long loaded = CountRows(url, "price_history");
  if (load.exit_code != 0 || loaded != rows) {
    fmt::print(stderr, "backfill: exit {}, {} rows (want {})\n", load.exit_code, loaded, rows);
    ShowFile(load_log);
    return 3;
  }
  // One untimed scan first, so that neither timed reader pays for setting
  // the hint bits of freshly loaded pages.
  if (!Exec(url, std::string(kScanSql) + "; CHECKPOINT")) return 3;

  VerifyOutcome equal = MeasureVerify("cutover verify, stores equal", cutover, spec, url, *files);

  double scan_seconds = 0;
  {
    auto conn = PgConnection::Connect(url);
    if (!conn.ok()) return 3;
    auto start = std::chrono::steady_clock::now();
    auto v = (*conn)->QueryValue(kScanSql);
    scan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!v.ok()) return 3;
  }

  if (!PlantTenDifferences(url) || !Exec(url, "CHECKPOINT")) return 3;
  VerifyOutcome ten = MeasureVerify("cutover verify, 10 rows changed", cutover, spec, url, *files);
  (void)(*cluster)->Stop();

  fmt::print(
      "\nverify of the agriprofit price history: {} rows in PostgreSQL, {} Parquet records\n"
      "load average (1, 5, 15 min) before: {}, after: {}\n"
      "rows/s per side = that side's rows / wall seconds of the whole command\n\n",
      loaded, equal.source_records, load_before, cutover::bench::LoadAverage());
  fmt::print("{:<40} {:>8} {:>15} {:>17} {:>9}  {}\n", "what", "seconds", "source rows/s",
             "PostgreSQL rows/s", "peak RSS", "result");
  auto line = [](const VerifyOutcome& v, const std::string& result) {
    fmt::print("{:<40} {:>8.2f} {:>15.0f} {:>17.0f} {:>5} MiB  {}\n", v.run.name, v.run.seconds,
               v.source_records / v.run.seconds, v.target_rows / v.run.seconds,
               v.run.peak_rss_kib / 1024, result);
  };
  const bool equal_ok = equal.parsed && equal.run.exit_code == 0 && equal.named_keys.empty();
  line(equal, equal_ok ? fmt::format("clean (report: {:.2f} s)", equal.report_seconds)
                       : fmt::format("exit {}, {} differences", equal.run.exit_code,
                                     equal.missing + equal.extra + equal.changed));
  fmt::print("{:<40} {:>8.2f} {:>15} {:>17.0f} {:>9}  {}\n",
             "PostgreSQL sum(hashtext(t::text)) scan", scan_seconds, "-", loaded / scan_seconds,
             "-", "");
  const bool ten_ok = ten.parsed && ten.named_keys.size() == 10 && ten.missing == 2 &&
                      ten.extra == 2 && ten.changed == 6;
  line(ten, fmt::format("{} keys named: {} missing, {} extra, {} changed{}", ten.named_keys.size(),
                        ten.missing, ten.extra, ten.changed, ten_ok ? "" : " (want 10: 2, 2, 6)"));
  fmt::print("\nthe 10 keys the report names:\n");
  for (const auto& k : ten.named_keys) fmt::print("  {}\n", k);

  return equal_ok && ten_ok ? 0 : 1;
}
