// IoTDB telemetry end to end: the same points served by the REST stand-in
// (tests/iotdb_standin.py) and written as the export tool's CSV files, both
// backfilled by `cutover`, and PostgreSQL checked by hand-written SQL.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/iotdb_standin.h"
#include "support/pg_harness.h"
#include "support/serve_process.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

// Nanosecond times: T1 is one nanosecond after 2024-01-01T00:00:00Z.
constexpr const char* kT1 = "1704067200000000001";
constexpr const char* kT2 = "1704067200123456789";
constexpr const char* kT3 = "1704067260000000000";

// Every IoTDB type on device d1, two series on the backquoted device
// `line-2`, and one series (root.iotflow.site...) the pattern does not take.
// Values as IoTDB's REST API spells them.
std::string StandinData() {
  return std::string(R"({"series": [
  {"path": "root.iotflow.devices.d1.temperature", "type": "DOUBLE"},
  {"path": "root.iotflow.devices.d1.humidity", "type": "FLOAT"},
  {"path": "root.iotflow.devices.d1.status", "type": "BOOLEAN"},
  {"path": "root.iotflow.devices.d1.count", "type": "INT64"},
  {"path": "root.iotflow.devices.d1.code", "type": "INT32"},
  {"path": "root.iotflow.devices.d1.note", "type": "TEXT"},
  {"path": "root.iotflow.devices.d1.label", "type": "STRING"},
  {"path": "root.iotflow.devices.d1.blob", "type": "BLOB"},
  {"path": "root.iotflow.devices.d1.day", "type": "DATE"},
  {"path": "root.iotflow.devices.d1.seen", "type": "TIMESTAMP"},
  {"path": "root.iotflow.devices.`line-2`.temperature", "type": "DOUBLE"},
  {"path": "root.iotflow.devices.`line-2`.note", "type": "TEXT"},
  {"path": "root.iotflow.site.s1.temp", "type": "INT32"}],
 "points": [
  {"path": "root.iotflow.devices.d1.temperature", "time": )") +
         kT1 + R"(, "value": 21.5},
  {"path": "root.iotflow.devices.d1.humidity", "time": )" +
         kT1 + R"(, "value": 0.5},
  {"path": "root.iotflow.devices.d1.status", "time": )" +
         kT1 + R"(, "value": true},
  {"path": "root.iotflow.devices.d1.count", "time": )" +
         kT1 + R"(, "value": 9007199254740993},
  {"path": "root.iotflow.devices.d1.code", "time": )" +
         kT1 + R"(, "value": -7},
  {"path": "root.iotflow.devices.d1.note", "time": )" +
         kT1 +
         R"(, "value": "he said \"hi\", ok\nnext"},
  {"path": "root.iotflow.devices.d1.label", "time": )" +
         kT1 + R"(, "value": "\u00fcn\u00ef"},
  {"path": "root.iotflow.devices.d1.blob", "time": )" +
         kT1 + R"(, "value": "0x00ff00"},
  {"path": "root.iotflow.devices.d1.day", "time": )" +
         kT1 + R"(, "value": "2025-07-14"},
  {"path": "root.iotflow.devices.d1.seen", "time": )" +
         kT1 + R"(, "value": )" + kT2 + R"(},
  {"path": "root.iotflow.devices.d1.temperature", "time": )" +
         kT2 + R"(, "value": "NaN"},
  {"path": "root.iotflow.devices.d1.humidity", "time": )" +
         kT2 + R"(, "value": 12345678.0},
  {"path": "root.iotflow.devices.d1.status", "time": )" +
         kT2 + R"(, "value": false},
  {"path": "root.iotflow.devices.d1.count", "time": )" +
         kT2 +
         R"(, "value": -9223372036854775808},
  {"path": "root.iotflow.devices.d1.code", "time": )" +
         kT2 + R"(, "value": 2147483647},
  {"path": "root.iotflow.devices.d1.note", "time": )" +
         kT2 + R"(, "value": ""},
  {"path": "root.iotflow.devices.d1.day", "time": )" +
         kT2 + R"(, "value": "1999-12-31"},
  {"path": "root.iotflow.devices.d1.temperature", "time": )" +
         kT3 + R"(, "value": -0.25},
  {"path": "root.iotflow.devices.`line-2`.temperature", "time": )" +
         kT1 + R"(, "value": 0.0001},
  {"path": "root.iotflow.devices.`line-2`.note", "time": )" +
         kT1 + R"(, "value": "a,b\\c"},
  {"path": "root.iotflow.site.s1.temp", "time": )" +
         kT1 + R"(, "value": 5}]})";
}

// The same points as two export runs wrote them: d1 and the site aligned by
// time with typed headers, ISO times at +08:00 and CRLF line ends; `line-2`
// aligned by device, in UTC, with LF. TEXT in the exporter's literal quotes,
// ',' and '\' and the newline escaped with a backslash, FLOAT and DOUBLE as
// Java prints them.
void WriteExport(const std::string& dir) {
  WriteFile(dir + "/export/dump0_0.csv",
            "Time,root.iotflow.devices.d1.temperature(DOUBLE),root.iotflow.devices.d1.humidity"
            "(FLOAT),root.iotflow.devices.d1.status(BOOLEAN),root.iotflow.devices.d1.count(INT64),"
            "root.iotflow.devices.d1.code(INT32),root.iotflow.devices.d1.note(TEXT),"
            "root.iotflow.devices.d1.label(STRING),root.iotflow.devices.d1.blob(BLOB),"
            "root.iotflow.devices.d1.day(DATE),root.iotflow.devices.d1.seen(TIMESTAMP),"
            "root.iotflow.site.s1.temp(INT32)\r\n"
            "2024-01-01T08:00:00.000000001+08:00,21.5,0.5,true,9007199254740993,-7,"
            "\"he said \"hi\"\\, ok\\nnext\",\"\xc3\xbcn\xc3\xaf\",0x00ff00,2025-07-14,"
            "2024-01-01T08:00:00.123456789+08:00,5\r\n"
            "2024-01-01T08:00:00.123456789+08:00,NaN,1.2345678E7,false,-9223372036854775808,"
            "2147483647,\"\",,,1999-12-31,,\r\n"
            "2024-01-01T08:01:00.000000000+08:00,-0.25,,,,,,,,,,\r\n");
  WriteFile(dir + "/export/dump1_0.csv",
            "Time,Device,temperature(DOUBLE),note(TEXT)\n"
            "2024-01-01T00:00:00.000000001Z,root.iotflow.devices.`line-2`,1.0E-4,\"a\\,b\\\\c\"\n");
}

// One long table per way in: a point per row, each type in a column of its own.
std::string Entity(const std::string& name, const std::string& source) {
  return "  " + name + R"(:
    source: { from: )" +
         source + R"(, series: "root.iotflow.devices.{device}.{measurement}" }
    key: [device, measurement, epoch]
    columns:
      device:        { type: text }
      measurement:   { type: text }
      epoch:         { from: $epoch, type: bigint }
      type:          { from: $type, type: text }
      numeric_value: { from: $numeric, type: double precision }
      int_value:     { from: $integer, type: bigint }
      text_value:    { from: $text, type: text }
      boolean_value: { from: $boolean, type: boolean }
      blob_value:    { from: $blob, type: bytea }
      date_value:    { from: $date, type: date }
      json_value:    { from: $value, type: jsonb }
)";
}

std::string Spec() {
  return R"(migration: iotflow
target: { url: "${DATABASE_URL:-}" }
sources:
  rest: { type: iotdb, url: "${IOTDB_URL:-}", user: root, password: "${IOTDB_PASSWORD:-}", precision: ns, row_limit: "${IOTDB_ROW_LIMIT:-10000}" }
  export: { type: iotdb, path: export, precision: ns }
entities:
)" + Entity("telemetry_rest", "rest") +
         Entity("telemetry_csv", "export");
}

class IotdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IotdbStandin::Options options;
    options.data_json = StandinData();
    options.password = "s3cret-pw";
    options.precision = "ns";
    options.row_limit = 3;
    standin_ = IotdbStandin::Start(options);
    ASSERT_NE(standin_, nullptr);
    ws_.dir = TempDir();
    ws_.url = FreshDatabase();
    ws_.env = {
        {"IOTDB_URL", standin_->Url()}, {"IOTDB_PASSWORD", "s3cret-pw"}, {"IOTDB_ROW_LIMIT", "3"}};
    WriteFile(ws_.dir + "/cutover.yaml", Spec());
    WriteExport(ws_.dir);
  }

  // Moves `spec`'s migration through every stage to primary, as rollback needs.
  void MoveToPrimary(const std::string& spec) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"dual_write"},
                                                 {"shadow"},
                                                 {"rollout", "--percent", "100"},
                                                 {"primary"}}) {
      std::vector<std::string> argv = {"phase", spec, "set"};
      argv.insert(argv.end(), args.begin(), args.end());
      argv.insert(argv.end(), {"--force", "--reason", "t"});
      const CommandResult moved = Cutover(ws_, argv);
      ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
    }
  }

  // The reject file, for a failure's message.
  std::string Rejects() const {
    std::ifstream in(ws_.dir + "/.cutover/rejects.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::unique_ptr<IotdbStandin> standin_;
  Workspace ws_;
};

TEST_F(IotdbTest, RestAndCsvLoadTheSameRowsEveryTypeExact) {
  const CommandResult r = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r) << Rejects();

  // Ten points of d1 at T1, seven at T2, one at T3, two of `line-2`; none
  // of the site's, which the pattern does not take.
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM telemetry_rest"), "20");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM telemetry_csv"), "20");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM (SELECT * FROM telemetry_rest EXCEPT "
                       "SELECT * FROM telemetry_csv) d"),
            "0");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM (SELECT * FROM telemetry_csv EXCEPT "
                       "SELECT * FROM telemetry_rest) d"),
            "0");

  for (const std::string table : {"telemetry_rest", "telemetry_csv"}) {
    SCOPED_TRACE(table);
    auto one = [&](const std::string& column, const std::string& device,
                   const std::string& measurement, const std::string& epoch) {
      return QueryValue(ws_.url, "SELECT " + column + "::text FROM " + table + " WHERE device = '" +
                                     device + "' AND measurement = '" + measurement +
                                     "' AND epoch = " + epoch);
    };
    // An INT64 above 2^53, and INT64's least value, digit for digit.
    EXPECT_EQ(one("int_value", "d1", "count", kT1), "9007199254740993");
    EXPECT_EQ(one("int_value", "d1", "count", kT2), "-9223372036854775808");
    EXPECT_EQ(one("type", "d1", "count", kT1), "INT64");
    // A TIMESTAMP value at nanosecond precision, and the point's own time.
    EXPECT_EQ(one("int_value", "d1", "seen", kT1), kT2);
    EXPECT_EQ(one("json_value", "d1", "seen", kT1), kT2);
    EXPECT_EQ(one("epoch", "d1", "temperature", kT3), kT3);
    // A DOUBLE NaN, Java's 1.2345678E7 for a FLOAT, 1.0E-4.
    EXPECT_EQ(one("numeric_value", "d1", "temperature", kT2), "NaN");
    EXPECT_EQ(one("numeric_value", "d1", "humidity", kT2), "12345678");
    EXPECT_EQ(one("numeric_value", "line-2", "temperature", kT1), "0.0001");
    EXPECT_EQ(one("numeric_value", "d1", "temperature", kT3), "-0.25");
    // A BLOB with NUL bytes.
    EXPECT_EQ(one("blob_value", "d1", "blob", kT1), "\\x00ff00");
    EXPECT_EQ(one("length(blob_value)", "d1", "blob", kT1), "3");
    // DATEs.
    EXPECT_EQ(one("date_value", "d1", "day", kT1), "2025-07-14");
    EXPECT_EQ(one("date_value", "d1", "day", kT2), "1999-12-31");
    // TEXT with quotes, a comma, a newline, a backslash; an empty TEXT is
    // not a missing one; a STRING in UTF-8.
    EXPECT_EQ(one("text_value", "d1", "note", kT1), "he said \"hi\", ok\nnext");
    EXPECT_EQ(one("text_value", "line-2", "note", kT1), "a,b\\c");
    EXPECT_EQ(one("text_value", "d1", "note", kT2), "");
    EXPECT_EQ(one("text_value", "d1", "label", kT1), "\xc3\xbcn\xc3\xaf");
    EXPECT_EQ(one("boolean_value", "d1", "status", kT2), "false");
    EXPECT_EQ(one("int_value", "d1", "code", kT1), "-7");
    EXPECT_EQ(one("int_value", "d1", "code", kT2), "2147483647");
    // A value lands only in its type's column.
    EXPECT_EQ(one("numeric_value", "d1", "note", kT1), "\\N");
    EXPECT_EQ(one("text_value", "d1", "count", kT1), "\\N");
  }

  // The stand-in's row limit is 3: each page asked for 2 rows, and d1's
  // three rows took two pages and a last, empty one.
  const std::string log = standin_->Log();
  EXPECT_NE(log.find("LIMIT 2"), std::string::npos) << log;
  EXPECT_NE(log.find("WHERE time > " + std::string(kT2)), std::string::npos) << log;

  const CommandResult v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// inspect counts each device's points (18 of d1, 2 of `line-2`, by hand
// from StandinData) and says why so few need no partitions.
TEST_F(IotdbTest, InspectCountsPointsPerDeviceAndAdvisesOnPartitions) {
  const CommandResult r = Cutover(ws_, {"inspect", "cutover.yaml", "--source", "rest", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  const nlohmann::json& source = report["sources"][0];
  EXPECT_EQ(source["rows"], 20) << r.out;
  std::map<std::string, int64_t> per_device;
  for (const auto& f : source["files"]) per_device[f["path"]] = f["rows"];
  EXPECT_EQ(
      per_device["telemetry_rest: iotdb " + standin_->Url() + " device root.iotflow.devices.d1"],
      18)
      << r.out;
  EXPECT_EQ(per_device.size(), 2u) << r.out;
  const std::string advice = source["proposals"][0]["partitioning"];
  EXPECT_EQ(advice.rfind("no partitions: 20 points: too few", 0), 0u) << advice;

  // Without statistics nothing is counted, and no count is claimed.
  const CommandResult quick =
      Cutover(ws_, {"inspect", "cutover.yaml", "--source", "rest", "--no-stats"});
  ASSERT_EQ(quick.exit_code, 0) << Describe(quick);
  EXPECT_NE(quick.out.find("points not counted"), std::string::npos) << quick.out;
  EXPECT_EQ(quick.out.find("0 points"), std::string::npos) << quick.out;
}

TEST_F(IotdbTest, ARefusedLoginSaysSoAndNeverPrintsThePassword) {
  ws_.env[1].second = "wrong-pw";
  const CommandResult r =
      Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables", "--entity", "telemetry_rest"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("refused the login"), std::string::npos) << Describe(r);
  EXPECT_NE(all.find("801"), std::string::npos) << Describe(r);
  EXPECT_EQ(all.find("wrong-pw"), std::string::npos) << Describe(r);
}

TEST_F(IotdbTest, ARowLimitAboveTheServersIsNamedAsTheSettingToChange) {
  ws_.env[2].second = "10000";
  const CommandResult r =
      Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables", "--entity", "telemetry_rest"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_NE((r.out + r.err).find("row_limit"), std::string::npos) << Describe(r);
  EXPECT_NE((r.out + r.err).find("708"), std::string::npos) << Describe(r);
}

}  // namespace
}  // namespace cutover::testing

namespace cutover::testing {
namespace {

// Points of one device across three months, at millisecond precision.
std::string MonthsData() {
  return R"({"series": [{"path": "root.plant.d7.temp", "type": "DOUBLE"},
                       {"path": "root.plant.d7.door", "type": "BOOLEAN"}],
 "points": [
  {"path": "root.plant.d7.temp", "time": 1706745599999, "value": 1.5},
  {"path": "root.plant.d7.temp", "time": 1706745600000, "value": 2.5},
  {"path": "root.plant.d7.door", "time": 1706745600000, "value": true},
  {"path": "root.plant.d7.temp", "time": 1710460800000, "value": 3.5}]})";
}

// Rollback from `primary`: rows PostgreSQL changed, gained and lost go back
// into the stand-in as points (insertTablet, a BLOB by nonQuery, DELETE);
// the expected points are written out by hand, and verify reads them back.
TEST_F(IotdbTest, RollbackWritesPostgresPointsBackIntoIotdbAndTheyReadBackEqual) {
  std::string spec = Spec();
  spec = spec.substr(0, spec.find("  telemetry_csv:"));  // export files do not go back
  spec.replace(spec.find("    key: [device"), 0, "    write_back: true\n");
  WriteFile(ws_.dir + "/back.yaml", spec);
  const CommandResult b = Cutover(ws_, {"backfill", "back.yaml", "--create-tables"});
  ASSERT_EQ(b.exit_code, 0) << Describe(b) << Rejects();
  const CommandResult early = Cutover(ws_, {"rollback", "back.yaml"});
  EXPECT_NE(early.exit_code, 0) << "refused before primary: " << Describe(early);
  ASSERT_NO_FATAL_FAILURE(MoveToPrimary("back.yaml"));
  const std::string t1(kT1), t3(kT3);
  // The application, now on PostgreSQL, changes a value and a BLOB, adds an
  // INT64 above 2^53, a DATE, a series IoTDB has not seen and a point of
  // the backquoted device, and removes one.
  Exec(ws_.url,
       "UPDATE telemetry_rest SET numeric_value = 22.75, json_value = '22.75' WHERE device = 'd1' "
       "AND measurement = 'temperature' AND epoch = " +
           t1);
  Exec(ws_.url,
       "UPDATE telemetry_rest SET blob_value = '\\x00cafe00', json_value = '\"0x00cafe00\"' "
       "WHERE device = 'd1' AND measurement = 'blob' AND epoch = " +
           t1);
  Exec(ws_.url,
       "INSERT INTO telemetry_rest (device, measurement, epoch, type, int_value, numeric_value, "
       "json_value) VALUES ('d1', 'count', " +
           t3 + ", 'INT64', 9007199254740995, 9007199254740995, '9007199254740995')");
  Exec(ws_.url,
       "INSERT INTO telemetry_rest (device, measurement, epoch, type, date_value, json_value) "
       "VALUES ('d1', 'day', " +
           t3 + ", 'DATE', '2000-02-29', '\"2000-02-29\"')");
  Exec(ws_.url,
       "INSERT INTO telemetry_rest (device, measurement, epoch, type, numeric_value, json_value) "
       "VALUES ('d1', 'pressure', " +
           t3 + ", 'DOUBLE', 1013.25, '1013.25')");
  Exec(ws_.url,
       "INSERT INTO telemetry_rest (device, measurement, epoch, type, text_value, json_value) "
       "VALUES ('line-2', 'note', " +
           t3 + ", 'TEXT', 'x,y', '\"x,y\"')");
  Exec(ws_.url,
       "DELETE FROM telemetry_rest WHERE device = 'd1' AND measurement = 'note' AND epoch = " +
           std::string(kT2));

  const CommandResult r = Cutover(ws_, {"rollback", "back.yaml", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  // 20 rows - 1 deleted + 4 new; the deleted point found by the scan.
  EXPECT_EQ(report["entities"][0]["written"], 23) << r.out;
  EXPECT_EQ(report["entities"][0]["deleted"], 1) << r.out;

  const nlohmann::json dump = nlohmann::json::parse(standin_->Dump());
  std::map<std::string, nlohmann::json> points;
  for (const auto& p : dump["points"]) {
    points[p["path"].get<std::string>() + "@" + p["time"].dump()] = p["value"];
  }
  std::map<std::string, std::string> types;
  for (const auto& s : dump["series"]) types[s["path"]] = s["type"];
  const std::string d1 = "root.iotflow.devices.d1.";
  EXPECT_EQ(points.size(), 24u) << dump.dump();
  EXPECT_EQ(points[d1 + "temperature@" + t1], 22.75);
  EXPECT_EQ(points[d1 + "temperature@" + kT2], "NaN");
  EXPECT_EQ(points[d1 + "blob@" + t1], "0x00cafe00");
  EXPECT_EQ(points[d1 + "count@" + t1].dump(), "9007199254740993");
  EXPECT_EQ(points[d1 + "count@" + t3].dump(), "9007199254740995");
  EXPECT_EQ(points[d1 + "day@" + t3], "2000-02-29");
  EXPECT_EQ(points[d1 + "pressure@" + t3], 1013.25);
  EXPECT_EQ(types[d1 + "pressure"], "DOUBLE");
  EXPECT_EQ(points["root.iotflow.devices.`line-2`.note@" + t3], "x,y");
  EXPECT_EQ(points.count(d1 + "note@" + std::string(kT2)), 0u) << "deleted in PostgreSQL";
  EXPECT_EQ(points[d1 + "note@" + t1], "he said \"hi\", ok\nnext");
  EXPECT_EQ(points["root.iotflow.site.s1.temp@" + t1], 5) << "outside the pattern: untouched";

  // The ways in: tablets, the BLOB as an X'' literal, a DELETE.
  const std::string log = standin_->Log();
  EXPECT_NE(log.find("insertTablet"), std::string::npos) << log;
  EXPECT_NE(log.find("X'00cafe00'"), std::string::npos) << log;
  EXPECT_NE(log.find("DELETE FROM root.iotflow.devices.d1.note WHERE time = " + std::string(kT2)),
            std::string::npos)
      << log;

  // Read back from IoTDB, every point equals its row.
  const CommandResult v = Cutover(ws_, {"verify", "back.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// Rollback of a wide table: a changed cell goes back as its point, and a
// cell made NULL in PostgreSQL deletes its point (values by hand).
TEST_F(IotdbTest, WideRollbackWritesCellsAndDeletesTheNulledOnes) {
  WriteFile(ws_.dir + "/wide.yaml", R"(migration: iotflow
target: { url: "${DATABASE_URL:-}" }
sources:
  rest: { type: iotdb, url: "${IOTDB_URL:-}", user: root, password: "${IOTDB_PASSWORD:-}", precision: ns, row_limit: "${IOTDB_ROW_LIMIT:-10000}" }
entities:
  telemetry_wide:
    source: { from: rest, series: "root.iotflow.devices.{device}.{m}", layout: wide }
    key: [device, epoch]
    write_back: true
    columns:
      device:      { type: text }
      epoch:       { from: $epoch, type: bigint }
      temperature: { type: float8 }
      humidity:    { type: float8 }
)");
  ASSERT_EQ(Cutover(ws_, {"backfill", "wide.yaml", "--create-tables"}).exit_code, 0) << Rejects();
  ASSERT_NO_FATAL_FAILURE(MoveToPrimary("wide.yaml"));
  const std::string t1(kT1), t2(kT2);
  Exec(ws_.url,
       "UPDATE telemetry_wide SET temperature = NULL WHERE device = 'd1' AND epoch = " + t2);
  Exec(ws_.url, "UPDATE telemetry_wide SET humidity = 2.5 WHERE device = 'd1' AND epoch = " + t1);
  const CommandResult r = Cutover(ws_, {"rollback", "wide.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const nlohmann::json dump = nlohmann::json::parse(standin_->Dump());
  std::map<std::string, nlohmann::json> points;
  for (const auto& p : dump["points"]) {
    points[p["path"].get<std::string>() + "@" + p["time"].dump()] = p["value"];
  }
  const std::string d1 = "root.iotflow.devices.d1.";
  EXPECT_EQ(points.count(d1 + "temperature@" + t2), 0u) << dump.dump();
  EXPECT_EQ(points[d1 + "humidity@" + t1], 2.5);
  EXPECT_EQ(points[d1 + "temperature@" + t1], 21.5);
  EXPECT_EQ(points[d1 + "note@" + t2], "") << "not the entity's column: untouched";
  const CommandResult v = Cutover(ws_, {"verify", "wide.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// Rollback into the export folder: refused while the folder holds a series
// the entity does not read (it would be lost); then, with the folder the
// entity's alone, written anew as import-format CSV (checked line by line
// by hand) that verify reads back equal.
TEST_F(IotdbTest, RollbackIntoExportFilesWritesImportCsvThatReadsBackEqual) {
  std::string spec = Spec();
  spec.replace(spec.rfind("    key: [device"), 0, "    write_back: true\n");
  WriteFile(ws_.dir + "/csv.yaml", spec);
  const CommandResult b =
      Cutover(ws_, {"backfill", "csv.yaml", "--create-tables", "--entity", "telemetry_csv"});
  ASSERT_EQ(b.exit_code, 0) << Describe(b) << Rejects();
  ASSERT_NO_FATAL_FAILURE(MoveToPrimary("csv.yaml"));
  const CommandResult refused = Cutover(ws_, {"rollback", "csv.yaml", "--entity", "telemetry_csv"});
  EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
  EXPECT_NE(refused.err.find("holds series root.iotflow.site.s1.temp"), std::string::npos)
      << Describe(refused);

  // The export without the site's column: each line cut at its last ','.
  const std::string dump0 = ws_.dir + "/export/dump0_0.csv";
  std::ifstream in(dump0);
  std::string line, kept;
  while (std::getline(in, line)) kept += line.substr(0, line.rfind(',')) + "\r\n";
  in.close();
  WriteFile(dump0, kept);
  const std::string t1(kT1), t3(kT3);
  Exec(ws_.url,
       "UPDATE telemetry_csv SET numeric_value = 22.75, json_value = '22.75' WHERE device = 'd1' "
       "AND measurement = 'temperature' AND epoch = " +
           t1);
  Exec(ws_.url,
       "INSERT INTO telemetry_csv (device, measurement, epoch, type, int_value, numeric_value, "
       "json_value) VALUES ('d1', 'count', " +
           t3 + ", 'INT64', 9007199254740995, 9007199254740995, '9007199254740995')");
  Exec(ws_.url,
       "DELETE FROM telemetry_csv WHERE device = 'd1' AND measurement = 'note' AND epoch = " +
           std::string(kT2));
  const CommandResult r =
      Cutover(ws_, {"rollback", "csv.yaml", "--entity", "telemetry_csv", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  EXPECT_EQ(report["entities"][0]["written"], 20) << r.out;  // 20 - 1 + 1
  EXPECT_EQ(report["entities"][0]["deleted"], 1) << r.out;

  // Every file's lines, by hand: a header per series, a line per point.
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(ws_.dir + "/export")) {
    std::ifstream f(entry.path());
    std::stringstream ss;
    ss << f.rdbuf();
    all += ss.str();
  }
  for (const std::string& expected :
       {"Time,root.iotflow.devices.d1.temperature(DOUBLE)\n" + t1 + ",22.75\n" + std::string(kT2) +
            ",NaN\n" + t3 + ",-0.25\n",
        "Time,root.iotflow.devices.d1.count(INT64)\n" + t1 + ",9007199254740993\n" +
            std::string(kT2) + ",-9223372036854775808\n" + t3 + ",9007199254740995\n",
        "Time,root.iotflow.devices.d1.note(TEXT)\n" + t1 + ",\"he said \"hi\"\\, ok\\nnext\"\n",
        "Time,root.iotflow.devices.d1.blob(BLOB)\n" + t1 + ",0x00ff00\n",
        "Time,root.iotflow.devices.d1.day(DATE)\n" + t1 + ",2025-07-14\n" + std::string(kT2) +
            ",1999-12-31\n",
        "Time,root.iotflow.devices.\\`line-2\\`.note(TEXT)\n" + t1 + ",\"a\\,b\\\\c\"\n"}) {
    EXPECT_NE(all.find(expected), std::string::npos) << expected << "\nin:\n" << all;
  }
  EXPECT_FALSE(std::filesystem::exists(ws_.dir + "/export.cutover-new"));
  const CommandResult v = Cutover(ws_, {"verify", "csv.yaml", "--entity", "telemetry_csv"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// The gateway in dual_write: points PUT and DELETEd through `cutover serve`
// land in the stand-in first and then, as IoTDB holds them (a FLOAT in 32
// bits), in PostgreSQL, without a read of each point written but a FLOAT; the expected
// values are written out by hand, and verify reads the stand-in again.
TEST_F(IotdbTest, GatewayWritesPointsIntoIotdbThenPostgres) {
  std::string spec = Spec();
  spec = spec.substr(0, spec.find("  telemetry_csv:"));
  spec.replace(spec.find("entities:"), 0,
               "serve: { token_env: GW_TOKEN }\nstages: { poll_interval: 200ms }\n");
  WriteFile(ws_.dir + "/gw.yaml", spec);
  WriteFile(ws_.dir + "/cutover.yaml", spec);
  const CommandResult b = Cutover(ws_, {"backfill", "gw.yaml", "--create-tables"});
  ASSERT_EQ(b.exit_code, 0) << Describe(b) << Rejects();
  const CommandResult moved =
      Cutover(ws_, {"phase", "gw.yaml", "set", "dual_write", "--force", "--reason", "t"});
  ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  std::vector<std::pair<std::string, std::string>> env = ws_.env;
  env.push_back({"DATABASE_URL", ws_.url});
  env.push_back({"GW_TOKEN", "iot-token"});
  ServeProcess serve;
  ASSERT_TRUE(StartServeAtStage(&serve, ws_.dir, env, "dual_write"));
  const std::string t2(kT2), t3(kT3);
  const std::string d1 = "/v1/entities/telemetry_rest/root.iotflow.devices.d1.";
  auto send = [&](const std::string& method, const std::string& target, const std::string& body) {
    return HttpWithToken("iot-token", serve.port(), method, target, body);
  };
  for (const auto& [target, body] : std::vector<std::pair<std::string, std::string>>{
           {d1 + "temperature@" + t3, R"({"value": 30.5})"},
           {d1 + "count@" + t3, R"({"value": 9007199254740997})"},
           {d1 + "pressure@" + t3, R"({"value": 1.5, "type": "DOUBLE"})"},
           {d1 + "blob@" + t2, R"({"value": "0x0a00"})"},
           // A FLOAT is held in 32 bits: 2^24 + 1 is stored as 2^24.
           {d1 + "gain@" + t3, R"({"value": 16777217, "type": "FLOAT"})"},
           {d1 + "gain@" + t2, R"({"value": 0.1})"},
           {"/v1/entities/telemetry_rest/root.iotflow.devices.%60line-2%60.note@" + t3,
            R"({"value": "q"})"}}) {
    const HttpResponse a = send("PUT", target, body);
    EXPECT_EQ(a.status, 200) << target << " " << a.body << a.error;
  }
  const HttpResponse gone = send("DELETE", d1 + "note@" + t2, "");
  EXPECT_EQ(gone.status, 200) << gone.body << gone.error;
  // A series outside the entity's pattern, and a new series without a type.
  EXPECT_EQ(
      send("PUT", "/v1/entities/telemetry_rest/root.iotflow.site.s1.temp@" + t3, R"({"value": 1})")
          .status,
      400);
  EXPECT_EQ(send("PUT", d1 + "wind@" + t3, R"({"value": 2.5})").status, 400);

  const HttpResponse read = send("GET", d1 + "count@" + t3, "");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find("9007199254740997"), std::string::npos) << read.body;

  // IoTDB, by hand.
  const nlohmann::json dump = nlohmann::json::parse(standin_->Dump());
  std::map<std::string, nlohmann::json> points;
  for (const auto& p : dump["points"]) {
    points[p["path"].get<std::string>() + "@" + p["time"].dump()] = p["value"];
  }
  const std::string s1 = "root.iotflow.devices.d1.";
  EXPECT_EQ(points[s1 + "temperature@" + t3], 30.5);
  EXPECT_EQ(points[s1 + "count@" + t3].dump(), "9007199254740997");
  EXPECT_EQ(points[s1 + "pressure@" + t3], 1.5);
  EXPECT_EQ(points[s1 + "blob@" + t2], "0x0a00");
  EXPECT_EQ(points["root.iotflow.devices.`line-2`.note@" + t3], "q");
  EXPECT_EQ(points.count(s1 + "note@" + t2), 0u);
  EXPECT_EQ(points.count(s1 + "wind@" + t3), 0u);
  EXPECT_EQ(points[s1 + "gain@" + t3], 16777216.0);
  EXPECT_EQ(points[s1 + "gain@" + t2], 0.1);  // the single nearest 0.1, as Java prints it
  // The state journaled is the point written, not a read of it, but for a
  // FLOAT's (IoTDB prints it with Java's digits): the statements on one time
  // are those two reads, the DELETE and the GET's query.
  const std::string log = standin_->Log();
  std::vector<std::string> at_one_time;
  for (size_t at = log.find("\"sql\":\""); at != std::string::npos;
       at = log.find("\"sql\":\"", at + 1)) {
    const std::string sql = log.substr(at + 7, log.find('"', at + 7) - at - 7);
    if (sql.find("WHERE time = ") != std::string::npos) at_one_time.push_back(sql.substr(0, 12));
  }
  EXPECT_EQ(at_one_time, (std::vector<std::string>{"SELECT gain ", "SELECT gain ", "DELETE FROM ",
                                                   "SELECT count"}))
      << log;

  // PostgreSQL, once the journal owes it nothing.
  for (int i = 0; i < 100; ++i) {
    const HttpResponse m = send("GET", "/metrics", "");
    if (m.body.find("\ncutover_gateway_journal_owed 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT int_value FROM telemetry_rest WHERE device = 'd1' AND "
                       "measurement = 'count' AND epoch = " +
                           t3),
            "9007199254740997");
  auto one = [&](const std::string& column, const std::string& device, const std::string& m,
                 const std::string& epoch) {
    return QueryValue(ws_.url, "SELECT " + column + "::text FROM telemetry_rest WHERE device = '" +
                                   device + "' AND measurement = '" + m + "' AND epoch = " + epoch);
  };
  EXPECT_EQ(one("numeric_value", "d1", "temperature", t3), "30.5");
  EXPECT_EQ(one("type", "d1", "pressure", t3), "DOUBLE");
  EXPECT_EQ(one("blob_value", "d1", "blob", t2), "\\x0a00");
  EXPECT_EQ(one("text_value", "line-2", "note", t3), "q");
  // As IoTDB's REST API prints the singles: 16777216 and 0.1.
  EXPECT_EQ(one("numeric_value", "d1", "gain", t3), "16777216");
  EXPECT_EQ(one("numeric_value", "d1", "gain", t2), "0.1");
  EXPECT_EQ(one("type", "d1", "gain", t2), "FLOAT");
  EXPECT_EQ(one("count(*)", "d1", "note", t2), "0");
  const CommandResult v = Cutover(ws_, {"verify", "gw.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

TEST(IotdbPartitionTest, TheTableIsPartitionedByMonthWithAPartitionPerMonthTheRowsNeed) {
  IotdbStandin::Options options;
  options.data_json = MonthsData();
  auto standin = IotdbStandin::Start(options);
  ASSERT_NE(standin, nullptr);
  Workspace ws{TempDir(), FreshDatabase(), {{"IOTDB_URL", standin->Url()}}};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: plant
target: { url: "${DATABASE_URL:-}" }
sources:
  iotdb: { type: iotdb, url: "${IOTDB_URL:-}", password: root }
entities:
  telemetry:
    source: { from: iotdb, series: "root.plant.{device}.{measurement}" }
    key: [device, measurement, time]
    partition: { by: time, every: 1 month }
    indexes:
      - { columns: [device, time] }
    columns:
      device:      { type: text }
      measurement: { type: text }
      time:        { from: $time, type: timestamptz }
      value:       { from: $value, type: jsonb }
)");
  CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  // 2024-01-31T23:59:59.999Z in January, 2024-02-01T00:00:00Z (twice) in
  // February, 2024-03-15 in March; the default partition holds nothing.
  EXPECT_EQ(QueryValue(ws.url, "SELECT relkind FROM pg_class WHERE relname = 'telemetry'"), "p");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(c.relname || '=' || "
                       "(SELECT count(*) FROM telemetry t WHERE t.tableoid = c.oid), ',' "
                       "ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = "
                       "i.inhrelid WHERE i.inhparent = 'telemetry'::regclass"),
            "telemetry_default=0,telemetry_p2024_01=1,telemetry_p2024_02=2,telemetry_p2024_03=1");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                       "WHERE relname = 'telemetry_p2024_02'"),
            "FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00')");
  // The spec's device+time index, and the key, on every partition.
  EXPECT_EQ(
      QueryValue(ws.url, "SELECT count(*) FROM pg_indexes WHERE tablename = 'telemetry_p2024_03'"),
      "2");

  // A point of April arrives: the next run attaches April's partition.
  standin->AddPoints(
      R"({"points": [{"path": "root.plant.d7.temp", "time": 1712000000000, "value": 4.5}]})");
  r = Cutover(ws, {"backfill", "cutover.yaml", "--restart"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM telemetry_p2024_04"), "1");
  EXPECT_EQ(QueryValue(ws.url, "SELECT count(*) FROM telemetry"), "5");

  // A row written around cutover, in a month with no partition, lands in
  // the default partition, and `phase status` says so.
  Exec(ws.url,
       "INSERT INTO telemetry (device, measurement, time, value) VALUES "
       "('d9', 'temp', '2031-05-01T00:00:00Z', '1')");
  r = Cutover(ws, {"phase", "cutover.yaml", "status"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.out.find("warning: telemetry: 1 rows in its default partition"), std::string::npos)
      << Describe(r);
}

}  // namespace
}  // namespace cutover::testing

namespace cutover::testing {
namespace {

// Points written to the stand-in while `cutover sync` polls it: new ones,
// late ones (a time older than the newest seen, inside the lateness window),
// and duplicates (a series and time written again with another value). All
// land once, with the last value; none is lost.
TEST(IotdbSyncTest, NewLateAndDuplicatePointsWrittenDuringSyncAllLandOnce) {
  IotdbStandin::Options options;
  // Device d1: temp at 10:00:00, 10:00:10 and 10:00:20 (ms since 1970).
  options.data_json = R"({"series": [{"path": "root.plant.d1.temp", "type": "DOUBLE"}],
    "points": [{"path": "root.plant.d1.temp", "time": 1717236000000, "value": 20.0},
               {"path": "root.plant.d1.temp", "time": 1717236010000, "value": 21.0},
               {"path": "root.plant.d1.temp", "time": 1717236020000, "value": 22.0}]})";
  auto standin = IotdbStandin::Start(options);
  ASSERT_NE(standin, nullptr);
  Workspace ws{TempDir(), FreshDatabase(), {{"IOTDB_URL", standin->Url()}}};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: plant
target: { url: "${DATABASE_URL:-}" }
sources:
  iotdb: { type: iotdb, url: "${IOTDB_URL:-}", password: root, poll: 100ms, lateness: 1m }
entities:
  telemetry:
    source: { from: iotdb, series: "root.plant.{device}.{measurement}" }
    key: [device, measurement, epoch]
    columns:
      device:      { type: text }
      measurement: { type: text }
      epoch:       { from: $epoch, type: bigint }
      value:       { from: $numeric, type: double precision }
)");
  CommandResult r = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // New: 10:00:30, and a second device d2 seen for the first time.
    standin->AddPoints(R"({"points": [
      {"path": "root.plant.d1.temp", "time": 1717236030000, "value": 23.0},
      {"path": "root.plant.d2.temp", "time": 1717236000000, "value": 5.0}]})");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    // Late: 10:00:05 (25 s before the newest, inside the 1 min window), and
    // a duplicate of 10:00:10 with a new value.
    standin->AddPoints(R"({"points": [
      {"path": "root.plant.d1.temp", "time": 1717236005000, "value": 20.5},
      {"path": "root.plant.d1.temp", "time": 1717236010000, "value": 21.9}]})");
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    // The same duplicate written once more: the last value wins.
    standin->AddPoints(R"({"points": [
      {"path": "root.plant.d1.temp", "time": 1717236010000, "value": 21.95}]})");
  });
  r = Cutover(ws, {"sync", "cutover.yaml", "--idle-exit", "3s", "--json"});
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  // By hand: d1 has 10:00:00, :05, :10 (21.95), :20, :30; d2 has 10:00:00.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT string_agg(device || '@' || (epoch - 1717236000000) / 1000 || '=' "
                       "|| value, ',' ORDER BY device, epoch) FROM telemetry"),
            "d1@0=20,d1@5=20.5,d1@10=21.95,d1@20=22,d1@30=23,d2@0=5");
  EXPECT_NE(r.out.find("\"polled\": true"), std::string::npos) << r.out;

  r = Cutover(ws, {"verify", "cutover.yaml"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

}  // namespace
}  // namespace cutover::testing
