// IoTDB type names, canonical values and time parsing/formatting, with every
// expected value worked out by hand from IoTDB's and Java's spellings.
#include "stores/iotdb/iotdb_types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace cutover::iotdb_store {
namespace {

constexpr TimePrecision kMs = TimePrecision::kMs;
constexpr TimePrecision kUs = TimePrecision::kUs;
constexpr TimePrecision kNs = TimePrecision::kNs;

// The canonical text of `raw` as `type`; fails the test on an error.
std::string Canon(IotdbType type, std::string_view raw, TimePrecision precision = kMs) {
  Result<IotdbValue> v = CanonicalValue(type, raw, precision);
  EXPECT_TRUE(v.ok()) << IotdbTypeName(type) << " " << raw << ": " << v.status().ToString();
  if (!v.ok()) return "<error>";
  EXPECT_EQ(v->type, type);
  return v->text;
}

// The error message for `raw` as `type`; fails the test when it is accepted.
std::string CanonError(IotdbType type, std::string_view raw, TimePrecision precision = kMs) {
  Result<IotdbValue> v = CanonicalValue(type, raw, precision);
  EXPECT_FALSE(v.ok()) << IotdbTypeName(type) << " " << raw << " gave " << v->text;
  if (v.ok()) return "<accepted>";
  EXPECT_EQ(v.status().code(), StatusCode::kDataError);
  return v.status().message();
}

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" lacks \"" << part << "\"";
}

int64_t Time(std::string_view text, TimePrecision precision) {
  Result<int64_t> t = ParseIotdbTime(text, precision);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : -424242;
}

std::string TimeError(std::string_view text, TimePrecision precision) {
  Result<int64_t> t = ParseIotdbTime(text, precision);
  EXPECT_FALSE(t.ok()) << text << " gave " << *t;
  if (t.ok()) return "<accepted>";
  EXPECT_EQ(t.status().code(), StatusCode::kDataError);
  return t.status().message();
}

TEST(IotdbTypesTest, TypeNamesRoundTrip) {
  const std::pair<IotdbType, std::string_view> kAll[] = {
      {IotdbType::kBoolean, "BOOLEAN"},     {IotdbType::kInt32, "INT32"},
      {IotdbType::kInt64, "INT64"},         {IotdbType::kFloat, "FLOAT"},
      {IotdbType::kDouble, "DOUBLE"},       {IotdbType::kText, "TEXT"},
      {IotdbType::kString, "STRING"},       {IotdbType::kBlob, "BLOB"},
      {IotdbType::kTimestamp, "TIMESTAMP"}, {IotdbType::kDate, "DATE"},
  };
  for (const auto& [type, name] : kAll) {
    EXPECT_EQ(IotdbTypeName(type), name);
    EXPECT_EQ(ParseIotdbType(name), type) << name;
  }
}

TEST(IotdbTypesTest, ParseTypeIgnoresCaseAndRejectsOthers) {
  EXPECT_EQ(ParseIotdbType("int64"), IotdbType::kInt64);
  EXPECT_EQ(ParseIotdbType("Boolean"), IotdbType::kBoolean);
  EXPECT_EQ(ParseIotdbType("tImEsTaMp"), IotdbType::kTimestamp);
  EXPECT_EQ(ParseIotdbType("LONG"), std::nullopt);
  EXPECT_EQ(ParseIotdbType("INT"), std::nullopt);
  EXPECT_EQ(ParseIotdbType("TEXT "), std::nullopt);
  EXPECT_EQ(ParseIotdbType(""), std::nullopt);
}

TEST(IotdbTypesTest, Precisions) {
  EXPECT_EQ(PrecisionName(kMs), "ms");
  EXPECT_EQ(PrecisionName(kUs), "us");
  EXPECT_EQ(PrecisionName(kNs), "ns");
  EXPECT_EQ(PrecisionDigits(kMs), 3);
  EXPECT_EQ(PrecisionDigits(kUs), 6);
  EXPECT_EQ(PrecisionDigits(kNs), 9);
}

TEST(IotdbTypesTest, CanonicalDoubleIsShortestRoundTrip) {
  EXPECT_EQ(CanonicalDouble(1.41), "1.41");
  EXPECT_EQ(CanonicalDouble(12.0), "12");
  EXPECT_EQ(CanonicalDouble(-3.0), "-3");
  EXPECT_EQ(CanonicalDouble(0.1), "0.1");
  EXPECT_EQ(CanonicalDouble(0.0), "0");
  EXPECT_EQ(CanonicalDouble(-0.0), "-0");
  // to_chars picks the shorter of fixed and scientific, fixed on a tie.
  EXPECT_EQ(CanonicalDouble(1.2345678e7), "12345678");
  EXPECT_EQ(CanonicalDouble(1.0e-4), "1e-04");
  EXPECT_EQ(CanonicalDouble(0.001), "0.001");
  EXPECT_EQ(CanonicalDouble(1e21), "1e+21");
  EXPECT_EQ(CanonicalDouble(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(CanonicalDouble(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(CanonicalDouble(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(CanonicalDouble(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(CanonicalDouble(-std::numeric_limits<double>::infinity()), "-Infinity");
}

TEST(IotdbTypesTest, Boolean) {
  EXPECT_EQ(Canon(IotdbType::kBoolean, "true"), "true");
  EXPECT_EQ(Canon(IotdbType::kBoolean, "TRUE"), "true");
  EXPECT_EQ(Canon(IotdbType::kBoolean, "False"), "false");
  EXPECT_EQ(CanonError(IotdbType::kBoolean, "yes"), "not a BOOLEAN: \"yes\"");
  CanonError(IotdbType::kBoolean, "1");
  CanonError(IotdbType::kBoolean, "");
  CanonError(IotdbType::kBoolean, " true");
  CanonError(IotdbType::kBoolean, "\"true\"");
}

TEST(IotdbTypesTest, Int32) {
  EXPECT_EQ(Canon(IotdbType::kInt32, "42"), "42");
  EXPECT_EQ(Canon(IotdbType::kInt32, "+0042"), "42");
  EXPECT_EQ(Canon(IotdbType::kInt32, "-0"), "0");
  EXPECT_EQ(Canon(IotdbType::kInt32, "-2147483648"), "-2147483648");
  EXPECT_EQ(Canon(IotdbType::kInt32, "2147483647"), "2147483647");
  EXPECT_EQ(CanonError(IotdbType::kInt32, "3.5"), "not an INT32: \"3.5\"");
  EXPECT_EQ(CanonError(IotdbType::kInt32, "2147483648"), "not an INT32: \"2147483648\"");
  CanonError(IotdbType::kInt32, "-2147483649");
  CanonError(IotdbType::kInt32, "");
  CanonError(IotdbType::kInt32, "+");
  CanonError(IotdbType::kInt32, "-");
  CanonError(IotdbType::kInt32, "+-1");
  CanonError(IotdbType::kInt32, "--1");
  CanonError(IotdbType::kInt32, " 1");
  CanonError(IotdbType::kInt32, "1 ");
  CanonError(IotdbType::kInt32, "1e3");
  CanonError(IotdbType::kInt32, "0x10");
}

TEST(IotdbTypesTest, Int64IsExact) {
  // 2^53 + 1: a double would make it ...992.
  EXPECT_EQ(Canon(IotdbType::kInt64, "9007199254740993"), "9007199254740993");
  EXPECT_EQ(Canon(IotdbType::kInt64, "9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Canon(IotdbType::kInt64, "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(Canon(IotdbType::kInt64, "+000000000000000000000001"), "1");
  EXPECT_EQ(CanonError(IotdbType::kInt64, "9223372036854775808"),
            "not an INT64: \"9223372036854775808\"");
  CanonError(IotdbType::kInt64, "-9223372036854775809");
  CanonError(IotdbType::kInt64, "1.0");
}

TEST(IotdbTypesTest, FloatAndDoubleFromJavaText) {
  for (IotdbType type : {IotdbType::kFloat, IotdbType::kDouble}) {
    EXPECT_EQ(Canon(type, "1.41"), "1.41");
    EXPECT_EQ(Canon(type, "12.0"), "12");
    EXPECT_EQ(Canon(type, "1.2345678E7"), "12345678");
    EXPECT_EQ(Canon(type, "1.0E-4"), "1e-04");
    EXPECT_EQ(Canon(type, "-3"), "-3");
    EXPECT_EQ(Canon(type, "+1.5"), "1.5");
    EXPECT_EQ(Canon(type, "-0.0"), "-0");
    EXPECT_EQ(Canon(type, "0.9666617"), "0.9666617");
    EXPECT_EQ(Canon(type, "NaN"), "NaN");
    EXPECT_EQ(Canon(type, "Infinity"), "Infinity");
    EXPECT_EQ(Canon(type, "-Infinity"), "-Infinity");
    EXPECT_EQ(Canon(type, "+Infinity"), "Infinity");
    EXPECT_EQ(Canon(type, "inf"), "Infinity");
    EXPECT_EQ(Canon(type, "-INF"), "-Infinity");
    EXPECT_EQ(Canon(type, "4.9E-324"), "5e-324");
    CanonError(type, "");
    CanonError(type, "abc");
    CanonError(type, "1e400");  // no double; Java would never print it
    CanonError(type, "0x1p3");
    CanonError(type, "nan(1)");
    CanonError(type, "--1");
    CanonError(type, "+-1");
    CanonError(type, "1.5f");
    CanonError(type, " 1.5");
  }
  EXPECT_EQ(CanonError(IotdbType::kFloat, "x"), "not a FLOAT: \"x\"");
  EXPECT_EQ(CanonError(IotdbType::kDouble, "1,5"), "not a DOUBLE: \"1,5\"");
  // A FLOAT's Java text is read as a double, not rounded to float precision.
  EXPECT_EQ(Canon(IotdbType::kFloat, "3.4028235E38"), "3.4028235e+38");
}

TEST(IotdbTypesTest, TextLosesOnlyTheExportersQuotes) {
  for (IotdbType type : {IotdbType::kText, IotdbType::kString}) {
    EXPECT_EQ(Canon(type, "\"abc\""), "abc");
    EXPECT_EQ(Canon(type, "\"\""), "");
    EXPECT_EQ(Canon(type, "\"\"\"\""), "\"\"");
    EXPECT_EQ(Canon(type, "\"he said \"hi\", ok\""), "he said \"hi\", ok");
    EXPECT_EQ(Canon(type, "\""), "\"");
    EXPECT_EQ(Canon(type, "\"abc"), "\"abc");
    EXPECT_EQ(Canon(type, "abc\""), "abc\"");
    EXPECT_EQ(Canon(type, "root.ln.wf01"), "root.ln.wf01");
    EXPECT_EQ(Canon(type, ""), "");
    EXPECT_EQ(Canon(type, std::string_view("\"a\0b\"", 5)), std::string("a\0b", 3));
  }
}

TEST(IotdbTypesTest, BlobDecodesHex) {
  EXPECT_EQ(Canon(IotdbType::kBlob, "0x00ff00"), std::string("\0\xff\0", 3));
  EXPECT_EQ(Canon(IotdbType::kBlob, "0XCAFE"), "\xca\xfe");
  EXPECT_EQ(Canon(IotdbType::kBlob, "0xCaFe"), "\xca\xfe");
  EXPECT_EQ(Canon(IotdbType::kBlob, "X'cafe'"), "\xca\xfe");
  EXPECT_EQ(Canon(IotdbType::kBlob, "x'00'"), std::string(1, '\0'));
  EXPECT_EQ(Canon(IotdbType::kBlob, "0x"), "");
  EXPECT_EQ(Canon(IotdbType::kBlob, "X''"), "");
  EXPECT_EQ(CanonError(IotdbType::kBlob, "0x123"), "not a BLOB: \"0x123\"");
  CanonError(IotdbType::kBlob, "0xzz");
  CanonError(IotdbType::kBlob, "cafe");
  CanonError(IotdbType::kBlob, "\"0xcafe\"");
  CanonError(IotdbType::kBlob, "X'caf'");
  CanonError(IotdbType::kBlob, "X'cafe");
  CanonError(IotdbType::kBlob, "X'");
  CanonError(IotdbType::kBlob, "");
}

TEST(IotdbTypesTest, DateValidatesTheCalendar) {
  EXPECT_EQ(Canon(IotdbType::kDate, "2025-07-14"), "2025-07-14");
  EXPECT_EQ(Canon(IotdbType::kDate, "2024-02-29"), "2024-02-29");
  EXPECT_EQ(Canon(IotdbType::kDate, "2000-02-29"), "2000-02-29");
  EXPECT_EQ(Canon(IotdbType::kDate, "1000-01-01"), "1000-01-01");
  EXPECT_EQ(Canon(IotdbType::kDate, "9999-12-31"), "9999-12-31");
  // REST before IoTDB change #15917 (2025): the yyyymmdd int.
  EXPECT_EQ(Canon(IotdbType::kDate, "20250714"), "2025-07-14");
  EXPECT_EQ(Canon(IotdbType::kDate, "20240229"), "2024-02-29");
  EXPECT_EQ(CanonError(IotdbType::kDate, "2023-02-29"), "not a DATE: \"2023-02-29\"");
  CanonError(IotdbType::kDate, "1900-02-29");  // divisible by 100, not by 400
  CanonError(IotdbType::kDate, "2025-13-01");
  CanonError(IotdbType::kDate, "2025-00-01");
  CanonError(IotdbType::kDate, "2025-04-31");
  CanonError(IotdbType::kDate, "2025-04-00");
  CanonError(IotdbType::kDate, "2025-7-14");
  CanonError(IotdbType::kDate, "2025/07/14");
  CanonError(IotdbType::kDate, "2025-07-14T00:00:00Z");
  CanonError(IotdbType::kDate, "20230229");
  CanonError(IotdbType::kDate, "2025071");
  CanonError(IotdbType::kDate, "+2025071");
  CanonError(IotdbType::kDate, "");
}

TEST(IotdbTypesTest, TimestampValue) {
  EXPECT_EQ(Canon(IotdbType::kTimestamp, "1704067200000"), "1704067200000");
  EXPECT_EQ(Canon(IotdbType::kTimestamp, "-1"), "-1");
  EXPECT_EQ(Canon(IotdbType::kTimestamp, "2024-01-01T08:00:00.000+08:00"), "1704067200000");
  EXPECT_EQ(Canon(IotdbType::kTimestamp, "2024-01-01T00:00:00.123456Z", kUs), "1704067200123456");
  EXPECT_EQ(CanonError(IotdbType::kTimestamp, "abc"), "not a TIMESTAMP: \"abc\"");
  EXPECT_EQ(CanonError(IotdbType::kTimestamp, "2024-01-01T00:00:00"),
            "not a TIMESTAMP: \"2024-01-01T00:00:00\" (no UTC offset)");
}

TEST(IotdbTypesTest, ErrorQuotesControlBytesAndCutsLongText) {
  EXPECT_EQ(CanonError(IotdbType::kInt32, std::string_view("1\0", 2)), "not an INT32: \"1\\x00\"");
  const std::string long_text(100, 'a');
  EXPECT_EQ(CanonError(IotdbType::kInt32, long_text),
            "not an INT32: \"" + std::string(64, 'a') + "...\"");
}

TEST(IotdbTypesTest, IsoTimeFormatsUtcWithPrecisionDigits) {
  EXPECT_EQ(IsoTime(0, kMs), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(0, kUs), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(IsoTime(0, kNs), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(IsoTime(1704067200123, kMs), "2024-01-01T00:00:00.123Z");
  EXPECT_EQ(IsoTime(1704067200123456, kUs), "2024-01-01T00:00:00.123456Z");
  EXPECT_EQ(IsoTime(1704067200123456789, kNs), "2024-01-01T00:00:00.123456789Z");
  EXPECT_EQ(IsoTime(1704067200007, kMs), "2024-01-01T00:00:00.007Z");
  // 2000-01-01 is day 10957; + 31 + 28 days is Feb 29.
  EXPECT_EQ(IsoTime(951782400000, kMs), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(IsoTime(86399999, kMs), "1970-01-01T23:59:59.999Z");
}

TEST(IotdbTypesTest, IsoTimeBefore1970FloorsToTheEarlierSecond) {
  EXPECT_EQ(IsoTime(-1, kMs), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(IsoTime(-1, kNs), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(IsoTime(-1000, kMs), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(IsoTime(-1001, kMs), "1969-12-31T23:59:58.999Z");
  EXPECT_EQ(IsoTime(-86400000, kMs), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(IsoTime(-86400001, kMs), "1969-12-30T23:59:59.999Z");
  // The NTP era starts 2208988800 s before the Unix epoch.
  EXPECT_EQ(IsoTime(-2208988800000, kMs), "1900-01-01T00:00:00.000Z");
  EXPECT_EQ(IsoTime(std::numeric_limits<int64_t>::min(), kNs), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(IsoTime(std::numeric_limits<int64_t>::max(), kNs), "2262-04-11T23:47:16.854775807Z");
}

TEST(IotdbTypesTest, ParseTimeIntegers) {
  EXPECT_EQ(Time("1704067200000", kMs), 1704067200000);
  EXPECT_EQ(Time("0", kMs), 0);
  EXPECT_EQ(Time("-5", kNs), -5);
  EXPECT_EQ(Time("9223372036854775807", kNs), std::numeric_limits<int64_t>::max());
  EXPECT_TRUE(Contains(TimeError("9223372036854775808", kMs), "out of the 64-bit range"));
  TimeError("-", kMs);
  TimeError("+5", kMs);
  TimeError("", kMs);
  TimeError("1.5", kMs);
}

TEST(IotdbTypesTest, ParseTimeIso) {
  EXPECT_EQ(Time("2024-01-01T00:00:00Z", kMs), 1704067200000);
  EXPECT_EQ(Time("2024-01-01T00:00:00.000Z", kMs), 1704067200000);
  EXPECT_EQ(Time("2024-01-01T08:00:00+08:00", kMs), 1704067200000);
  EXPECT_EQ(Time("2024-01-01T05:30:00+05:30", kMs), 1704067200000);
  EXPECT_EQ(Time("2023-12-31T19:00:00-05:00", kMs), 1704067200000);
  EXPECT_EQ(Time("2024-01-01 00:00:00Z", kMs), 1704067200000);
  EXPECT_EQ(Time("1970-01-01T08:00:00.001+08:00", kMs), 1);
  EXPECT_EQ(Time("2024-01-01T00:00:00.5Z", kMs), 1704067200500);
  EXPECT_EQ(Time("2024-01-01T00:00:00.5Z", kNs), 1704067200500000000);
  EXPECT_EQ(Time("2024-01-01T00:00:00.123456Z", kUs), 1704067200123456);
  EXPECT_EQ(Time("2024-01-01T00:00:00.123456789Z", kNs), 1704067200123456789);
  EXPECT_EQ(Time("1970-01-01T08:00:00.000000001+08:00", kNs), 1);
  EXPECT_EQ(Time("1969-12-31T23:59:59.999Z", kMs), -1);
  EXPECT_EQ(Time("1969-12-31T19:00:00-05:00", kMs), 0);
  EXPECT_EQ(Time("1900-01-01T00:00:00Z", kMs), -2208988800000);
  EXPECT_EQ(Time("2000-02-29T00:00:00Z", kMs), 951782400000);
}

TEST(IotdbTypesTest, ParseTimeFractionBeyondPrecision) {
  // Extra zeros lose nothing.
  EXPECT_EQ(Time("2024-01-01T00:00:00.1230Z", kMs), 1704067200123);
  EXPECT_EQ(Time("2024-01-01T00:00:00.123000000Z", kMs), 1704067200123);
  EXPECT_EQ(TimeError("2024-01-01T00:00:00.1234Z", kMs),
            "not a time: \"2024-01-01T00:00:00.1234Z\" (4 fraction digits; the ms precision "
            "keeps only 3)");
  EXPECT_TRUE(
      Contains(TimeError("2024-01-01T00:00:00.1234567Z", kUs), "the us precision keeps only 6"));
  EXPECT_TRUE(
      Contains(TimeError("2024-01-01T00:00:00.1234567891Z", kNs), "the ns precision keeps only 9"));
}

TEST(IotdbTypesTest, ParseTimeRejectsBadIso) {
  EXPECT_EQ(TimeError("2024-01-01T00:00:00", kMs),
            "not a time: \"2024-01-01T00:00:00\" (no UTC offset)");
  EXPECT_EQ(TimeError("2024-01-01T00:00:00.123", kMs),
            "not a time: \"2024-01-01T00:00:00.123\" (no UTC offset)");
  EXPECT_EQ(TimeError("abc", kMs), "not a time: \"abc\"");
  TimeError("2024-02-30T00:00:00Z", kMs);
  TimeError("2024-01-01T24:00:00Z", kMs);
  TimeError("2024-01-01T00:60:00Z", kMs);
  TimeError("2024-01-01T00:00:60Z", kMs);
  TimeError("2024-01-01T00:00:00.Z", kMs);
  TimeError("2024-01-01T00:00Z", kMs);
  TimeError("2024-01-01X00:00:00Z", kMs);
  TimeError("2024-01-01T00:00:00+8:00", kMs);
  TimeError("2024-01-01T00:00:00+0800", kMs);
  TimeError("2024-01-01T00:00:00+19:00", kMs);
  TimeError("2024-01-01T00:00:00+08:60", kMs);
  TimeError("2024-01-01T00:00:00Z ", kMs);
  TimeError("2024-01-01T00:00:00ZZ", kMs);
  TimeError("24-01-01T00:00:00Z", kMs);
}

TEST(IotdbTypesTest, ParseTimeChecksTheInt64Range) {
  EXPECT_EQ(Time("2262-04-11T23:47:16.854775807Z", kNs), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Time("1677-09-21T00:12:43.145224192Z", kNs), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(
      Contains(TimeError("2262-04-11T23:47:16.854775808Z", kNs), "out of the 64-bit ns range"));
  EXPECT_TRUE(
      Contains(TimeError("1677-09-21T00:12:43.145224191Z", kNs), "out of the 64-bit ns range"));
  EXPECT_TRUE(Contains(TimeError("9999-12-31T23:59:59Z", kNs), "out of the 64-bit ns range"));
  EXPECT_EQ(Time("9999-12-31T23:59:59.999Z", kMs), 253402300799999);
}

TEST(IotdbTypesTest, IsoTimeReadsBack) {
  const int64_t kEpochs[] = {0,
                             1,
                             -1,
                             999,
                             -999,
                             1704067200123456789,
                             -2208988800000000001,
                             std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max()};
  for (TimePrecision p : {kMs, kUs, kNs}) {
    for (int64_t e : kEpochs) {
      if (p != kNs && (e <= -100'000'000'000'000 || e >= 100'000'000'000'000)) {
        continue;  // years beyond 9999 have no 4-digit ISO form
      }
      EXPECT_EQ(Time(IsoTime(e, p), p), e) << IsoTime(e, p);
    }
  }
}

}  // namespace
}  // namespace cutover::iotdb_store
