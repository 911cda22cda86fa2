// Proves `cutover verify` names exactly the keys changed behind its back (missing, extra, changed
// columns, float tolerance), and calls equivalent forms and last-wins source duplicates clean.
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

json ParseReport(const CommandResult& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ADD_FAILURE() << "verify --json printed no JSON object\n" << Describe(r);
    return json::object();
  }
  return j;
}

// The report's entry for `entity`; an empty object (and a failure) if absent.
json EntityOf(const json& report, const std::string& entity) {
  if (report.contains("entities")) {
    for (const auto& e : report["entities"]) {
      if (e.value("entity", "") == entity) return e;
    }
  }
  ADD_FAILURE() << "no entity " << entity << " in " << report.dump(2);
  return json::object();
}

std::vector<std::string> Keys(const json& entity, const char* field) {
  std::vector<std::string> keys;
  if (entity.contains(field)) {
    for (const auto& k : entity[field]) keys.push_back(k.get<std::string>());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

// Changed keys with their columns, sorted by key.
std::vector<std::pair<std::string, std::vector<std::string>>> Changed(const json& entity) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  if (entity.contains("changed_keys")) {
    for (const auto& k : entity["changed_keys"]) {
      out.emplace_back(k["key"].get<std::string>(), k["columns"].get<std::vector<std::string>>());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The whitespace-separated fields of the summary line that starts with `entity`.
std::vector<std::string> SummaryLine(const std::string& report, const std::string& entity) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (!fields.empty() && fields[0] == entity) return fields;
  }
  ADD_FAILURE() << "no summary line for " << entity << " in\n" << report;
  return {};
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small Flux Studio dataset (500 users, 250 projects) beside a copy of the example spec.
Workspace FluxStudio() {
  Workspace ws{TempDir(), FreshDatabase(), {}};
  const std::string example = SourceDir() + "/examples/fluxstudio";
  CommandResult gen =
      RunCommand({"python3", example + "/generate.py", "--rows", "500", "--out", ws.dir + "/data"});
  EXPECT_EQ(gen.exit_code, 0) << Describe(gen);
  WriteFile(ws.dir + "/cutover.yaml", ReadText(example + "/cutover.yaml"));
  return ws;
}

// Four tables, each written by hand below: the source file and what PostgreSQL holds.
Workspace SmallSpec(const std::string& entities_yaml) {
  Workspace ws{TempDir(), FreshDatabase(), {}};
  WriteFile(ws.dir + "/cutover.yaml",
            "migration: handmade\n"
            "target:\n"
            "  url: \"${DATABASE_URL}\"\n"
            "sources:\n"
            "  files: { type: json, path: data/ }\n"
            "entities:\n" +
                entities_yaml);
  return ws;
}

TEST(VerifyDiffTest, NamesEveryKeyChangedBehindItsBackAndHonoursTheFloatTolerance) {
  const Workspace ws = FluxStudio();
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  ASSERT_EQ(verify.exit_code, 0) << Describe(verify);

  // Pick the victims; ids are PostgreSQL's own text for the uuids.
  const Rows users = Query(ws.url, "SELECT id::text FROM users ORDER BY id LIMIT 2");
  const Rows projects = Query(ws.url,
                              "SELECT id::text FROM projects WHERE progress BETWEEN 0.2 AND 0.9 "
                              "ORDER BY id LIMIT 2");
  const std::string task = QueryValue(ws.url, "SELECT id::text FROM tasks ORDER BY id LIMIT 1");
  ASSERT_EQ(users.size(), 2u);
  ASSERT_EQ(projects.size(), 2u);
  ASSERT_FALSE(task.empty());
  const std::string deleted_user = users[0][0];
  const std::string email_user = users[1][0];
  const std::string extra_user = "ffffffff-0000-4000-8000-00000000e7a1";
  const std::string one_percent = projects[0][0];
  const std::string hundredth_percent = projects[1][0];
  const int64_t task_count = std::stoll(QueryValue(ws.url, "SELECT count(*) FROM tasks"));

  Exec(ws.url, "DELETE FROM users WHERE id = '" + deleted_user + "';" +
                   "INSERT INTO users (id, email, name, role) VALUES ('" + extra_user +
                   "', 'intruder@example.com', 'Not In Source', 'client');" +
                   "UPDATE users SET email = 'changed@example.com' WHERE id = '" + email_user +
                   "';" + "UPDATE projects SET progress = progress * 1.01 WHERE id = '" +
                   one_percent + "';" +
                   "UPDATE projects SET progress = progress * 1.0001 WHERE id = '" +
                   hundredth_percent + "';" + "DELETE FROM tasks WHERE id = '" + task + "';");

  // With a 0.1% tolerance the 0.01% change is not a difference; the 1% one is.
  verify =
      Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed", "--float-tolerance", "0.001"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  json report = ParseReport(verify);
  EXPECT_EQ(report.value("clean", true), false);

  json u = EntityOf(report, "users");
  EXPECT_EQ(Keys(u, "missing_keys"), std::vector<std::string>{"id=" + deleted_user});
  EXPECT_EQ(Keys(u, "extra_keys"), std::vector<std::string>{"id=" + extra_user});
  EXPECT_EQ(Changed(u), (decltype(Changed(u)){{"id=" + email_user, {"email"}}}));
  EXPECT_EQ(u.value("source_rows", -1), 500);
  EXPECT_EQ(u.value("target_rows", -1), 500);
  EXPECT_EQ(u.value("matched", -1), 498);
  EXPECT_EQ(u.value("missing", -1), 1);
  EXPECT_EQ(u.value("extra", -1), 1);
  EXPECT_EQ(u.value("changed", -1), 1);

  json p = EntityOf(report, "projects");
  EXPECT_EQ(Keys(p, "missing_keys"), std::vector<std::string>{});
  EXPECT_EQ(Keys(p, "extra_keys"), std::vector<std::string>{});
  EXPECT_EQ(Changed(p), (decltype(Changed(p)){{"id=" + one_percent, {"progress"}}}));
  EXPECT_EQ(p.value("matched", -1), 249);

  json t = EntityOf(report, "tasks");
  EXPECT_EQ(Keys(t, "missing_keys"), std::vector<std::string>{"id=" + task});
  EXPECT_EQ(Keys(t, "extra_keys"), std::vector<std::string>{});
  EXPECT_EQ(Changed(t), (decltype(Changed(t)){}));
  EXPECT_EQ(t.value("source_rows", -1), task_count);
  EXPECT_EQ(t.value("target_rows", -1), task_count - 1);

  json m = EntityOf(report, "milestones");
  EXPECT_EQ(m.value("missing", -1) + m.value("extra", -1) + m.value("changed", -1), 0);

  // Exact comparison: the 0.01% project is a difference too.
  verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  report = ParseReport(verify);
  p = EntityOf(report, "projects");
  auto expected_exact = decltype(Changed(p)){{"id=" + one_percent, {"progress"}},
                                             {"id=" + hundredth_percent, {"progress"}}};
  std::sort(expected_exact.begin(), expected_exact.end());
  EXPECT_EQ(Changed(p), expected_exact);

  // The plain-text report lists the same keys and the accuracy they cost.
  verify = Cutover(ws, {"verify", "cutover.yaml", "--detailed", "--float-tolerance", "0.001"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  const std::string& text = verify.out;
  for (const std::string& line : {"users missing in PostgreSQL: id=" + deleted_user,
                                  "users extra in PostgreSQL: id=" + extra_user,
                                  "users changed: id=" + email_user + " (columns: email)",
                                  "projects changed: id=" + one_percent + " (columns: progress)",
                                  "tasks missing in PostgreSQL: id=" + task}) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing line: " << line << "\n"
                                                         << text;
  }
  EXPECT_EQ(text.find(hundredth_percent), std::string::npos) << text;
  // users: 498 matched of 501 keys; projects: 249 of 250.
  EXPECT_EQ(SummaryLine(text, "users"),
            (std::vector<std::string>{"users", "500", "500", "498", "1", "1", "1", "99.40%"}));
  EXPECT_EQ(SummaryLine(text, "projects"),
            (std::vector<std::string>{"projects", "250", "250", "249", "0", "0", "1", "99.60%"}));
  EXPECT_EQ(SummaryLine(text, "milestones").back(), "100.00%");
  EXPECT_NE(SummaryLine(text, "tasks").back(), "100.00%");
}

TEST(VerifyDiffTest, RepeatedSourceKeyCountsItsLastOccurrence) {
  Workspace ws = SmallSpec(
      "  events:\n"
      "    source: { from: files, file: events.jsonl }\n"
      "    key: [id]\n"
      "    columns:\n"
      "      id:   { type: text }\n"
      "      v:    { type: integer }\n"
      "      note: { type: text }\n");
  WriteFile(ws.dir + "/data/events.jsonl",
            "{\"id\": \"a\", \"v\": 1, \"note\": \"first\"}\n"
            "{\"id\": \"b\", \"v\": 2, \"note\": \"only\"}\n"
            "{\"id\": \"a\", \"v\": 3, \"note\": \"second\"}\n");
  Exec(ws.url,
       "CREATE TABLE events (id text PRIMARY KEY, v integer, note text);"
       "INSERT INTO events VALUES ('a', 3, 'second'), ('b', 2, 'only');");

  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  json e = EntityOf(ParseReport(verify), "events");
  EXPECT_EQ(e.value("source_rows", -1), 2);
  EXPECT_EQ(e.value("source_duplicates", -1), 1);
  EXPECT_EQ(e.value("matched", -1), 2);

  // Holding the first occurrence instead is a difference in both columns.
  Exec(ws.url, "UPDATE events SET v = 1, note = 'first' WHERE id = 'a'");
  verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  e = EntityOf(ParseReport(verify), "events");
  EXPECT_EQ(Changed(e), (decltype(Changed(e)){{"id=a", {"v", "note"}}}));

  // The backfill itself stores the last occurrence, and verify agrees with it.
  ws.url = FreshDatabase();
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(Query(ws.url, "SELECT id, v::text, note FROM events ORDER BY id"),
            (Rows{{"a", "3", "second"}, {"b", "2", "only"}}));
  verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
}

// A keep_last_by numeric orders by value, not by its text: 10.25 is above
// 9.5, -3.5 above -12 and 0.5 above 0.05. Verify picks the row the backfill
// kept for each repeated key, in its first pass, and names a key that holds
// another of its rows.
TEST(VerifyDiffTest, RepeatedKeysOfACsvKeepTheGreatestNumeric) {
  Workspace ws{TempDir(), FreshDatabase(), {}};
  WriteFile(ws.dir + "/cutover.yaml",
            "migration: handmade\n"
            "target:\n"
            "  url: \"${DATABASE_URL}\"\n"
            "sources:\n"
            "  files: { type: csv, path: data/ }\n"
            "entities:\n"
            "  readings:\n"
            "    source: { from: files, file: readings.csv }\n"
            "    key: [id]\n"
            "    columns:\n"
            "      id:   { type: integer }\n"
            "      v:    { type: numeric }\n"
            "      note: { type: text }\n"
            "    dedup: { key: [id], keep_last_by: [v] }\n");
  WriteFile(ws.dir + "/data/readings.csv",
            "id,v,note\n"
            "1,10.25,high\n"
            "1,9.5,low\n"
            "2,-3.5,less negative\n"
            "2,-12,more negative\n"
            "3,0.5,half\n"
            "3,0.05,twentieth\n"
            "4,7,only\n");
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(Query(ws.url, "SELECT id::text, note FROM readings ORDER BY id"),
            (Rows{{"1", "high"}, {"2", "less negative"}, {"3", "half"}, {"4", "only"}}));

  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml", "--json"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  EXPECT_EQ(verify.err.find("buckets differ"), std::string::npos) << Describe(verify);
  json e = EntityOf(ParseReport(verify), "readings");
  EXPECT_EQ(e.value("source_rows", -1), 4);
  EXPECT_EQ(e.value("source_duplicates", -1), 3);

  Exec(ws.url, "UPDATE readings SET v = 9.5, note = 'low' WHERE id = 1");
  verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  e = EntityOf(ParseReport(verify), "readings");
  EXPECT_EQ(Changed(e), (decltype(Changed(e)){{"id=1", {"v", "note"}}}));
}

TEST(VerifyDiffTest, EquivalentFormsOfNumericJsonbAndTimestampsAreEqual) {
  Workspace ws = SmallSpec(
      "  items:\n"
      "    source: { from: files, file: items.json }\n"
      "    key: [id]\n"
      "    columns:\n"
      "      id:     { type: integer }\n"
      "      amount: { type: numeric }\n"
      "      doc:    { type: jsonb }\n"
      "      at:     { type: timestamptz }\n");
  WriteFile(ws.dir + "/data/items.json",
            R"([
  {"id": 1, "amount": "1.50", "doc": {"b": 1, "a": {"y": [1,  2], "x": "s"}},
   "at": "2024-03-01T12:00:00+05:30"},
  {"id": 2, "amount": 2, "doc": {  "k" :  true , "arr":[ ] }, "at": "2024-02-29T23:30:00-08:00"},
  {"id": 3, "amount": "-0.0", "doc": [3, {"z": null, "a": "\u00e9"}],
   "at": "2024-03-01T06:30:00.250Z"}
]
)");
  // What PostgreSQL holds was written in other forms of the same values (a
  // numeric's scale is part of its value: "1.50" is not "1.5").
  Exec(ws.url,
       "CREATE TABLE items (id integer PRIMARY KEY, amount numeric, doc jsonb, at timestamptz);"
       "INSERT INTO items VALUES "
       "(1, '150e-2', '{\"a\":{\"x\":\"s\",\"y\":[1,2]},\"b\":1}', '2024-03-01 06:30:00+00'),"
       "(2, 2, '{\"arr\": [], \"k\": true}', '2024-03-01 07:30:00+00'),"
       "(3, -0.0, '[3, {\"a\": \"é\", \"z\": null}]', '2024-03-01 01:30:00.25-05');");

  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
  json e = EntityOf(ParseReport(verify), "items");
  EXPECT_EQ(e.value("source_rows", -1), 3);
  EXPECT_EQ(e.value("matched", -1), 3);

  // Not vacuous: a real change in each column is seen.
  Exec(ws.url,
       "UPDATE items SET amount = 1.51 WHERE id = 1;"
       "UPDATE items SET doc = '{\"arr\": [], \"k\": false}' WHERE id = 2;"
       "UPDATE items SET at = '2024-03-01 06:30:00.26+00' WHERE id = 3;");
  verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  e = EntityOf(ParseReport(verify), "items");
  EXPECT_EQ(Changed(e),
            (decltype(Changed(e)){{"id=1", {"amount"}}, {"id=2", {"doc"}}, {"id=3", {"at"}}}));
}

// jsonb compares numbers by value (100 = 100.0 = 1e2), and PostgreSQL prints 1e2 as 100 while
// the source side may carry 100.0: verify must call such rows equal, however PostgreSQL got them.
TEST(VerifyDiffTest, JsonbIntegralNumbersWrittenAsFloatsOrExponentsAreEqual) {
  Workspace ws = SmallSpec(
      "  docs:\n"
      "    source: { from: files, file: docs.json }\n"
      "    key: [id]\n"
      "    columns:\n"
      "      id:  { type: integer }\n"
      "      doc: { type: jsonb }\n");
  WriteFile(ws.dir + "/data/docs.json",
            R"([{"id": 1, "doc": {"n": 1e2, "m": 1.5E1, "k": 2.50, "small": 1e-7, "z": -0.0}},
                {"id": 2, "doc": [100.0, 10000000000000000000, 1e19, 3]}])"
            "\n");
  // Written by the application, not by cutover: integers where the source had floats.
  Exec(ws.url,
       "CREATE TABLE docs (id integer PRIMARY KEY, doc jsonb);"
       "INSERT INTO docs VALUES (1, '{\"k\": 2.5, \"m\": 15, \"n\": 100, \"small\": 1e-7, "
       "\"z\": 0}'), (2, '[100, 1e19, 10000000000000000000.0, 3.0]');");
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);

  // A real change is still one.
  Exec(ws.url, "UPDATE docs SET doc = '[100, 1e19, 1e19, 4]' WHERE id = 2");
  verify = Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  json e = EntityOf(ParseReport(verify), "docs");
  EXPECT_EQ(Changed(e), (decltype(Changed(e)){{"id=2", {"doc"}}}));

  // The backfill's own rows verify clean, and PostgreSQL holds the same numbers.
  ws.url = FreshDatabase();
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) FROM docs WHERE (id = 1 AND doc = '{\"k\": 2.50, \"m\": "
                       "15, \"n\": 100, \"small\": 0.0000001, \"z\": 0}') OR (id = 2 AND doc = "
                       "'[100, 10000000000000000000, 10000000000000000000, 3]')"),
            "2");
  verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
}

// A float tolerance compares magnitudes; it must not make a NULL equal to 0.0.
TEST(VerifyDiffTest, FloatToleranceDoesNotHideNullAgainstZero) {
  Workspace ws = SmallSpec(
      "  scores:\n"
      "    source: { from: files, file: scores.json }\n"
      "    key: [id]\n"
      "    columns:\n"
      "      id:    { type: integer }\n"
      "      score: { type: float8 }\n");
  WriteFile(ws.dir + "/data/scores.json",
            R"([{"id": 1, "score": 0.0}, {"id": 2, "score": null}, {"id": 3, "score": 5}])"
            "\n");
  Exec(ws.url,
       "CREATE TABLE scores (id integer PRIMARY KEY, score float8);"
       "INSERT INTO scores VALUES (1, NULL), (2, 0), (3, 5.000001);");
  CommandResult verify =
      Cutover(ws, {"verify", "cutover.yaml", "--json", "--detailed", "--float-tolerance", "0.001"});
  EXPECT_EQ(verify.exit_code, 1) << Describe(verify);
  json e = EntityOf(ParseReport(verify), "scores");
  EXPECT_EQ(Changed(e), (decltype(Changed(e)){{"id=1", {"score"}}, {"id=2", {"score"}}}));
  EXPECT_EQ(e.value("matched", -1), 1);
}

}  // namespace
}  // namespace cutover::testing
