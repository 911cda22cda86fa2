// `cutover sync` for file sources: a JSON file rewritten in place (records
// changed, added and removed) and a Parquet file dropped into the source
// folder are applied exactly, and a pass over unchanged files changes
// nothing. What changed is decided by Python and DuckDB in the test, and the
// tables are checked by SQL.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"
#include "support/redis_harness.h"  // WaitFor
#include "support/serve_process.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

// Rewrites users.json in place: the first 10 records renamed, 5 added, the
// last 3 removed. Prints what it did: {"changed": {id: name}, "added": [ids],
// "removed": [ids]}.
constexpr char kRewriteUsers[] = R"py(
import json, sys
path = sys.argv[1] + "/users.json"
users = json.load(open(path))
changed = {}
for u in users[:10]:
    u["name"] = "Synced " + u["id"][:8]
    changed[u["id"]] = u["name"]
removed = [u["id"] for u in users[-3:]]
users = users[:-3]
added = []
for i in range(5):
    uid = "00000000-0000-4000-8000-%012d" % (i + 1)
    users.append({"id": uid, "email": "added%d@x" % i, "name": "Added %d" % i, "role": "client",
                  "createdAt": "2026-11-30T00:00:00Z", "lastLoginMs": 1764460800000,
                  "isActive": True, "preferences": {"theme": "dark"}})
    added.append(uid)
json.dump(users, open(path, "w"), indent=1)
print(json.dumps({"changed": changed, "added": added, "removed": removed}))
)py";

json Sync(const Workspace& ws) {
  CommandResult r = Cutover(ws, {"sync", "cutover.yaml", "--once", "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return json::parse(r.out, nullptr, false);
}

const json& EntityOf(const json& report, const std::string& name) {
  for (const json& e : report["entities"]) {
    if (e["entity"] == name) return e;
  }
  static const json kNone;
  ADD_FAILURE() << "no entity " << name << " in " << report.dump();
  return kNone;
}

TEST(FileSync, AJsonFileRewrittenInPlaceIsAppliedByKeyAndOnlyOnce) {
  Dataset ds = MakeDataset(40);
  Workspace ws{ds.dir, FreshDatabase(), {}};
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);

  // The first pass sees both files for the first time: every record is
  // applied again (the same state) and its hash recorded.
  json first = Sync(ws);
  EXPECT_EQ(EntityOf(first, "users")["files_new"], 1) << first.dump();
  EXPECT_EQ(EntityOf(first, "users")["upserted"], 40) << first.dump();
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "40");

  CommandResult rewrite = RunCommand({"/usr/bin/python3", "-c", kRewriteUsers, ds.dir + "/data"});
  ASSERT_EQ(rewrite.exit_code, 0) << Describe(rewrite);
  const json plan = json::parse(rewrite.out);
  // projects.json gets a new time and the same bytes: read, not loaded.
  const auto projects = std::filesystem::path(ds.dir + "/data/projects.json");
  std::filesystem::last_write_time(
      projects, std::filesystem::last_write_time(projects) + std::chrono::seconds(5));

  json second = Sync(ws);
  const json& users = EntityOf(second, "users");
  EXPECT_EQ(users["files_changed"], 1) << second.dump();
  EXPECT_EQ(users["records_read"], 42);
  EXPECT_EQ(users["records_unchanged"], 27);  // 40 - 10 changed - 3 removed
  EXPECT_EQ(users["upserted"], 15);           // 10 changed + 5 added
  EXPECT_EQ(users["deleted"], 3);
  EXPECT_EQ(EntityOf(second, "projects")["files_touched"], 1) << second.dump();
  EXPECT_EQ(EntityOf(second, "projects")["upserted"], 0);

  // PostgreSQL by SQL holds exactly what Python wrote.
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "42");
  for (const auto& [id, name] : plan["changed"].items()) {
    EXPECT_EQ(QueryValue(ws.url, "SELECT name FROM users WHERE id = '" + id + "'"), name);
  }
  for (const auto& id : plan["added"]) {
    EXPECT_EQ(
        QueryValue(ws.url, "SELECT email FROM users WHERE id = '" + id.get<std::string>() + "'")
            .substr(0, 5),
        "added");
  }
  for (const auto& id : plan["removed"]) {
    EXPECT_EQ(
        QueryValue(ws.url, "SELECT count(*) FROM users WHERE id = '" + id.get<std::string>() + "'"),
        "0");
  }

  // A pass over files that did not change reads nothing and changes nothing.
  json third = Sync(ws);
  EXPECT_EQ(EntityOf(third, "users")["records_read"], 0) << third.dump();
  EXPECT_EQ(EntityOf(third, "users")["upserted"], 0);
  EXPECT_EQ(EntityOf(third, "users")["deleted"], 0);
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) || ' ' || sum(upserted) || ' ' || sum(deleted) || ' ' || "
                       "count(error) FROM cutover.file_sync_runs"),
            "3 75 3 0");  // 40 users and 20 projects, then 15
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
}

// The file rewritten between the backfill and the first pass: the pass has
// no hashes of the file's last state, so PostgreSQL's rows stand for it and
// the 3 records removed meanwhile go too (a project's children with it).
TEST(FileSync, AFirstPassDeletesTheRowsOfRecordsRemovedSinceTheBackfill) {
  Dataset ds = MakeDataset(40);
  Workspace ws{ds.dir, FreshDatabase(), {}};
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  CommandResult rewrite = RunCommand({"/usr/bin/python3", "-c", kRewriteUsers, ds.dir + "/data"});
  ASSERT_EQ(rewrite.exit_code, 0) << Describe(rewrite);
  const json plan = json::parse(rewrite.out);
  // The last 2 projects removed too, with their tasks, by Python.
  CommandResult drop =
      RunCommand({"/usr/bin/python3", "-c",
                  "import json, sys; p = sys.argv[1] + '/projects.json'; ps = json.load(open(p)); "
                  "json.dump(ps[:-2], open(p, 'w')); print(json.dumps([x['id'] for x in ps[-2:]]))",
                  ds.dir + "/data"});
  ASSERT_EQ(drop.exit_code, 0) << Describe(drop);
  const json removed_projects = json::parse(drop.out);

  json first = Sync(ws);
  const json& users = EntityOf(first, "users");
  EXPECT_EQ(users["files_new"], 1) << first.dump();
  EXPECT_EQ(users["upserted"], 42);  // every record of the file, as on any first pass
  EXPECT_EQ(users["deleted"], 3);
  EXPECT_EQ(users["rows_without_record"], 3);
  EXPECT_EQ(users["records_repeated"], 0);
  EXPECT_EQ(EntityOf(first, "projects")["deleted"], 2) << first.dump();
  for (const auto& id : plan["removed"]) {
    EXPECT_EQ(
        QueryValue(ws.url, "SELECT count(*) FROM users WHERE id = '" + id.get<std::string>() + "'"),
        "0");
  }
  std::string ids;
  for (const auto& id : removed_projects)
    ids += (ids.empty() ? "'" : ", '") + id.get<std::string>() + "'";
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM projects WHERE id IN (" + ids + ")"), "0");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM tasks WHERE project_id IN (" + ids + ")"),
            "0");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM users"), "42");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM projects"), "18");
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  // The second pass has hashes: nothing changed, nothing deleted.
  json second = Sync(ws);
  EXPECT_EQ(EntityOf(second, "users")["deleted"], 0) << second.dump();
  EXPECT_EQ(EntityOf(second, "users")["records_read"], 0);
}

constexpr char kReadingsSpec[] = R"(migration: readings
target: { url: "${DATABASE_URL:-}" }
sources:
  collector: { type: parquet, path: data/ }
entities:
  readings:
    source: { from: collector, file: "readings_*.parquet" }
    key: [sensor, day]
    columns:
      sensor:     { type: integer }
      day:        { type: date }
      value:      { type: float8 }
      updated_at: { type: timestamptz }
    dedup: { key: [sensor, day], keep_last_by: [updated_at] }
)";

void Duck(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

TEST(FileSync, ANewParquetFileIsLoadedWithTheDedupRule) {
  const std::string dir = TempDir() + "/file_sync_parquet";
  std::filesystem::create_directories(dir + "/data");
  WriteFile(dir + "/cutover.yaml", kReadingsSpec);
  // 100 readings: sensors 0..9, days 1..10, all updated on 2026-11-01.
  Duck(fmt::format(
      "COPY (SELECT (i % 10)::INTEGER AS sensor, DATE '2026-10-01' + (i // 10)::INTEGER AS day, "
      "i::DOUBLE AS value, TIMESTAMPTZ '2026-11-01 00:00:00+00' AS updated_at FROM range(100) "
      "t(i)) TO '{}/data/readings_1.parquet' (FORMAT parquet)",
      dir));
  Workspace ws{dir, FreshDatabase(), {}};
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  json first = Sync(ws);
  EXPECT_EQ(EntityOf(first, "readings")["files_new"], 1) << first.dump();

  // The collector's next file: 20 new readings (days 11 and 12), 5 newer
  // values of loaded ones, 3 older values that the dedup rule must refuse.
  Duck(fmt::format(
      "COPY (SELECT (i % 10)::INTEGER AS sensor, DATE '2026-10-11' + (i // 10)::INTEGER AS day, "
      "(1000 + i)::DOUBLE AS value, TIMESTAMPTZ '2026-11-02 00:00:00+00' AS updated_at FROM "
      "range(20) t(i) UNION ALL SELECT i::INTEGER, DATE '2026-10-01', -1.0, TIMESTAMPTZ "
      "'2026-11-03 00:00:00+00' FROM range(5) t(i) UNION ALL SELECT (5 + i)::INTEGER, DATE "
      "'2026-10-01', -2.0, TIMESTAMPTZ '2026-10-01 00:00:00+00' FROM range(3) t(i)) TO "
      "'{}/data/readings_2.parquet' (FORMAT parquet)",
      dir));
  json second = Sync(ws);
  const json& readings = EntityOf(second, "readings");
  EXPECT_EQ(readings["files_seen"], 2) << second.dump();
  EXPECT_EQ(readings["files_new"], 1);
  EXPECT_EQ(readings["records_read"], 28);

  // By SQL: 120 rows; the newer values in, the older ones refused.
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM readings"), "120");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM readings WHERE value = -1"), "5");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM readings WHERE value = -2"), "0");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(sensor || ':' || value, ',' ORDER BY sensor) FROM "
                       "readings WHERE day = '2026-10-01' AND sensor >= 5 AND sensor < 8"),
            "5:5,6:6,7:7");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM readings WHERE value >= 1000"), "20");

  json third = Sync(ws);
  EXPECT_EQ(EntityOf(third, "readings")["records_read"], 0) << third.dump();
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);

  // Inside serve, on the spec's schedule: a pass at start picks up the next
  // file, and GET /v1/sync says what it did and when the next one is due.
  WriteFile(dir + "/cutover.yaml", std::string(kReadingsSpec) + "sync: { every: 1h }\n");
  Duck(fmt::format(
      "COPY (SELECT (i % 10)::INTEGER AS sensor, DATE '2026-10-13' AS day, 7.0::DOUBLE AS value, "
      "TIMESTAMPTZ '2026-11-04 00:00:00+00' AS updated_at FROM range(10) t(i)) TO "
      "'{}/data/readings_3.parquet' (FORMAT parquet)",
      dir));
  ServeProcess serve;
  ASSERT_TRUE(serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"},
                          {{"DATABASE_URL", ws.url}}, dir));
  json status;
  const bool ran = WaitFor(
      [&] {
        const HttpResponse r = Http(serve.port(), "GET", "/v1/sync");
        if (r.status != 200) return false;
        status = json::parse(r.body);
        return status["last_run"].is_object() && status["last_run"]["id"] == 4 &&
               !status["last_run"]["finished_at"].is_null();
      },
      30);
  ASSERT_TRUE(ran) << status.dump() << serve.Stderr();
  EXPECT_EQ(status["scheduled"], true);
  EXPECT_EQ(status["every_seconds"], 3600);
  EXPECT_TRUE(status["next_run"].is_string()) << status.dump();
  EXPECT_EQ(status["last_run"]["files_changed"], 1);
  EXPECT_EQ(status["last_run"]["rows_applied"], 10);
  EXPECT_TRUE(status["last_run"]["error"].is_null());
  EXPECT_EQ(status["last_success"]["id"], 4);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM readings WHERE day = '2026-10-13'"), "10");
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace cutover::testing
