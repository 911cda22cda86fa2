// Rollups (spec `rollups:`): a daily aggregate per device and measurement
// kept by triggers, checked against aggregates worked out here from the
// points and against hand-written GROUP BY SQL, under concurrent writers.
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/iotdb_standin.h"
#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

constexpr int64_t kStartS = 1706572800;  // 2024-01-30T00:00:00Z
constexpr const char* kDays[] = {"2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"};
constexpr int kSteps = 20;  // one point every 5 hours: 95 hours, four days

struct Point {
  std::string device, measurement;
  int64_t seconds = 0;
  double value = 0;
};

// Quarters, so that every sum is exact in binary whatever the order of
// addition, and one NaN (d3's temp at step 7, on January 31).
std::vector<Point> Points() {
  std::vector<Point> out;
  for (int d = 1; d <= 3; ++d) {
    for (int m = 1; m <= 2; ++m) {
      for (int i = 0; i < kSteps; ++i) {
        Point p{fmt::format("d{}", d), m == 1 ? "temp" : "level", kStartS + i * 5 * 3600,
                ((d * 7 + m * 3 + i * 5) % 41) * 0.25 - 3.0};
        if (d == 3 && m == 1 && i == 7) p.value = std::nan("");
        out.push_back(p);
      }
    }
  }
  return out;
}

std::string StandinJson(const std::vector<Point>& points) {
  std::string series, values;
  for (int d = 1; d <= 3; ++d) {
    for (const char* m : {"temp", "level"}) {
      series += fmt::format(R"({}{{"path": "root.plant.d{}.{}", "type": "DOUBLE"}})",
                            series.empty() ? "" : ",", d, m);
    }
  }
  for (const Point& p : points) {
    const std::string value = std::isnan(p.value) ? R"("NaN")" : fmt::format("{}", p.value);
    values +=
        fmt::format(R"({}{{"path": "root.plant.{}.{}", "time": {}, "value": {}}})",
                    values.empty() ? "" : ",", p.device, p.measurement, p.seconds * 1000, value);
  }
  return R"({"series": [)" + series + R"(], "points": [)" + values + "]}";
}

// PostgreSQL's float8 text for the values here (small, at most two decimals).
std::string Float(double v) {
  return std::isnan(v) ? "NaN" : fmt::format("{}", v);
}

// device|measurement|day|rows|count|sum|min|max per bucket, in that order,
// worked out from the points with PostgreSQL's rules: NaN sorts above every
// number (so it is the max and never the min of a bucket with numbers).
std::string ExpectedRollup(const std::vector<Point>& points) {
  struct Agg {
    int64_t rows = 0;
    double sum = 0, min = INFINITY, max = -INFINITY;
    bool nan = false;
  };
  std::map<std::tuple<std::string, std::string, int>, Agg> buckets;
  for (const Point& p : points) {
    Agg& a = buckets[{p.device, p.measurement, static_cast<int>((p.seconds - kStartS) / 86400)}];
    ++a.rows;
    a.sum += p.value;
    if (std::isnan(p.value)) {
      a.nan = true;
    } else {
      a.min = std::min(a.min, p.value);
      a.max = std::max(a.max, p.value);
    }
  }
  std::string out;
  for (const auto& [k, a] : buckets) {
    out += fmt::format("{}|{}|{}|{}|{}|{}|{}|{}\n", std::get<0>(k), std::get<1>(k),
                       kDays[std::get<2>(k)], a.rows, a.rows, Float(a.sum), Float(a.min),
                       a.nan ? "NaN" : Float(a.max));
  }
  return out;
}

constexpr const char* kRollupRows =
    "SELECT coalesce(string_agg(concat_ws('|', device, measurement, "
    "to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), row_count, value_count, value_sum, "
    "value_min, value_max), E'\\n' ORDER BY device, measurement, bucket_start) || E'\\n', '') "
    "FROM telemetry_daily";

// Buckets where the rollup and a GROUP BY of the table, written here by
// hand, disagree (either way); sums compared exactly (all quarters).
constexpr const char* kDisagreeing =
    "WITH fresh AS (SELECT device, measurement, date_trunc('day', time AT TIME ZONE 'UTC') AS "
    "day, count(*) AS n, count(value) AS c, sum(value) AS s, min(value) AS lo, max(value) AS hi "
    "FROM telemetry GROUP BY 1, 2, 3), kept AS (SELECT device, measurement, bucket_start AT "
    "TIME ZONE 'UTC' AS day, row_count AS n, value_count AS c, value_sum AS s, value_min AS lo, "
    "value_max AS hi FROM telemetry_daily) SELECT (SELECT count(*) FROM (SELECT * FROM fresh "
    "EXCEPT SELECT * FROM kept) a) + (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * "
    "FROM fresh) b)";

constexpr const char* kSpec = R"(migration: plant
target: { url: "${DATABASE_URL:-}" }
sources:
  iotdb: { type: iotdb, url: "${IOTDB_URL:-}", password: root }
entities:
  telemetry:
    source: { from: iotdb, series: "root.plant.{device}.{measurement}" }
    key: [device, measurement, time]
    partition: { by: time, every: 1 month }
    rollups:
      - { table: telemetry_daily, every: 1 day, by: [device, measurement], values: [value] }
    columns:
      device:      { type: text }
      measurement: { type: text }
      time:        { from: $time, type: timestamptz }
      value:       { from: $numeric, type: double precision }
)";

class RollupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    IotdbStandin::Options options;
    options.data_json = StandinJson(points_);
    standin_ = IotdbStandin::Start(options);
    ASSERT_NE(standin_, nullptr);
    ws_ = Workspace{TempDir(), FreshDatabase(), {{"IOTDB_URL", standin_->Url()}}};
    WriteFile(ws_.dir + "/cutover.yaml", kSpec);
    const CommandResult r = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }

  std::vector<Point> points_ = Points();
  std::unique_ptr<IotdbStandin> standin_;
  Workspace ws_;
};

TEST_F(RollupTest, TheBackfillFillsTheRollupWithEachDaysAggregatesExactly) {
  ASSERT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM telemetry"), std::to_string(points_.size()));
  EXPECT_EQ(QueryValue(ws_.url, kRollupRows), ExpectedRollup(points_));
  // The runbook's "one day, aggregated per device" reads the rollup's key.
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM telemetry_daily WHERE bucket_start >= "
                       "'2024-02-01T00:00:00Z' AND bucket_start < '2024-02-02T00:00:00Z'"),
            "6");
  const CommandResult v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
}

// The application writes after cutover from several connections at once:
// inserts, upserts, updates that move a point to another day, deletes, all
// into the same few buckets. Every commit leaves the rollup equal to the table.
TEST_F(RollupTest, ConcurrentInsertsUpdatesAndDeletesLeaveTheRollupEqualToTheTable) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([this, w] {
      std::mt19937 rng(1000 + w);
      for (int op = 0; op < 40; ++op) {
        const int d = 1 + rng() % 3;
        const char* m = rng() % 2 ? "temp" : "level";
        const int64_t at = kStartS + (rng() % (kSteps * 5)) * 3600 + 60 * (w + 1);
        const double value = (rng() % 100) * 0.25;
        switch (rng() % 4) {
          case 0:  // a new point (a minute past the hour: never a backfilled one)
            Exec(ws_.url,
                 fmt::format("INSERT INTO telemetry VALUES ('d{}', '{}', to_timestamp({}), "
                             "{}) ON CONFLICT DO NOTHING",
                             d, m, at, value));
            break;
          case 1:  // an upsert, of a backfilled point or of a new one
            Exec(ws_.url,
                 fmt::format("INSERT INTO telemetry VALUES ('d{}', '{}', "
                             "to_timestamp({}), {}) ON CONFLICT (device, measurement, "
                             "time) DO UPDATE SET value = excluded.value",
                             d, m, op % 2 ? kStartS + (rng() % kSteps) * 5 * 3600 : at + 1, value));
            break;
          case 2:  // a point moved to another time, maybe another day
            // (onto a point already there: the application's error, skipped)
            Exec(ws_.url,
                 fmt::format("DO $$ BEGIN UPDATE telemetry SET time = time + interval '{} hours', "
                             "value = {} WHERE device = 'd{}' AND measurement = '{}' AND time = "
                             "(SELECT max(time) FROM telemetry WHERE device = 'd{}' AND "
                             "measurement = '{}' AND time < to_timestamp({})); EXCEPTION WHEN "
                             "unique_violation THEN NULL; END $$",
                             7 + w, value, d, m, d, m, at));
            break;
          default:  // a point removed
            Exec(ws_.url, fmt::format("DELETE FROM telemetry WHERE device = 'd{}' AND "
                                      "measurement = '{}' AND time = (SELECT min(time) FROM "
                                      "telemetry WHERE device = 'd{}' AND measurement = '{}' AND "
                                      "time > to_timestamp({}))",
                                      d, m, d, m, at));
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0");
  EXPECT_NE(QueryValue(ws_.url, "SELECT count(*) FROM telemetry_daily"), "0");
  const CommandResult v = Cutover(ws_, {"verify", "cutover.yaml"});
  // The rows now differ from the stand-in's; the rollup agrees with the table.
  EXPECT_EQ(v.out.find("rollup"), std::string::npos) << Describe(v);

  Exec(ws_.url, "TRUNCATE telemetry");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM telemetry_daily"), "0");
}

// A delete takes out a bucket's minimum and reads the minimum again from
// the table while an insert of a smaller value into the same bucket has not
// committed: the re-read must not miss that value and overwrite the
// insert's minimum (the delete's subtraction waits on the rollup row the
// insert wrote, so the re-read comes after its commit).
TEST_F(RollupTest, AMinimumReadAgainWaitsForAnInsertIntoItsBucketToCommit) {
  const std::string t0 = std::to_string(kStartS);
  const std::string bucket =
      " WHERE device = 'd1' AND measurement = 'temp' AND bucket_start = "
      "to_timestamp(" +
      t0 + ")";
  std::thread insert([&] {
    Exec(ws_.url, "BEGIN; INSERT INTO telemetry VALUES ('d1', 'temp', to_timestamp(" + t0 +
                      " + 30), -100); SELECT pg_sleep(1.5); COMMIT");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Exec(ws_.url,
       "DELETE FROM telemetry WHERE device = 'd1' AND measurement = 'temp' AND value = "
       "(SELECT min(value) FROM telemetry WHERE device = 'd1' AND measurement = 'temp' "
       "AND time < to_timestamp(" +
           t0 + " + 86400))");
  insert.join();
  EXPECT_EQ(QueryValue(ws_.url, "SELECT value_min FROM telemetry_daily" + bucket), "-100");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0");
}

// One statement that inserts and updates (cutover's own merge has that
// shape), MERGE, a writable CTE that deletes and inserts, NaN and the
// infinities coming and going, a point at time infinity: after each, the
// rollup equals the hand-written GROUP BY.
TEST_F(RollupTest, StatementsThatInsertUpdateAndDeleteAtOnceAndNonFiniteValuesKeepItEqual) {
  const std::string t0 = std::to_string(kStartS);
  Exec(ws_.url, "INSERT INTO telemetry VALUES ('d1', 'temp', to_timestamp(" + t0 +
                    "), 10.5), ('d1', 'temp', to_timestamp(" + t0 +
                    " + 60), 100) ON CONFLICT (device, measurement, time) DO UPDATE SET value = "
                    "excluded.value");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "upsert";
  Exec(ws_.url, "MERGE INTO telemetry t USING (VALUES ('d2', 'temp', to_timestamp(" + t0 +
                    "), 7.25::float8), ('d2', 'temp', to_timestamp(" + t0 +
                    " + 120), 1.5)) AS s (d, m, ts, v) ON t.device = s.d AND t.measurement = s.m "
                    "AND t.time = s.ts WHEN MATCHED THEN UPDATE SET value = s.v WHEN NOT MATCHED "
                    "THEN INSERT VALUES (s.d, s.m, s.ts, s.v)");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "merge";
  Exec(ws_.url,
       "WITH d AS (DELETE FROM telemetry WHERE device = 'd3' AND measurement = 'level' "
       "AND time < to_timestamp(" +
           t0 +
           " + 86400) RETURNING *) INSERT INTO telemetry SELECT device, measurement, "
           "time + interval '1 minute', value * 2 FROM d");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "delete and insert";

  const std::string bucket =
      " WHERE device = 'd1' AND measurement = 'level' AND bucket_start = to_timestamp(" + t0 + ")";
  Exec(ws_.url, "INSERT INTO telemetry VALUES ('d1', 'level', to_timestamp(" + t0 +
                    " + 7), 'Infinity'), ('d1', 'level', to_timestamp(" + t0 +
                    " + 8), '-Infinity')");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT value_sum FROM telemetry_daily" + bucket), "NaN");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "both infinities";
  Exec(ws_.url, "DELETE FROM telemetry WHERE value = '-Infinity'");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT value_sum FROM telemetry_daily" + bucket), "Infinity");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "one infinity";
  Exec(ws_.url, "DELETE FROM telemetry WHERE value IN ('Infinity', 'NaN')");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM telemetry_daily WHERE value_sum IN ('NaN', "
                       "'Infinity', '-Infinity')"),
            "0");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "finite again";

  Exec(ws_.url, "INSERT INTO telemetry VALUES ('d1', 'temp', 'infinity', 3)");
  Exec(ws_.url, "UPDATE telemetry SET value = 4 WHERE time = 'infinity'");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT row_count || ' ' || value_max FROM telemetry_daily WHERE "
                       "bucket_start = 'infinity'"),
            "1 4");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0") << "time infinity";
  const CommandResult v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.out.find("rollup"), std::string::npos) << Describe(v);
}

TEST_F(RollupTest, VerifyNamesABucketTheRollupGotWrongAndAMissingTriggerIsRebuilt) {
  Exec(ws_.url,
       "UPDATE telemetry_daily SET value_max = 99 WHERE device = 'd2' AND measurement = 'temp' "
       "AND bucket_start = '2024-02-01T00:00:00Z'");
  CommandResult v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_NE(v.exit_code, 0) << Describe(v);
  EXPECT_NE(v.out.find("telemetry: not clean: rollup public.telemetry_daily differs from the "
                       "table in 1 of 24 buckets (0 missing, 0 extra, 1 changed): device=d2, "
                       "measurement=temp, bucket 2024-02-01T00:00:00Z"),
            std::string::npos)
      << Describe(v);
  EXPECT_NE(v.out.find("0 differences in rows, yet 1 table is not clean"), std::string::npos)
      << Describe(v);
  // A NaN sum the rollup lost is a difference too (NaN is not within any
  // tolerance of a number).
  Exec(ws_.url, "UPDATE telemetry_daily SET value_max = value_min WHERE value_max = 99");
  Exec(ws_.url, "UPDATE telemetry_daily SET value_nans = 0 WHERE value_nans > 0");
  v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_NE(v.out.find("differs from the table in 2 of 24 buckets (0 missing, 0 extra, 2 "
                       "changed): device=d2, measurement=temp, bucket 2024-02-01T00:00:00Z; "
                       "device=d3, measurement=temp, bucket 2024-01-31T00:00:00Z"),
            std::string::npos)
      << Describe(v);

  // Without its delete trigger the rollup would go stale: the backfill
  // refuses to run, and --create-tables rebuilds it from the table.
  Exec(ws_.url, "DROP TRIGGER telemetry_daily_on_delete ON telemetry");
  CommandResult b = Cutover(ws_, {"backfill", "cutover.yaml"});
  EXPECT_NE(b.exit_code, 0) << Describe(b);
  EXPECT_NE(b.err.find("rollup public.telemetry_daily of public.telemetry has 3 of its 4 "
                       "triggers enabled; run with --create-tables"),
            std::string::npos)
      << Describe(b);
  b = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(b.exit_code, 0) << Describe(b);
  EXPECT_EQ(QueryValue(ws_.url, kRollupRows), ExpectedRollup(points_));
  v = Cutover(ws_, {"verify", "cutover.yaml"});
  EXPECT_EQ(v.exit_code, 0) << Describe(v);
  // A spec whose rollup now groups by the device alone no longer fits the
  // rollup's table.
  std::string coarser = kSpec;
  coarser.replace(coarser.find("by: [device, measurement]"), 25, "by: [device]");
  WriteFile(ws_.dir + "/coarser.yaml", coarser);
  b = Cutover(ws_, {"backfill", "coarser.yaml", "--create-tables"});
  EXPECT_NE(b.exit_code, 0) << Describe(b);
  EXPECT_NE(b.err.find("rollup public.telemetry_daily has the columns (device, measurement, "
                       "bucket_start, row_count, value_count, value_min, value_max, "
                       "value_finite_sum, value_nans, value_pos_infs, value_neg_infs, "
                       "value_sum), but the spec's rollup makes (device, bucket_start, "
                       "row_count, value_count, value_min, value_max, value_finite_sum, "
                       "value_nans, value_pos_infs, value_neg_infs, value_sum); drop that table"),
            std::string::npos)
      << Describe(b);

  Exec(ws_.url, "DELETE FROM telemetry WHERE device = 'd1'");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM telemetry_daily WHERE device = 'd1'"), "0");
  EXPECT_EQ(QueryValue(ws_.url, kDisagreeing), "0");
}

}  // namespace
}  // namespace cutover::testing
