// The dual-write gateway over JSON files: concurrent writes through one
// process land in the file (one atomic replace per group) and in PostgreSQL,
// with children; the file is read by Python's json module and the tables by
// SQL, and both must equal what the clients were acknowledged. A second
// process is refused the file rather than allowed to lose writes. A backfill
// of the file racing the gateway's writes never lands an older state.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/serve_process.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

constexpr char kToken[] = "json-gateway-token";

// projects: an array file keyed by a numeric `id`, with nested tasks;
// profiles: an object file keyed by member name.
constexpr std::string_view kSpec = R"(migration: jsongw
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
serve: { token_env: GW_TOKEN }
stages: { poll_interval: 200ms }
entities:
  projects:
    source: { from: files, file: projects.json }
    key: [id]
    columns:
      id:   { type: bigint }
      name: { type: text }
    children:
      tasks:
        path: tasks
        key: [project_id, n]
        parent: { project_id: id }
        columns:
          project_id: { type: bigint }
          n:          { type: integer }
          title:      { type: text }
  profiles:
    source: { from: files, file: profiles.json }
    key: [handle]
    columns:
      handle: { from: $key, type: text }
      bio:    { type: text }
)";

constexpr int kProjects = 64;
constexpr int kProfiles = 32;
constexpr int kClients = 16;
constexpr int kWritesPerClient = 40;

json Project(int id, const std::string& name, int tasks) {
  json t = json::array();
  for (int n = 0; n < tasks; ++n) {
    t.push_back({{"n", n}, {"title", name + " task " + std::to_string(n)}});
  }
  return {{"id", id}, {"name", name}, {"tasks", t}};
}

// The rows a set of records makes, as "a|b|c" lines sorted: the oracle's
// shape for the file (Python), the tables (SQL) and the clients' model.
struct Rows {
  std::vector<std::string> projects, tasks, profiles;
  bool operator==(const Rows&) const = default;
};

void Sort(Rows* r) {
  for (auto* v : {&r->projects, &r->tasks, &r->profiles}) std::sort(v->begin(), v->end());
}

// Python's json module reads the two files.
Rows FromFiles(const std::string& dir) {
  const std::string script = R"(
import json, sys
d = sys.argv[1]
for p in json.load(open(d + '/projects.json')):
    print('P' + str(p['id']) + '|' + p['name'])
    for t in p['tasks']:
        print('T' + str(p['id']) + '|' + str(t['n']) + '|' + t['title'])
for handle, v in json.load(open(d + '/profiles.json')).items():
    print('F' + handle + '|' + v['bio'])
)";
  const CommandResult r = RunCommand({"/usr/bin/python3", "-c", script, dir}, {}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Rows rows;
  for (const std::string& line : OutputLines(r.out)) {
    auto* into = line[0] == 'P' ? &rows.projects : line[0] == 'T' ? &rows.tasks : &rows.profiles;
    into->push_back(line.substr(1));
  }
  Sort(&rows);
  return rows;
}

Rows FromPostgres(const std::string& url) {
  Rows r;
  for (const auto& row : Query(url, "SELECT id || '|' || name FROM projects")) {
    r.projects.push_back(row[0]);
  }
  for (const auto& row : Query(url, "SELECT project_id || '|' || n || '|' || title FROM tasks")) {
    r.tasks.push_back(row[0]);
  }
  for (const auto& row : Query(url, "SELECT handle || '|' || bio FROM profiles")) {
    r.profiles.push_back(row[0]);
  }
  Sort(&r);
  return r;
}

HttpResponse Send(int port, const std::string& method, const std::string& target,
                  const std::string& body = "") {
  return HttpWithToken(kToken, port, method, target, body);
}

// A workspace for the spec: a fresh database, its environment, and the
// commands and gateway process a test drives.
struct JsonWorkspace {
  std::string url = FreshDatabase();
  std::string dir = TempDir();
  std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                          {"GW_TOKEN", kToken}};

  CommandResult Cutover(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CutoverBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, env, dir);
  }
  // Starts `cutover serve` (with `extra` arguments) and waits until it has
  // read the stage dual_write.
  bool StartGateway(ServeProcess* serve, const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {CutoverBinary(), "serve", "cutover.yaml", "--port", "0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return serve->Start(argv, env, dir) &&
           WaitFor(
               [&] {
                 return Http(serve->port(), "GET", "/v1/stage").body.find("dual_write") !=
                        std::string::npos;
               },
               30);
  }
};

// Until the gateway's journal owes PostgreSQL nothing.
bool WaitForDrained(int port) {
  return WaitFor(
      [&] {
        const json h = json::parse(Http(port, "GET", "/v1/stats").body, nullptr, false);
        return h.is_object() && h.contains("writes") && h["writes"]["owed"] == 0;
      },
      30);
}

TEST(GatewayJsonTest, ConcurrentWritesLandInTheFileAndInPostgresAsAcknowledged) {
  const JsonWorkspace ws;
  const std::string& url = ws.url;
  const std::string& dir = ws.dir;
  WriteFile(dir + "/cutover.yaml", std::string(kSpec));
  // The files as the application left them: half the projects, a few profiles.
  json projects = json::array();
  for (int id = 0; id < kProjects; id += 2) projects.push_back(Project(id, "seed", 1));
  WriteFile(dir + "/data/projects.json", projects.dump(2));
  WriteFile(dir + "/data/profiles.json", R"({"ann": {"bio": "seed"}, "bob": {"bio": "seed"}})");
  CommandResult r = ws.Cutover({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = ws.Cutover({"phase", "cutover.yaml", "set", "dual_write", "--force", "--reason", "test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ServeProcess serve;
  ASSERT_TRUE(ws.StartGateway(&serve));

  // The clients' model: each key belongs to one client, so the last write a
  // client was acknowledged for a key is that key's final state.
  std::map<int, std::optional<json>> project_model;
  std::map<std::string, std::optional<std::string>> profile_model;
  for (const json& p : projects) project_model[p["id"].get<int>()] = p;
  profile_model["ann"] = "seed";
  profile_model["bob"] = "seed";
  std::mutex model_mu;
  std::atomic<int> failures{0};
  std::atomic<int> project_writes{0}, profile_writes{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) * 7919u + 1);
      for (int i = 0; i < kWritesPerClient; ++i) {
        const int what = static_cast<int>(rng() % 10);
        if (what < 7) {
          const int id = c + kClients * static_cast<int>(rng() % (kProjects / kClients));
          const bool remove = what == 6;
          const json doc = Project(id, "c" + std::to_string(c) + "w" + std::to_string(i),
                                   static_cast<int>(rng() % 4));
          const HttpResponse a =
              remove ? Send(serve.port(), "DELETE", "/v1/entities/projects/" + std::to_string(id))
                     : Send(serve.port(), "PUT", "/v1/entities/projects/" + std::to_string(id),
                            doc.dump());
          if (a.status != 200) {
            ++failures;
            ADD_FAILURE() << a.status << " " << a.body << a.error;
            continue;
          }
          ++project_writes;
          std::lock_guard<std::mutex> lock(model_mu);
          project_model[id] = remove ? std::nullopt : std::optional<json>(doc);
        } else {
          const std::string handle =
              "h" + std::to_string(c + kClients * static_cast<int>(rng() % (kProfiles / kClients)));
          const bool remove = what == 9;
          const std::string bio = "bio of " + handle + " #" + std::to_string(i);
          const HttpResponse a =
              remove ? Send(serve.port(), "DELETE", "/v1/entities/profiles/" + handle)
                     : Send(serve.port(), "PUT", "/v1/entities/profiles/" + handle,
                            json{{"bio", bio}}.dump());
          if (a.status != 200) {
            ++failures;
            ADD_FAILURE() << a.status << " " << a.body << a.error;
            continue;
          }
          ++profile_writes;
          std::lock_guard<std::mutex> lock(model_mu);
          profile_model[handle] = remove ? std::nullopt : std::optional<std::string>(bio);
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);

  // A record whose key field is not the key it is written under changes
  // nothing; a change in place is not something a file does.
  EXPECT_EQ(Send(serve.port(), "PUT", "/v1/entities/projects/1", Project(2, "x", 0).dump()).status,
            400);
  EXPECT_EQ(Send(serve.port(), "PUT", "/v1/entities/projects/1", "[1]").status, 400);
  EXPECT_EQ(Send(serve.port(), "PATCH", "/v1/entities/projects/1", R"({"increment": 1})").status,
            409);
  // Reads in dual_write come from the file.
  for (const auto& [id, doc] : project_model) {
    if (!doc) continue;
    const HttpResponse got =
        Send(serve.port(), "GET", "/v1/entities/projects/" + std::to_string(id));
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(json::parse(got.body)["record"], *doc) << got.body;
    break;
  }

  // A second process would write the same file: refused, nothing written.
  ServeProcess other;
  ASSERT_TRUE(ws.StartGateway(&other, {"--journal", dir + "/journal-2"}));
  const HttpResponse refused =
      Send(other.port(), "PUT", "/v1/entities/profiles/zed", json{{"bio", "no"}}.dump());
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("another process writes"), std::string::npos) << refused.body;
  EXPECT_EQ(other.Stop(), 0) << other.Stderr();

  // The journal drains into PostgreSQL.
  ASSERT_TRUE(WaitForDrained(serve.port())) << Http(serve.port(), "GET", "/v1/stats").body;
  // Each file's replaces carried exactly the writes acknowledged for it
  // (the refused ones carried none), in at most as many replaces.
  const json stats = json::parse(Http(serve.port(), "GET", "/v1/stats").body);
  std::cout << "group commit: " << stats["writes"]["file_replaces"].dump() << "\n";
  for (const auto& [file, acked] : {std::pair{"projects.json", project_writes.load()},
                                    std::pair{"profiles.json", profile_writes.load()}}) {
    const json* counts = nullptr;
    for (const auto& [path, c] : stats["writes"]["file_replaces"].items()) {
      if (path.ends_with(std::string("/") + file)) counts = &c;
    }
    ASSERT_NE(counts, nullptr) << stats.dump();
    EXPECT_EQ((*counts)["writes"], acked) << file;
    EXPECT_LE((*counts)["replaces"], acked) << file;
    EXPECT_GE((*counts)["replaces"], 1) << file;
  }
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();

  Rows expected;
  for (const auto& [id, doc] : project_model) {
    if (!doc) continue;
    expected.projects.push_back(std::to_string(id) + "|" + (*doc)["name"].get<std::string>());
    for (const json& t : (*doc)["tasks"]) {
      expected.tasks.push_back(std::to_string(id) + "|" + std::to_string(t["n"].get<int>()) + "|" +
                               t["title"].get<std::string>());
    }
  }
  for (const auto& [handle, bio] : profile_model) {
    if (bio) expected.profiles.push_back(handle + "|" + *bio);
  }
  Sort(&expected);
  ASSERT_GT(expected.projects.size(), 10u);
  const Rows file = FromFiles(dir + "/data");
  EXPECT_EQ(file.projects, expected.projects);
  EXPECT_EQ(file.tasks, expected.tasks);
  EXPECT_EQ(file.profiles, expected.profiles);
  const Rows pg = FromPostgres(url);
  EXPECT_EQ(pg.projects, expected.projects);
  EXPECT_EQ(pg.tasks, expected.tasks);
  EXPECT_EQ(pg.profiles, expected.profiles);

  r = ws.Cutover({"verify", "cutover.yaml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// The JSON way to migrate without downtime: the gateway takes writes first
// (dual_write), then a backfill copies the file while clients keep writing.
// The copy reads generations older than the writes it races; none of its
// states may land over a newer one, nor bring back a deleted record.
TEST(GatewayJsonTest, ABackfillRacingTheGatewayNeverLandsAnOlderState) {
  const JsonWorkspace ws;
  const std::string& url = ws.url;
  const std::string& dir = ws.dir;
  WriteFile(dir + "/cutover.yaml", std::string(kSpec));
  WriteFile(dir + "/data/projects.json", "[]");
  WriteFile(dir + "/data/profiles.json", "{}");
  CommandResult r = ws.Cutover({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // The application's records, written before the gateway came in.
  constexpr int kRecords = 20000;
  constexpr int kHot = 400;
  json projects = json::array();
  for (int id = 0; id < kRecords; ++id) projects.push_back(Project(id, "old", id % 3));
  WriteFile(dir + "/data/projects.json", projects.dump());
  // A copy begun at legacy runs unversioned: while one is under way (its
  // ledger row not done, set by hand here), dual_write is refused.
  Exec(url, "UPDATE cutover.backfill_ledger SET done = false WHERE entity = 'projects'");
  r = ws.Cutover({"phase", "cutover.yaml", "set", "dual_write"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("file_backfills_finished"), std::string::npos) << r.out << r.err;
  Exec(url, "UPDATE cutover.backfill_ledger SET done = true WHERE entity = 'projects'");
  r = ws.Cutover({"phase", "cutover.yaml", "set", "dual_write"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ServeProcess serve;
  ASSERT_TRUE(ws.StartGateway(&serve));

  // Clients rewrite and delete hot keys spread over the file until the
  // backfill is done; each key belongs to one client.
  std::atomic<bool> backfill_done{false};
  std::atomic<int> failures{0};
  std::mutex model_mu;
  std::map<int, std::optional<json>> model;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c) + 99u);
      for (int i = 0; !backfill_done || i < 20; ++i) {
        const int id = (c + 8 * static_cast<int>(rng() % (kHot / 8))) * (kRecords / kHot);
        const bool remove = rng() % 5 == 0;
        const json doc = Project(id, "new c" + std::to_string(c) + " #" + std::to_string(i),
                                 static_cast<int>(rng() % 3));
        const std::string target = "/v1/entities/projects/" + std::to_string(id);
        const HttpResponse a = remove ? Send(serve.port(), "DELETE", target)
                                      : Send(serve.port(), "PUT", target, doc.dump());
        if (a.status != 200) {
          ++failures;
          ADD_FAILURE() << a.status << " " << a.body << a.error;
          return;
        }
        std::lock_guard<std::mutex> lock(model_mu);
        model[id] = remove ? std::nullopt : std::optional<json>(doc);
      }
    });
  }
  r = ws.Cutover({"backfill", "cutover.yaml"});
  backfill_done = true;
  for (auto& t : clients) t.join();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(WaitForDrained(serve.port()));
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();

  // Python reads the file; SQL reads the tables; both must hold the clients'
  // last acknowledged states for the hot keys and the old records elsewhere.
  const Rows file = FromFiles(dir + "/data");
  const Rows pg = FromPostgres(url);
  EXPECT_EQ(pg.projects, file.projects);
  EXPECT_EQ(pg.tasks, file.tasks);
  int deleted = 0;
  for (const auto& [id, doc] : model) {
    const std::string prefix = std::to_string(id) + "|";
    const auto row = std::find_if(pg.projects.begin(), pg.projects.end(),
                                  [&](const std::string& p) { return p.starts_with(prefix); });
    if (!doc) {
      ++deleted;
      EXPECT_EQ(row, pg.projects.end()) << "deleted project " << id << " came back";
    } else {
      ASSERT_NE(row, pg.projects.end()) << id;
      EXPECT_EQ(*row, prefix + (*doc)["name"].get<std::string>());
    }
  }
  EXPECT_GT(deleted, 0);
  EXPECT_EQ(pg.projects.size(), static_cast<size_t>(kRecords - deleted));
}

// In `primary` a read of a JSON entity that declares write_back comes from
// PostgreSQL: the row and its children turned back into the record, so a
// change made in PostgreSQL (an update and an insert of tasks, by SQL) is
// what the client reads; the expected records are written by hand.
TEST(GatewayJsonTest, InPrimaryARecordIsReadFromPostgresWithItsChildren) {
  const JsonWorkspace ws;
  std::string spec(kSpec);
  const std::string key = "    key: [id]\n    columns:\n      id:   { type: bigint }";
  ASSERT_NE(spec.find(key), std::string::npos);
  spec.replace(spec.find(key), key.size(),
               "    key: [id]\n    write_back: true\n    columns:\n      id:   { type: bigint }");
  WriteFile(ws.dir + "/cutover.yaml", spec);
  WriteFile(ws.dir + "/data/projects.json",
            json::array({Project(1, "one", 2), Project(2, "two", 0)}).dump(2));
  WriteFile(ws.dir + "/data/profiles.json", R"({"ann": {"bio": "seed"}})");
  CommandResult r = ws.Cutover({"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const std::vector<std::string>& stage : std::vector<std::vector<std::string>>{
           {"dual_write"}, {"shadow"}, {"rollout", "--percent", "100"}, {"primary"}}) {
    std::vector<std::string> args = {"phase", "cutover.yaml", "set"};
    args.insert(args.end(), stage.begin(), stage.end());
    args.insert(args.end(), {"--force", "--reason", "test"});
    r = ws.Cutover(args);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  Exec(ws.url, "UPDATE tasks SET title = 'changed' WHERE project_id = 1 AND n = 1");
  Exec(ws.url, "INSERT INTO tasks (project_id, n, title) VALUES (2, 0, 'new')");
  ServeProcess serve;
  ASSERT_TRUE(
      serve.Start({CutoverBinary(), "serve", "cutover.yaml", "--port", "0"}, ws.env, ws.dir));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Http(serve.port(), "GET", "/v1/stage").body.find("\"primary\"") != std::string::npos;
      },
      30));
  const HttpResponse one = Send(serve.port(), "GET", "/v1/entities/projects/1");
  ASSERT_EQ(one.status, 200) << one.body;
  const json a = json::parse(one.body);
  EXPECT_EQ(a["served_by"], "postgres") << one.body;
  EXPECT_EQ(a["record"], json::parse(R"({"id": 1, "name": "one", "tasks": [
      {"n": 0, "title": "one task 0"}, {"n": 1, "title": "changed"}]})"))
      << one.body;
  const HttpResponse two = Send(serve.port(), "GET", "/v1/entities/projects/2");
  ASSERT_EQ(two.status, 200) << two.body;
  EXPECT_EQ(json::parse(two.body)["record"],
            json::parse(R"({"id": 2, "name": "two", "tasks": [{"n": 0, "title": "new"}]})"))
      << two.body;
  EXPECT_EQ(Send(serve.port(), "GET", "/v1/entities/projects/99").status, 404);
  EXPECT_EQ(serve.Stop(), 0) << serve.Stderr();
}

}  // namespace
}  // namespace cutover::testing
