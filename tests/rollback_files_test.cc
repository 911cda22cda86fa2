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

}  // namespace
}  // namespace cutover::testing
