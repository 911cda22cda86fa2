// What verify, backfill, rehearse and the command line print must be true: names given to
// --entity, the target chosen, accuracy, the summary's counts, the reject file, a failed rehearsal.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

CommandResult Cutover(const std::string& dir, const std::vector<std::string>& args,
                      const std::string& url) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"DATABASE_URL", url}}, dir);
}

json ParseJson(const CommandResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "no JSON object on stdout\n" << Describe(r);
    return json::object();
  }
  return j;
}

std::vector<std::string> EntityNames(const json& report) {
  std::vector<std::string> names;
  for (const auto& e : report.value("entities", json::array())) {
    names.push_back(e.value("entity", ""));
  }
  return names;
}

// The whitespace-separated fields of the first line of `text` that starts with `first`.
std::vector<std::string> LineFields(const std::string& text, const std::string& first) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (!fields.empty() && fields[0] == first) return fields;
  }
  ADD_FAILURE() << "no line starting with " << first << " in\n" << text;
  return {};
}

// The summary header's column names, then the entity's values under them.
std::map<std::string, std::string> SummaryRow(const std::string& text, const std::string& entity) {
  std::map<std::string, std::string> row;
  const std::vector<std::string> header = LineFields(text, "entity");
  const std::vector<std::string> values = LineFields(text, entity);
  for (size_t i = 0; i < header.size() && i < values.size(); ++i) row[header[i]] = values[i];
  return row;
}

// Lines of a file, each parsed by Python's json module: its count, or -1 when one is not JSON.
int64_t JsonLines(const std::string& path) {
  CommandResult r = RunCommand(
      {"/usr/bin/python3", "-c",
       "import json,sys\nn=0\nfor line in open(sys.argv[1]):\n  json.loads(line); n+=1\nprint(n)",
       path});
  if (r.exit_code != 0) return -1;
  return std::stoll(r.out);
}

// ---- finding 7: --entity names ----

TEST(TrustOutputsTest, UnknownEntityIsExitTwoWithTheNearestName) {
  const Dataset ds = MakeDataset(40);
  const std::string url = FreshDatabase();
  for (const std::string command : {"verify", "backfill"}) {
    CommandResult r = Cutover(ds.dir, {command, ds.spec, "--entity", "usrs"}, url);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << Describe(r);
    EXPECT_NE(r.err.find("usrs"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("did you mean users?"), std::string::npos) << Describe(r);
    EXPECT_EQ(r.out.find("0 differences"), std::string::npos) << Describe(r);
  }
  // A child is loaded with its parent's records: backfill names the parent.
  CommandResult child = Cutover(ds.dir, {"backfill", ds.spec, "--entity", "tasks"}, url);
  EXPECT_EQ(child.exit_code, 2) << Describe(child);
  EXPECT_NE(child.err.find("--entity projects"), std::string::npos) << Describe(child);
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'projects'"), "0");
}

TEST(TrustOutputsTest, ChildEntityIsVerified) {
  const Dataset ds = MakeDataset(60);
  const std::string url = FreshDatabase();
  CommandResult backfill = Cutover(ds.dir, {"backfill", ds.spec, "--create-tables"}, url);
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);

  CommandResult verify = Cutover(ds.dir, {"verify", ds.spec, "--entity", "tasks", "--json"}, url);
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  json report = ParseJson(verify);
  EXPECT_EQ(report.value("clean", false), true) << verify.out;
  ASSERT_EQ(EntityNames(report), std::vector<std::string>{"tasks"}) << verify.out;
  EXPECT_EQ(report["entities"][0].value("source_rows", -1), ds.records.at("tasks"));
  EXPECT_GT(ds.records.at("tasks"), 0);

  const std::string task = QueryValue(url, "SELECT id::text FROM tasks ORDER BY id LIMIT 1");
  Exec(url, "DELETE FROM tasks WHERE id = '" + task + "'");
  verify = Cutover(ds.dir, {"verify", ds.spec, "--entity", "tasks", "--json"}, url);
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  report = ParseJson(verify);
  EXPECT_EQ(report.value("clean", true), false);
  ASSERT_EQ(EntityNames(report), std::vector<std::string>{"tasks"}) << verify.out;
  EXPECT_EQ(report["entities"][0]["missing_keys"], json::array({"id=" + task}));

  // The parent covers its children.
  verify = Cutover(ds.dir, {"verify", ds.spec, "--entity", "projects", "--json"}, url);
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  std::vector<std::string> names = EntityNames(ParseJson(verify));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"milestones", "projects", "tasks"}));
}

// ---- finding 8: a scratch PostgreSQL only when asked for ----

TEST(TrustOutputsTest, EmptyTargetUrlIsExitTwoNamingTheVariableUnlessScratchIsAsked) {
  const Dataset ds = MakeDataset(30);  // the example spec: url: "${DATABASE_URL:-}"
  const std::vector<std::vector<std::string>> commands = {
      {"backfill", ds.spec, "--create-tables"},
      {"verify", ds.spec},
      {"phase", ds.spec, "status"},
      {"phase", ds.spec, "set", "dual_write"},
  };
  for (const auto& args : commands) {
    CommandResult r = Cutover(ds.dir, args, "");
    EXPECT_EQ(r.exit_code, 2) << args[0] << "\n" << Describe(r);
    EXPECT_NE(r.err.find("set DATABASE_URL, or pass --scratch"), std::string::npos) << Describe(r);
  }
  // serve would run until stopped: a bounded wait shows it does not start.
  CommandResult serve = RunCommand(
      {"timeout", "20", CutoverBinary(), "serve", ds.spec, "--port", "0"}, {{"DATABASE_URL", ""}});
  EXPECT_EQ(serve.exit_code, 2) << Describe(serve);
  EXPECT_NE(serve.err.find("DATABASE_URL"), std::string::npos) << Describe(serve);
  EXPECT_FALSE(fs::exists(ds.dir + "/.cutover/scratch-pg")) << "a scratch cluster was started";

  // Asked for, the scratch cluster is kept between commands.
  CommandResult backfill =
      Cutover(ds.dir, {"backfill", ds.spec, "--create-tables", "--scratch"}, "");
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_NE(backfill.err.find("scratch PostgreSQL"), std::string::npos) << Describe(backfill);
  CommandResult verify = Cutover(ds.dir, {"verify", ds.spec, "--scratch", "--json"}, "");
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  const json report = ParseJson(verify);
  for (const auto& e : report.value("entities", json::array())) {
    if (e.value("entity", "") == "users") {
      EXPECT_EQ(e.value("target_rows", -1), 30);
    }
  }
  CommandResult phase = Cutover(ds.dir, {"phase", ds.spec, "status", "--scratch"}, "");
  EXPECT_EQ(phase.exit_code, 0) << Describe(phase);
}

// ---- finding 9: numbers that are true ----

// Writes `rows` JSON lines {"id": i, "v": i} and a spec reading them; the spec's folder.
std::string NumbersSpec(int rows, const std::string& extra_yaml = "") {
  const std::string dir = TempDir();
  std::string data;
  for (int i = 1; i <= rows; ++i) {
    data += "{\"id\": " + std::to_string(i) + ", \"v\": " + std::to_string(i) + "}\n";
  }
  WriteFile(dir + "/data/numbers.jsonl", data);
  WriteFile(dir + "/cutover.yaml",
            "migration: numbers\n"
            "target: { url: \"${DATABASE_URL:-}\" }\n"
            "sources:\n"
            "  files: { type: json, path: data/ }\n" +
                extra_yaml +
                "entities:\n"
                "  numbers:\n"
                "    source: { from: files, file: numbers.jsonl }\n"
                "    key: [id]\n"
                "    columns:\n"
                "      id: { type: integer }\n"
                "      v:  { type: integer, required: true }\n");
  return dir;
}

TEST(TrustOutputsTest, AccuracyNeverRoundsUpToOneHundred) {
  // 2 changed of 40,001 keys: 39,999 / 40,001 = 99.99500...%, which "%.2f" rounds to 100.00.
  const std::string dir = NumbersSpec(40001);
  const std::string url = FreshDatabase();
  CommandResult backfill = Cutover(dir, {"backfill", "cutover.yaml", "--create-tables"}, url);
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  Exec(url, "UPDATE numbers SET v = -v WHERE id IN (7, 40000)");
  CommandResult verify = Cutover(dir, {"verify", "cutover.yaml"}, url);
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  EXPECT_EQ(
      LineFields(verify.out, "numbers"),
      (std::vector<std::string>{"numbers", "40001", "40001", "39999", "0", "0", "2", "99.99%"}));
  verify = Cutover(dir, {"verify", "cutover.yaml", "--json"}, url);
  const json report = ParseJson(verify);
  EXPECT_LT(report["entities"][0].value("accuracy_percent", 100.0), 100.0);
}

TEST(TrustOutputsTest, SummaryCountsAddUpAndTheRejectFileHoldsEachRejectOnce) {
  // 12 records, batches of 3: key 2 repeats twice (records 5 and 9, across batches) and key 4
  // once (record 6, within a batch), so 3 rows are superseded; records 7 and 11 lack v.
  const std::string dir = TempDir();
  WriteFile(dir + "/data/numbers.jsonl",
            "{\"id\": 1, \"v\": 1}\n"
            "{\"id\": 2, \"v\": 2}\n"
            "{\"id\": 3, \"v\": 3}\n"
            "{\"id\": 4, \"v\": 4}\n"
            "{\"id\": 2, \"v\": 20}\n"
            "{\"id\": 4, \"v\": 40}\n"
            "{\"id\": 5}\n"
            "{\"id\": 6, \"v\": 6}\n"
            "{\"id\": 2, \"v\": 200}\n"
            "{\"id\": 7, \"v\": 7}\n"
            "{\"id\": 8}\n"
            "{\"id\": 9, \"v\": 9}\n");
  WriteFile(dir + "/cutover.yaml",
            "migration: numbers\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources:\n"
            "  files: { type: json, path: data/ }\n"
            "backfill: { batch_size: 3, max_rejects: 10 }\n"
            "entities:\n"
            "  numbers:\n"
            "    source: { from: files, file: numbers.jsonl }\n"
            "    key: [id]\n"
            "    columns:\n"
            "      id: { type: integer }\n"
            "      v:  { type: integer, required: true }\n");
  const std::string url = FreshDatabase();
  const std::string reject_file = dir + "/.cutover/rejects.jsonl";
  for (int run = 1; run <= 2; ++run) {
    CommandResult r = Cutover(dir, {"backfill", "cutover.yaml", "--create-tables"}, url);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    auto row = SummaryRow(r.out, "numbers");
    EXPECT_EQ(row["read"], "12") << r.out;
    EXPECT_EQ(row["rejected"], "2") << r.out;
    if (run == 1) {  // into an empty table: the rows it holds are the rows stored
      EXPECT_EQ(row["migrated"], "7") << r.out;
      EXPECT_EQ(row["superseded"], "3") << r.out;
    } else {  // a rerun merges into the same rows: repeats are not told apart, and it says so
      EXPECT_EQ(row["migrated"], "10") << r.out;
      EXPECT_EQ(row["superseded"], "-") << r.out;
      EXPECT_NE(r.out.find("migrated counts rows written"), std::string::npos) << r.out;
    }
    EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM numbers"), "7");
    EXPECT_EQ(QueryValue(url, "SELECT v FROM numbers WHERE id = 2"), "200");
    EXPECT_EQ(JsonLines(reject_file), 2) << "run " << run;
  }
  // --restart, and a run that resumes mid-way after a kill, keep one line per reject.
  CommandResult restart = Cutover(dir, {"backfill", "cutover.yaml", "--restart"}, url);
  ASSERT_EQ(restart.exit_code, 0) << Describe(restart);
  EXPECT_EQ(JsonLines(reject_file), 2);
  CommandResult killed =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--restart"},
                 {{"DATABASE_URL", url}, {"CUTOVER_FAILPOINTS", "backfill.after_commit=2"}}, dir);
  EXPECT_NE(killed.exit_code, 0) << Describe(killed);
  CommandResult resumed = Cutover(dir, {"backfill", "cutover.yaml"}, url);
  ASSERT_EQ(resumed.exit_code, 0) << Describe(resumed);
  EXPECT_EQ(JsonLines(reject_file), 2);
  auto row = SummaryRow(resumed.out, "numbers");
  EXPECT_EQ(row["read"], "12") << resumed.out;
  EXPECT_EQ(row["rejected"], "2") << resumed.out;
  EXPECT_EQ(std::stoll(row["migrated"]) + std::stoll(row["rejected"]) +
                (row["superseded"] == "-" ? 0 : std::stoll(row["superseded"])),
            12)
      << resumed.out;
}

TEST(TrustOutputsTest, ChunkedSummaryCountsRepeatedKeysAsSuperseded) {
  // 1,000 Parquet rows over 900 keys: ids 1..100 appear twice, the later with the greater ts.
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  WriteFile(dir + "/gen.sql",
            "COPY (SELECT i AS id, i AS ts FROM range(1, 901) t(i) UNION ALL "
            "SELECT i AS id, 1000 + i AS ts FROM range(1, 101) t(i) ORDER BY ts) "
            "TO '" +
                dir + "/data/rows.parquet' (FORMAT parquet, ROW_GROUP_SIZE 256);\n");
  CommandResult gen = RunCommand({DuckdbSqlTool(), dir + "/gen.sql"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(dir + "/cutover.yaml",
            "migration: chunked\n"
            "target: { url: \"${DATABASE_URL}\" }\n"
            "sources:\n"
            "  pq: { type: parquet, path: data/rows.parquet }\n"
            "entities:\n"
            "  items:\n"
            "    source: { from: pq }\n"
            "    key: [id]\n"
            "    dedup: { key: [id], keep_last_by: [ts] }\n"
            "    columns:\n"
            "      id: { type: bigint }\n"
            "      ts: { type: bigint }\n");
  const std::string url = FreshDatabase();
  CommandResult r =
      Cutover(dir, {"backfill", "cutover.yaml", "--create-tables", "--jobs", "2"}, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto row = SummaryRow(r.out, "items");
  EXPECT_EQ(row["read"], "1000") << r.out;
  EXPECT_EQ(row["migrated"], "900") << r.out;
  EXPECT_EQ(row["superseded"], "100") << r.out;
  EXPECT_EQ(row["rejected"], "0") << r.out;
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM items"), "900");
}

TEST(TrustOutputsTest, RehearsalWithRejectsDoesNotClaimEverySourceRecordLanded) {
  const std::string dir = NumbersSpec(10, "backfill: { max_rejects: 5 }\n");
  std::ofstream(dir + "/data/numbers.jsonl", std::ios::app) << "{\"id\": 11}\n{\"id\": 12}\n";
  CommandResult r = Cutover(dir, {"rehearse", "cutover.yaml"}, "");
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out.find("holds exactly what the source holds"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 rejected"), std::string::npos) << r.out;
}

TEST(TrustOutputsTest, RehearsalStopsWhenItsBackfillFails) {
  // 2 rejects, max_rejects 0: the backfill stops, and nothing is verified.
  const std::string dir = NumbersSpec(10);
  std::ofstream(dir + "/data/numbers.jsonl", std::ios::app) << "{\"id\": 11}\n{\"id\": 12}\n";
  CommandResult r = Cutover(dir, {"rehearse", "cutover.yaml"}, "");
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out.find("== verify"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("differences"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rehearsal FAILED"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cutover::testing
