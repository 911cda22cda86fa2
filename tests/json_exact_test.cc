// Proves that JSON numbers of any length land exactly (numeric, bigint, jsonb), that a repeated
// key follows jsonb's last-wins rule everywhere, and that a broken JSON container never loads.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

using Rows = std::vector<std::vector<std::string>>;

struct Workspace {
  std::string dir;
  std::string url;
};

constexpr char kSpec[] = R"(migration: exact
target:
  url: "${DATABASE_URL}"
sources:
  files: { type: json, path: data/ }
backfill: { batch_size: 2, max_rejects: 10 }
entities:
  things:
    source: { from: files, file: things.json }
    key: [id]
    columns:
      id:     { type: integer }
      amount: { type: numeric }
      big:    { type: bigint }
      doc:    { type: jsonb }
)";

Workspace Make(const std::string& things_json) {
  Workspace ws{TempDir(), FreshDatabase()};
  WriteFile(ws.dir + "/cutover.yaml", kSpec);
  WriteFile(ws.dir + "/data/things.json", things_json);
  return ws;
}

CommandResult Cutover(const Workspace& ws, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"DATABASE_URL", ws.url}}, ws.dir);
}

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

// Record 3's bigint is beyond 2^64: valid JSON, out of range for bigint.
// Record 4 names "amount" and, inside doc, "k" twice.
const char kThings[] = R"([
  {"id": 1, "amount": 0.1000000000000000000001, "big": 9007199254740993,
   "doc": {"x": 0.1000000000000000000001, "n": 18446744073709551616}},
  {"id": 2, "amount": 18446744073709551616, "big": -9223372036854775808, "doc": [1e40, 1.50]},
  {"id": 3, "amount": 1, "big": 18446744073709551616},
  {"id": 4, "amount": 2, "amount": 3, "big": 1e2, "doc": {"k": 1, "k": 2}}
]
)";

TEST(JsonExact, NumbersLandExactlyAndRepeatedKeysTakeTheLastValue) {
  Workspace ws = Make(kThings);
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_NE(backfill.out.find("things: 1 record holds an object that names a key twice; the "
                              "last value was used"),
            std::string::npos)
      << Describe(backfill);

  // Expected values written by hand; the jsonb texts are PostgreSQL's own
  // printing (keys by length, then bytes; the last of a repeated key).
  const Rows want = {
      {"1", "0.1000000000000000000001", "9007199254740993",
       R"({"n": 18446744073709551616, "x": 0.1000000000000000000001})"},
      {"2", "18446744073709551616", "-9223372036854775808",
       "[10000000000000000000000000000000000000000, 1.50]"},
      {"4", "3", "100", R"({"k": 2})"},
  };
  EXPECT_EQ(Query(ws.url,
                  "SELECT id::text, amount::text, big::text, doc::text FROM things "
                  "ORDER BY id"),
            want);
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT doc = '{\"x\": 0.1000000000000000000001, \"n\": "
                       "18446744073709551616}'::jsonb FROM things WHERE id = 1"),
            "t");
  EXPECT_EQ(Query(ws.url, "SELECT field, reason FROM cutover.rejects"),
            (Rows{{"big", "18446744073709551616 is out of range for bigint (int8)"}}));

  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(verify.exit_code, 0) << Describe(verify);

  // Values a double would not tell apart from the source must now differ.
  for (const char* tamper :
       {"UPDATE things SET amount = 0.1 WHERE id = 1",
        "UPDATE things SET doc = '{\"x\": 0.1, \"n\": 18446744073709551616}' WHERE id = 1",
        "UPDATE things SET doc = '{\"x\": 0.1000000000000000000001, \"n\": "
        "18446744073709551617}' WHERE id = 1",
        "UPDATE things SET doc = '{\"k\": 1}' WHERE id = 4",
        "UPDATE things SET amount = 2 WHERE id = 4"}) {
    SCOPED_TRACE(tamper);
    Exec(ws.url,
         "BEGIN; CREATE TABLE saved AS SELECT * FROM things; " + std::string(tamper) + "; COMMIT");
    CommandResult changed = Cutover(ws, {"verify", "cutover.yaml", "--detailed"});
    EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
    Exec(ws.url,
         "BEGIN; DELETE FROM things; INSERT INTO things SELECT * FROM saved; "
         "DROP TABLE saved; COMMIT");
  }
  CommandResult again = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(again.exit_code, 0) << Describe(again);
}

// Each file breaks its container after at least one good batch (batch_size
// is 2); backfill and verify must both fail with the file and byte offset,
// never exit 0 over what came before the break.
TEST(JsonExact, BrokenContainerFailsBackfillAndVerifyWithItsPosition) {
  const std::string r1 = R"({"id": 1, "amount": 1})";
  const std::string r2 = R"({"id": 2, "amount": 2})";
  const std::string r3 = R"({"id": 3, "amount": 3})";
  struct {
    const char* name;
    std::string content;
    std::string where;  // "byte N (line L): reason"
  } cases[] = {
      {"unclosed", "[" + r1 + ",\n" + r2 + ",\n" + r3 + "\n",
       "byte 72 (line 4): the file ends inside record 2 or before the closing ']'"},
      {"doubled comma", "[" + r1 + ",\n" + r2 + ",,\n" + r3 + "]\n",
       "byte 48 (line 2): expected a record after ',', found ','"},
      {"missing comma", "[" + r1 + ",\n" + r2 + "\n" + r3 + "]\n",
       "byte 48 (line 3): expected ',' or ']' after record 1, found '{'"},
      {"closed twice", "[" + r1 + ",\n" + r2 + "]]\n",
       "byte 48 (line 2): found ']' after the closing ']'"},
      {"second document", "[" + r1 + ",\n" + r2 + "]\n[" + r3 + "]\n",
       "byte 49 (line 3): found '[' after the closing ']'"},
      {"just an opener", "[\n", "byte 2 (line 2): the file ends before the closing ']'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Workspace ws = Make(c.content);
    const std::string path = ws.dir + "/data/things.json";
    CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
    EXPECT_EQ(backfill.exit_code, 3) << Describe(backfill);
    EXPECT_NE(backfill.err.find(path + ": " + c.where), std::string::npos) << Describe(backfill);
    EXPECT_EQ(
        QueryValue(ws.url, "SELECT count(*) FILTER (WHERE done) FROM cutover.backfill_ledger"),
        "0");
    CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
    EXPECT_EQ(verify.exit_code, 3) << Describe(verify);
    EXPECT_NE(verify.err.find(path + ": " + c.where), std::string::npos) << Describe(verify);
  }
}

// The keyed-object layout: a missing colon, and a file that is just "{".
TEST(JsonExact, BrokenKeyedObjectFailsWithItsPosition) {
  constexpr char kObjectSpec[] = R"(migration: exact
target:
  url: "${DATABASE_URL}"
sources:
  files: { type: json, path: data/, layout: object }
entities:
  things:
    source: { from: files, file: things.json }
    key: [id]
    columns:
      id:     { from: $key, type: text }
      amount: { type: numeric }
)";
  struct {
    const char* name;
    std::string content;
    std::string where;
  } cases[] = {
      {"missing colon", "{\"a\": {\"amount\": 1},\n \"b\" {\"amount\": 2}}\n",
       "byte 26 (line 2): expected ':' after the key \"b\", found '{'"},
      {"just an opener", "{", "byte 1 (line 1): the file ends before the closing '}'"},
      {"second document", "{\"a\": {\"amount\": 1}}{\"b\": {\"amount\": 2}}",
       "byte 20 (line 1): found '{' after the closing '}'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Workspace ws{TempDir(), FreshDatabase()};
    WriteFile(ws.dir + "/cutover.yaml", kObjectSpec);
    WriteFile(ws.dir + "/data/things.json", c.content);
    const std::string path = ws.dir + "/data/things.json";
    CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
    EXPECT_EQ(backfill.exit_code, 3) << Describe(backfill);
    EXPECT_NE(backfill.err.find(path + ": " + c.where), std::string::npos) << Describe(backfill);
    CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
    EXPECT_EQ(verify.exit_code, 3) << Describe(verify);
  }
}

}  // namespace
}  // namespace cutover::testing
