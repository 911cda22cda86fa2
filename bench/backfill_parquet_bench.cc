// Benchmark: cutover's Parquet backfill of the agriprofit price history against
// binary COPY from memory, psql \copy, pgloader and pandas, on one PostgreSQL.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "process_meter.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"

namespace {

using cutover::Status;
using cutover::bench::CountRows;
using cutover::bench::Exec;
using cutover::bench::Measure;
using cutover::bench::MeasureFork;
using cutover::bench::QueryText;
using cutover::bench::Run;
using cutover::bench::ShowFile;
using cutover::pg_store::PgConnection;
using cutover::pg_store::ScratchCluster;

constexpr char kTable[] = "price_history";
constexpr char kColumns[] =
    "commodity_id, market_id, date, state, min_price, max_price, modal_price, arrivals_tonnes, "
    "updated_at";
constexpr char kPrimaryKey[] = "commodity_id, market_id, date";
// Order-independent digest of the table's rows as text: equal digests after
// each method show it loaded the same rows, not only as many.
constexpr char kChecksumSql[] = "SELECT sum(hashtext(t::text)) FROM price_history t";

struct Args {
  std::string cutover, spec, pandas_script;
  long long rows = 0;
  std::string scale_spec;  // empty: no --scale run
  long long scale_rows = 0;
};

std::optional<Args> ParseArgs(int argc, char** argv) {
  if (argc != 5 && argc != 8) return std::nullopt;
  Args a;
  a.cutover = argv[1];
  a.spec = argv[2];
  a.pandas_script = argv[3];
  a.rows = std::atoll(argv[4]);
  if (argc == 8) {
    if (std::string(argv[5]) != "--scale") return std::nullopt;
    a.scale_spec = argv[6];
    a.scale_rows = std::atoll(argv[7]);
  }
  return a;
}

// A scratch cluster in a fresh directory, removed when stopped.
std::unique_ptr<ScratchCluster> StartCluster() {
  auto dir = cutover::pg_store::MakeTempDir("cutover-bench-pg-");
  if (!dir.ok()) return nullptr;
  auto cluster = ScratchCluster::Start({*dir, /*ephemeral=*/true, "bench"});
  if (!cluster.ok()) {
    fmt::print(stderr, "cannot start PostgreSQL: {}\n", cluster.status().message());
    return nullptr;
  }
  return std::move(cluster).value();
}

// The two cutover runs on one spec: into no table at all (created, loaded,
// then keyed and indexed), then again over the loaded rows (merge path).
// Their logs go to `log_prefix`-{empty,merge}.log, shown when a run fails.
std::vector<Run> MeasureCutover(const Args& a, const std::string& spec, const std::string& url,
                                long long rows, const std::string& log_prefix) {
  const std::vector<std::string> env = {"DATABASE_URL=" + url};
  std::vector<Run> runs;
  runs.push_back(Measure("cutover backfill --jobs 2, empty table",
                         {a.cutover, "backfill", spec, "--create-tables", "--jobs", "2"}, env,
                         log_prefix + "-empty.log", log_prefix + "-empty.log"));
  runs.back().rows = CountRows(url, kTable);
  Exec(url, "CHECKPOINT");
  runs.push_back(Measure("cutover backfill --jobs 2, rows present (merge)",
                         {a.cutover, "backfill", spec, "--jobs", "2", "--restart"}, env,
                         log_prefix + "-merge.log", log_prefix + "-merge.log"));
  runs.back().rows = CountRows(url, kTable);
  for (size_t i = 0; i < runs.size(); ++i) {
    const Run& r = runs[i];
    if (r.exit_code != 0 || r.rows != rows) {
      fmt::print(stderr, "{}: exit {}, {} rows in {} (want {})\n", r.name, r.exit_code, r.rows,
                 kTable, rows);
      ShowFile(log_prefix + (i == 0 ? "-empty.log" : "-merge.log"));
    }
  }
  return runs;
}

// COPY ... TO STDOUT into memory (binary) or a file (CSV with a header).
Status CopyOutTo(const std::string& url, const std::string& sql, std::string* buffer,
                 std::FILE* file) {
  auto conn = PgConnection::Connect(url);
  if (!conn.ok()) return conn.status();
  return (*conn)->CopyOut(sql, [&](std::string_view chunk) -> Status {
    if (buffer) buffer->append(chunk);
    if (file && std::fwrite(chunk.data(), 1, chunk.size(), file) != chunk.size()) {
      return cutover::IoError("writing the CSV export failed");
    }
    return Status::Ok();
  });
}

// The ceiling: one connection streaming rows that are already binary COPY
// data in memory, then (optionally) building the key and indexes.
Run MeasureBinaryCopy(const std::string& name, const std::string& url, const std::string& data,
                      const std::vector<std::string>& after) {
  return MeasureFork(name, [&]() -> int {
    auto conn = PgConnection::Connect(url);
    if (!conn.ok()) return 3;
    Status s = (*conn)->CopyIn(
        fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary)", kTable, kColumns), data);
    for (const auto& sql : after) {
      if (s.ok()) s = (*conn)->Exec(sql);
    }
    if (!s.ok()) fmt::print(stderr, "{}: {}\n", name, s.message());
    return s.ok() ? 0 : 1;
  });
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

std::string PgloaderCommand(const std::string& csv, const std::string& url) {
  return fmt::format(
      "-- pgloader's CSV load of the exported price history into the existing table.\n"
      "LOAD CSV\n"
      "  FROM '{}'\n"
      "  HAVING FIELDS ({})\n"
      "  INTO {}\n"
      "  TARGET TABLE {}\n"
      "  TARGET COLUMNS ({})\n"
      "  WITH skip header = 1,\n"
      "       fields optionally enclosed by '\"',\n"
      "       fields escaped by double-quote,\n"
      "       fields terminated by ',';\n",
      csv, kColumns, url, kTable, kColumns);
}

std::string Mib(long kib) {
  return fmt::format("{} MiB", kib / 1024);
}

// Ratios are speeds relative to a reference (its seconds / these seconds):
// the ceiling, into the same table with all its indexes, and the key-only
// COPY, the table the "about 1.5x" was measured on.
void PrintRuns(const std::vector<Run>& runs, const Run& ceiling, const Run& key_only,
               long long rows) {
  fmt::print("{:<52} {:>8} {:>10} {:>9} {:>10} {:>11}  {}\n", "method", "seconds", "rows/s",
             "peak RSS", "vs ceiling", "vs key-only", "result");
  for (const auto& r : runs) {
    std::string result = r.exit_code != 0 ? fmt::format("exit {}", r.exit_code)
                         : r.rows != rows ? fmt::format("{} rows", r.rows)
                         : !r.same_rows   ? "rows differ"
                                          : "ok";
    fmt::print("{:<52} {:>8.2f} {:>10.0f} {:>9} {:>9.2f}x {:>10.2f}x  {}\n", r.name, r.seconds,
               rows / r.seconds, Mib(r.peak_rss_kib), ceiling.seconds / r.seconds,
               key_only.seconds / r.seconds, result);
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = ParseArgs(argc, argv);
  if (!parsed) {
    fmt::print(stderr, "usage: {} CUTOVER_BINARY SPEC PANDAS_SCRIPT ROWS [--scale SPEC4 ROWS4]\n",
               argv[0]);
    return 2;
  }
  const Args a = *parsed;
  auto files = cutover::pg_store::MakeTempDir("cutover-bench-files-");
  if (!files.ok()) return 3;
  const cutover::bench::RemoveOnExit remove_files(*files);
  const std::string csv = *files + "/price_history.csv";

  auto cluster = StartCluster();
  if (!cluster) return 3;
  const std::string url = cluster->url();

  const std::string load_before = cutover::bench::LoadAverage();
  std::vector<Run> runs = MeasureCutover(a, a.spec, url, a.rows, *files + "/cutover");
  const std::string reference_sum = QueryText(url, kChecksumSql);
  const long long source_records = std::atoll(
      QueryText(url,
                "SELECT records_read FROM cutover.backfill_ledger WHERE entity = 'price_history'")
          .c_str());
  std::vector<std::string> index_defs;
  {
    auto conn = PgConnection::Connect(url);
    if (!conn.ok()) return 3;
    auto q = (*conn)->Query(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'price_history' "
        "AND indexname <> 'price_history_pkey' ORDER BY indexname");
    if (q.ok()) {
      for (const auto& row : q->rows) index_defs.push_back(row[0].value_or(""));
    }
  }

  // Untimed: the loaded rows as binary COPY data in memory and as CSV.
  std::string binary;
  {
    std::FILE* f = std::fopen(csv.c_str(), "w");
    if (!f) return 3;
    Status s =
        CopyOutTo(url, fmt::format("COPY {} ({}) TO STDOUT (FORMAT binary)", kTable, kColumns),
                  &binary, nullptr);
    if (s.ok()) {
      s = CopyOutTo(url,
                    fmt::format("COPY {} ({}) TO STDOUT (FORMAT csv, HEADER)", kTable, kColumns),
                    nullptr, f);
    }
    std::fclose(f);
    if (!s.ok()) {
      fmt::print(stderr, "export: {}\n", s.message());
      return 3;
    }
  }

  // Each method starts from an empty table, flushed dirty pages and no
  // concurrent work, and must end with the same rows.
  auto fresh = [&](const std::string& ddl) {
    return Exec(url, fmt::format("{}TRUNCATE {}; CHECKPOINT", ddl, kTable));
  };
  auto check = [&](Run r) {
    r.rows = CountRows(url, kTable);
    r.same_rows = QueryText(url, kChecksumSql) == reference_sum;
    return r;
  };
  std::string drop_indexes;
  for (const auto& def : index_defs) {
    auto on = def.find(" ON ");
    auto name_at = def.rfind(' ', on - 1);
    drop_indexes += fmt::format("DROP INDEX {};", def.substr(name_at + 1, on - name_at - 1));
  }
  const std::string add_key = fmt::format(
      "ALTER TABLE {} ADD CONSTRAINT price_history_pkey PRIMARY KEY ({})", kTable, kPrimaryKey);
  const std::string drop_key =
      fmt::format("ALTER TABLE {} DROP CONSTRAINT price_history_pkey;", kTable);
  std::vector<std::string> key_and_indexes = {add_key};
  key_and_indexes.insert(key_and_indexes.end(), index_defs.begin(), index_defs.end());

  // The ceiling, into the table exactly as cutover leaves it.
  if (!fresh("")) return 3;
  Run ceiling = check(MeasureBinaryCopy(
      fmt::format("binary COPY from memory, key + {} indexes (ceiling)", index_defs.size()), url,
      binary, {}));
  runs.push_back(ceiling);
  // The variants the issue compares against: the key alone, during or after.
  if (!fresh(drop_indexes)) return 3;
  const Run key_only =
      check(MeasureBinaryCopy("binary COPY from memory, key only", url, binary, {}));
  runs.push_back(key_only);
  if (!fresh(drop_key)) return 3;
  runs.push_back(check(
      MeasureBinaryCopy("binary COPY index-free, then ADD PRIMARY KEY", url, binary, {add_key})));
  if (!fresh(drop_key)) return 3;
  runs.push_back(check(MeasureBinaryCopy(
      fmt::format("binary COPY index-free, then key + {} indexes", index_defs.size()), url, binary,
      key_and_indexes)));
  binary.clear();
  binary.shrink_to_fit();

  // The text loaders read the CSV export, into the table with key and indexes.
  if (!fresh("")) return 3;
  runs.push_back(check(
      Measure("psql \\copy from CSV",
              {"psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
               fmt::format("\\copy {} ({}) FROM '{}' (FORMAT csv, HEADER)", kTable, kColumns, csv)},
              {})));

  const std::string load_file = *files + "/price_history.load";
  if (!WriteFile(load_file, PgloaderCommand(csv, url)) || !fresh("")) return 3;
  const std::string pgloader_log = *files + "/pgloader.log";
  runs.push_back(
      check(Measure("pgloader from CSV",
                    {"pgloader", "--root-dir", *files + "/pgloader", "--on-error-stop", load_file},
                    {}, pgloader_log, pgloader_log)));
  if (runs.back().exit_code != 0) ShowFile(pgloader_log);

  if (!fresh("")) return 3;
  runs.push_back(check(Measure("pandas + psycopg2 execute_values (runbook)",
                               {"/usr/bin/python3", a.pandas_script, url, csv}, {})));
  (void)cluster->Stop();

  fmt::print(
      "\nbackfill of the agriprofit price history: {} rows in PostgreSQL ({} Parquet "
      "records, repeated keys deduplicated)\nload average (1, 5, 15 min) before: {}, after: {}\n",
      a.rows, source_records, load_before, cutover::bench::LoadAverage());
  fmt::print("table: primary key ({}) and {} indexes: ", kPrimaryKey, index_defs.size());
  for (size_t i = 0; i < index_defs.size(); ++i) {
    auto using_at = index_defs[i].find("USING btree ");
    fmt::print("{}{}", i ? ", " : "",
               using_at == std::string::npos ? index_defs[i] : index_defs[i].substr(using_at + 12));
  }
  fmt::print(
      "\nrows/s = rows in the table / seconds; vs X = X's seconds / seconds (above 1: faster than "
      "X)\n\n");
  PrintRuns(runs, ceiling, key_only, a.rows);
  fmt::print(
      "\ncutover builds the key and indexes after loading an empty table; the ceiling "
      "and the text loaders\nwrite into the table with them; peak RSS is the loading "
      "client's, not PostgreSQL's.\n");

  bool ok = true;
  for (const auto& r : runs) ok = ok && r.exit_code == 0 && r.rows == a.rows && r.same_rows;

  if (!a.scale_spec.empty()) {
    auto big = StartCluster();
    if (!big) return 3;
    const std::string scale_load_before = cutover::bench::LoadAverage();
    std::vector<Run> scaled =
        MeasureCutover(a, a.scale_spec, big->url(), a.scale_rows, *files + "/cutover-scale");
    (void)big->Stop();
    fmt::print(
        "\nmemory as rows grow (cutover backfill --jobs 2), load average before: {}, after: {}\n",
        scale_load_before, cutover::bench::LoadAverage());
    fmt::print("{:>10}  {:>22} {:>10} {:>9}  {:>22} {:>10} {:>9}\n", "rows", "empty table: seconds",
               "rows/s", "peak RSS", "merge: seconds", "rows/s", "peak RSS");
    auto line = [](long long n, const Run& empty, const Run& merge) {
      fmt::print("{:>10}  {:>22.2f} {:>10.0f} {:>9}  {:>22.2f} {:>10.0f} {:>9}\n", n, empty.seconds,
                 n / empty.seconds, Mib(empty.peak_rss_kib), merge.seconds, n / merge.seconds,
                 Mib(merge.peak_rss_kib));
    };
    line(a.rows, runs[0], runs[1]);
    line(a.scale_rows, scaled[0], scaled[1]);
    for (const auto& r : scaled) ok = ok && r.exit_code == 0 && r.rows == a.scale_rows;
  }
  return ok ? 0 : 1;
}
