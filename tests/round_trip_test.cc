// `cutover verify --round-trip`: a planted mapping bug (floats rounded to 4
// digits, through the failpoint map.round_float) that plain verify shares
// with backfill and cannot see is caught by turning rows back into Redis
// records, JSON records with their children and Parquet rows, naming
// exactly the keys worked out by hand.
#include <algorithm>
#include <string>
#include <vector>

#include <filesystem>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

constexpr char kSpec[] = R"(migration: trip
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
entities:
  players:
    source: { from: cache, pattern: "s:player:{name}", value: hash }
    key: [name]
    write_back: true
    columns:
      name:       { type: text }
      score:      { from: score, type: double precision }
      level:      { from: level, type: bigint }
      joined:     { from: joined, type: timestamptz }
      expires_at: { from: $expires_at, type: timestamptz }
)";

// 30 players: a third with a score of 9 decimals (which rounding to 4
// changes), a third "2.5", a third "1.50" (equal to 1.5 as a number); every
// one with a field no column reads ("note").
void Fill(const RedisServer& redis) {
  for (int i = 0; i < 30; ++i) {
    const std::string key = "s:player:p" + std::to_string(i);
    const std::string score =
        i % 3 == 0 ? "2.5" : (i % 3 == 1 ? std::to_string(i) + ".123456789" : "1.50");
    redis.Command({"HSET", key, "score", score, "level", std::to_string(i), "joined",
                   "2026-01-02T03:04:05Z", "note", "hello"});
    if (i % 5 == 0) redis.Command({"PEXPIREAT", key, std::to_string(4102444800123 + i)});
  }
}

// `cutover ARGS` in `ws` with CUTOVER_FAILPOINTS set to `failpoints`.
CommandResult CutoverWithFailpoints(Workspace ws, const std::vector<std::string>& args,
                                    const std::string& failpoints) {
  ws.env.emplace_back("CUTOVER_FAILPOINTS", failpoints);
  return Cutover(ws, args);
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = RedisServer::Start();
    ASSERT_NE(redis_, nullptr);
    Fill(*redis_);
    ws_ = Workspace{TempDir() + "/round_trip", FreshDatabase(), {{"REDIS_URL", redis_->Url()}}};
    WriteFile(ws_.dir + "/cutover.yaml", kSpec);
  }

  CommandResult Run(const std::vector<std::string>& args, const std::string& failpoints = "") {
    return CutoverWithFailpoints(ws_, args, failpoints);
  }

  std::unique_ptr<RedisServer> redis_;
  Workspace ws_;
};

TEST_F(RoundTripTest, APlantedRoundingBugPassesPlainVerifyAndIsCaughtByTheRoundTrip) {
  const std::string bug = "map.round_float=value:4";
  CommandResult backfill = Run({"backfill", "cutover.yaml", "--create-tables"}, bug);
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  // The bug is real: PostgreSQL holds the rounded score (SQL, by hand).
  EXPECT_EQ(QueryValue(ws_.url, "SELECT score FROM public.players WHERE name = 'p1'"), "1.1235");
  // Plain verify maps Redis with the same mapping, so it agrees.
  CommandResult plain = Run({"verify", "cutover.yaml"}, bug);
  EXPECT_EQ(plain.exit_code, 0) << Describe(plain);

  CommandResult trip = Run({"verify", "cutover.yaml", "--round-trip", "--json"});
  EXPECT_EQ(trip.exit_code, 1) << Describe(trip);
  const json report = json::parse(trip.out);
  const json& players = report["entities"][0];
  EXPECT_EQ(report["clean"], false);
  EXPECT_EQ(players["compared"], 30);
  EXPECT_EQ(players["differing"], 10);
  EXPECT_EQ(players["differing_fields"], json({{"score", 10}}));
  // Worked out by hand: the players with i % 3 == 1.
  std::vector<std::string> expected;
  for (int i = 1; i < 30; i += 3) expected.push_back("s:player:p" + std::to_string(i));
  std::vector<std::string> named = players["differing_keys"].get<std::vector<std::string>>();
  std::sort(expected.begin(), expected.end());
  std::sort(named.begin(), named.end());
  EXPECT_EQ(named, expected);
  EXPECT_EQ(players["dropped_fields"], json::array({"note"}));

  CommandResult text = Run({"verify", "cutover.yaml", "--round-trip"});
  EXPECT_EQ(text.exit_code, 1) << Describe(text);
  EXPECT_NE(text.out.find("field score: differs in 10 records"), std::string::npos)
      << Describe(text);
  EXPECT_NE(text.out.find("differs: s:player:p1\n"), std::string::npos) << Describe(text);
  EXPECT_NE(text.out.find("left out on purpose (no column reads them): note"), std::string::npos)
      << Describe(text);
}

TEST_F(RoundTripTest, AFaithfulMappingIsCleanAndAnEntityItCannotRebuildIsNot) {
  CommandResult backfill = Run({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  // 1.50 and 1.5 are one number; expiries and times are one instant.
  CommandResult trip = Run({"verify", "cutover.yaml", "--round-trip", "--json"});
  EXPECT_EQ(trip.exit_code, 0) << Describe(trip);
  const json report = json::parse(trip.out);
  EXPECT_EQ(report["clean"], true);
  EXPECT_EQ(report["entities"][0]["compared"], 30);
  EXPECT_EQ(report["entities"][0]["differing"], 0);

  // An entity without write_back cannot be turned back: not checked, so
  // the whole check is not clean; --entity checks the other alone.
  WriteFile(ws_.dir + "/more.yaml", std::string(kSpec) + R"(  notes:
    source: { from: cache, pattern: "s:note:{id}", value: string }
    key: [id]
    columns:
      id:   { type: text }
      body: { from: $value, type: text }
)");
  redis_->Command({"SET", "s:note:1", "hi"});
  CommandResult more = Run({"backfill", "more.yaml", "--create-tables"});
  ASSERT_EQ(more.exit_code, 0) << Describe(more);
  CommandResult whole = Run({"verify", "more.yaml", "--round-trip"});
  EXPECT_EQ(whole.exit_code, 1) << Describe(whole);
  EXPECT_NE(whole.out.find("notes: not checked: it does not declare write_back: true"),
            std::string::npos)
      << Describe(whole);
  CommandResult one = Run({"verify", "more.yaml", "--round-trip", "--entity", "players"});
  EXPECT_EQ(one.exit_code, 0) << Describe(one);
  // A check of nothing is never clean.
  redis_->Command({"FLUSHALL"});
  CommandResult empty = Run({"verify", "cutover.yaml", "--round-trip"});
  EXPECT_EQ(empty.exit_code, 1) << Describe(empty);
}

// A JSON file of projects with nested tasks and a Parquet file of sites
// (a point from lon/lat), written by hand and by DuckDB.
constexpr char kFilesSpec[] = R"(migration: tripfiles
target: { url: "${DATABASE_URL:-}" }
sources:
  docs: { type: json, path: data/ }
  columns: { type: parquet, path: data/ }
entities:
  projects:
    source: { from: docs, file: projects.json }
    key: [id]
    write_back: true
    columns:
      id:       { type: text }
      name:     { type: text }
      status:   { type: text, default: open }
      progress: { type: float8 }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { project_id: id }
        columns:
          id:         { type: text }
          project_id: { type: text }
          estimate:   { type: float8 }
  sites:
    source: { from: columns, file: sites.parquet }
    key: [id]
    write_back: true
    columns:
      id:       { from: site_id, type: integer }
      name:     { type: text }
      score:    { type: float8 }
      location: { type: geometry, geometry: { lon: lon, lat: lat, srid: 4326 } }
)";

// p1's second task and p2's progress have 9 decimals (rounding to 4 changes
// them); p3's 1.50 is 1.5 as a number; no project holds `status` (p4's is
// null), so every one takes the default; p1 has a field no column reads.
constexpr char kProjects[] = R"([
{"id":"p1","name":"A","progress":0.5,"extra":"x","tasks":[{"id":"t1","estimate":1.25},{"id":"t2","estimate":2.123456789}]},
{"id":"p2","name":"B","progress":0.123456789,"tasks":[]},
{"id":"p3","name":"C","progress":1.50,"tasks":[{"id":"t3","estimate":3}]},
{"id":"p4","name":"D","progress":2,"status":null}
]
)";

class RoundTripFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ws_ = Workspace{TempDir() + "/round_trip_files", FreshDatabase(), {}};
    std::filesystem::create_directories(ws_.dir + "/data");
    WriteFile(ws_.dir + "/cutover.yaml", kFilesSpec);
    WriteFile(ws_.dir + "/data/projects.json", kProjects);
    // Site 2's score has 9 decimals; every site has a column no spec column reads.
    CommandResult parquet = RunCommand(
        {DuckdbSqlTool(), "-c",
         "COPY (SELECT * FROM (VALUES (1, 'a', 0.5::DOUBLE, 10.25::DOUBLE, 50.5::DOUBLE, 'x'), "
         "(2, 'b', 0.123456789, 10.123456789, 50.25, 'y'), (3, 'c', 2.0, 11.0, 51.0, 'z')) "
         "t(site_id, name, score, lon, lat, note)) TO '" +
             ws_.dir + "/data/sites.parquet' (FORMAT parquet)"});
    ASSERT_EQ(parquet.exit_code, 0) << Describe(parquet);
  }

  CommandResult Run(const std::vector<std::string>& args, const std::string& failpoints = "") {
    return CutoverWithFailpoints(ws_, args, failpoints);
  }

  Workspace ws_;
};

// The entity named `name` in a --json round-trip report.
json EntityOf(const json& report, const std::string& name) {
  for (const json& e : report["entities"]) {
    if (e["entity"] == name) return e;
  }
  ADD_FAILURE() << "no entity " << name << " in " << report.dump();
  return json::object();
}

TEST_F(RoundTripFilesTest, AFaithfulMappingOfFilesIsCleanAndListsWhatItLeavesOutOrFillsIn) {
  CommandResult backfill = Run({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  CommandResult trip = Run({"verify", "cutover.yaml", "--round-trip", "--json"});
  EXPECT_EQ(trip.exit_code, 0) << Describe(trip);
  const json report = json::parse(trip.out);
  EXPECT_EQ(report["clean"], true);
  const json projects = EntityOf(report, "projects");
  EXPECT_EQ(projects["compared"], 4);
  EXPECT_EQ(projects["differing"], 0);
  EXPECT_EQ(projects["dropped_fields"], json::array({"extra"}));
  EXPECT_EQ(projects["defaulted_fields"], json::array({"status"}));
  const json sites = EntityOf(report, "sites");
  EXPECT_EQ(sites["compared"], 3);
  EXPECT_EQ(sites["differing"], 0);

  // A task deleted and a site's name changed behind cutover's back: the
  // records that hold them differ, in the child's array and in the column.
  Exec(ws_.url, "DELETE FROM public.tasks WHERE id = 't3'");
  Exec(ws_.url, "UPDATE public.sites SET name = 'renamed' WHERE id = 3");
  CommandResult changed = Run({"verify", "cutover.yaml", "--round-trip", "--json"});
  EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
  const json after = json::parse(changed.out);
  EXPECT_EQ(EntityOf(after, "projects")["differing_fields"], json({{"tasks[]", 1}}));
  EXPECT_EQ(EntityOf(after, "projects")["differing_keys"], json::array({"p3"}));
  EXPECT_EQ(EntityOf(after, "sites")["differing_fields"], json({{"name", 1}}));
  EXPECT_EQ(EntityOf(after, "sites")["differing_keys"], json::array({"3"}));
}

TEST_F(RoundTripFilesTest, APlantedRoundingBugInFilesPassesPlainVerifyAndIsCaught) {
  const std::string bug = "map.round_float=value:4";
  CommandResult backfill = Run({"backfill", "cutover.yaml", "--create-tables"}, bug);
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  // The bug is real (SQL, by hand), and plain verify shares it.
  EXPECT_EQ(QueryValue(ws_.url, "SELECT estimate FROM public.tasks WHERE id = 't2'"), "2.1235");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT score FROM public.sites WHERE id = 2"), "0.1235");
  CommandResult plain = Run({"verify", "cutover.yaml"}, bug);
  EXPECT_EQ(plain.exit_code, 0) << Describe(plain);

  CommandResult trip = Run({"verify", "cutover.yaml", "--round-trip", "--json"});
  EXPECT_EQ(trip.exit_code, 1) << Describe(trip);
  const json report = json::parse(trip.out);
  const json projects = EntityOf(report, "projects");
  EXPECT_EQ(projects["compared"], 4);
  EXPECT_EQ(projects["differing"], 2);
  EXPECT_EQ(projects["differing_fields"], json({{"progress", 1}, {"tasks[].estimate", 1}}));
  std::vector<std::string> named = projects["differing_keys"].get<std::vector<std::string>>();
  std::sort(named.begin(), named.end());
  EXPECT_EQ(named, (std::vector<std::string>{"p1", "p2"}));
  const json sites = EntityOf(report, "sites");
  EXPECT_EQ(sites["compared"], 3);
  EXPECT_EQ(sites["differing_fields"], json({{"score", 1}}));
  EXPECT_EQ(sites["differing_keys"], json::array({"2"}));

  CommandResult text = Run({"verify", "cutover.yaml", "--round-trip"});
  EXPECT_EQ(text.exit_code, 1) << Describe(text);
  EXPECT_NE(text.out.find("field tasks[].estimate: differs in 1 records"), std::string::npos)
      << Describe(text);
  EXPECT_NE(text.out.find("filled in by the column's default: status"), std::string::npos)
      << Describe(text);
}

}  // namespace
}  // namespace cutover::testing
