#include "support/fluxstudio_dataset.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cutover::testing {

using nlohmann::json;

const char* const kFluxstudioTables[4] = {"users", "projects", "tasks", "milestones"};

Dataset MakeDataset(int rows) {
  Dataset ds;
  ds.dir = TempDir();
  const std::string data = ds.dir + "/data";
  CommandResult gen = RunCommand({"python3", SourceDir() + "/examples/fluxstudio/generate.py",
                                  "--rows", std::to_string(rows), "--out", data});
  if (gen.exit_code != 0) {
    ADD_FAILURE() << "generate.py failed\n" << Describe(gen);
    return {};
  }
  std::ifstream in(SourceDir() + "/examples/fluxstudio/cutover.yaml");
  std::stringstream spec;
  spec << in.rdbuf();
  ds.spec = ds.dir + "/cutover.yaml";
  WriteFile(ds.spec, spec.str());

  static constexpr char kCount[] = R"py(
import json, sys
users = json.load(open(sys.argv[1] + "/users.json"))
projects = json.load(open(sys.argv[1] + "/projects.json"))
print("users", len(users))
print("projects", len(projects))
print("tasks", sum(len(p.get("tasks") or []) for p in projects))
print("milestones", sum(len(p.get("milestones") or []) for p in projects))
)py";
  CommandResult count = RunCommand({"python3", "-c", kCount, data});
  if (count.exit_code != 0) {
    ADD_FAILURE() << "counting the generated records failed\n" << Describe(count);
    return {};
  }
  std::istringstream lines(count.out);
  std::string table;
  int64_t n = 0;
  while (lines >> table >> n) ds.records[table] = n;
  EXPECT_EQ(ds.records.size(), 4u) << count.out;
  EXPECT_EQ(ds.records["users"], rows);
  EXPECT_GT(ds.records["tasks"], 0);
  EXPECT_GT(ds.records["milestones"], 0);
  return ds;
}

void ExpectCompleteAndClean(const Dataset& ds, const std::string& url) {
  CommandResult v =
      RunCommand({CutoverBinary(), "verify", ds.spec, "--json"}, {{"DATABASE_URL", url}});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  json report = json::parse(v.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(report.is_object()) << Describe(v);
  EXPECT_EQ(report.value("clean", false), true) << v.out;
  ASSERT_TRUE(report["entities"].is_array()) << v.out;
  EXPECT_EQ(report["entities"].size(), 4u) << v.out;
  for (const auto& e : report["entities"]) {
    const std::string entity = e.value("entity", "");
    SCOPED_TRACE("verify " + entity);
    const int64_t differences = e.value("missing", -1) + e.value("extra", -1) +
                                e.value("changed", -1) + e.value("unmappable", -1);
    EXPECT_EQ(differences, 0) << e.dump();
    EXPECT_EQ(e.value("source_rows", -1), ds.records.at(entity)) << e.dump();
    EXPECT_EQ(e.value("target_rows", -1), ds.records.at(entity)) << e.dump();
  }

  // The children's foreign keys, which a load at stage legacy sets aside,
  // are back (pg_constraint, not cutover's own bookkeeping).
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(conrelid::regclass::text || '->' || "
                       "confrelid::regclass::text, ',' ORDER BY conrelid::regclass::text) "
                       "FROM pg_constraint WHERE contype = 'f'"),
            "milestones->projects,tasks->projects");
  for (const char* table : kFluxstudioTables) {
    SCOPED_TRACE(table);
    const auto rows =
        Query(url, std::string("SELECT count(*), count(DISTINCT id) FROM public.") + table);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], std::to_string(ds.records.at(table))) << "rows";
    EXPECT_EQ(rows[0][1], std::to_string(ds.records.at(table))) << "distinct ids";
  }

  const auto ledger = Query(url,
                            "SELECT entity, records_read, rows_merged, records_rejected, done "
                            "FROM cutover.backfill_ledger WHERE migration = 'fluxstudio'");
  EXPECT_EQ(ledger.size(), 4u);
  for (const auto& row : ledger) {
    SCOPED_TRACE("ledger " + row[0]);
    ASSERT_TRUE(ds.records.count(row[0])) << "unexpected ledger entity";
    const int64_t expected = ds.records.at(row[0]);
    EXPECT_EQ(std::stoll(row[1]), expected) << "records_read";
    EXPECT_EQ(std::stoll(row[2]) + std::stoll(row[3]), expected) << "migrated + rejected";
    EXPECT_EQ(row[3], "0") << "records_rejected";
    EXPECT_EQ(row[4], "t") << "done";
  }
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.rejects"), "0");
}

}  // namespace cutover::testing
