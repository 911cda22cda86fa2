// Differential tests: seeded sources with injected faults, loaded by cutover and
// compared by SQL with what an independent oracle says PostgreSQL must hold.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

// Differential design
//
// For each seed, a generator in tests/differential/ writes a small source
// with faults injected at random places (rejects of every reason, repeated
// keys, NULLs, missing and extra fields, lookups, children) and, from its
// own reading of the spec's rules, the rows PostgreSQL must hold afterwards:
// Python's json module for JSON sources, DuckDB SQL over the very files
// cutover reads for Parquet and CSV. Nothing of cutover's mapper is used.
// The test then
//   1. backfills (exit 0; rejects allowed), for even seeds twice, the second
//      time with --restart, so that the merge path is checked as well,
//   2. loads the oracle's rows into a table LIKE the target and compares
//      the two by SQL, both ways, EXCEPT ALL (so duplicates count),
//   3. compares cutover.rejects per entity with the oracle's reject count,
//   4. runs verify: clean, exit 0, with the oracle's row counts,
//   5. changes one stored row and runs verify again: exit 1, and exactly
//      that key named as changed.
// CUTOVER_DIFF_SEEDS=N (default 20) sets the seeds per source type, and
// CUTOVER_DIFF_FIRST_SEED the first, so scripts/soak.sh runs hundreds.

int SeedCount() {
  const char* v = std::getenv("CUTOVER_DIFF_SEEDS");
  return v != nullptr && *v != '\0' ? std::atoi(v) : 20;
}

int FirstSeed() {
  const char* v = std::getenv("CUTOVER_DIFF_FIRST_SEED");
  return v != nullptr && *v != '\0' ? std::atoi(v) : 1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Python() {
  return "/usr/bin/python3";
}

// Loads `csv` (written by an oracle) into a new table shaped LIKE `table`,
// then returns the rows that one side holds and the other does not, as
// text, at most ten of each.
std::string RowDifferences(const std::string& url, const std::string& table,
                           const std::string& view, const std::string& csv,
                           const std::string& columns) {
  const std::string expected = "expected_" + table;
  Exec(url, "CREATE TABLE " + expected + " (LIKE " + table + ")");
  Exec(url, "COPY " + expected + " (" + columns + ") FROM '" + csv + "' (FORMAT csv, HEADER true)");
  const auto rows = Query(
      url, "(SELECT 'missing or wrong', t::text FROM (SELECT " + columns + " FROM " + expected +
               " EXCEPT ALL SELECT " + columns + " FROM " + view + ") t LIMIT 10) UNION ALL " +
               "(SELECT 'extra or wrong', t::text FROM (SELECT " + columns + " FROM " + view +
               " EXCEPT ALL SELECT " + columns + " FROM " + expected + ") t LIMIT 10)");
  std::string out;
  for (const auto& r : rows) out += r[0] + ": " + r[1] + "\n";
  return out;
}

int64_t RejectCount(const std::string& url, const std::string& entity) {
  return std::stoll(
      QueryValue(url, "SELECT count(*) FROM cutover.rejects WHERE entity = '" + entity + "'"));
}

nlohmann::json VerifyJson(const std::string& spec, const std::string& url, int* exit_code) {
  CommandResult r =
      RunCommand({CutoverBinary(), "verify", spec, "--json"}, {{"DATABASE_URL", url}});
  *exit_code = r.exit_code;
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << Describe(r);
  return j;
}

const nlohmann::json* EntityOf(const nlohmann::json& report, const std::string& name) {
  if (!report.contains("entities")) return nullptr;
  for (const auto& e : report["entities"]) {
    if (e.value("entity", "") == name) return &e;
  }
  return nullptr;
}

void ExpectPlantedChangeNamed(const std::string& spec, const std::string& url,
                              const std::string& plant_entity, const std::string& key);

struct Table {
  std::string name;     // the target table
  std::string view;     // what is compared: the table, or a view naming lookups
  std::string csv;      // the oracle's rows, in the case folder
  std::string columns;  // compared, in the CSV's order
};

// Adds a case's injected faults to `total`, for the summary line a test
// prints (the soak's figures).
void CountFaults(const nlohmann::json& faults, std::map<std::string, int64_t>* total) {
  for (const auto& [kind, n] : faults.items()) (*total)[kind] += n.get<int64_t>();
}

void PrintSummary(const std::string& what, int seeds,
                  const std::map<std::string, int64_t>& faults) {
  int64_t sum = 0;
  std::string kinds;
  for (const auto& [kind, n] : faults) {
    sum += n;
    kinds += (kinds.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  }
  std::cout << "differential " << what << ": " << seeds << " seeds, " << sum << " faults injected ("
            << kinds << ")" << std::endl;
}

// Steps 1-5 of the design for one generated case in `dir`.
// With `rerun`, the case is backfilled twice (--restart the second time).
void CheckCase(const std::string& dir, bool rerun, const std::vector<Table>& tables,
               const std::string& view_sql, const std::string& plant_entity,
               const std::string& plant_sql) {
  const std::string spec = dir + "/cutover.yaml";
  const auto expected = nlohmann::json::parse(ReadFile(dir + "/expected.json"));
  SCOPED_TRACE("case " + dir + ", faults " + expected["faults"].dump());
  const std::string url = FreshDatabase();
  CommandResult backfill =
      RunCommand({CutoverBinary(), "backfill", spec, "--create-tables", "--max-rejects", "-1"},
                 {{"DATABASE_URL", url}});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  if (rerun) {
    // The same source again over the loaded table: the merge path, not the
    // first load's, must leave the same rows.
    backfill = RunCommand({CutoverBinary(), "backfill", spec, "--restart", "--max-rejects", "-1"},
                          {{"DATABASE_URL", url}});
    ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  }
  if (!view_sql.empty()) Exec(url, view_sql);
  for (const auto& t : tables) {
    EXPECT_EQ(RowDifferences(url, t.name, t.view, dir + "/" + t.csv, t.columns), "")
        << "table " << t.name << "\n"
        << Describe(backfill);
  }
  for (const auto& [entity, counts] : expected["counts"].items()) {
    EXPECT_EQ(RejectCount(url, entity), counts["rejected"].get<int64_t>()) << entity;
  }

  int code = 0;
  const auto clean = VerifyJson(spec, url, &code);
  EXPECT_EQ(code, 0) << clean.dump();
  EXPECT_TRUE(clean.value("clean", false)) << clean.dump();
  for (const auto& [entity, stored] : expected["stored"].items()) {
    const nlohmann::json* e = EntityOf(clean, entity);
    ASSERT_NE(e, nullptr) << entity << " not verified: " << clean.dump();
    EXPECT_EQ((*e)["target_rows"].get<int64_t>(), stored.get<int64_t>()) << entity;
    EXPECT_EQ((*e)["source_rows"].get<int64_t>(), stored.get<int64_t>()) << entity;
  }

  if (!expected["plant_key"].is_null()) {
    Exec(url, plant_sql);
    ExpectPlantedChangeNamed(spec, url, plant_entity, expected["plant_key"].get<std::string>());
  }
  DropDatabase(url);
}

// Verify after one stored row was changed: exit 1, and only that key named.
void ExpectPlantedChangeNamed(const std::string& spec, const std::string& url,
                              const std::string& plant_entity, const std::string& key) {
  int code = 0;
  const auto changed = VerifyJson(spec, url, &code);
  EXPECT_EQ(code, 1) << changed.dump();
  const nlohmann::json* e = EntityOf(changed, plant_entity);
  ASSERT_NE(e, nullptr) << changed.dump();
  EXPECT_EQ((*e)["changed"].get<int64_t>(), 1) << changed.dump();
  EXPECT_EQ((*e)["missing"].get<int64_t>() + (*e)["extra"].get<int64_t>(), 0) << changed.dump();
  ASSERT_EQ((*e)["changed_keys"].size(), 1u) << changed.dump();
  EXPECT_EQ((*e)["changed_keys"][0]["key"].get<std::string>(), key);
}

// --- JSON sources: array, object keyed by id, lines ---------------------------------

class JsonDifferentialTest : public ::testing::TestWithParam<const char*> {};

TEST_P(JsonDifferentialTest, StoresWhatTheOracleSaysAndVerifyAgrees) {
  const std::string layout = GetParam();
  std::map<std::string, int64_t> faults;
  for (int seed = FirstSeed(); seed < FirstSeed() + SeedCount(); ++seed) {
    const std::string dir = TempDir() + "/json-" + layout + "-" + std::to_string(seed);
    CommandResult gen =
        RunCommand({Python(), SourceDir() + "/tests/differential/json_case.py", "--seed",
                    std::to_string(seed), "--layout", layout, "--out", dir});
    ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
    const auto expected = nlohmann::json::parse(ReadFile(dir + "/expected.json"));
    CountFaults(expected["faults"], &faults);
    const std::string plant = expected["plant_key"].is_null()
                                  ? ""
                                  : "UPDATE orders SET email = email || '~' WHERE id = " +
                                        expected["plant_id"].get<std::string>();
    CheckCase(dir, seed % 2 == 0,
              {{"orders", "orders", "expected_orders.csv",
                "id, email, qty, price, ratio, active, due, placed_at, status, meta"},
               {"items", "items", "expected_items.csv", "sku, order_id, title, units"}},
              "", "orders", plant);
    if (HasFailure()) {
      ADD_FAILURE() << "stopped at seed " << seed << " (" << layout << ")";
      return;
    }
  }
  PrintSummary("json " + layout, SeedCount(), faults);
}

INSTANTIATE_TEST_SUITE_P(Layouts, JsonDifferentialTest,
                         ::testing::Values("array", "object", "lines"));

// --- Parquet and CSV sources: a glob of three files, lookups, dedup -------------

class ColumnarDifferentialTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ColumnarDifferentialTest, StoresWhatTheOracleSaysAndVerifyAgrees) {
  const std::string format = GetParam();
  std::map<std::string, int64_t> faults;
  for (int seed = FirstSeed(); seed < FirstSeed() + SeedCount(); ++seed) {
    const std::string dir = TempDir() + "/" + format + "-" + std::to_string(seed);
    CommandResult gen =
        RunCommand({Python(), SourceDir() + "/tests/differential/columnar_case.py", "--seed",
                    std::to_string(seed), "--format", format, "--out", dir});
    ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
    for (const char* script : {"convert.sql", "oracle.sql"}) {
      CommandResult r = RunCommand({DuckdbSqlTool(), script}, {}, dir);
      ASSERT_EQ(r.exit_code, 0) << script << ": " << Describe(r);
    }
    // expected_counts.csv: read,rejected,superseded,stored,products.
    const std::string counts_text = ReadFile(dir + "/expected_counts.csv");
    std::vector<int64_t> counts;
    std::stringstream line(counts_text.substr(counts_text.find('\n') + 1));
    for (std::string cell; std::getline(line, cell, ',');) counts.push_back(std::stoll(cell));
    ASSERT_EQ(counts.size(), 5u) << counts_text;
    auto expected = nlohmann::json::parse(ReadFile(dir + "/expected.json"));
    CountFaults(expected["faults"], &faults);
    expected["counts"] = {{"readings", {{"rejected", counts[1]}}}};
    expected["stored"] = {{"readings", counts[3]}, {"products", counts[4]}};
    // The planted difference goes to a stored row the seed picks.
    const std::string stored = ReadFile(dir + "/expected_readings.csv");
    std::vector<std::string> keys;
    std::stringstream rows(stored.substr(stored.find('\n') + 1));
    for (std::string row; std::getline(rows, row);) {
      const size_t a = row.find(','), b = row.find(',', a + 1);
      keys.push_back(row.substr(0, a) + "," + row.substr(a + 1, b - a - 1));
    }
    std::string plant;
    expected["plant_key"] = nullptr;
    if (!keys.empty()) {
      const std::string& k = keys[static_cast<size_t>(expected["plant_pick"].get<double>() *
                                                      static_cast<double>(keys.size()))];
      const std::string device = k.substr(0, k.find(',')), seq = k.substr(k.find(',') + 1);
      expected["plant_key"] = "device=" + device + ",seq=" + seq;
      plant =
          "UPDATE readings SET note = note || '~' WHERE device = '" + device + "' AND seq = " + seq;
    }
    WriteFile(dir + "/expected.json", expected.dump());
    CheckCase(dir, seed % 2 == 0,
              {{"readings_named", "readings_named", "expected_readings.csv",
                "device, seq, product, level, amount, temp, day, updated_at, note"},
               {"products_named", "products_named", "expected_products.csv", "name"}},
              "CREATE VIEW readings_named AS SELECT r.device, r.seq, p.name AS product, r.level, "
              "r.amount, r.temp, r.day, r.updated_at, r.note FROM readings r LEFT JOIN products p "
              "ON p.id = r.product_id; CREATE VIEW products_named AS SELECT name FROM products",
              "readings", plant);
    if (HasFailure()) {
      ADD_FAILURE() << "stopped at seed " << seed << " (" << format << ")";
      return;
    }
  }
  PrintSummary(format, SeedCount(), faults);
}

INSTANTIATE_TEST_SUITE_P(Formats, ColumnarDifferentialTest, ::testing::Values("parquet", "csv"));

}  // namespace
}  // namespace cutover::testing
