// Values whose meaning depends on context the source may not carry: a
// timestamp's zone, a decimal's scale, a geometry's reference system. Each
// is stored as the source meant it, or refused with the reason; never guessed.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/fluxstudio_dataset.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

namespace fs = std::filesystem;

std::string WriteSpec(const std::string& dir, const std::string& yaml) {
  WriteFile(dir + "/cutover.yaml", yaml);
  return dir + "/cutover.yaml";
}

CommandResult Cutover(const std::vector<std::string>& args, const std::string& url) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"DATABASE_URL", url}});
}

void DuckSql(const std::string& sql) {
  CommandResult r = RunCommand({DuckdbSqlTool(), "-c", sql});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

// The UTC instant PostgreSQL itself gives a wall-clock time in a zone: the
// oracle for our own tz database reader.
std::string PgUtc(const std::string& url, const std::string& local, const std::string& zone) {
  return QueryValue(url, "SELECT to_char(('" + local + "'::timestamp AT TIME ZONE '" + zone +
                             "') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
}

std::string StoredUtc(const std::string& url, const std::string& table, const std::string& column,
                      int id) {
  return QueryValue(url, "SELECT to_char(" + column +
                             " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM " +
                             table + " WHERE id = " + std::to_string(id));
}

constexpr char kJsonEventsSpec[] = R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
entities:
  events:
    source: { from: files, file: events.json }
    key: [id]
    columns:
      id: { type: integer }
      at: { type: timestamptz }
)";

// Regression: "2024-07-01 12:00" without an offset was stored as 12:00 UTC.
TEST(TrustTypesTest, JsonTimestampWithoutOffsetAndWithoutZoneIsRejectedNotReadAsUtc) {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/events.json",
            R"([{"id": 1, "at": "2024-07-01T12:00:00Z"}, {"id": 2, "at": "2024-07-01 12:00"},
                {"id": 3, "at": "2024-07-01"}])");
  const std::string spec = WriteSpec(dir, kJsonEventsSpec);
  const std::string url = FreshDatabase();
  CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "10"}, url);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM events"), "1");
  EXPECT_EQ(StoredUtc(url, "events", "at", 1), "2024-07-01T12:00:00Z");
  const auto rejects = Query(url, "SELECT reason FROM cutover.rejects ORDER BY id");
  ASSERT_EQ(rejects.size(), 2u);
  for (const auto& row : rejects) {
    EXPECT_NE(row[0].find("has no UTC offset and no time zone is set for it"), std::string::npos)
        << row[0];
    EXPECT_NE(row[0].find("timezone:"), std::string::npos) << row[0];
  }
}

TEST(TrustTypesTest, JsonTimestampsTakeTheZoneOfTheirColumnOrSource) {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/events.json", R"([
    {"id": 1, "at": "2024-07-01 12:00", "ny": "2024-01-15 08:00"},
    {"id": 2, "at": "2024-01-15T12:00:00.25", "ny": "2024-07-01T08:00:00"},
    {"id": 3, "at": "2024-03-31 02:30", "ny": null},
    {"id": 4, "at": "2024-10-27 02:30", "ny": null},
    {"id": 5, "at": "2024-10-27T02:30:00+01:00", "ny": "2024-11-03T01:30:00-04:00"},
    {"id": 6, "at": "2080-07-01 12:00", "ny": "2080-01-15 08:00"},
    {"id": 7, "at": "2024-07-01", "ny": "1890-06-01 12:00"},
    {"id": 8, "at": "2024-03-31 03:00", "ny": null},
    {"id": 9, "at": null, "ny": "2024-11-03 01:30"}
  ])");
  const std::string spec = WriteSpec(dir, R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/, timezone: Europe/Berlin }
entities:
  events:
    source: { from: files, file: events.json }
    key: [id]
    columns:
      id: { type: integer }
      at: { type: timestamptz }
      ny: { type: timestamptz, timezone: America/New_York }
)");
  const std::string url = FreshDatabase();
  CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "10"}, url);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(StoredUtc(url, "events", "at", 1), PgUtc(url, "2024-07-01 12:00", "Europe/Berlin"));
  EXPECT_EQ(StoredUtc(url, "events", "at", 1), "2024-07-01T10:00:00Z");
  EXPECT_EQ(StoredUtc(url, "events", "ny", 1), PgUtc(url, "2024-01-15 08:00", "America/New_York"));
  EXPECT_EQ(QueryValue(url, "SELECT at = '2024-01-15 11:00:00.25+00' FROM events WHERE id = 2"),
            "t");
  EXPECT_EQ(StoredUtc(url, "events", "ny", 2), PgUtc(url, "2024-07-01 08:00", "America/New_York"));
  // An offset in the value wins over the zone.
  EXPECT_EQ(StoredUtc(url, "events", "at", 5), "2024-10-27T01:30:00Z");
  EXPECT_EQ(StoredUtc(url, "events", "ny", 5), "2024-11-03T05:30:00Z");
  // Past 2037, where the tz files' tables end and their rules take over.
  EXPECT_EQ(StoredUtc(url, "events", "at", 6), PgUtc(url, "2080-07-01 12:00", "Europe/Berlin"));
  EXPECT_EQ(StoredUtc(url, "events", "ny", 6), PgUtc(url, "2080-01-15 08:00", "America/New_York"));
  // A date alone is its midnight on the zone's clock; before railway time,
  // New York's clock was local mean time (-4:56:02).
  EXPECT_EQ(StoredUtc(url, "events", "at", 7), "2024-06-30T22:00:00Z");
  EXPECT_EQ(StoredUtc(url, "events", "ny", 7), PgUtc(url, "1890-06-01 12:00", "America/New_York"));
  // 03:00 is the first minute after Berlin's spring gap.
  EXPECT_EQ(StoredUtc(url, "events", "at", 8), "2024-03-31T01:00:00Z");

  // The gap (02:30 never happened) and the overlap (02:30 happened twice)
  // are refused with the reason; so is New York's 01:30 on 2024-11-03.
  const auto rejects = Query(
      url,
      "SELECT convert_from(record, 'UTF8')::jsonb->>'id', reason FROM cutover.rejects ORDER BY id");
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_EQ(rejects[0][0], "3");
  EXPECT_NE(rejects[0][1].find("'2024-03-31 02:30' does not exist in Europe/Berlin: clocks there "
                               "jumped from UTC+01:00 to UTC+02:00"),
            std::string::npos)
      << rejects[0][1];
  EXPECT_EQ(rejects[1][0], "4");
  EXPECT_NE(rejects[1][1].find("'2024-10-27 02:30' happened twice in Europe/Berlin (at UTC+02:00 "
                               "and at UTC+01:00)"),
            std::string::npos)
      << rejects[1][1];
  EXPECT_EQ(rejects[2][0], "9");
  EXPECT_NE(rejects[2][1].find("happened twice in America/New_York"), std::string::npos)
      << rejects[2][1];

  CommandResult v = Cutover({"verify", spec}, url);
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// Our tz reader against PostgreSQL's, on wall-clock times around the
// changes of zones with unusual rules: a half-hour DST (Lord_Howe), a
// negative one (Dublin), a skipped day (Apia, 2011), DST suspended for
// Ramadan (Casablanca), the southern hemisphere, and years past 2037. Every
// stored instant is PostgreSQL's; every rejected time is one PostgreSQL's
// own conversion shows is skipped or repeated, and no stored time is.
TEST(TrustTypesTest, WallClocksAgreeWithPostgresInZonesWithUnusualRules) {
  const std::vector<std::string> zones = {
      "Europe/Berlin",       "America/New_York",  "Australia/Sydney",
      "Australia/Lord_Howe", "Europe/Dublin",     "Pacific/Apia",
      "Africa/Casablanca",   "America/Sao_Paulo", "Asia/Tehran"};
  std::string json = "[";
  int id = 0;
  for (int year : {1916, 1950, 1985, 2011, 2024, 2038, 2061, 2099}) {
    for (int month = 1; month <= 12; ++month) {
      for (int day : {1, 5, 8, 15, 25, 28, 30}) {
        if (month == 2 && day > 28) continue;
        for (const char* time : {"00:30", "01:30", "02:00", "02:30", "03:30", "23:45"}) {
          char local[32];
          std::snprintf(local, sizeof(local), "%04d-%02d-%02d %s", year, month, day, time);
          // The separator first: ++id in the same expression is unsequenced.
          json += id ? "," : "";
          json += "{\"id\":" + std::to_string(++id) + ",\"t\":\"" + local + "\"}\n";
        }
      }
    }
  }
  // Apia skipped 2011-12-30 whole.
  json += ",{\"id\":" + std::to_string(++id) + ",\"t\":\"2011-12-30 12:00\"}]";
  const std::string dir = TempDir();
  WriteFile(dir + "/data/times.json", json);
  std::string yaml = R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
entities:
)";
  for (size_t z = 0; z < zones.size(); ++z) {
    yaml += "  z" + std::to_string(z) +
            ":\n    source: { from: files, file: times.json }\n    key: [id]\n    columns:\n" +
            "      id: { type: integer }\n      t: { type: timestamptz, timezone: " + zones[z] +
            " }\n      local: { from: t, type: text }\n";
  }
  const std::string spec = WriteSpec(dir, yaml);
  const std::string url = FreshDatabase();
  CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "100000"}, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  int64_t stored = 0;
  int64_t rejected = 0;
  for (size_t z = 0; z < zones.size(); ++z) {
    SCOPED_TRACE(zones[z]);
    const std::string zone = "'" + zones[z] + "'";
    const std::string table = "z" + std::to_string(z);
    // PostgreSQL's view of a wall clock L: skipped when its instant shows
    // another wall clock; repeated when the offsets 3h before and after its
    // instant differ and L minus either is an instant showing L.
    const std::string skipped =
        "((L::timestamp AT TIME ZONE " + zone + ") AT TIME ZONE " + zone + " <> L::timestamp)";
    const std::string repeated =
        "(SELECT o1 <> o2 AND ((L::timestamp - o1) AT TIME ZONE 'UTC') AT TIME ZONE " + zone +
        " = L::timestamp AND ((L::timestamp - o2) AT TIME ZONE 'UTC') AT TIME ZONE " + zone +
        " = L::timestamp FROM (SELECT ((u - interval '3 hours') AT TIME ZONE " + zone +
        ") - ((u - interval '3 hours') AT TIME ZONE 'UTC') AS o1, ((u + interval '3 hours') AT "
        "TIME ZONE " +
        zone +
        ") - ((u + interval '3 hours') AT TIME ZONE 'UTC') AS o2 FROM (SELECT "
        "L::timestamp AT TIME ZONE " +
        zone + " AS u) a) b)";
    auto with = [](std::string sql, const std::string& l) {
      for (size_t at; (at = sql.find("L::")) != std::string::npos;) sql.replace(at, 1, l);
      return sql;
    };
    EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM " + table + " WHERE t <> (local::timestamp " +
                                  "AT TIME ZONE " + zone + ") OR " + with(skipped, "local") +
                                  " OR " + with(repeated, "local")),
              "0");
    const std::string rejects =
        "(SELECT convert_from(record, 'UTF8')::jsonb->>'t' AS lt, reason "
        "FROM cutover.rejects WHERE entity = '" +
        table + "') r";
    const std::string wrongly_rejected = " FROM " + rejects + " WHERE NOT (" + with(skipped, "lt") +
                                         " OR " + with(repeated, "lt") + ")";
    EXPECT_EQ(QueryValue(url, "SELECT count(*)" + wrongly_rejected), "0")
        << QueryValue(url, "SELECT string_agg(lt || ': ' || reason, '; ')" + wrongly_rejected);
    stored += std::stoll(QueryValue(url, "SELECT count(*) FROM " + table));
    rejected += std::stoll(QueryValue(url, "SELECT count(*) FROM " + rejects));
  }
  EXPECT_EQ(stored + rejected, static_cast<int64_t>(zones.size()) * id);
  EXPECT_GT(rejected, 20);  // the sample does hit gaps and overlaps
}

TEST(TrustTypesTest, AnUnknownZoneIsASpecErrorWithTheNearestName) {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/events.json", R"([{"id": 1, "at": "2024-07-01 12:00"}])");
  std::string yaml = kJsonEventsSpec;
  yaml.replace(yaml.find("{ type: timestamptz }"), 21,
               "{ type: timestamptz, timezone: Europe/Berlinn }");
  const std::string spec = WriteSpec(dir, yaml);
  CommandResult r = Cutover({"backfill", spec, "--create-tables"}, FreshDatabase());
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("cutover.yaml:11:"), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("unknown time zone 'Europe/Berlinn'; did you mean 'Europe/Berlin'?"),
            std::string::npos)
      << Describe(r);

  yaml = kJsonEventsSpec;
  yaml.replace(yaml.find("{ type: integer }"), 17, "{ type: integer, timezone: UTC }");
  r = Cutover({"backfill", WriteSpec(dir, yaml), "--create-tables"}, FreshDatabase());
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("only timestamptz columns take a timezone"), std::string::npos)
      << Describe(r);
}

// A Parquet TIMESTAMP without isAdjustedToUTC (DuckDB's TIMESTAMP) is a wall
// clock, as is a DATE's midnight; TIMESTAMP WITH TIME ZONE is an instant.
TEST(TrustTypesTest, ParquetLocalTimestampsNeedTheSpecsZone) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  ASSERT_NO_FATAL_FAILURE(DuckSql(
      "COPY (SELECT * FROM (VALUES (1, TIMESTAMP '2024-07-01 12:00:00', TIMESTAMPTZ "
      "'2024-07-01 12:00:00+00', DATE '2024-07-01'), (2, TIMESTAMP '2024-01-15 12:00:00.5', NULL, "
      "NULL), (3, TIMESTAMP '2024-03-31 02:30:00', NULL, NULL)) t(id, local_ts, utc_ts, day)) TO "
      "'" +
      dir + "/data/events.parquet' (FORMAT parquet)"));
  const std::string columns = R"(
entities:
  events:
    source: { from: pq, file: events.parquet }
    key: [id]
    columns:
      id: { type: integer }
      local_ts: { type: timestamptz }
      utc_ts: { type: timestamptz }
      day: { type: timestamptz }
)";
  // Without a zone every row with a wall-clock value is refused, the reason named.
  {
    const std::string spec = WriteSpec(dir, R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  pq: { type: parquet, path: data/ })" + columns);
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "10"}, url);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM events"), "0");
    const auto rejects = Query(url, "SELECT reason FROM cutover.rejects ORDER BY id");
    ASSERT_EQ(rejects.size(), 3u);
    EXPECT_NE(rejects[0][0].find("the source holds '2024-07-01 12:00:00' without a UTC offset"),
              std::string::npos)
        << rejects[0][0];
  }
  // With one, the wall clock is read in it, and verify agrees.
  {
    const std::string spec = WriteSpec(dir, R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  pq: { type: parquet, path: data/, timezone: Europe/Berlin })" +
                                                columns);
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "10"}, url);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(StoredUtc(url, "events", "local_ts", 1),
              PgUtc(url, "2024-07-01 12:00", "Europe/Berlin"));
    EXPECT_EQ(StoredUtc(url, "events", "utc_ts", 1), "2024-07-01T12:00:00Z");
    EXPECT_EQ(StoredUtc(url, "events", "day", 1), PgUtc(url, "2024-07-01", "Europe/Berlin"));
    EXPECT_EQ(
        QueryValue(url, "SELECT local_ts = '2024-01-15 11:00:00.5+00' FROM events WHERE id = 2"),
        "t");
    EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM events WHERE id = 3"), "0");
    EXPECT_NE(QueryValue(url, "SELECT reason FROM cutover.rejects").find("does not exist in"),
              std::string::npos);
    CommandResult v = Cutover({"verify", spec}, url);
    EXPECT_EQ(v.exit_code, 0) << Describe(v);
  }
}

// Regression: DuckDB's CSV sniffer typed a column holding some offsets as
// TIMESTAMP WITH TIME ZONE, and read its values without one as UTC.
TEST(TrustTypesTest, CsvTimestampsWithAndWithoutOffsetKeepTheRule) {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/events.csv",
            "id,at\n1,2024-01-01T10:00:00+02:00\n2,2024-01-01 10:00:00\n3,2024-07-01 12:00\n");
  const std::string columns = R"(
entities:
  events:
    source: { from: csv, file: events.csv }
    key: [id]
    columns:
      id: { type: integer }
      at: { type: timestamptz }
)";
  {
    const std::string spec = WriteSpec(dir, R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  csv: { type: csv, path: data/ })" + columns);
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables", "--max-rejects", "10"}, url);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(QueryValue(url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM events"), "1");
    EXPECT_EQ(StoredUtc(url, "events", "at", 1), "2024-01-01T08:00:00Z");
    EXPECT_EQ(QueryValue(url,
                         "SELECT count(*) FROM cutover.rejects WHERE reason LIKE "
                         "'%has no UTC offset and no time zone is set for it%'"),
              "2");
  }
  {
    const std::string spec = WriteSpec(dir, R"(migration: zones
target: { url: "${DATABASE_URL}" }
sources:
  csv: { type: csv, path: data/, timezone: Europe/Berlin })" +
                                                columns);
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables"}, url);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(StoredUtc(url, "events", "at", 1), "2024-01-01T08:00:00Z");
    EXPECT_EQ(StoredUtc(url, "events", "at", 2), PgUtc(url, "2024-01-01 10:00", "Europe/Berlin"));
    EXPECT_EQ(StoredUtc(url, "events", "at", 3), PgUtc(url, "2024-07-01 12:00", "Europe/Berlin"));
    CommandResult v = Cutover({"verify", spec}, url);
    EXPECT_EQ(v.exit_code, 0) << Describe(v);
  }
}

// Regression: DECIMAL(10,2) 1.00 was stored as numeric 1, and verify, which
// compared numerics without their scale, called the stores equal.
TEST(TrustTypesTest, ParquetDecimalsKeepTheirScaleAndVerifySeesIt) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  ASSERT_NO_FATAL_FAILURE(
      DuckSql("COPY (SELECT * FROM (VALUES (1, 1.00::DECIMAL(10,2), 0.000::DECIMAL(18,3)), (2, "
              "12.50::DECIMAL(10,2), 1.5::DECIMAL(18,3)), (3, -0.10::DECIMAL(10,2), "
              "123456789012345.000::DECIMAL(18,3))) t(id, amount, rate)) TO '" +
              dir + "/data/prices.parquet' (FORMAT parquet)"));
  CommandResult oracle =
      RunCommand({DuckdbSqlTool(), "-c",
                  "SELECT string_agg(id || '=' || CAST(amount AS VARCHAR) || '/' || CAST(rate AS "
                  "VARCHAR), ';' ORDER BY id) FROM read_parquet('" +
                      dir + "/data/prices.parquet')"});
  ASSERT_EQ(oracle.exit_code, 0) << Describe(oracle);
  const std::string spec = WriteSpec(dir, R"(migration: decimals
target: { url: "${DATABASE_URL}" }
sources:
  pq: { type: parquet, path: data/ }
entities:
  prices:
    source: { from: pq, file: prices.parquet }
    key: [id]
    columns:
      id: { type: integer }
      amount: { type: numeric }
      rate: { type: numeric }
)");
  const std::string url = FreshDatabase();
  CommandResult r = Cutover({"backfill", spec, "--create-tables"}, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(id || '=' || amount::text || '/' || rate::text, "
                       "';' ORDER BY id) FROM prices") +
                "\n",
            oracle.out);
  EXPECT_EQ(QueryValue(url, "SELECT amount::text FROM prices WHERE id = 1"), "1.00");
  CommandResult clean = Cutover({"verify", spec}, url);
  EXPECT_EQ(clean.exit_code, 0) << Describe(clean);

  // The same value at another scale is another value to the application.
  Exec(url, "UPDATE prices SET amount = 1 WHERE id = 1");
  CommandResult changed = Cutover({"verify", spec}, url);
  EXPECT_EQ(changed.exit_code, 1) << Describe(changed);
  EXPECT_NE(changed.out.find("prices changed: id=1"), std::string::npos) << Describe(changed);
}

// A column that declares its scale gives it to every value it stores; verify
// compares at that scale, and still sees a value the column rounded.
TEST(TrustTypesTest, VerifyComparesNumericsAtTheColumnsDeclaredScale) {
  const std::string dir = TempDir();
  WriteFile(dir + "/data/prices.json", R"([{"id": 1, "amount": "1.5"}, {"id": 2, "amount": "7"},
                                           {"id": 3, "amount": "2.555"}])");
  const std::string spec = WriteSpec(dir, R"(migration: scales
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
entities:
  prices:
    source: { from: files, file: prices.json }
    key: [id]
    columns:
      id: { type: integer }
      amount: { type: numeric }
)");
  const std::string url = FreshDatabase();
  Exec(url, "CREATE TABLE prices (id integer PRIMARY KEY, amount numeric(10,2))");
  CommandResult r = Cutover({"backfill", spec}, url);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(QueryValue(url, "SELECT string_agg(amount::text, ',' ORDER BY id) FROM prices"),
            "1.50,7.00,2.56");
  CommandResult v = Cutover({"verify", spec, "--detailed"}, url);
  EXPECT_EQ(v.exit_code, 1) << Describe(v);
  EXPECT_NE(v.out.find("prices changed: id=3"), std::string::npos) << Describe(v);
  EXPECT_EQ(v.out.find("id=1"), std::string::npos) << Describe(v);
  EXPECT_EQ(v.out.find("id=2"), std::string::npos) << Describe(v);
}

// A point (10, 20) as WKB, with the GeoParquet `geo` metadata given.
void WriteGeoParquet(const std::string& path, const std::string& column_meta) {
  const std::string geo =
      R"({"version":"1.0.0","primary_column":"geom","columns":{"geom":)" + column_meta + "}}";
  ASSERT_NO_FATAL_FAILURE(
      DuckSql("COPY (SELECT 1 AS id, from_hex('0101000000000000000000244000000000000034" +
              std::string("40") + "') AS geom) TO '" + path +
              "' (FORMAT parquet, KV_METADATA {geo: '" + geo + "'})"));
}

std::string GeoSpec(const std::string& srid) {
  return R"(migration: geo
target: { url: "${DATABASE_URL}" }
sources:
  pq: { type: parquet, path: data/ }
entities:
  places:
    source: { from: pq, file: places.parquet }
    key: [id]
    columns:
      id: { type: integer }
      geom: { type: geometry, geometry: { wkb: geom)" +
         (srid.empty() ? "" : ", srid: " + srid) + " } }\n";
}

// Regression: a GeoParquet column in EPSG:3857 was stamped SRID 4326.
TEST(TrustTypesTest, GeoParquetCrsGivesTheSridOrRefusesAContradictingSpec) {
  const std::string dir = TempDir();
  fs::create_directories(dir + "/data");
  ASSERT_NO_FATAL_FAILURE(WriteGeoParquet(
      dir + "/data/places.parquet",
      R"({"encoding":"WKB","geometry_types":["Point"],"crs":{"type":"ProjectedCRS","name":"WGS 84 / Pseudo-Mercator","id":{"authority":"EPSG","code":3857}}})"));
  {
    const std::string spec = WriteSpec(dir, GeoSpec(""));
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables"}, url);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(QueryValue(url, "SELECT ST_SRID(geom) || ' ' || ST_AsText(geom) FROM places"),
              "3857 POINT(10 20)");
    EXPECT_EQ(QueryValue(url,
                         "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         "WHERE attrelid = 'places'::regclass AND attname = 'geom'"),
              "geometry(Geometry,3857)");
    CommandResult v = Cutover({"verify", spec}, url);
    EXPECT_EQ(v.exit_code, 0) << Describe(v);
  }
  {
    const std::string spec = WriteSpec(dir, GeoSpec("4326"));
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables"}, url);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_NE(r.err.find("places.parquet"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("'geom'"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("EPSG:3857"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("srid 4326"), std::string::npos) << Describe(r);
    EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'places'"), "0");
  }
  // No `crs` means OGC:CRS84, longitude/latitude on WGS 84: SRID 4326.
  ASSERT_NO_FATAL_FAILURE(WriteGeoParquet(dir + "/data/places.parquet",
                                          R"({"encoding":"WKB","geometry_types":["Point"]})"));
  {
    const std::string spec = WriteSpec(dir, GeoSpec(""));
    const std::string url = FreshDatabase();
    CommandResult r = Cutover({"backfill", spec, "--create-tables"}, url);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(QueryValue(url, "SELECT ST_SRID(geom) FROM places"), "4326");
    CommandResult bad =
        Cutover({"backfill", WriteSpec(dir, GeoSpec("3857")), "--create-tables"}, FreshDatabase());
    EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
    EXPECT_NE(bad.err.find("OGC:CRS84"), std::string::npos) << Describe(bad);
  }
}

}  // namespace
}  // namespace cutover::testing
