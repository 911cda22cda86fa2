// IotdbCsvReader over export files written by hand in each header style, with
// byte offsets, line numbers and values worked out by hand, and resumes.
#include "stores/iotdb/iotdb_csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cutover::iotdb_store {
namespace {

constexpr TimePrecision kMs = TimePrecision::kMs;
constexpr TimePrecision kUs = TimePrecision::kUs;
constexpr TimePrecision kNs = TimePrecision::kNs;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("cutover_iotdb_csv_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

 private:
  std::filesystem::path dir_;
};

// A value as "TYPE:text", or "null", so whole rows compare in one EXPECT.
std::string Show(const std::optional<IotdbValue>& v) {
  if (!v) return "null";
  return std::string(IotdbTypeName(v->type)) + ":" + v->text;
}

std::vector<std::string> Values(const IotdbCsvRow& row) {
  std::vector<std::string> out;
  for (const auto& v : row.values) out.push_back(Show(v));
  return out;
}

std::unique_ptr<IotdbCsvReader> OpenOk(const std::string& path, TimePrecision precision,
                                       int64_t offset = 0, int64_t line = 0) {
  auto reader = IotdbCsvReader::Open(path, precision, offset, line);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return reader.ok() ? std::move(*reader) : nullptr;
}

// Every remaining row; one row object is reused, as a caller would.
std::vector<IotdbCsvRow> ReadAll(IotdbCsvReader* reader) {
  std::vector<IotdbCsvRow> rows;
  IotdbCsvRow row;
  for (;;) {
    Result<bool> more = reader->Next(&row);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    rows.push_back(row);
  }
  return rows;
}

std::vector<IotdbCsvRow> ReadAll(const std::string& path, TimePrecision precision,
                                 int64_t offset = 0, int64_t line = 0) {
  auto reader = OpenOk(path, precision, offset, line);
  return reader ? ReadAll(reader.get()) : std::vector<IotdbCsvRow>{};
}

void ExpectColumn(const CsvSeriesColumn& c, std::string device, std::string measurement,
                  std::optional<IotdbType> type, std::string header) {
  EXPECT_EQ(c.device, device) << header;
  EXPECT_EQ(c.measurement, measurement) << header;
  EXPECT_EQ(c.type, type) << header;
  EXPECT_EQ(c.header, header);
}

void ExpectProblem(const IotdbCsvRow& row, const std::string& problem) {
  EXPECT_EQ(row.problem, problem) << row.raw;
  EXPECT_EQ(row.time, 0);
  EXPECT_EQ(row.device, "");
  EXPECT_TRUE(row.values.empty());
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(IotdbCsvTest, TypedAlignByTimeWithCrlf) {
  TempDir dir;
  // Header: 4 + 1 + 33 + 1 + 36 + 1 + 32 + CRLF = 110 bytes.
  const std::string path =
      dir.Write("dump0_0.csv",
                "Time,root.ln.wf01.wt01.status(BOOLEAN),root.ln.wf01.wt01.temperature(FLOAT),"
                "root.ln.wf02.wt02.hardware(TEXT)\r\n"
                "1970-01-01T08:00:00.001+08:00,true,25.96,\"v1\"\r\n"  // 29 + 5 + 6 + 5 + 2 = 47
                "1970-01-01T08:00:00.002+08:00,false,,\"\"\r\n"        // 29 + 6 + 1 + 3 + 2 = 41
                "1970-01-01T08:00:00.003+08:00,,1.2345678E7,\r\n");    // 29 + 1 + 12 + 1 + 2 = 45
  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  EXPECT_FALSE(reader->align_by_device());
  ASSERT_EQ(reader->columns().size(), 3u);
  ExpectColumn(reader->columns()[0], "root.ln.wf01.wt01", "status", IotdbType::kBoolean,
               "root.ln.wf01.wt01.status(BOOLEAN)");
  ExpectColumn(reader->columns()[1], "root.ln.wf01.wt01", "temperature", IotdbType::kFloat,
               "root.ln.wf01.wt01.temperature(FLOAT)");
  ExpectColumn(reader->columns()[2], "root.ln.wf02.wt02", "hardware", IotdbType::kText,
               "root.ln.wf02.wt02.hardware(TEXT)");

  std::vector<IotdbCsvRow> rows = ReadAll(reader.get());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].offset, 110);
  EXPECT_EQ(rows[0].end_offset, 157);
  EXPECT_EQ(rows[0].raw, "1970-01-01T08:00:00.001+08:00,true,25.96,\"v1\"");
  EXPECT_EQ(rows[0].problem, "");
  EXPECT_EQ(rows[0].time, 1);
  EXPECT_EQ(rows[0].device, "");
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"BOOLEAN:true", "FLOAT:25.96", "TEXT:v1"}));

  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].offset, 157);
  EXPECT_EQ(rows[1].end_offset, 198);
  EXPECT_EQ(rows[1].time, 2);
  // An empty TEXT is "" and present; an empty cell is no point.
  EXPECT_EQ(Values(rows[1]), (std::vector<std::string>{"BOOLEAN:false", "null", "TEXT:"}));

  EXPECT_EQ(rows[2].line, 4);
  EXPECT_EQ(rows[2].offset, 198);
  EXPECT_EQ(rows[2].end_offset, 243);
  EXPECT_EQ(rows[2].time, 3);
  EXPECT_EQ(Values(rows[2]), (std::vector<std::string>{"null", "FLOAT:12345678", "null"}));
}

TEST(IotdbCsvTest, AlignByDevice) {
  TempDir dir;
  const std::string path =
      dir.Write("d.csv",
                "Time,Device,hardware(TEXT),status(BOOLEAN)\r\n"
                "1970-01-01T08:00:00.001+08:00,root.ln.wf01.wt01,\"v1\",true\r\n"
                "1970-01-01T08:00:00.002+08:00,root.ln.wf01.wt01,,true\r\n"
                // The exporter leaves a TEXT starting "root." unquoted.
                "1970-01-01T08:00:00.001+08:00,root.ln.wf02.wt02,root.ln.x,false\r\n"
                "1970-01-01T08:00:00.004+08:00,,\"v\",true\r\n"
                "1970-01-01T08:00:00.005+08:00,root.ln.wf02.wt02,\"v\",maybe\r\n");
  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->align_by_device());
  ASSERT_EQ(reader->columns().size(), 2u);
  ExpectColumn(reader->columns()[0], "", "hardware", IotdbType::kText, "hardware(TEXT)");
  ExpectColumn(reader->columns()[1], "", "status", IotdbType::kBoolean, "status(BOOLEAN)");

  std::vector<IotdbCsvRow> rows = ReadAll(reader.get());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].time, 1);
  EXPECT_EQ(rows[0].device, "root.ln.wf01.wt01");
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"TEXT:v1", "BOOLEAN:true"}));
  EXPECT_EQ(rows[1].time, 2);
  EXPECT_EQ(rows[1].device, "root.ln.wf01.wt01");
  EXPECT_EQ(Values(rows[1]), (std::vector<std::string>{"null", "BOOLEAN:true"}));
  EXPECT_EQ(rows[2].time, 1);
  EXPECT_EQ(rows[2].device, "root.ln.wf02.wt02");
  EXPECT_EQ(Values(rows[2]), (std::vector<std::string>{"TEXT:root.ln.x", "BOOLEAN:false"}));
  EXPECT_EQ(rows[3].line, 5);
  ExpectProblem(rows[3], "column 2 (Device) is empty");
  EXPECT_EQ(rows[3].raw, "1970-01-01T08:00:00.004+08:00,,\"v\",true");
  EXPECT_EQ(rows[4].line, 6);
  ExpectProblem(rows[4], "column 4 (status(BOOLEAN)): not a BOOLEAN: \"maybe\"");
}

TEST(IotdbCsvTest, UntypedHeaderInfersTypes) {
  TempDir dir;
  // The header is 85 bytes after the 3-byte BOM, so the first row starts at 88.
  const std::string path =
      dir.Write("u.csv",
                "\xEF\xBB\xBFtime,root.sg.d1.b,root.sg.d1.i,root.sg.d1.d,root.sg.d2.t,root.sg.d2.x,"
                "root.sg.d2.day\n"
                "2024-01-01T00:00:00.000Z,true,42,1.41,\"hello\",0x00ff00,2025-07-14\n"
                "1704067200001,FALSE,+9007199254740993,1.2345678E7,\"\",0xCAFE,2025-02-29\n"
                "1704067200002,-7,99999999999999999999,NaN,plain,0x123,root.sg.x\n"
                "1704067200003,yes,1.0E-4,-Infinity,\"a\\,b\",nan,1e999\n"
                "-1000,,12.0,Infinity,\"q\"x,-0,.5\n");
  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  EXPECT_FALSE(reader->align_by_device());
  ASSERT_EQ(reader->columns().size(), 6u);
  ExpectColumn(reader->columns()[0], "root.sg.d1", "b", std::nullopt, "root.sg.d1.b");
  ExpectColumn(reader->columns()[2], "root.sg.d1", "d", std::nullopt, "root.sg.d1.d");
  ExpectColumn(reader->columns()[5], "root.sg.d2", "day", std::nullopt, "root.sg.d2.day");

  std::vector<IotdbCsvRow> rows = ReadAll(reader.get());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].offset, 88);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].time, 1704067200000);
  EXPECT_EQ(Values(rows[0]),
            (std::vector<std::string>{"BOOLEAN:true", "INT64:42", "DOUBLE:1.41", "TEXT:hello",
                                      std::string("BLOB:\0\xff\0", 8), "DATE:2025-07-14"}));
  EXPECT_EQ(rows[1].time, 1704067200001);
  // 2^53 + 1 stays exact; 2025 has no Feb 29, so that is text.
  EXPECT_EQ(Values(rows[1]),
            (std::vector<std::string>{"BOOLEAN:false", "INT64:9007199254740993", "DOUBLE:12345678",
                                      "TEXT:", "BLOB:\xca\xfe", "TEXT:2025-02-29"}));
  EXPECT_EQ(rows[2].time, 1704067200002);
  // Past int64 an integer is a number still; an odd hex count is no BLOB.
  EXPECT_EQ(Values(rows[2]),
            (std::vector<std::string>{"INT64:-7", "DOUBLE:1e+20", "DOUBLE:NaN", "TEXT:plain",
                                      "TEXT:0x123", "TEXT:root.sg.x"}));
  EXPECT_EQ(rows[3].time, 1704067200003);
  EXPECT_EQ(Values(rows[3]),
            (std::vector<std::string>{"TEXT:yes", "DOUBLE:1e-04", "DOUBLE:-Infinity", "TEXT:a,b",
                                      "TEXT:nan", "TEXT:1e999"}));
  EXPECT_EQ(rows[4].time, -1000);
  EXPECT_EQ(Values(rows[4]), (std::vector<std::string>{"null", "DOUBLE:12", "DOUBLE:Infinity",
                                                       "TEXT:\"q\"x", "INT64:0", "DOUBLE:0.5"}));
}

TEST(IotdbCsvTest, EscapesAndQuotes) {
  TempDir dir;
  const std::string path = dir.Write("e.csv", R"(Time,root.sg.d1.s(TEXT),root.sg.`a\,b`.s1(INT32)
1,"he said "hi"\, ok",1
2,"back\\slash",2
3,"l1\nl2\r\tx\by\fz\qw",3
4,"\"",4
5,\,,5
6,"trailing\
7,"ok",x
8,"",
)");
  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->columns().size(), 2u);
  ExpectColumn(reader->columns()[0], "root.sg.d1", "s", IotdbType::kText, "root.sg.d1.s(TEXT)");
  ExpectColumn(reader->columns()[1], "root.sg.`a,b`", "s1", IotdbType::kInt32,
               "root.sg.`a,b`.s1(INT32)");

  std::vector<IotdbCsvRow> rows = ReadAll(reader.get());
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"TEXT:he said \"hi\", ok", "INT32:1"}));
  EXPECT_EQ(Values(rows[1]), (std::vector<std::string>{"TEXT:back\\slash", "INT32:2"}));
  EXPECT_EQ(Values(rows[2]), (std::vector<std::string>{"TEXT:l1\nl2\r\tx\by\fzqw", "INT32:3"}));
  EXPECT_EQ(Values(rows[3]), (std::vector<std::string>{"TEXT:\"", "INT32:4"}));
  EXPECT_EQ(Values(rows[4]), (std::vector<std::string>{"TEXT:,", "INT32:5"}));
  EXPECT_EQ(rows[5].line, 7);
  EXPECT_EQ(rows[5].raw, "6,\"trailing\\");
  ExpectProblem(rows[5], "the line ends in a lone backslash");
  ExpectProblem(rows[6], "column 3 (root.sg.`a,b`.s1(INT32)): not an INT32: \"x\"");
  EXPECT_EQ(rows[7].time, 8);
  EXPECT_EQ(Values(rows[7]), (std::vector<std::string>{"TEXT:", "null"}));
}

TEST(IotdbCsvTest, HeaderPathsWithBackquotesAndTypeSuffixes) {
  TempDir dir;
  const std::string path = dir.Write(
      "b.csv",
      "Time,root.sg.`a.b`.s1,root.sg.d1.`x.y`,root.sg.d1.`m(INT32)`,root.sg.d1.s2(LONG),"
      "root.sg.d1.s3(int64),root.sg.`d``q.r`.s4(DOUBLE),alias,root.sg.d1.s5(TEXT)(INT32)\n"
      "1,v,w,x,y,5,1.5,z,7\n");
  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  const auto& c = reader->columns();
  ASSERT_EQ(c.size(), 8u);
  ExpectColumn(c[0], "root.sg.`a.b`", "s1", std::nullopt, "root.sg.`a.b`.s1");
  ExpectColumn(c[1], "root.sg.d1", "`x.y`", std::nullopt, "root.sg.d1.`x.y`");
  ExpectColumn(c[2], "root.sg.d1", "`m(INT32)`", std::nullopt, "root.sg.d1.`m(INT32)`");
  ExpectColumn(c[3], "root.sg.d1", "s2(LONG)", std::nullopt, "root.sg.d1.s2(LONG)");
  ExpectColumn(c[4], "root.sg.d1", "s3", IotdbType::kInt64, "root.sg.d1.s3(int64)");
  ExpectColumn(c[5], "root.sg.`d``q.r`", "s4", IotdbType::kDouble, "root.sg.`d``q.r`.s4(DOUBLE)");
  ExpectColumn(c[6], "", "alias", std::nullopt, "alias");
  ExpectColumn(c[7], "root.sg.d1", "s5(TEXT)", IotdbType::kInt32, "root.sg.d1.s5(TEXT)(INT32)");

  std::vector<IotdbCsvRow> rows = ReadAll(reader.get());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Values(rows[0]),
            (std::vector<std::string>{"TEXT:v", "TEXT:w", "TEXT:x", "TEXT:y", "INT64:5",
                                      "DOUBLE:1.5", "TEXT:z", "INT32:7"}));
}

TEST(IotdbCsvTest, WrongCellCountIsARowProblem) {
  TempDir dir;
  const std::string path =
      dir.Write("w.csv",
                "Time,root.sg.d.a(BOOLEAN),root.sg.d.b(DOUBLE),root.sg.d.c(TEXT)\n"
                "1,true,1.5,\"x\"\n"
                // IoTDB 1.x drops the Time cell of time 0.
                "true,2.5,\"y\"\n"
                "3,true\n"
                "4,true,1.5,\"x\",extra\n"
                "5,false,,\n");
  std::vector<IotdbCsvRow> rows = ReadAll(path, kMs);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"BOOLEAN:true", "DOUBLE:1.5", "TEXT:x"}));
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].raw, "true,2.5,\"y\"");
  EXPECT_TRUE(StartsWith(rows[1].problem, "row has 3 cells, the header has 4")) << rows[1].problem;
  EXPECT_EQ(rows[1].time, 0);
  EXPECT_TRUE(rows[1].values.empty());
  ExpectProblem(rows[2], "row has 2 cells, the header has 4");
  ExpectProblem(rows[3], "row has 5 cells, the header has 4");
  EXPECT_EQ(rows[4].line, 6);
  EXPECT_EQ(rows[4].problem, "");
  EXPECT_EQ(rows[4].time, 5);
  EXPECT_EQ(Values(rows[4]), (std::vector<std::string>{"BOOLEAN:false", "null", "null"}));
}

TEST(IotdbCsvTest, TimeCellsAtMillisecondPrecision) {
  TempDir dir;
  const std::string path = dir.Write("t.csv",
                                     "Time,root.sg.d.v(INT64)\n"
                                     "2024-01-01T08:00:00.000+08:00,1\n"
                                     "2024-01-01T00:00:00.001Z,2\n"
                                     "1969-12-31T23:59:59.999Z,3\n"
                                     "2024-01-01T00:00:00.1234Z,4\n"
                                     "2024-01-01T00:00:00.1230Z,5\n"
                                     "2024-01-01T00:00:00,6\n"
                                     "abc,7\n"
                                     ",8\n");
  std::vector<IotdbCsvRow> rows = ReadAll(path, kMs);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].time, 1704067200000);
  EXPECT_EQ(rows[1].time, 1704067200001);
  EXPECT_EQ(rows[2].time, -1);
  ExpectProblem(rows[3],
                "column 1 (Time): not a time: \"2024-01-01T00:00:00.1234Z\" (4 fraction digits; "
                "the ms precision keeps only 3)");
  EXPECT_EQ(rows[4].time, 1704067200123);
  ExpectProblem(rows[5], "column 1 (Time): not a time: \"2024-01-01T00:00:00\" (no UTC offset)");
  ExpectProblem(rows[6], "column 1 (Time): not a time: \"abc\"");
  ExpectProblem(rows[7], "column 1 (Time): not a time: \"\"");
}

TEST(IotdbCsvTest, MicrosecondPrecisionAndTimestampValues) {
  TempDir dir;
  const std::string path =
      dir.Write("us.csv",
                "Time,root.sg.d.ts(TIMESTAMP),root.sg.d.v(INT32)\r\n"
                "2024-01-01T00:00:00.123456Z,2024-01-01T08:00:00.000001+08:00,1\r\n"
                "1704067200123457,1704067200000002,2\r\n"
                "2024-01-01T00:00:00.1234567Z,1,3\r\n"
                "1,2024-01-01T00:00:00,4\r\n"
                "2,,2147483648\r\n");
  std::vector<IotdbCsvRow> rows = ReadAll(path, kUs);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].time, 1704067200123456);
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"TIMESTAMP:1704067200000001", "INT32:1"}));
  EXPECT_EQ(rows[1].time, 1704067200123457);
  EXPECT_EQ(Values(rows[1]), (std::vector<std::string>{"TIMESTAMP:1704067200000002", "INT32:2"}));
  ExpectProblem(rows[2],
                "column 1 (Time): not a time: \"2024-01-01T00:00:00.1234567Z\" (7 fraction "
                "digits; the us precision keeps only 6)");
  ExpectProblem(rows[3],
                "column 2 (root.sg.d.ts(TIMESTAMP)): not a TIMESTAMP: \"2024-01-01T00:00:00\" (no "
                "UTC offset)");
  ExpectProblem(rows[4], "column 3 (root.sg.d.v(INT32)): not an INT32: \"2147483648\"");
}

TEST(IotdbCsvTest, NanosecondPrecision) {
  TempDir dir;
  const std::string path = dir.Write("ns.csv",
                                     "Time,root.sg.d.v(DOUBLE)\n"
                                     "2024-01-01T00:00:00.123456789Z,1.0\n"
                                     "2024-01-01T08:00:00.000000001+08:00,2.5\n"
                                     "1677-09-21T00:12:43.145224192Z,3\n"
                                     "2024-01-01T00:00:00.1234567891Z,4\n");
  std::vector<IotdbCsvRow> rows = ReadAll(path, kNs);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].time, 1704067200123456789);
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"DOUBLE:1"}));
  EXPECT_EQ(rows[1].time, 1704067200000000001);
  EXPECT_EQ(rows[2].time, std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(StartsWith(rows[3].problem, "column 1 (Time): ")) << rows[3].problem;
  EXPECT_NE(rows[3].problem.find("the ns precision keeps only 9"), std::string::npos);
}

TEST(IotdbCsvTest, OffsetsLinesEmptyLinesAndResume) {
  TempDir dir;
  // Header 13 + LF = 14; "1,1" CRLF at 14..19; empty lines 3 and 4 at 19..22;
  // "2,x" at 22..25 with no line ending.
  const std::string path = dir.Write("o.csv", "Time,root.a.b\n1,1\r\n\r\n\n2,x");
  std::vector<IotdbCsvRow> rows = ReadAll(path, kMs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].offset, 14);
  EXPECT_EQ(rows[0].end_offset, 19);
  EXPECT_EQ(rows[0].raw, "1,1");
  EXPECT_EQ(Values(rows[0]), (std::vector<std::string>{"INT64:1"}));
  EXPECT_EQ(rows[1].line, 5);
  EXPECT_EQ(rows[1].offset, 22);
  EXPECT_EQ(rows[1].end_offset, 25);
  EXPECT_EQ(rows[1].raw, "2,x");
  EXPECT_EQ(Values(rows[1]), (std::vector<std::string>{"TEXT:x"}));

  // Resuming after row 1 skips the empty lines to row 2, still line 5.
  std::vector<IotdbCsvRow> tail = ReadAll(path, kMs, 19, 2);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].line, 5);
  EXPECT_EQ(tail[0].offset, 22);
  EXPECT_EQ(tail[0].raw, "2,x");
  // After the last row (end of file) nothing is left.
  EXPECT_TRUE(ReadAll(path, kMs, 25, 5).empty());
  // The header's end is the first row's position too.
  EXPECT_EQ(ReadAll(path, kMs, 14, 1).size(), 2u);

  // Positions that are no row's end are refused, not read from mid-line.
  for (int64_t bad : {5, 13, 15, 24, 26, -1}) {
    auto reader = IotdbCsvReader::Open(path, kMs, bad, 1);
    EXPECT_FALSE(reader.ok()) << bad;
    if (!reader.ok()) {
      EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);
      EXPECT_NE(reader.status().message().find(path), std::string::npos);
    }
  }
}

TEST(IotdbCsvTest, ResumeFromEveryRowMatchesOnePass) {
  TempDir dir;
  const std::string path =
      dir.Write("r.csv",
                "\xEF\xBB\xBFTime,Device,hardware(TEXT),status(BOOLEAN)\r\n"
                "1970-01-01T08:00:00.001+08:00,root.ln.wf01.wt01,\"v1\",true\r\n"
                "\r\n"
                "1970-01-01T08:00:00.002+08:00,root.ln.wf01.wt01,,true\r\n"
                "bad row\r\n"
                "1970-01-01T08:00:00.003+08:00,root.ln.wf02.wt02,\"a\\,b\",false\r\n"
                "1970-01-01T08:00:00.004+08:00,root.ln.wf02.wt02,\"c\",\r\n");
  std::vector<IotdbCsvRow> all = ReadAll(path, kMs);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[1].line, 4);
  EXPECT_EQ(all[2].line, 5);
  EXPECT_EQ(all[2].problem, "row has 1 cells, the header has 4");
  EXPECT_EQ(all[3].device, "root.ln.wf02.wt02");
  EXPECT_EQ(Values(all[3]), (std::vector<std::string>{"TEXT:a,b", "BOOLEAN:false"}));
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(all[i].offset, all[i - 1].end_offset + (i == 1 ? 2 : 0));
    }
    std::vector<IotdbCsvRow> tail = ReadAll(path, kMs, all[i].end_offset, all[i].line);
    ASSERT_EQ(tail.size(), all.size() - i - 1) << "after row " << i;
    for (size_t j = 0; j < tail.size(); ++j) {
      const IotdbCsvRow& want = all[i + 1 + j];
      EXPECT_EQ(tail[j].line, want.line);
      EXPECT_EQ(tail[j].offset, want.offset);
      EXPECT_EQ(tail[j].end_offset, want.end_offset);
      EXPECT_EQ(tail[j].raw, want.raw);
      EXPECT_EQ(tail[j].problem, want.problem);
      EXPECT_EQ(tail[j].time, want.time);
      EXPECT_EQ(tail[j].device, want.device);
      EXPECT_EQ(Values(tail[j]), Values(want));
    }
  }
}

TEST(IotdbCsvTest, LinesAcrossBlocksAndLongerThanABlock) {
  TempDir dir;
  // ~2.4 MB of rows spans several 1 MiB blocks, and one 3 MiB value outgrows one.
  const std::string big(3 << 20, 'q');
  std::string content = "Time,root.sg.d.s(TEXT)\r\n";
  const int kRows = 100'000;
  for (int i = 1; i <= kRows; ++i) {
    content += std::to_string(i) + ",\"row" + std::to_string(i) + "\"\r\n";
    if (i == 50'000) content += "50000,\"" + big + "\"\r\n";
  }
  const std::string path = dir.Write("big.csv", content);

  auto reader = OpenOk(path, kMs);
  ASSERT_NE(reader, nullptr);
  IotdbCsvRow row;
  int64_t expected_offset = 24;  // the header's 22 bytes and CRLF
  int64_t count = 0;
  for (;;) {
    Result<bool> more = reader->Next(&row);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ++count;
    ASSERT_EQ(row.offset, expected_offset);
    ASSERT_EQ(row.line, count + 1);
    ASSERT_EQ(row.problem, "");
    expected_offset = row.end_offset;
    if (count == 50'001) {
      ASSERT_EQ(row.time, 50'000);
      ASSERT_EQ(row.values[0]->text, big);
    } else {
      const int64_t i = count > 50'001 ? count - 1 : count;
      ASSERT_EQ(row.time, i);
      ASSERT_EQ(row.values[0]->text, "row" + std::to_string(i));
    }
  }
  EXPECT_EQ(count, kRows + 1);
  EXPECT_EQ(expected_offset, static_cast<int64_t>(content.size()));
}

TEST(IotdbCsvTest, HeaderOnlyAndTimeOnlyFiles) {
  TempDir dir;
  auto reader = OpenOk(dir.Write("h.csv", "Time,root.sg.d.s(TEXT)\r\n"), kMs);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->columns().size(), 1u);
  EXPECT_TRUE(ReadAll(reader.get()).empty());

  // A lowercase "time" and "device", no series, and a header without a line ending.
  reader = OpenOk(dir.Write("h2.csv", "time,DEVICE"), kMs);
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->align_by_device());
  EXPECT_TRUE(reader->columns().empty());
  EXPECT_TRUE(ReadAll(reader.get()).empty());

  std::vector<IotdbCsvRow> rows = ReadAll(dir.Write("h3.csv", "\n\nTime\n7\n"), kMs);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].line, 4);
  EXPECT_EQ(rows[0].time, 7);
  EXPECT_TRUE(rows[0].values.empty());
}

TEST(IotdbCsvTest, BadHeadersAndMissingFilesAreErrors) {
  TempDir dir;
  const std::string missing = dir.Write("x", "") + ".missing";
  auto r = IotdbCsvReader::Open(missing, kMs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(missing), std::string::npos);

  const std::string wrong = dir.Write("wrong.csv", "Timestamp,root.sg.d.s\n1,2\n");
  r = IotdbCsvReader::Open(wrong, kMs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find(wrong), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("\"Timestamp\""), std::string::npos) << r.status().message();

  for (const char* content : {"", "\r\n\n", "\xEF\xBB\xBF"}) {
    const std::string empty = dir.Write("empty.csv", content);
    r = IotdbCsvReader::Open(empty, kMs);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDataError);
    EXPECT_NE(r.status().message().find(empty), std::string::npos);
  }

  r = IotdbCsvReader::Open(dir.Write("lone.csv", "Time,a\\"), kMs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);

  // A directory opens but cannot be read.
  const std::string sub = (std::filesystem::path(wrong).parent_path() / "sub").string();
  std::filesystem::create_directories(sub);
  r = IotdbCsvReader::Open(sub, kMs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find(sub), std::string::npos);
}

}  // namespace
}  // namespace cutover::iotdb_store
