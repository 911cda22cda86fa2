// Tests for the exact text -> typed value parsers. Expected values are worked
// out by hand or taken from well-known facts (Unix time, PostgreSQL epochs).
#include "map/value_parsers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "map/value_converter.h"

namespace cutover::map {
namespace {

constexpr int64_t kDay = 86'400'000'000;                // microseconds
constexpr int64_t kSec = 1'000'000;                     // microseconds
constexpr int64_t kUnixEpochPg = -946'684'800'000'000;  // 1970-01-01T00:00:00Z
// 2024-01-02T03:04:05Z is Unix 1704164645; minus 946684800 (2000-01-01).
constexpr int64_t k20240102T030405 = 757'479'845 * kSec;
// 0001-01-01 is 730119 days before 2000-01-01 (1999*365 + 484 leap days);
// 10000-01-01 would be 20 four-century eras (146097 days each) after it.
constexpr int64_t kMinTs = -730'119 * kDay;
constexpr int64_t kMaxTs = 2'921'940 * kDay - 1;

struct ErrorCase {
  std::string_view input;
  std::string_view fragment;
};

template <typename T>
void ExpectDataError(const Result<T>& r, std::string_view input, std::string_view fragment) {
  ASSERT_FALSE(r.ok()) << "accepted '" << input << "'";
  EXPECT_EQ(r.status().code(), StatusCode::kDataError) << input;
  EXPECT_NE(r.status().message().find(fragment), std::string::npos)
      << "input '" << input << "': message '" << r.status().message() << "' lacks '" << fragment
      << "'";
}

TEST(ParseInt64, Accepts) {
  struct {
    std::string_view input;
    int64_t want;
  } cases[] = {
      {"0", 0},
      {"-0", 0},
      {"+0", 0},
      {"42", 42},
      {"+42", 42},
      {"-42", -42},
      {"007", 7},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"+9223372036854775807", std::numeric_limits<int64_t>::max()},
  };
  for (const auto& c : cases) {
    auto r = ParseInt64(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
}

TEST(ParseInt64, Rejects) {
  ErrorCase cases[] = {
      {"", "empty"},
      {"-", "no digits"},
      {"+", "no digits"},
      {"1.0", "unexpected '.' at offset 1"},
      {"1e3", "unexpected 'e'"},
      {" 1", "unexpected ' ' at offset 0"},
      {"1 ", "unexpected ' ' at offset 1"},
      {"+-1", "unexpected '-'"},
      {"0x10", "unexpected 'x'"},
      {"1_000", "unexpected '_'"},
      {"９", "digits only"},
      {std::string_view("1\0", 2), "'\\x00'"},
      {"9223372036854775808", "integer out of range for bigint (int8)"},
      {"-9223372036854775809", "integer out of range for bigint (int8)"},
      {"99999999999999999999999999", "out of range"},
  };
  for (const auto& c : cases) ExpectDataError(ParseInt64(c.input), c.input, c.fragment);
}

TEST(ParseInt32, AcceptsAndRejects) {
  struct {
    std::string_view input;
    int32_t want;
  } ok_cases[] = {
      {"2147483647", 2147483647},
      {"-2147483648", -2147483647 - 1},
      {"+5", 5},
  };
  for (const auto& c : ok_cases) {
    auto r = ParseInt32(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want);
  }
  ErrorCase bad[] = {
      {"2147483648", "integer out of range for integer (int4)"},
      {"-2147483649", "integer out of range for integer (int4)"},
      {"9223372036854775808", "integer out of range for integer (int4)"},
      {"1.5", "unexpected '.'"},
  };
  for (const auto& c : bad) ExpectDataError(ParseInt32(c.input), c.input, c.fragment);
}

TEST(Int64FromDouble, AcceptsOnlyWholeValuesInTheColumnsRange) {
  struct {
    double v;
    bool int32;
    bool ok;
    int64_t want;
    std::string_view fragment;
  } cases[] = {
      {3.0, false, true, 3, ""},
      {-0.0, false, true, 0, ""},
      {-7.0, true, true, -7, ""},
      {2147483647.0, true, true, 2147483647, ""},
      {-2147483648.0, true, true, -2147483648LL, ""},
      {2147483648.0, true, false, 0, "integer out of range for integer (int4)"},
      // 2^62 and -2^63 are exact doubles; 2^63 is one past INT64_MAX.
      {4611686018427387904.0, false, true, 4611686018427387904LL, ""},
      {-9223372036854775808.0, false, true, std::numeric_limits<int64_t>::min(), ""},
      {9223372036854775808.0, false, false, 0, "integer out of range for bigint (int8)"},
      {1.5, false, false, 0, "not an integer: 1.5"},
      {-0.25, true, false, 0, "not an integer: -0.25"},
      {std::numeric_limits<double>::quiet_NaN(), false, false, 0, "not an integer: nan"},
      {std::numeric_limits<double>::infinity(), false, false, 0, "not an integer: inf"},
      {std::numeric_limits<double>::denorm_min(), false, false, 0, "not an integer"},
  };
  for (const auto& c : cases) {
    auto r = Int64FromDouble(c.v, c.int32);
    if (c.ok) {
      ASSERT_TRUE(r.ok()) << c.v << ": " << r.status().message();
      EXPECT_EQ(*r, c.want) << c.v;
    } else {
      ExpectDataError(r, std::to_string(c.v), c.fragment);
    }
  }
}

TEST(ParseFloat64, Finite) {
  struct {
    std::string_view input;
    double want;
  } cases[] = {
      {"0", 0.0},
      {"1", 1.0},
      {"-2.5", -2.5},
      {"+.5", 0.5},
      {"5.", 5.0},
      {"0.1", 0.1},
      {"1e3", 1000.0},
      {"1E-3", 0.001},
      {"1.5e+2", 150.0},
      {"0e999999", 0.0},
      {"1.7976931348623157e308", std::numeric_limits<double>::max()},
      {"2.2250738585072014e-308", std::numeric_limits<double>::min()},
      {"4.9406564584124654e-324", std::numeric_limits<double>::denorm_min()},
      {"2.4703282292062328e-324", std::numeric_limits<double>::denorm_min()},
      // 2^53 + 1 is not representable; round to even gives 2^53.
      {"9007199254740993", 9007199254740992.0},
  };
  for (const auto& c : cases) {
    auto r = ParseFloat64(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
}

TEST(ParseFloat64, SpecialValues) {
  struct {
    std::string_view input;
    int kind;  // 0 NaN, 1 +inf, -1 -inf
  } cases[] = {
      {"NaN", 0},        {"nan", 0},      {"NAN", 0}, {"Infinity", 1}, {"+Infinity", 1},
      {"-Infinity", -1}, {"infinity", 1}, {"inf", 1}, {"-inf", -1},    {"+INF", 1},
  };
  for (const auto& c : cases) {
    auto r = ParseFloat64(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    if (c.kind == 0) {
      EXPECT_TRUE(std::isnan(*r)) << c.input;
    } else {
      EXPECT_TRUE(std::isinf(*r)) << c.input;
      EXPECT_EQ(*r < 0, c.kind < 0) << c.input;
    }
  }
  auto neg_zero = ParseFloat64("-0.0");
  ASSERT_TRUE(neg_zero.ok());
  EXPECT_EQ(*neg_zero, 0.0);
  EXPECT_TRUE(std::signbit(*neg_zero));
}

TEST(ParseFloat64, Rejects) {
  ErrorCase cases[] = {
      {"", "empty"},
      {"1e309", "float out of range for double precision: '1e309' overflows"},
      {"-1e309", "overflows"},
      {"1e-400", "underflows to zero"},
      {"0.0000001e-320", "underflows to zero"},
      {"1e", "exponent has no digits"},
      {"1e+", "exponent has no digits"},
      {".", "expected digits"},
      {"-", "expected digits"},
      {"1.0.0", "unexpected '.' at offset 3"},
      {" 1", "expected digits, found ' ' at offset 0"},
      {"1 ", "unexpected ' ' at offset 1"},
      {"0x10", "unexpected 'x'"},
      {"-NaN", "invalid float '-NaN'"},
      {"infinit", "invalid float"},
      {"1,5", "unexpected ','"},
  };
  for (const auto& c : cases) ExpectDataError(ParseFloat64(c.input), c.input, c.fragment);
}

TEST(ParseBool, AcceptsPostgresSpellingsInAnyCaseAndNamesTheRest) {
  struct {
    std::string_view input;
    bool want;
  } cases[] = {
      {"true", true}, {"TRUE", true}, {"t", true},  {"T", true},      {"yes", true},
      {"Y", true},    {"on", true},   {"1", true},  {"false", false}, {"False", false},
      {"f", false},   {"no", false},  {"N", false}, {"OFF", false},   {"0", false},
  };
  for (const auto& c : cases) {
    auto r = ParseBool(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
  ErrorCase bad[] = {
      {"", "invalid boolean ''"},           {"tru", "expected true/false"},
      {" true", "invalid boolean ' true'"}, {"2", "invalid boolean '2'"},
      {"yess", "invalid boolean"},
  };
  for (const auto& c : bad) ExpectDataError(ParseBool(c.input), c.input, c.fragment);
}

TEST(ParseUuid, Forms) {
  const std::string_view kWant = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  std::string_view cases[] = {
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",     "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}",   "a0EEbc99-9C0b-4ef8-bb6d-6bb9bd380A11",
  };
  for (std::string_view input : cases) {
    auto r = ParseUuid(input);
    ASSERT_TRUE(r.ok()) << input << ": " << r.status().message();
    EXPECT_EQ(FormatUuid(r->data()), kWant) << input;
  }
  auto bytes = ParseUuid("00112233-4455-6677-8899-aabbccddeeff");
  ASSERT_TRUE(bytes.ok());
  for (int i = 0; i < 16; ++i) EXPECT_EQ((*bytes)[i], i * 0x11) << i;
}

TEST(ParseUuid, Rejects) {
  ErrorCase cases[] = {
      {"abc", "invalid uuid 'abc': expected 32 hex digits"},
      {"", "expected 32 hex digits"},
      {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "expected 32 hex digits"},
      {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "expected 32 hex digits"},
      {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", "'g' at offset 35 is not a hex digit"},
      {"a0eebc99x9c0b-4ef8-bb6d-6bb9bd380a11", "expected '-' but found 'x' at offset 8"},
      {"a0eebc999c0b-4ef8bb6d6bb9bd380a11", "expected 32 hex digits"},
      {"a0eebc99-9c0b4ef8-bb6d-6bb9bd380a11", "expected 32 hex digits"},
      {"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "'{' without closing '}'"},
      {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "'}' without opening '{'"},
      {"{}", "expected 32 hex digits"},
      {"{", "'{' without closing '}'"},
      {"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1z}", "'z' at offset 36 is not a hex digit"},
  };
  for (const auto& c : cases) ExpectDataError(ParseUuid(c.input), c.input, c.fragment);
}

TEST(CanonicalNumeric, Table) {
  struct {
    std::string_view input;
    std::string_view want;
  } cases[] = {
      {"0", "0"},
      {"-0", "0"},
      {"+0", "0"},
      {"-0.000", "0"},
      {"0e5", "0"},
      {"000", "0"},
      {"007", "7"},
      {"+7", "7"},
      {"-7", "-7"},
      {"100", "100"},
      {"1.50", "1.5"},
      {"1.0", "1"},
      {"5.", "5"},
      {".5", "0.5"},
      {"-.5", "-0.5"},
      {"0012.3400", "12.34"},
      {"1e3", "1000"},
      {"1E3", "1000"},
      {"1e+3", "1000"},
      {"1.5e3", "1500"},
      {"1.2345e2", "123.45"},
      {"12345e-2", "123.45"},
      {"1e-3", "0.001"},
      {"-1.5e-3", "-0.0015"},
      {"0.00100e2", "0.1"},
      {"123.456e-6", "0.000123456"},
      {"1e0", "1"},
      {"NaN", "NaN"},
      {"nan", "NaN"},
      {"123456789012345678901234567890.123456789012345678901234567890",
       "123456789012345678901234567890.12345678901234567890123456789"},
  };
  for (const auto& c : cases) {
    auto r = CanonicalNumeric(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
    // The fast check agrees: an input is canonical exactly when it is its result.
    EXPECT_EQ(IsCanonicalNumeric(c.input), c.input == c.want) << c.input;
    EXPECT_TRUE(IsCanonicalNumeric(c.want)) << c.want;
  }
}

TEST(IsCanonicalNumeric, RejectsWhatIsNotPlainCanonicalText) {
  const std::string_view yes[] = {"0", "7", "-7", "0.05", "-0.5", "10", "100.01"};
  for (auto t : yes) EXPECT_TRUE(IsCanonicalNumeric(t)) << t;
  const std::string_view no[] = {"",    "-",        ".",   "-0", "-0.0", "1.", "1.2.3",
                                 "12a", "1e3",      " 1",  "1 ", "+1",   "01", "0.10",
                                 "nan", "Infinity", "--1", "1-", "0.",   ".0"};
  for (auto t : no) EXPECT_FALSE(IsCanonicalNumeric(t)) << t;
}

TEST(CanonicalNumeric, ExponentLimit) {
  // 1e999 expands to exactly 1000 digits: the limit, accepted.
  auto at_limit = CanonicalNumeric("1e999");
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().message();
  EXPECT_EQ(*at_limit, "1" + std::string(999, '0'));
  // 0.<998 zeros>1 is 1000 digits including the leading "0".
  auto small = CanonicalNumeric("1e-999");
  ASSERT_TRUE(small.ok()) << small.status().message();
  EXPECT_EQ(*small, "0." + std::string(998, '0') + "1");
  // Long plain input without an exponent is not limited here.
  const std::string long_plain(5000, '9');
  auto plain = CanonicalNumeric(long_plain);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain, long_plain);

  ErrorCase cases[] = {
      {"1e1000", "exponent would expand to 1001 digits (limit 1000)"},
      {"1e-1000", "exponent would expand to 1001 digits"},
      {"1e99999999999999999999", "exponent would expand"},
      {"-1e-99999999999999999999", "exponent would expand"},
  };
  for (const auto& c : cases) ExpectDataError(CanonicalNumeric(c.input), c.input, c.fragment);
  auto zero = CanonicalNumeric("0e99999999999999999999");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, "0");
}

TEST(CanonicalNumeric, Rejects) {
  ErrorCase cases[] = {
      {"", "invalid numeric '': empty"},  {".", "expected digits"},
      {"-", "expected digits"},           {"e5", "expected digits, found 'e' at offset 0"},
      {"1e", "exponent has no digits"},   {"1.2.3", "unexpected '.' at offset 3"},
      {"1 ", "unexpected ' '"},           {"Infinity", "invalid numeric 'Infinity'"},
      {"-NaN", "invalid numeric '-NaN'"}, {"1,000", "unexpected ','"},
      {"0x1F", "unexpected 'x'"},
  };
  for (const auto& c : cases) ExpectDataError(CanonicalNumeric(c.input), c.input, c.fragment);
}

TEST(ParseDate, Accepts) {
  struct {
    std::string_view input;
    int32_t want;
  } cases[] = {
      {"2000-01-01", 0},
      {"2000-01-02", 1},
      {"1999-12-31", -1},
      {"1970-01-01", -10'957},
      // 24 years incl. 6 leap days (2000..2020), then Jan (31) and Feb 1..28.
      {"2024-01-01", 8'766},
      {"2024-02-29", 8'766 + 31 + 28},
      {"2000-02-29", 31 + 28},  // 2000 is divisible by 400: leap
      {"0001-01-01", -730'119},
      {"9999-12-31", 2'921'939},
  };
  for (const auto& c : cases) {
    auto r = ParseDate(c.input);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
    EXPECT_EQ(FormatDate(*r), c.input);
  }
}

TEST(ParseDate, Rejects) {
  ErrorCase cases[] = {
      {"2023-02-29", "day 29 out of range for 2023-02"},
      {"1900-02-29", "day 29 out of range for 1900-02"},  // divisible by 100, not 400
      {"2024-04-31", "day 31 out of range for 2024-04"},
      {"2024-01-00", "day 0 out of range"},
      {"2024-13-01", "month 13 out of range"},
      {"2024-00-10", "month 0 out of range"},
      {"0000-01-01", "date out of range: year 0"},
      {"10000-01-01", "date out of range: year 10000"},
      {"99999999999999999999-01-01", "date out of range: year"},
      {"24-01-01", "expected YYYY-MM-DD"},
      {"2024-1-02", "expected YYYY-MM-DD"},
      {"2024-01-2", "expected YYYY-MM-DD"},
      {"2024-01-021", "expected YYYY-MM-DD"},
      {"2024/01/02", "expected YYYY-MM-DD"},
      {"-2024-01-02", "expected YYYY-MM-DD"},
      {"", "expected YYYY-MM-DD"},
      {"2024-01-02T00:00", "unexpected 'T' at offset 10"},
      {" 2024-01-02", "expected YYYY-MM-DD"},
      {"2024-01-02 ", "unexpected ' ' at offset 10"},
  };
  for (const auto& c : cases) ExpectDataError(ParseDate(c.input), c.input, c.fragment);
}

TEST(ParseTimestamptz, Accepts) {
  struct {
    std::string_view input;
    int64_t want;
  } cases[] = {
      {"2000-01-01T00:00:00Z", 0},
      {"2000-01-01", 0},
      {"2000-01-01T00:00", 0},
      {"2000-01-01 00:00:00", 0},
      {"2000-01-01t00:00:00z", 0},
      {"1970-01-01T00:00:00Z", kUnixEpochPg},
      {"2024-01-02T03:04:05Z", k20240102T030405},
      {"2024-01-02T03:04:05", k20240102T030405},
      {"2024-01-02T03:04:05+00:00", k20240102T030405},
      {"2024-01-02T03:04:05-00:00", k20240102T030405},
      {"2024-01-02T08:34:05+05:30", k20240102T030405},
      {"2024-01-02T08:34:05+0530", k20240102T030405},
      {"2024-01-01T19:04:05-08:00", k20240102T030405},
      {"2024-01-01T19:04:05-0800", k20240102T030405},
      {"2024-01-01T19:04:05-08", k20240102T030405},
      {"2024-01-02T03:04Z", k20240102T030405 - 5 * kSec},
      {"2024-02-29T12:00:00Z", (8'766 + 31 + 28) * kDay + 12 * 3600 * kSec},
      // Fractions: up to six digits are exact.
      {"2000-01-01T00:00:00.5Z", 500'000},
      {"2000-01-01T00:00:00.123456Z", 123'456},
      {"2000-01-01T00:00:00.000001Z", 1},
      {"1999-12-31T23:59:59.999999Z", -1},
      // Seventh to ninth digits round half to even.
      {"2000-01-01T00:00:00.1234565Z", 123'456},
      {"2000-01-01T00:00:00.1234575Z", 123'458},
      {"2000-01-01T00:00:00.123456501Z", 123'457},
      {"2000-01-01T00:00:00.123456499Z", 123'456},
      {"2000-01-01T00:00:00.0000005Z", 0},
      {"2000-01-01T00:00:00.0000015Z", 2},
      {"2000-01-01T00:00:00.9999995Z", 1 * kSec},  // carries into the next second
      {"2000-01-01T00:00:00.123456789+01:00", -3600 * kSec + 123'457},
      {"0001-01-01T00:00:00Z", kMinTs},
      {"9999-12-31T23:59:59.999999Z", kMaxTs},
      {"0001-01-01T00:00:00-01:00", kMinTs + 3600 * kSec},
  };
  // Values without an offset read in the zone the spec names, here UTC;
  // values with one ignore it.
  auto utc = TimeZone::Load("UTC");
  ASSERT_TRUE(utc.ok()) << utc.status().message();
  for (const auto& c : cases) {
    auto r = ParseTimestamptz(c.input, utc->get());
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
}

// Regression: a timestamp without an offset was read as UTC whatever clock
// the source meant.
TEST(ParseTimestamptz, WithoutOffsetNeedsAZone) {
  for (std::string_view input :
       {"2000-01-01", "2000-01-01T00:00", "2000-01-01 00:00:00", "2024-01-02T03:04:05.5"}) {
    ExpectDataError(ParseTimestamptz(input), input,
                    "has no UTC offset and no time zone is set for it");
  }
  EXPECT_TRUE(ParseTimestamptz("2024-01-02T03:04:05Z").ok());
}

// Berlin: CET (UTC+1) in winter, CEST (UTC+2) from the last Sunday of March
// 01:00Z to the last Sunday of October 01:00Z; worked out by hand.
TEST(ParseTimestamptz, InAZone) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().message();
  struct {
    std::string_view input;
    int64_t want;
  } cases[] = {
      {"2024-01-02T04:04:05", k20240102T030405},
      {"2024-01-02 04:04:05.25", k20240102T030405 + 250'000},
      {"2024-01-02", k20240102T030405 - (3 * 3600 + 4 * 60 + 5) * kSec - 3600 * kSec},
      // 2024-07-01 is day 8'948 after 2000-01-01 (24 years with 6 leap days, then 182).
      {"2024-07-01 12:00", 8'948 * kDay + 10 * 3600 * kSec},
      // An offset wins over the zone.
      {"2024-07-01 12:00+00:00", 8'948 * kDay + 12 * 3600 * kSec},
  };
  for (const auto& c : cases) {
    auto r = ParseTimestamptz(c.input, berlin->get());
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
  ExpectDataError(ParseTimestamptz("2024-03-31 02:30", berlin->get()), "gap",
                  "'2024-03-31 02:30' does not exist in Europe/Berlin: clocks there jumped from "
                  "UTC+01:00 to UTC+02:00");
  ExpectDataError(ParseTimestamptz("2024-10-27T02:59:59.999", berlin->get()), "overlap",
                  "happened twice in Europe/Berlin (at UTC+02:00 and at UTC+01:00)");
  // The same wall clock as a Parquet TIMESTAMP: 2024-03-31 02:30 is day 8'856.
  ExpectDataError(TimestampFromWallClock(8'856 * kDay + 9'000 * kSec, **berlin), "wall clock",
                  "'2024-03-31 02:30:00' does not exist in Europe/Berlin");
  auto r = TimestampFromWallClock(8'948 * kDay + 12 * 3600 * kSec, **berlin);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, 8'948 * kDay + 10 * 3600 * kSec);
}

TEST(ParseTimestamptz, Rejects) {
  ErrorCase cases[] = {
      {"2023-02-29T00:00:00Z", "day 29 out of range for 2023-02"},
      {"10000-01-01T00:00:00Z", "timestamp out of range: year 10000"},
      {"0000-12-31T23:59:59Z", "timestamp out of range: year 0"},
      {"2024-01-02T23:59:60Z", "leap second 60 is not supported"},
      {"2024-01-02T23:59:61Z", "second 61 out of range"},
      {"2024-01-02T24:00:00Z", "hour 24 out of range"},
      {"2024-01-02T12:60:00Z", "minute 60 out of range"},
      {"2024-01-02T12:00:00.Z", "fraction of seconds must have 1 to 9 digits, found 0"},
      {"2024-01-02T12:00:00.1234567891Z", "1 to 9 digits, found 10"},
      {"2024-01-02X12:00:00Z", "expected 'T' or ' ' between date and time, found 'X'"},
      {"2024-01-02T12Z", "expected HH:MM"},
      {"2024-01-02T1:00:00Z", "expected HH:MM"},
      {"2024-01-02T", "expected HH:MM"},
      {"2024-01-02T12:00:0Z", "expected two digits of seconds"},
      {"2024-01-02T12:00:00+5", "expected zone offset"},
      {"2024-01-02T12:00:00+05:3", "expected minutes after zone ':'"},
      {"2024-01-02T12:00:00+053", "expected zone offset +-HHMM"},
      {"2024-01-02T12:00:00+16:00", "zone offset hour 16 out of range"},
      {"2024-01-02T12:00:00+05:60", "zone offset minute 60 out of range"},
      {"2024-01-02T12:00:00+05:30:00", "unexpected ':' at offset 25 after the zone"},
      {"2024-01-02T12:00:00Zx", "unexpected 'x' at offset 20 after the zone"},
      {"2024-01-02T12:00:00 UTC", "unexpected ' ' at offset 19 where a zone"},
      {"2024-01-02T12:00:00 ", "unexpected ' '"},
      {"2024-01-02T12:00:00,5Z", "unexpected ','"},
      {"2024-01-02Z", "expected 'T' or ' ' between date and time, found 'Z'"},
      // The written date is in range but the UTC instant is not.
      {"0001-01-01T00:00:00+01:00", "timestamp out of range: '0001-01-01T00:00:00+01:00'"},
      {"9999-12-31T23:00:00-01:00", "is outside 0001-01-01..9999-12-31 UTC"},
      {"9999-12-31T23:59:59.9999995Z", "timestamp out of range"},
  };
  for (const auto& c : cases) ExpectDataError(ParseTimestamptz(c.input), c.input, c.fragment);
}

TEST(ParseTimestamptz, RoundTripsThroughFormat) {
  std::string_view cases[] = {
      "2000-01-01T00:00:00Z",        "1970-01-01T00:00:00Z",        "2024-01-02T03:04:05Z",
      "2024-01-02T03:04:05.123456Z", "2024-02-29T23:59:59.000001Z", "1999-12-31T23:59:59.999999Z",
      "0001-01-01T00:00:00Z",        "9999-12-31T23:59:59.999999Z", "1900-03-01T12:00:00.500000Z",
  };
  for (std::string_view input : cases) {
    auto r = ParseTimestamptz(input);
    ASSERT_TRUE(r.ok()) << input << ": " << r.status().message();
    EXPECT_EQ(FormatTimestamptz(*r), input);
  }
}

TEST(FormatTimestamptz, KnownValues) {
  struct {
    int64_t micros;
    std::string_view want;
  } cases[] = {
      {0, "2000-01-01T00:00:00Z"},
      {1, "2000-01-01T00:00:00.000001Z"},
      {-1, "1999-12-31T23:59:59.999999Z"},
      {kUnixEpochPg, "1970-01-01T00:00:00Z"},
      {k20240102T030405 + 123'456, "2024-01-02T03:04:05.123456Z"},
      {kMinTs, "0001-01-01T00:00:00Z"},
      {kMaxTs, "9999-12-31T23:59:59.999999Z"},
  };
  for (const auto& c : cases) EXPECT_EQ(FormatTimestamptz(c.micros), c.want) << c.micros;
  // Out-of-range values still format without crashing.
  EXPECT_FALSE(FormatTimestamptz(std::numeric_limits<int64_t>::min()).empty());
  EXPECT_FALSE(FormatTimestamptz(std::numeric_limits<int64_t>::max()).empty());
}

TEST(TimestampFromEpoch, Table) {
  struct {
    int64_t value;
    bool millis;
    int64_t want;
  } cases[] = {
      {0, false, kUnixEpochPg},
      {946'684'800, false, 0},
      {946'684'800'000, true, 0},
      {1'704'164'645, false, k20240102T030405},
      {1'704'164'645'123, true, k20240102T030405 + 123'000},
      {-1, false, kUnixEpochPg - kSec},
      {-1, true, kUnixEpochPg - 1000},
      // Unix seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
      {-62'135'596'800, false, kMinTs},
      {253'402'300'799, false, kMaxTs - 999'999},
      {-62'135'596'800'000, true, kMinTs},
      {253'402'300'799'999, true, kMaxTs - 999},
  };
  for (const auto& c : cases) {
    auto r = TimestampFromEpoch(c.value, c.millis);
    ASSERT_TRUE(r.ok()) << c.value << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.value << (c.millis ? " ms" : " s");
  }
  struct {
    int64_t value;
    bool millis;
    std::string_view fragment;
  } bad[] = {
      {-62'135'596'801, false, "timestamp out of range: -62135596801 epoch seconds"},
      {253'402'300'800, false, "253402300800 epoch seconds is outside years 0001..9999"},
      {253'402'300'800'000, true, "epoch milliseconds"},
      {-62'135'596'800'001, true, "epoch milliseconds"},
      {std::numeric_limits<int64_t>::max(), false, "out of range"},
      {std::numeric_limits<int64_t>::min(), true, "out of range"},
  };
  for (const auto& c : bad) {
    ExpectDataError(TimestampFromEpoch(c.value, c.millis), std::to_string(c.value), c.fragment);
  }
}

TEST(TimestampFromEpochText, Table) {
  // Unix 1700000000 is 753315200 seconds after 2000-01-01.
  constexpr int64_t k1700000000 = 753'315'200 * kSec;
  struct {
    std::string_view input;
    bool millis;
    int64_t want;
  } cases[] = {
      {"1700000000", false, k1700000000},
      {"+1700000000", false, k1700000000},
      {"1700000000.5", false, k1700000000 + 500'000},
      {"1700000000.", false, k1700000000},
      {"1700000000.000001", false, k1700000000 + 1},
      {"1700000000.0000005", false, k1700000000},      // half to even: stays 0
      {"1700000000.0000015", false, k1700000000 + 2},  // half to even: up to 2
      {"1700000000.00000050001", false, k1700000000 + 1},
      {"1700000000123", true, k1700000000 + 123'000},
      {"1700000000123.5", true, k1700000000 + 123'500},
      {"0", false, kUnixEpochPg},
      {"-0", false, kUnixEpochPg},
      {"-1.5", false, kUnixEpochPg - 1'500'000},
      {"-62135596800", false, kMinTs},
      {"253402300799.999999", false, kMaxTs},
  };
  for (const auto& c : cases) {
    auto r = TimestampFromEpochText(c.input, c.millis);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.want) << c.input;
  }
  struct {
    std::string_view input;
    bool millis;
    std::string_view fragment;
  } bad[] = {
      {"", false, "invalid epoch timestamp '': empty"},
      {"abc", false, "expected digits"},
      {".5", false, "expected digits before '.'"},
      {"1.7e9", false, "unexpected 'e'"},
      {" 1", false, "expected digits"},
      {"1 ", false, "unexpected ' '"},
      {"253402300800", false, "timestamp out of range: '253402300800' epoch seconds"},
      {"253402300799.9999995", false, "out of range"},  // rounds up past the end
      {"-62135596800.000001", false, "out of range"},
      {"99999999999999999999999999", false, "out of range"},
      {"253402300800000", true, "epoch milliseconds"},
  };
  for (const auto& c : bad) {
    ExpectDataError(TimestampFromEpochText(c.input, c.millis), c.input, c.fragment);
  }
}

TEST(FormatDate, KnownValues) {
  struct {
    int32_t days;
    std::string_view want;
  } cases[] = {
      {0, "2000-01-01"},        {-1, "1999-12-31"},        {59, "2000-02-29"},
      {60, "2000-03-01"},       {-10'957, "1970-01-01"},   {8'767, "2024-01-02"},
      {-730'119, "0001-01-01"}, {2'921'939, "9999-12-31"},
  };
  for (const auto& c : cases) EXPECT_EQ(FormatDate(c.days), c.want) << c.days;
}

TEST(HasNulByte, Table) {
  struct {
    std::string_view input;
    bool want;
  } cases[] = {
      {"", false},
      {"abc", false},
      {std::string_view("\0", 1), true},
      {std::string_view("a\0b", 3), true},
  };
  for (const auto& c : cases) EXPECT_EQ(HasNulByte(c.input), c.want);
}

TEST(ErrorMessages, QuoteIsBoundedAndEscaped) {
  const std::string huge(10'000, '7');
  auto r = ParseInt32(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 200u);
  EXPECT_NE(r.status().message().find("...'"), std::string::npos);

  auto ctl = ParseBool("ye\ns");
  ASSERT_FALSE(ctl.ok());
  EXPECT_NE(ctl.status().message().find("'ye\\x0as'"), std::string::npos) << ctl.status().message();
}

// IsNumericText accepts exactly the spellings NumericText returns unchanged
// (PostgreSQL's numeric output: trailing fraction zeros kept), worked out by
// hand.
TEST(IsNumericText, AcceptsPostgresNumericOutputOnly) {
  for (const char* yes : {"0", "1.50", "2.00", "0.000", "-12.340", "NaN", "123"}) {
    EXPECT_TRUE(IsNumericText(yes)) << yes;
  }
  for (const char* no : {"", ".", "1.", ".5", "-0", "-0.00", "01.5", "1e5", "+1", "1.5 ", "Inf"}) {
    EXPECT_FALSE(IsNumericText(no)) << no;
  }
}

}  // namespace
}  // namespace cutover::map
