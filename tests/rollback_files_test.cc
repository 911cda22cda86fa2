// Rollback into JSON files: the fluxstudio example taken to primary, changed
// straight in PostgreSQL by SQL, then rolled back through kills; users.json
// and projects.json must end byte for byte what an export written apart
// from cutover (tests/oracles/export_fluxstudio.py over plain SQL) writes.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"
#include "support/serve_process.h"  // OutputLines
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Changes made straight in PostgreSQL at primary, as an application that now
// talks to PostgreSQL makes them: users inserted (odd text, exact numbers in
// jsonb, a NULL), updated and deleted; a project inserted with its tasks and
// a milestone, one changed, one deleted with its children, a task moved.
constexpr char kSqlWrites[] = R"sql(
INSERT INTO users (id, email, name, role, created_at, last_login_at, is_active, preferences)
VALUES ('00000000-0000-4000-8000-000000000001', 'new1@fluxstudio.example',
        E'Zoë "Q" \\ line\nbreak\ttab', 'admin', '2026-01-02 03:04:05.5+02', NULL, true,
        '{"theme": "dark", "ratio": 1.50, "n": [1, 2.0e3, -0.001], "s": "é\u0001"}'),
       ('ffffffff-ffff-4fff-bfff-ffffffffffff', 'new2@fluxstudio.example', NULL, 'client',
        '1999-12-31 23:59:59+00', '2020-02-29 12:00:00.123+00', NULL, NULL);
UPDATE users SET name = 'Renamed', role = 'producer', preferences = '{"theme": "light"}'
 WHERE email IN ('user3@fluxstudio.example', 'user4@fluxstudio.example',
                 'user5@fluxstudio.example');
DELETE FROM users WHERE email IN ('user10@fluxstudio.example', 'user11@fluxstudio.example');

INSERT INTO projects (id, name, description, owner_id, status, priority, budget, progress,
                      created_at, metadata)
VALUES ('00000000-0000-4000-8000-0000000000aa', 'Fresh', NULL, NULL, 'planning', 3, 12.50, 0.1,
        '2026-11-30 10:00:00+00', '{}');
INSERT INTO tasks (id, project_id, title, status, assignee_id, estimate_hours, created_at)
VALUES ('00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000aa', 'Second',
        'todo', NULL, 1e-05, '2026-11-30 10:00:01+00'),
       ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-0000000000aa', 'First',
        'done', NULL, 12345678901234567, '2026-11-30 10:00:02+00');
INSERT INTO milestones (id, project_id, title, due_date, completed)
VALUES ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000aa', 'Ship',
        '2027-01-31', false);
UPDATE projects SET budget = 1000000.005, progress = 1.0 / 3
 WHERE id = (SELECT id FROM projects ORDER BY id OFFSET 1 LIMIT 1);
UPDATE tasks SET title = 'Retitled'
 WHERE id = (SELECT id FROM tasks ORDER BY id DESC OFFSET 1 LIMIT 1);
WITH gone AS (SELECT id FROM projects ORDER BY id DESC LIMIT 1)
, t AS (DELETE FROM tasks WHERE project_id IN (SELECT id FROM gone))
, m AS (DELETE FROM milestones WHERE project_id IN (SELECT id FROM gone))
DELETE FROM projects WHERE id IN (SELECT id FROM gone);
DELETE FROM tasks WHERE id = (SELECT id FROM tasks ORDER BY id DESC LIMIT 1);
)sql";

// One JSON array of text values per row, in key order: the oracle's input.
constexpr const char* kOracleQueries[][2] = {
    {"users.rows",
     "SELECT json_build_array(id::text, email, name, role, "
     "(extract(epoch FROM created_at) * 1000000)::bigint::text, "
     "(extract(epoch FROM last_login_at) * 1000000)::bigint::text, is_active::text, "
     "preferences::text)::text FROM users ORDER BY id"},
    {"projects.rows",
     "SELECT json_build_array(id::text, name, description, owner_id::text, status, "
     "priority::text, budget::text, progress::text, "
     "(extract(epoch FROM created_at) * 1000000)::bigint::text, metadata::text)::text "
     "FROM projects ORDER BY id"},
    {"tasks.rows",
     "SELECT json_build_array(id::text, project_id::text, title, status, assignee_id::text, "
     "estimate_hours::text, (extract(epoch FROM created_at) * 1000000)::bigint::text)::text "
     "FROM tasks ORDER BY project_id, id"},
    {"milestones.rows",
     "SELECT json_build_array(id::text, project_id::text, title, due_date::text, "
     "completed::text)::text FROM milestones ORDER BY project_id, id"},
};

class RollbackFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ds_ = MakeDataset(40);
    ws_ = Workspace{ds_.dir, FreshDatabase(), {}};
    CommandResult backfill = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
    ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  }

  void MoveTo(const std::string& stage) {
    std::vector<std::string> args = {"phase",   "cutover.yaml", "set", stage,
                                     "--force", "--reason",     "test"};
    if (stage == "rollout") args.insert(args.end(), {"--percent", "100"});
    CommandResult moved = Cutover(ws_, args);
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }

  CommandResult Rollback(const std::vector<std::string>& args, const std::string& failpoints = "") {
    Workspace ws = ws_;
    ws.env.emplace_back("CUTOVER_FAILPOINTS", failpoints);
    std::vector<std::string> argv = {"rollback", "cutover.yaml"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Cutover(ws, argv);
  }

  std::string Users() const { return ReadBytes(ds_.dir + "/data/users.json"); }
  std::string Projects() const { return ReadBytes(ds_.dir + "/data/projects.json"); }

  Dataset ds_;
  Workspace ws_;
};

TEST_F(RollbackFilesTest, JsonFilesEndAsAnExportOfPostgresThroughKills) {
  for (const char* stage : {"dual_write", "shadow", "rollout", "primary"}) MoveTo(stage);
  Exec(ws_.url, kSqlWrites);
  const std::string users_before = Users();
  const std::string projects_before = Projects();

  // A dry run counts against SQL and writes nothing: the rows PostgreSQL
  // holds, and the records of the old files that have no row.
  CommandResult dry = Rollback({"--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  const json report = json::parse(dry.out);
  ASSERT_EQ(report["entities"].size(), 2u) << dry.out;
  EXPECT_EQ(report["entities"][0]["entity"], "users");
  EXPECT_EQ(report["entities"][0]["written"], 40);  // 40 + 2 - 2
  EXPECT_EQ(report["entities"][0]["deleted"], 2);
  EXPECT_EQ(report["entities"][0]["legacy_keys_scanned"], 40);
  EXPECT_EQ(report["entities"][1]["written"],
            std::stoi(QueryValue(ws_.url, "SELECT count(*) FROM projects")));
  EXPECT_EQ(report["entities"][1]["deleted"], 1);
  EXPECT_EQ(Users(), users_before);
  EXPECT_EQ(Projects(), projects_before);

  // Killed between pages, before the rename, and after the first file's
  // rename: each file is the old one or the new one whole, never a mix.
  CommandResult between = Rollback({"--batch-size", "10"}, "file_rollback.after_page=2");
  EXPECT_EQ(between.term_signal, SIGKILL) << Describe(between);
  EXPECT_EQ(Users(), users_before);
  CommandResult unrenamed = Rollback({}, "json_replacer.before_commit=1");
  EXPECT_EQ(unrenamed.term_signal, SIGKILL) << Describe(unrenamed);
  EXPECT_EQ(Users(), users_before);
  CommandResult renamed = Rollback({}, "atomic_file.renamed=1");
  EXPECT_EQ(renamed.term_signal, SIGKILL) << Describe(renamed);
  EXPECT_NE(Users(), users_before);
  EXPECT_EQ(Projects(), projects_before);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "primary");

  CommandResult rerun = Rollback({"--batch-size", "7"});
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_NE(rerun.out.find("stage: primary -> dual_write"), std::string::npos) << Describe(rerun);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT stage FROM cutover.stage"), "dual_write");

  // Byte for byte the independent export of the same rows.
  const std::string rows = ds_.dir + "/oracle";
  fs::create_directories(rows);
  for (const auto& [file, sql] : kOracleQueries) {
    std::string lines;
    for (const auto& row : Query(ws_.url, sql)) lines += row[0] + "\n";
    WriteFile(rows + "/" + file, lines);
  }
  CommandResult oracle = RunCommand(
      {"/usr/bin/python3", SourceDir() + "/tests/oracles/export_fluxstudio.py", rows, rows});
  ASSERT_EQ(oracle.exit_code, 0) << Describe(oracle);
  EXPECT_EQ(Users(), ReadBytes(rows + "/users.json"));
  EXPECT_EQ(Projects(), ReadBytes(rows + "/projects.json"));

  // No temporary file is left, and the files read back into the same rows.
  for (const auto& entry : fs::directory_iterator(ds_.dir + "/data")) {
    EXPECT_EQ(entry.path().filename().string().find("cutover-tmp"), std::string::npos)
        << entry.path();
  }
  CommandResult verify = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);

  // Run again, it writes the same bytes.
  const std::string users_after = Users();
  for (const char* stage : {"shadow", "rollout", "primary"}) MoveTo(stage);
  CommandResult again = Rollback({});
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_EQ(Users(), users_after);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// What DuckDB reads from a Parquet file, and its columns' names and types.
std::string DuckRows(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return r.out;
}

// The Parquet files of the traffic-safety example taken to primary, changed
// by SQL, rolled back through a kill: DuckDB then reads from them exactly
// the rows PostgreSQL holds, under the files' own column names and types.
TEST(RollbackParquetTest, ParquetFilesEndWithPostgresRowsInTheirOwnColumns) {
  const std::string dir = TempDir() + "/rollback_parquet";
  fs::create_directories(dir + "/data");
  CommandResult gen =
      RunCommand({DuckdbSqlTool(), SourceDir() + "/examples/traffic-safety/generate.sql", "--set",
                  "ROWS=500", "--set", "OUT=" + dir + "/data"});
  ASSERT_EQ(gen.exit_code, 0) << Describe(gen);
  fs::copy_file(SourceDir() + "/examples/traffic-safety/cutover.yaml", dir + "/cutover.yaml",
                fs::copy_options::overwrite_existing);
  Workspace ws{dir, FreshDatabase(), {}};
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  const std::string safety = dir + "/data/safety_indices.parquet";
  const std::string intersections = dir + "/data/intersections.parquet";
  const std::string schema_before =
      DuckRows("DESCRIBE SELECT * FROM read_parquet('" + safety + "')") +
      DuckRows("DESCRIBE SELECT * FROM read_parquet('" + intersections + "')");
  for (const char* stage : {"dual_write", "shadow", "rollout", "primary"}) {
    std::vector<std::string> args = {"phase",   "cutover.yaml", "set", stage,
                                     "--force", "--reason",     "test"};
    if (std::string(stage) == "rollout") args.insert(args.end(), {"--percent", "100"});
    CommandResult moved = Cutover(ws, args);
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }
  Exec(ws.url, R"sql(
INSERT INTO safety_indices_realtime (intersection_id, timestamp, safety_index, vru_index,
                                     vehicle_index, vehicle_count, vru_count, speed_variance)
VALUES (7, '2026-11-30 12:00:00.25+00', 99.5, NULL, 0.125, 3, NULL, 1e-3);
UPDATE safety_indices_realtime SET safety_index = -1, vehicle_count = NULL
 WHERE intersection_id = 3;
DELETE FROM safety_indices_realtime WHERE intersection_id = 4;
INSERT INTO intersections (id, name, geometry, lanes, has_signal)
VALUES (1000, 'New "corner"', ST_SetSRID(ST_MakePoint(-80.5, 37.25), 4326), 2, true);
UPDATE intersections SET geometry = ST_SetSRID(ST_MakePoint(-80.125, 37.0625), 4326)
 WHERE id = 1;
DELETE FROM intersections WHERE id = 2;
)sql");

  // Killed before the rename: the old files stand.
  const std::string safety_before = DuckRows("SELECT count(*) FROM '" + safety + "'");
  Workspace killed_ws = ws;
  killed_ws.env.emplace_back("CUTOVER_FAILPOINTS", "parquet_replacer.before_commit=1");
  CommandResult killed = Cutover(killed_ws, {"rollback", "cutover.yaml"});
  EXPECT_EQ(killed.term_signal, SIGKILL) << Describe(killed);
  EXPECT_EQ(DuckRows("SELECT count(*) FROM '" + safety + "'"), safety_before);

  CommandResult rollback = Cutover(ws, {"rollback", "cutover.yaml", "--json"});
  ASSERT_EQ(rollback.exit_code, 0) << Describe(rollback);
  EXPECT_EQ(QueryValue(ws.url, "SELECT stage FROM cutover.stage"), "dual_write");

  // Same columns, same types; every row PostgreSQL holds, as SQL prints it.
  EXPECT_EQ(DuckRows("DESCRIBE SELECT * FROM read_parquet('" + safety + "')") +
                DuckRows("DESCRIBE SELECT * FROM read_parquet('" + intersections + "')"),
            schema_before);
  std::string from_pg;
  for (const auto& row :
       Query(ws.url,
             "SELECT intersection_id || '|' || (extract(epoch FROM timestamp) * 1000000)::bigint "
             "|| '|' || round(safety_index * 1000)::bigint || '|' || "
             "coalesce(round(vru_index * 1000)::bigint::text, '-') || '|' || "
             "coalesce(vehicle_count::text, '-') || '|' || coalesce(vru_count::text, '-') || "
             "'|' || round(speed_variance * 1000)::bigint FROM safety_indices_realtime "
             "ORDER BY 1")) {
    from_pg += row[0] + "\n";
  }
  CommandResult from_file = RunCommand(
      {DuckdbSqlTool(), "-c",
       "SELECT intersection_id || '|' || epoch_us(timestamp) || '|' || "
       "round(safety_index * 1000)::BIGINT || '|' || "
       "coalesce(round(vru_index * 1000)::BIGINT::VARCHAR, '-') || '|' || "
       "coalesce(vehicle_count::VARCHAR, '-') || '|' || coalesce(vru_count::VARCHAR, '-') || "
       "'|' || round(speed_variance * 1000)::BIGINT FROM '" +
           safety + "' ORDER BY 1"});
  ASSERT_EQ(from_file.exit_code, 0) << Describe(from_file);
  EXPECT_EQ(from_file.out, from_pg);
  EXPECT_EQ(DuckRows("SELECT count(*) FROM '" + safety + "' WHERE intersection_id = 4"),
            DuckRows("SELECT 0"));
  // The moved point and the new one, back as their lon and lat.
  EXPECT_EQ(DuckRows("SELECT lon || ' ' || lat || ' ' || name FROM '" + intersections +
                     "' WHERE intersection_id IN (1, 1000) ORDER BY intersection_id"),
            "-80.125 37.0625 " + QueryValue(ws.url, "SELECT name FROM intersections WHERE id = 1") +
                "\n-80.5 37.25 New \"corner\"\n");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM intersections"),
            Trim(DuckRows("SELECT count(*) FROM '" + intersections + "'")));

  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
}

}  // namespace
}  // namespace cutover::testing
