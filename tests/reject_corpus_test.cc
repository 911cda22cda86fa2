// Tests that `cutover backfill` rejects every bad record of a corpus (mapping
// and PostgreSQL refusals alike) with its exact position and reason, and lands the rest.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;
using Rows = std::vector<std::vector<std::string>>;

const std::string kNull = "\\N";

// The migration: people (JSON lines) with nested pets, then orders (a JSON
// array). Tables are created by the test, so that people.balance and
// orders.total can be numeric(5,2): cutover maps 123456.7 as a numeric, and
// only PostgreSQL refuses it.
constexpr char kSpec[] = R"(migration: rejects
target:
  url: "${DATABASE_URL}"
sources:
  files: { type: json, path: data/ }
backfill: { batch_size: 4, max_rejects: 0 }
entities:
  people:
    source: { from: files, file: people.jsonl }
    priority: 1
    key: [id]
    columns:
      id:      { type: integer }
      name:    { type: text, required: true }
      age:     { type: integer }
      uid:     { type: uuid }
      born:    { type: date }
      seen_at: { type: timestamptz }
      balance: { type: numeric }
    children:
      pets:
        path: pets
        key: [person_id, n]
        parent: { person_id: id }
        columns:
          person_id: { type: integer }
          n:         { type: integer }
          kind:      { type: text, required: true }
  orders:
    source: { from: files, file: orders.json }
    priority: 2
    key: [id]
    columns:
      id:    { type: integer }
      total: { type: numeric }
      note:  { type: text }
)";

constexpr char kTablesDdl[] = R"sql(
CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL, age integer, uid uuid,
                     born date, seen_at timestamptz, balance numeric(5,2));
CREATE TABLE pets (person_id integer NOT NULL REFERENCES people (id), n integer NOT NULL,
                   kind text NOT NULL, PRIMARY KEY (person_id, n));
CREATE TABLE orders (id integer PRIMARY KEY, total numeric(5,2), note text);
)sql";

// One expected reject of a record. `record` is "" for "the whole source
// record, byte for byte"; else the exact text expected (a nested child that
// the mapper rejects is kept as its own minified JSON).
struct Bad {
  std::string entity;
  std::string item;
  std::string field;
  std::string reason;  // a fragment of the reason
  bool by_postgres = false;
  std::string record;
};

// A whole record the mapper rejects.
Bad Mapper(std::string entity, std::string field, std::string reason) {
  return {std::move(entity), "", std::move(field), std::move(reason), false, ""};
}
// A nested child the mapper rejects; it keeps `record`, its own JSON.
Bad Child(std::string item, std::string field, std::string reason, std::string record) {
  return {"pets", std::move(item), std::move(field), std::move(reason), false, std::move(record)};
}
// A row PostgreSQL refuses; it keeps the whole record.
Bad Refused(std::string entity, std::string item, std::string reason) {
  return {std::move(entity), std::move(item), "", std::move(reason), true, ""};
}

// A child row left out because PostgreSQL refused its parent row (which
// its foreign key needs); it keeps the whole record.
Bad Orphan(std::string entity, std::string item) {
  return {std::move(entity),
          std::move(item),
          "",
          "not written: PostgreSQL refused its record's parent row",
          true,
          ""};
}

// One line of people.jsonl (or one element of orders.json) and what must
// become of it. No `bad`: the record lands whole.
struct Source {
  std::string text;  // "" = a blank line (JSON lines only)
  std::vector<Bad> bad;
};

const std::vector<Source> kPeople = {
    // Batch 0: all good.
    {R"({"id":1,"name":"Ada","age":36,"uid":"0E7E4C5A-1B2C-4D3E-8F90-A1B2C3D4E5F6",)"
     R"("born":"1815-12-10","seen_at":"2024-01-02T03:04:05Z","balance":"12.50",)"
     R"("pets":[{"n":1,"kind":"cat"},{"n":2,"kind":"owl"}]})",
     {}},
    {R"({"id":2,"name":"Brendan","age":"41","born":"1961-10-15"})", {}},
    {R"({"id":3,"name":"Cora","seen_at":"2024-01-02T05:04:05+02:00","balance":999.99})", {}},
    {R"({"id":4,"name":"Dmitri","pets":[]})", {}},
    {"", {}},
    // Batch 1.
    {R"({"id":5,"name":"Eve")", {Mapper("people", "", "malformed JSON")}},
    {R"({"id":6,"name":"Finn","age":"forty"})",
     {Mapper("people", "age", "invalid integer 'forty'")}},
    {R"({"id":7,"name":"Gus","age":3000000000})",
     {Mapper("people", "age", "3000000000 is out of range for integer (int4)")}},
    {R"({"id":8,"name":"Hal","pets":[{"n":1,"kind":"dog"},"parrot",{"n":3,"kind":"fish"}]})",
     {Child("pets[1]", "pets", "expected an object, got string", R"("parrot")")}},
    // Batch 2.
    {R"({"id":9,"name":"Ivy\u0000"})", {Mapper("people", "name", "text contains a NUL byte")}},
    {"{\"id\":10,\"name\":\"J\xff\xfe\x6f\"}", {Mapper("people", "", "invalid UTF-8")}},
    {R"({"id":11,"age":30})", {Mapper("people", "name", "missing required field 'name'")}},
    {R"({"id":12,"name":"Kim","born":"10000-01-01"})",
     {Mapper("people", "born", "date out of range: year 10000")}},
    // Batch 3: Ned maps, PostgreSQL refuses his balance, and so his pet is
    // not written (its parent row is missing); Sam, in the same statements,
    // lands.
    {R"({"id":13,"name":"Lou","uid":"not-a-uuid"})",
     {Mapper("people", "uid", "invalid uuid 'not-a-uuid'")}},
    {R"({"id":14,"name":"Max","seen_at":"2024-02-30T10:00:00Z"})",
     {Mapper("people", "seen_at", "invalid timestamp '2024-02-30T10:00:00Z'")}},
    {R"({"id":15,"name":"Ned","balance":123456.7,"pets":[{"n":1,"kind":"cat"}]})",
     {Refused("people", "", "numeric field overflow"), Orphan("pets", "pets[0]")}},
    {R"({"id":16,"name":"Sam","pets":[{"n":1,"kind":"dog"}]})", {}},
    // Batch 4. Leading blanks are not part of a record, nor of its position.
    {R"([16,"not an object"])", {Mapper("people", "", "record is a JSON array, not an object")}},
    {"\t{\"id\":17,\"name\":\"Oda\",\"age\":true}",
     {Mapper("people", "age", "expected integer, got boolean")}},
    {R"({"id":18,"name":"Pia","balance":"-999.99","pets":[{"n":"one","kind":"cat"}]})",
     {Child("pets[0]", "n", "invalid integer 'one'", R"({"n":"one","kind":"cat"})")}},
    {R"(  {"id":19,"name":"Quinn","balance":"1000"})",
     {Refused("people", "", "numeric field overflow")}},
    // Batch 5.
    {R"(  {"id":20,"name":"Rae"})", {}},
    {R"({"id":21,"name":"Uma","seen_at":"2024-01-01T22:04:05-05:00"})", {}},
};

const std::vector<Source> kOrders = {
    {R"({"id": 1, "total": "10.00", "note": "first"})", {}},
    {R"({"id": 2, "total": 1000})", {Refused("orders", "", "numeric field overflow")}},
    {R"("oops")", {Mapper("orders", "", "record is a JSON string, not an object")}},
    {R"({"id": 4, "total": "lots"})", {Mapper("orders", "total", "invalid numeric 'lots'")}},
    {R"({"id": 5, "total": })", {Mapper("orders", "", "malformed JSON")}},
    {R"({"id": 6, "note": "tab\tand \"quote\""})", {}},
};

// What landed, by hand. Queried with TimeZone UTC and DateStyle ISO.
const Rows kPeopleRows = {
    {"1", "Ada", "36", "0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6", "1815-12-10",
     "2024-01-02 03:04:05+00", "12.50"},
    {"2", "Brendan", "41", kNull, "1961-10-15", kNull, kNull},
    {"3", "Cora", kNull, kNull, kNull, "2024-01-02 03:04:05+00", "999.99"},
    {"4", "Dmitri", kNull, kNull, kNull, kNull, kNull},
    {"8", "Hal", kNull, kNull, kNull, kNull, kNull},
    {"16", "Sam", kNull, kNull, kNull, kNull, kNull},
    {"18", "Pia", kNull, kNull, kNull, kNull, "-999.99"},
    {"20", "Rae", kNull, kNull, kNull, kNull, kNull},
    {"21", "Uma", kNull, kNull, kNull, "2024-01-02 03:04:05+00", kNull},
};
const Rows kPetsRows = {
    {"1", "1", "cat"}, {"1", "2", "owl"}, {"8", "1", "dog"}, {"8", "3", "fish"}, {"16", "1", "dog"},
};
const Rows kOrdersRows = {
    {"1", "10.00", "first"},
    {"6", kNull, "tab\tand \"quote\""},
};

// Per table: records (or nested items) read, rows migrated, rejected.
struct Counts {
  std::string entity;
  int64_t read, migrated, rejected;
};
// people: 22 records, 9 land. pets: Ada 2 + Hal 3 + Ned 1 + Sam 1 + Pia 1 = 8
// read (the pets of records the mapper rejected are never read), 5 land.
const Counts kCounts[] = {{"people", 22, 9, 13}, {"pets", 8, 5, 3}, {"orders", 6, 2, 4}};
// A dry run cannot see what PostgreSQL would refuse: Ned, Quinn, Ned's pet
// and order 2 count as written.
const Counts kDryCounts[] = {{"people", 22, 11, 11}, {"pets", 8, 6, 2}, {"orders", 6, 3, 3}};

const char kPeopleSelect[] =
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; "
    "SELECT id, name, age, uid, born, seen_at, balance FROM people ORDER BY id";
const char kPetsSelect[] = "SELECT person_id, n, kind FROM pets ORDER BY person_id, n";
const char kOrdersSelect[] = "SELECT id, total, note FROM orders ORDER BY id";

// A reject as the test expects it, with its position worked out from the
// bytes the test wrote.
struct WantReject {
  Bad bad;
  std::string source;  // absolute path of the file
  std::string raw;     // the whole source record
  int64_t record_index;
  int64_t line;
  int64_t byte_offset;
};

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Writes the spec and both data files into a fresh folder; returns the folder
// and, through `want`, every expected reject with its position.
std::string WriteCorpus(std::vector<WantReject>* want) {
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::string people_path = (fs::path(dir) / "data" / "people.jsonl").lexically_normal();
  const std::string orders_path = (fs::path(dir) / "data" / "orders.json").lexically_normal();

  // JSON lines: line N is record text N-1 (blank lines count as lines, not
  // as records); the position is the first non-blank byte.
  std::string people;
  int64_t record = 0;
  for (size_t i = 0; i < kPeople.size(); ++i) {
    const Source& s = kPeople[i];
    const size_t lead = s.text.find_first_not_of(" \t");
    if (lead != std::string::npos) {
      const std::string raw = s.text.substr(lead);
      for (const Bad& b : s.bad) {
        want->push_back({b, people_path, raw, record, static_cast<int64_t>(i) + 1,
                         static_cast<int64_t>(people.size() + lead)});
      }
      ++record;
    }
    people += s.text + "\n";
  }
  WriteFile(people_path, people);

  // A JSON array, one element per line after the "[" line.
  std::string orders = "[\n";
  for (size_t i = 0; i < kOrders.size(); ++i) {
    const Source& s = kOrders[i];
    orders += "  ";
    for (const Bad& b : s.bad) {
      want->push_back({b, orders_path, s.text, static_cast<int64_t>(i), static_cast<int64_t>(i) + 2,
                       static_cast<int64_t>(orders.size())});
    }
    orders += s.text + (i + 1 < kOrders.size() ? ",\n" : "\n");
  }
  orders += "]\n";
  WriteFile(orders_path, orders);
  return dir;
}

CommandResult Backfill(const std::string& dir, const std::string& url,
                       const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {CutoverBinary(), "backfill", dir + "/cutover.yaml"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCommand(argv, {{"DATABASE_URL", url}}, dir);
}

// The summary table's row for `entity`: read, migrated (or would write),
// rejected; {-1, -1, -1} when absent.
std::tuple<int64_t, int64_t, int64_t> SummaryRow(const std::string& out,
                                                 const std::string& entity) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    int64_t read, migrated, rejected;
    if (words >> first && first == entity && words >> read >> migrated >> rejected) {
      return {read, migrated, rejected};
    }
  }
  return {-1, -1, -1};
}

std::vector<nlohmann::json> ReadRejectFile(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "no reject file " << path;
  for (std::string line; std::getline(in, line);) {
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << "reject file line is not JSON (" << e.what() << "): " << line;
    }
  }
  return out;
}

std::string Key(const std::string& entity, const std::string& source, int64_t record_index,
                const std::string& item) {
  return entity + "|" + source + "|" + std::to_string(record_index) + "|" + item;
}

void ExpectReason(const std::string& reason, const Bad& bad) {
  EXPECT_NE(reason.find(bad.reason), std::string::npos)
      << "reason '" << reason << "' lacks '" << bad.reason << "'";
  if (bad.by_postgres && bad.reason.rfind("not written:", 0) != 0) {
    EXPECT_EQ(reason.rfind("PostgreSQL refused the row", 0), 0u) << reason;
  }
}

// The bytes a reject keeps: the whole record, except for a nested child the
// mapper rejected, which keeps the child alone.
std::string WantRecord(const WantReject& w) {
  return w.bad.record.empty() ? w.raw : w.bad.record;
}

void ExpectRejectFile(const std::string& path, const std::vector<WantReject>& want) {
  const std::vector<nlohmann::json> got = ReadRejectFile(path);
  EXPECT_EQ(got.size(), want.size());
  std::map<std::string, nlohmann::json> by_key;
  for (const auto& j : got) {
    const std::string key = Key(j.value("entity", ""), j.value("source", ""),
                                j.value("record_index", int64_t{-1}), j.value("item", ""));
    EXPECT_TRUE(by_key.emplace(key, j).second) << "reject file repeats " << key;
  }
  for (const WantReject& w : want) {
    const std::string key = Key(w.bad.entity, w.source, w.record_index, w.bad.item);
    SCOPED_TRACE("reject file: " + key);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      ADD_FAILURE() << "missing from the reject file";
      continue;
    }
    const nlohmann::json& j = it->second;
    EXPECT_EQ(j.value("line", int64_t{-1}), w.line);
    EXPECT_EQ(j.value("byte_offset", int64_t{-1}), w.byte_offset);
    EXPECT_EQ(j.contains("item"), !w.bad.item.empty());
    EXPECT_EQ(j.value("field", ""), w.bad.field);
    EXPECT_EQ(j.contains("field"), !w.bad.field.empty());
    ExpectReason(j.value("reason", ""), w.bad);
    const std::string record = WantRecord(w);
    if (record.find('\xff') != std::string::npos) {
      EXPECT_FALSE(j.contains("record"));
      EXPECT_EQ(j.value("record_base64", ""), Base64(record));
    } else {
      EXPECT_EQ(j.value("record", ""), record);
    }
  }
}

void ExpectRejectTable(const std::string& url, const std::vector<WantReject>& want) {
  const Rows got =
      Query(url,
            "SELECT entity, source, byte_offset, line, record_index, item, field, reason, "
            "encode(record, 'hex') FROM cutover.rejects WHERE migration = 'rejects' ORDER BY id");
  EXPECT_EQ(got.size(), want.size());
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& row : got) {
    ASSERT_EQ(row.size(), 9u);
    const std::string key = Key(row[0], row[1], std::stoll(row[4]), row[5]);
    EXPECT_TRUE(by_key.emplace(key, row).second) << "cutover.rejects repeats " << key;
  }
  for (const WantReject& w : want) {
    const std::string key = Key(w.bad.entity, w.source, w.record_index, w.bad.item);
    SCOPED_TRACE("cutover.rejects: " + key);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      ADD_FAILURE() << "missing from cutover.rejects";
      continue;
    }
    const auto& row = it->second;
    EXPECT_EQ(row[2], std::to_string(w.byte_offset));
    EXPECT_EQ(row[3], std::to_string(w.line));
    EXPECT_EQ(row[6], w.bad.field.empty() ? kNull : w.bad.field);
    ExpectReason(row[7], w.bad);
    EXPECT_EQ(row[8], Hex(WantRecord(w)));
  }
}

std::vector<WantReject> MapperRejects(const std::vector<WantReject>& all) {
  std::vector<WantReject> out;
  for (const auto& w : all) {
    if (!w.bad.by_postgres) out.push_back(w);
  }
  return out;
}

TEST(RejectCorpusTest, EveryBadRecordIsRejectedWithItsPositionAndEveryGoodOneLands) {
  std::vector<WantReject> want;
  const std::string dir = WriteCorpus(&want);
  ASSERT_EQ(want.size(), 20u);  // 13 people, 3 pets, 4 orders
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  Exec(url, kTablesDdl);

  const CommandResult r = Backfill(dir, url, {"--max-rejects", "-1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  ExpectRejectFile(dir + "/.cutover/rejects.jsonl", want);
  ExpectRejectTable(url, want);

  EXPECT_EQ(Query(url, kPeopleSelect), kPeopleRows);
  EXPECT_EQ(Query(url, kPetsSelect), kPetsRows);
  EXPECT_EQ(Query(url, kOrdersSelect), kOrdersRows);

  const Rows ledger = Query(url,
                            "SELECT entity, records_read, rows_merged, records_rejected, done "
                            "FROM cutover.backfill_ledger WHERE migration = 'rejects'");
  EXPECT_EQ(ledger.size(), std::size(kCounts));
  for (const Counts& c : kCounts) {
    SCOPED_TRACE(c.entity);
    auto it = std::find_if(ledger.begin(), ledger.end(),
                           [&](const auto& row) { return row[0] == c.entity; });
    ASSERT_NE(it, ledger.end());
    EXPECT_EQ(c.read, c.migrated + c.rejected);  // the table above adds up
    EXPECT_EQ(
        *it, (std::vector<std::string>{c.entity, std::to_string(c.read), std::to_string(c.migrated),
                                       std::to_string(c.rejected), "t"}));
    EXPECT_EQ(SummaryRow(r.out, c.entity), std::make_tuple(c.read, c.migrated, c.rejected))
        << r.out;
  }
  EXPECT_NE(r.out.find("20 rejected records are in " + dir + "/.cutover/rejects.jsonl"),
            std::string::npos)
      << r.out;
}

TEST(RejectCorpusTest, MaxRejectsZeroStopsAfterTheFirstBatchWithARejectAndExits1) {
  std::vector<WantReject> all;
  const std::string dir = WriteCorpus(&all);
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());
  Exec(url, kTablesDdl);

  const CommandResult r = Backfill(dir, url, {"--max-rejects", "0"});
  ASSERT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("more than --max-rejects 0"), std::string::npos) << r.err;

  // Batch 0 (records 0-3) is clean; batch 1 (records 4-7) holds the first
  // rejects and commits whole, with Hal and his good pets; then it stops.
  std::vector<WantReject> want;
  for (const auto& w : all) {
    if (w.source.ends_with("people.jsonl") && w.record_index < 8) want.push_back(w);
  }
  ASSERT_EQ(want.size(), 4u);
  ExpectRejectFile(dir + "/.cutover/rejects.jsonl", want);
  ExpectRejectTable(url, want);
  EXPECT_EQ(Query(url, "SELECT id FROM people ORDER BY id"),
            (Rows{{"1"}, {"2"}, {"3"}, {"4"}, {"8"}}));
  EXPECT_EQ(Query(url, kPetsSelect),
            (Rows{{"1", "1", "cat"}, {"1", "2", "owl"}, {"8", "1", "dog"}, {"8", "3", "fish"}}));
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM orders"), "0");
  EXPECT_EQ(QueryValue(url, "SELECT done FROM cutover.backfill_ledger WHERE entity = 'people'"),
            "f");
  EXPECT_EQ(SummaryRow(r.out, "people"), std::make_tuple(int64_t{8}, int64_t{5}, int64_t{3}))
      << r.out;
  EXPECT_EQ(std::get<0>(SummaryRow(r.out, "orders")), -1) << r.out;
}

TEST(RejectCorpusTest, DryRunWritesNothingAndReportsWhatItWouldReject) {
  std::vector<WantReject> all;
  const std::string dir = WriteCorpus(&all);
  const std::string url = FreshDatabase();
  ASSERT_FALSE(url.empty());

  const CommandResult r = Backfill(dir, url, {"--dry-run", "--max-rejects", "-1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'cutover'"), "0");
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                       "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                       "'information_schema', 'pg_toast')"),
            "0");
  EXPECT_FALSE(fs::exists(dir + "/.cutover/rejects.jsonl"));

  for (const Counts& c : kDryCounts) {
    EXPECT_EQ(c.read, c.migrated + c.rejected);
    EXPECT_EQ(SummaryRow(r.out, c.entity), std::make_tuple(c.read, c.migrated, c.rejected))
        << c.entity << "\n"
        << r.out;
  }
  // Every reject the mapper finds is reported with its position; there are
  // fewer than the 20 the dry run prints.
  const std::vector<WantReject> want = MapperRejects(all);
  ASSERT_EQ(want.size(), 16u);
  for (const WantReject& w : want) {
    const std::string where = "would reject " + w.bad.entity + " at " + w.source + ":" +
                              std::to_string(w.line) + " (byte " + std::to_string(w.byte_offset) +
                              ")" + (w.bad.item.empty() ? "" : " " + w.bad.item) + ": ";
    const size_t at = r.err.find(where);
    ASSERT_NE(at, std::string::npos) << where << "\n" << r.err;
    const std::string line = r.err.substr(at, r.err.find('\n', at) - at);
    EXPECT_NE(line.find(w.bad.reason), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace cutover::testing
