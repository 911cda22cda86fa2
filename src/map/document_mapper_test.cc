// Tests that DocumentMapper turns JSON records into exactly the typed rows the
// spec asks for, and rejects only what cannot be stored, with where and why.
#include "map/document_mapper.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec_loader.h"

namespace cutover::map {
namespace {

constexpr int64_t kSec = 1'000'000;  // microseconds
// 2024-01-02T03:04:05Z: 2024-01-01 is 54*365 + 13 leap days = 19723 days
// after 1970-01-01, so Unix 19724*86400 + 3*3600 + 4*60 + 5 = 1704164645;
// minus 946684800 (1970 -> 2000) gives PostgreSQL's 757479845 seconds.
constexpr int64_t kTs20240102T030405 = 757'479'845 * kSec;
constexpr int64_t kUnixEpochPg = -946'684'800 * kSec;

std::string Ints(int64_t v) {
  return std::to_string(v);
}

// The migration around one entity; `entity` is the YAML of that entity,
// indented by four spaces.
spec::MigrationSpec MustParse(const std::string& entity_yaml) {
  const std::string yaml =
      "migration: t\n"
      "sources:\n"
      "  files: { type: json, path: data/ }\n"
      "entities:\n" +
      entity_yaml;
  auto spec = spec::ParseSpec(yaml, "t.yaml", "/tmp");
  EXPECT_TRUE(spec.ok()) << spec.status().message() << "\n" << yaml;
  return spec.ok() ? std::move(spec).value() : spec::MigrationSpec();
}

std::unique_ptr<DocumentMapper> MustCreate(const spec::MigrationSpec& spec) {
  EXPECT_FALSE(spec.entities.empty());
  if (spec.entities.empty()) return nullptr;
  auto mapper = DocumentMapper::Create(spec.entities[0]);
  EXPECT_TRUE(mapper.ok()) << mapper.status().message();
  return mapper.ok() ? std::move(mapper).value() : nullptr;
}

// A batch as a JSON-lines reader would produce it: one record per line, each
// line ending in '\n'. With `keys`, a keyed-object batch ("$key" column;
// std::nullopt is a value that had no key).
store::StoreBatch Batch(const std::vector<std::string>& docs,
                        const std::vector<std::optional<std::string>>& keys = {}) {
  store::StoreBatch b;
  b.origin = "things.jsonl";
  b.rows.AddColumn("$doc", ValueType::kJsonb);
  if (!keys.empty()) b.rows.AddColumn("$key", ValueType::kText);
  int64_t offset = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    b.rows.columns[0].AppendBytes(docs[i]);
    if (!keys.empty()) {
      if (keys[i]) {
        b.rows.columns[1].AppendBytes(*keys[i]);
      } else {
        b.rows.columns[1].AppendNull();
      }
    }
    b.positions.push_back({offset, static_cast<int64_t>(i) + 1, static_cast<int64_t>(i)});
    offset += static_cast<int64_t>(docs[i].size()) + 1;
  }
  b.end.token = std::to_string(offset);
  return b;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// One cell as text, rendered here without the product's formatters: integers
// (also dates in days and timestamps in microseconds) in decimal, floats as
// the shortest round-trip text, uuids as lowercase 8-4-4-4-12, NULL as "NULL".
std::string Cell(const Column& c, size_t row) {
  if (c.IsNull(row)) return "NULL";
  switch (c.type()) {
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kDate:
    case ValueType::kTimestamptz:
      return Ints(c.IntAt(row));
    case ValueType::kBool:
      return c.BoolAt(row) ? "true" : "false";
    case ValueType::kFloat64: {
      const double d = c.FloatAt(row);
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), d);
      return std::string(buf, r.ptr);
    }
    case ValueType::kUuid: {
      const std::string h = Hex(c.BytesAt(row));
      if (h.size() != 32) return "bad uuid width " + h;
      return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
             "-" + h.substr(20);
    }
    default:
      return std::string(c.BytesAt(row));
  }
}

// All cells of one column.
std::vector<std::string> ColumnCells(const MappedBatch& out, size_t table, std::string_view name) {
  std::vector<std::string> cells;
  const RowBatch& rows = out.tables[table];
  const int col = rows.IndexOf(name);
  EXPECT_GE(col, 0) << "no column " << name;
  if (col < 0) return cells;
  for (size_t r = 0; r < rows.num_rows(); ++r) cells.push_back(Cell(rows.columns[col], r));
  return cells;
}

void ExpectCountsAddUp(const MappedBatch& out) {
  ASSERT_EQ(out.counts.size(), out.tables.size());
  for (size_t t = 0; t < out.tables.size(); ++t) {
    EXPECT_EQ(out.counts[t].read,
              static_cast<int64_t>(out.tables[t].num_rows()) + out.counts[t].rejected)
        << "table " << t;
    EXPECT_EQ(out.origins[t].size(), out.tables[t].num_rows()) << "table " << t;
  }
  int64_t rejected = 0;
  for (const auto& c : out.counts) rejected += c.rejected;
  EXPECT_EQ(static_cast<int64_t>(out.rejects.size()), rejected);
}

// ---------------------------------------------------------------------------
// Every type: a JSON value in, one typed cell (or a reject) out.

struct TypeCase {
  std::string_view type;    // spec type
  std::string_view format;  // timestamptz format, or ""
  std::string_view json;    // the value of field "v"
  std::string want;         // the cell, as Cell() renders it; "" when rejected
  std::string_view reason;  // fragment of the reject reason; "" when accepted
};

const TypeCase kTypeCases[] = {
    // text
    {"text", "", R"("hello")", "hello", ""},
    {"text", "", R"("h\u00e9 \ud83d\ude00")", "h\xc3\xa9 \xf0\x9f\x98\x80", ""},
    {"text", "", R"("")", "", ""},
    {"text", "", "42", "42", ""},
    {"text", "", "-1.5", "-1.5", ""},
    {"text", "", "0.1000000000000000000001", "0.1000000000000000000001", ""},
    {"text", "", "1E400", "1E400", ""},
    {"text", "", "true", "true", ""},
    {"text", "", R"("a\u0000b")", "", "text contains a NUL byte"},
    {"text", "", R"({"a":1})", "", "expected text, got object"},
    {"text", "", "[1]", "", "expected text, got array"},
    // integer (int4)
    {"integer", "", "42", "42", ""},
    {"integer", "", "-2147483648", "-2147483648", ""},
    {"integer", "", "2147483647", "2147483647", ""},
    {"integer", "", "2147483648", "", "2147483648 is out of range for integer (int4)"},
    {"integer", "", "-2147483649", "", "out of range for integer"},
    {"integer", "", R"("17")", "17", ""},
    {"integer", "", R"("+007")", "7", ""},
    {"integer", "", R"("2147483648")", "", "integer out of range for integer (int4)"},
    {"integer", "", R"("12abc")", "", "invalid integer '12abc'"},
    {"integer", "", R"(" 1")", "", "invalid integer"},
    {"integer", "", "3.0", "3", ""},
    {"integer", "", "1e3", "1000", ""},
    {"integer", "", "3.5", "", "not an integer"},
    {"integer", "", "true", "", "expected integer, got boolean"},
    {"integer", "", "[]", "", "expected integer, got array"},
    // bigint: exact beyond 2^53, where a double would round 9007199254740993
    // to ...992.
    {"bigint", "", "9007199254740993", "9007199254740993", ""},
    {"bigint", "", R"("9007199254740993")", "9007199254740993", ""},
    {"bigint", "", "9223372036854775807", "9223372036854775807", ""},
    {"bigint", "", "-9223372036854775808", "-9223372036854775808", ""},
    {"bigint", "", "9223372036854775808", "", "9223372036854775808 is out of range for bigint"},
    // Beyond 2^64 is valid JSON and a precise out-of-range reject, not
    // "malformed"; 1e2 and 9007199254740993.0 are integers, exactly.
    {"bigint", "", "18446744073709551616", "",
     "18446744073709551616 is out of range for bigint (int8)"},
    {"bigint", "", "-9223372036854775809", "",
     "-9223372036854775809 is out of range for bigint (int8)"},
    {"bigint", "", "1e2", "100", ""},
    {"bigint", "", "9007199254740993.0", "9007199254740993", ""},
    {"bigint", "", "9223372036854775807.5", "", "not an integer: 9223372036854775807.5"},
    {"integer", "", "1e400", "", "1e400 is out of range for integer (int4)"},
    {"bigint", "", R"("9223372036854775808")", "", "integer out of range for bigint (int8)"},
    {"bigint", "", "2.5", "", "not an integer"},
    // numeric, canonical text
    // The scale is kept, as PostgreSQL's numeric keeps it ('123.4500'::numeric).
    {"numeric", "", R"("123.4500")", "123.4500", ""},
    {"numeric", "", R"("-0.00")", "0.00", ""},
    {"numeric", "", R"("007.10")", "7.10", ""},
    {"numeric", "", R"("1.50e1")", "15.0", ""},
    {"numeric", "", R"("1.50e-1")", "0.150", ""},
    {"numeric", "", R"("-0")", "0", ""},
    {"numeric", "", R"(".5")", "0.5", ""},
    {"numeric", "", R"("1e3")", "1000", ""},
    {"numeric", "", R"("1.5E-3")", "0.0015", ""},
    {"numeric", "", R"("nan")", "NaN", ""},
    {"numeric", "", R"("12345678901234567890.123456789")", "12345678901234567890.123456789", ""},
    {"numeric", "", "42", "42", ""},
    {"numeric", "", "-12.5", "-12.5", ""},
    {"numeric", "", "0.1", "0.1", ""},
    {"numeric", "", "18446744073709551615", "18446744073709551615", ""},
    // A JSON number is exact at any length: no double on the way.
    {"numeric", "", "0.1000000000000000000001", "0.1000000000000000000001", ""},
    {"numeric", "", "18446744073709551616", "18446744073709551616", ""},
    {"numeric", "", "-123456789012345678901234567890.5", "-123456789012345678901234567890.5", ""},
    {"numeric", "", "1.5E30", "1500000000000000000000000000000", ""},
    {"numeric", "", "2.50e-3", "0.00250", ""},  // PostgreSQL keeps the scale: 0.00250
    {"numeric", "", R"("Infinity")", "", "invalid numeric 'Infinity'"},
    {"numeric", "", R"("12abc")", "", "invalid numeric '12abc'"},
    {"numeric", "", "false", "", "expected numeric, got boolean"},
    // float8
    {"float8", "", "1.5", "1.5", ""},
    {"float8", "", "-0.25", "-0.25", ""},
    {"float8", "", "3", "3", ""},
    {"float8", "", "9007199254740993", "9007199254740992", ""},          // nearest double
    {"float8", "", "18446744073709551615", "18446744073709551616", ""},  // 2^64
    {"float8", "", R"("2.5")", "2.5", ""},
    {"float8", "", R"("NaN")", "NaN", ""},
    {"float8", "", R"("Infinity")", "Infinity", ""},
    {"float8", "", R"("-Infinity")", "-Infinity", ""},
    {"float8", "", R"("-inf")", "-Infinity", ""},
    {"float8", "", R"("1e400")", "", "float out of range for double precision"},
    {"float8", "", "1e400", "", "float out of range for double precision: '1e400' overflows"},
    {"float8", "", "0.1000000000000000000001", "0.1", ""},
    {"float8", "", R"("abc")", "", "invalid float 'abc'"},
    {"float8", "", "true", "", "expected float8, got boolean"},
    // bool
    {"bool", "", "true", "true", ""},
    {"bool", "", "false", "false", ""},
    {"bool", "", R"("yes")", "true", ""},
    {"bool", "", R"("OFF")", "false", ""},
    {"bool", "", R"("t")", "true", ""},
    {"bool", "", "1", "true", ""},
    {"bool", "", "0", "false", ""},
    {"bool", "", "2", "", "2 is not a boolean"},
    {"bool", "", R"("maybe")", "", "invalid boolean 'maybe'"},
    {"bool", "", "1.0", "", "expected bool, got number"},
    // uuid
    {"uuid", "", R"("0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6")",
     "0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6", ""},
    {"uuid", "", R"("0E7E4C5A-1B2C-4D3E-8F90-A1B2C3D4E5F6")",
     "0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6", ""},
    {"uuid", "", R"("{0e7e4c5a1b2c4d3e8f90a1b2c3d4e5f6}")", "0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6",
     ""},
    {"uuid", "", R"("not-a-uuid")", "", "invalid uuid 'not-a-uuid'"},
    {"uuid", "", R"("0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5fg")", "", "is not a hex digit"},
    {"uuid", "", "123", "", "expected uuid, got number"},
    // date: days since 2000-01-01
    {"date", "", R"("2000-01-01")", "0", ""},
    {"date", "", R"("2000-03-01")", "60", ""},       // 31 + 29
    {"date", "", R"("1970-01-01")", "-10957", ""},   // 30*365 + 7 leap days
    {"date", "", R"("2024-02-29")", "8825", ""},     // 24*365 + 6 + 31 + 28
    {"date", "", R"("0001-01-01")", "-730119", ""},  // 1999*365 + 484
    {"date", "", R"("9999-12-31")", "2921939", ""},  // 8000 years = 20 * 146097 days, less 1
    {"date", "", R"("2023-02-29")", "", "day 29 out of range for 2023-02"},
    {"date", "", R"("10000-01-01")", "", "date out of range: year 10000"},
    {"date", "", R"("2024-01-02T00:00:00Z")", "", "after YYYY-MM-DD"},
    {"date", "", R"("01/02/2024")", "", "expected YYYY-MM-DD"},
    {"date", "", "20240102", "", "expected date, got number"},
    // timestamptz, ISO 8601: microseconds since 2000-01-01 UTC
    {"timestamptz", "", R"("2024-01-02T03:04:05Z")", Ints(kTs20240102T030405), ""},
    {"timestamptz", "", R"("2024-01-02T05:04:05+02:00")", Ints(kTs20240102T030405), ""},
    {"timestamptz", "", R"("2024-01-01T22:04:05-05:00")", Ints(kTs20240102T030405), ""},
    {"timestamptz", "", R"("2024-01-02T08:34:05+0530")", Ints(kTs20240102T030405), ""},
    // No offset and no zone named: refused, never read as UTC.
    {"timestamptz", "", R"("2024-01-02 03:04:05")", "", "has no UTC offset"},
    {"timestamptz", "", R"("2024-01-02t03:04:05.123456z")", Ints(kTs20240102T030405 + 123456), ""},
    {"timestamptz", "", R"("2024-01-02T03:04:05.1234565Z")", Ints(kTs20240102T030405 + 123456), ""},
    {"timestamptz", "", R"("2024-01-02T03:04:05.1234575Z")", Ints(kTs20240102T030405 + 123458), ""},
    {"timestamptz", "", R"("2024-01-02T03:04Z")", Ints(kTs20240102T030405 - 5 * kSec), ""},
    {"timestamptz", "", R"("2024-01-02")", "", "has no UTC offset"},
    {"timestamptz", "", R"("2024-01-02T24:00:00Z")", "", "hour 24 out of range"},
    {"timestamptz", "", R"("2024-13-01T00:00:00Z")", "", "month 13 out of range"},
    {"timestamptz", "", R"("10000-01-01T00:00:00Z")", "", "timestamp out of range: year 10000"},
    {"timestamptz", "", R"("yesterday")", "", "invalid timestamp 'yesterday'"},
    {"timestamptz", "", "1704164645", "", "expected an ISO 8601 string, got number"},
    // timestamptz from Unix epochs
    {"timestamptz", "epoch_s", "1704164645", Ints(kTs20240102T030405), ""},
    {"timestamptz", "epoch_s", R"("1704164645")", Ints(kTs20240102T030405), ""},
    {"timestamptz", "epoch_s", "1704164645.5", Ints(kTs20240102T030405 + kSec / 2), ""},
    {"timestamptz", "epoch_s", "0", Ints(kUnixEpochPg), ""},
    {"timestamptz", "epoch_s", "-1", Ints(kUnixEpochPg - kSec), ""},
    {"timestamptz", "epoch_s", "9999999999999", "", "timestamp out of range"},
    {"timestamptz", "epoch_s", R"("soon")", "", "invalid epoch timestamp 'soon'"},
    {"timestamptz", "epoch_ms", "1704164645123", Ints(kTs20240102T030405 + 123000), ""},
    {"timestamptz", "epoch_ms", R"("1704164645123")", Ints(kTs20240102T030405 + 123000), ""},
    {"timestamptz", "epoch_ms", "0", Ints(kUnixEpochPg), ""},
    {"timestamptz", "epoch_s", "1.704164645e9", Ints(kTs20240102T030405), ""},
    // jsonb: the value kept whole (minified, member order kept)
    {"jsonb", "", R"({"b": [1, 2], "a": {"x": "y"}})", R"({"b":[1,2],"a":{"x":"y"}})", ""},
    {"jsonb", "", R"([1, {"x": false}, "s"])", R"([1,{"x":false},"s"])", ""},
    {"jsonb", "", R"("str")", R"("str")", ""},
    {"jsonb", "", "42", "42", ""},
    // Numbers inside jsonb keep their digits, as PostgreSQL's jsonb does.
    {"jsonb", "", R"({"x": 0.1000000000000000000001, "big": 18446744073709551616, "e": 1e400})",
     R"({"x":0.1000000000000000000001,"big":18446744073709551616,"e":1e400})", ""},
    {"jsonb", "", "-0.10", "-0.10", ""},
    // Escapes stay as written; PostgreSQL decodes them when it stores the value.
    {"jsonb", "", R"({"k": "\u00e9"})", R"({"k":"\u00e9"})", ""},
    // A backslash followed by "u0000" is six ordinary characters, not NUL.
    {"jsonb", "", R"({"path": "C:\\u0000"})", R"({"path":"C:\\u0000"})", ""},
    {"jsonb", "", R"({"k": "a\u0000b"})", "", "jsonb cannot store"},
    {"jsonb", "", R"({"k": "\\\u0000"})", "", "jsonb cannot store"},
    // JSON null is "absent": NULL for every type without a default.
    {"text", "", "null", "NULL", ""},
    {"integer", "", "null", "NULL", ""},
    {"jsonb", "", "null", "NULL", ""},
};

TEST(DocumentMapperTest, MapsEveryTypeExactly) {
  for (const TypeCase& c : kTypeCases) {
    SCOPED_TRACE(std::string(c.type) + " " + std::string(c.format) + " " + std::string(c.json));
    std::string column = "      v: { type: " + std::string(c.type);
    if (!c.format.empty()) column += ", format: " + std::string(c.format);
    column += " }\n";
    const auto spec = MustParse(
        "  things:\n"
        "    source: { from: files, file: things.jsonl }\n"
        "    key: [id]\n"
        "    columns:\n"
        "      id: { type: integer }\n" +
        column);
    auto mapper = MustCreate(spec);
    ASSERT_NE(mapper, nullptr);
    const std::string doc = R"({"id": 1, "v": )" + std::string(c.json) + "}";
    MappedBatch out;
    mapper->Map(Batch({doc}), &out);
    ExpectCountsAddUp(out);
    ASSERT_EQ(out.counts[0].read, 1);
    if (c.reason.empty()) {
      ASSERT_TRUE(out.rejects.empty()) << out.rejects[0].reason;
      EXPECT_EQ(ColumnCells(out, 0, "v"), std::vector<std::string>{std::string(c.want)});
      EXPECT_EQ(ColumnCells(out, 0, "id"), std::vector<std::string>{"1"});
    } else {
      ASSERT_EQ(out.rejects.size(), 1u);
      const Reject& r = out.rejects[0];
      EXPECT_NE(r.reason.find(c.reason), std::string::npos)
          << "reason '" << r.reason << "' lacks '" << c.reason << "'";
      EXPECT_EQ(r.field, "v");
      EXPECT_EQ(r.entity, "things");
      EXPECT_EQ(r.item, "");
      EXPECT_EQ(r.record, doc);
      // A rejected record leaves no half row behind.
      EXPECT_EQ(out.tables[0].num_rows(), 0u);
      for (const Column& col : out.tables[0].columns) EXPECT_EQ(col.size(), 0u);
    }
  }
}

// ---------------------------------------------------------------------------
// Defaults and required fields.

TEST(DocumentMapperTest, DefaultsFillAbsentAndNullValuesOnly) {
  const auto spec = MustParse(R"(  users:
    source: { from: files, file: users.jsonl }
    key: [id]
    columns:
      id:      { type: integer }
      role:    { type: text, default: client }
      quota:   { type: integer, default: "7" }
      active:  { type: bool, default: "yes" }
      since:   { type: timestamptz, default: "2024-01-02T03:04:05Z" }
      born:    { type: date, default: "2000-03-01" }
      uid:     { type: uuid, default: "00000000-0000-0000-0000-00000000000a" }
      prefs:   { type: jsonb, default: "none" }
      note:    { type: text }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(
      Batch({
          R"({"id": 1})",
          R"({"id": 2, "role": null, "quota": null, "active": null, "prefs": null})",
          R"({"id": 3, "role": "admin", "quota": 0, "active": false, "since": "2000-01-01T00:00:00Z",)"
          R"( "born": "2000-01-01", "uid": "ffffffff-ffff-ffff-ffff-ffffffffffff",)"
          R"( "prefs": {"a": 1}, "note": "n"})",
      }),
      &out);
  ExpectCountsAddUp(out);
  ASSERT_TRUE(out.rejects.empty());
  using V = std::vector<std::string>;
  EXPECT_EQ(ColumnCells(out, 0, "role"), (V{"client", "client", "admin"}));
  EXPECT_EQ(ColumnCells(out, 0, "quota"), (V{"7", "7", "0"}));
  EXPECT_EQ(ColumnCells(out, 0, "active"), (V{"true", "true", "false"}));
  const std::string ts = Ints(kTs20240102T030405);
  EXPECT_EQ(ColumnCells(out, 0, "since"), (V{ts, ts, "0"}));
  EXPECT_EQ(ColumnCells(out, 0, "born"), (V{"60", "60", "0"}));
  EXPECT_EQ(ColumnCells(out, 0, "uid"),
            (V{"00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000a",
               "ffffffff-ffff-ffff-ffff-ffffffffffff"}));
  // A text default of a jsonb column is a JSON string.
  EXPECT_EQ(ColumnCells(out, 0, "prefs"), (V{R"("none")", R"("none")", R"({"a":1})"}));
  EXPECT_EQ(ColumnCells(out, 0, "note"), (V{"NULL", "NULL", "n"}));
}

TEST(DocumentMapperTest, DefaultThatCannotBeConvertedFailsCreateWithItsLocation) {
  const auto spec = MustParse(R"(  users:
    source: { from: files, file: users.jsonl }
    key: [id]
    columns:
      id:    { type: integer }
      quota: { type: integer, default: lots }
)");
  ASSERT_FALSE(spec.entities.empty());
  auto mapper = DocumentMapper::Create(spec.entities[0]);
  ASSERT_FALSE(mapper.ok());
  const std::string& m = mapper.status().message();
  EXPECT_NE(m.find("t.yaml:10:"), std::string::npos) << m;
  EXPECT_NE(m.find("default of column 'quota'"), std::string::npos) << m;
  EXPECT_NE(m.find("invalid integer 'lots'"), std::string::npos) << m;
}

TEST(DocumentMapperTest, RequiredAndKeyFieldsMustBePresentAndNotNull) {
  const auto spec = MustParse(R"(  users:
    source: { from: files, file: users.jsonl }
    key: [id]
    columns:
      id:    { type: integer }
      email: { type: text, required: true }
      name:  { type: text }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  const std::vector<std::string> docs = {
      R"({"id": 1, "email": "a@x"})",
      R"({"id": 2})",
      R"({"id": 3, "email": null, "name": "n"})",
      R"({"email": "d@x"})",
      R"({"id": null, "email": "e@x"})",
      R"({"id": 6, "email": ""})",  // present, even if empty
  };
  MappedBatch out;
  mapper->Map(Batch(docs), &out);
  ExpectCountsAddUp(out);
  EXPECT_EQ(ColumnCells(out, 0, "id"), (std::vector<std::string>{"1", "6"}));
  EXPECT_EQ(ColumnCells(out, 0, "email"), (std::vector<std::string>{"a@x", ""}));
  struct {
    int64_t record;
    std::string_view field;
    std::string_view reason;
  } want[] = {
      {1, "email", "missing required field 'email'"},
      {2, "email", "missing required field 'email'"},
      {3, "id", "missing required field 'id'"},
      {4, "id", "missing required field 'id'"},
  };
  ASSERT_EQ(out.rejects.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    const Reject& r = out.rejects[i];
    EXPECT_EQ(r.record_index, want[i].record);
    EXPECT_EQ(r.line, want[i].record + 1);
    EXPECT_EQ(r.field, want[i].field);
    EXPECT_EQ(r.reason, want[i].reason);
    EXPECT_EQ(r.record, docs[static_cast<size_t>(want[i].record)]);
  }
}

// ---------------------------------------------------------------------------
// Where values come from: object keys and dotted paths.

TEST(DocumentMapperTest, KeyOfAnObjectKeyedFileFillsFromKeyColumns) {
  const auto spec = MustParse(R"(  users:
    source: { from: files, file: users.json }
    key: [id]
    columns:
      id:     { from: $key, type: uuid }
      handle: { from: $key, type: text }
      name:   { type: text }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(
      Batch({R"({"name": "a"})", R"({"name": "b"})", R"({"name": "c"})", R"({"name": "d"})"},
            {"0E7E4C5A-1B2C-4D3E-8F90-A1B2C3D4E5F6", "nope", std::nullopt,
             "00000000000000000000000000000001"}),
      &out);
  ExpectCountsAddUp(out);
  using V = std::vector<std::string>;
  EXPECT_EQ(ColumnCells(out, 0, "id"),
            (V{"0e7e4c5a-1b2c-4d3e-8f90-a1b2c3d4e5f6", "00000000-0000-0000-0000-000000000001"}));
  EXPECT_EQ(ColumnCells(out, 0, "handle"),
            (V{"0E7E4C5A-1B2C-4D3E-8F90-A1B2C3D4E5F6", "00000000000000000000000000000001"}));
  EXPECT_EQ(ColumnCells(out, 0, "name"), (V{"a", "d"}));
  ASSERT_EQ(out.rejects.size(), 2u);
  EXPECT_EQ(out.rejects[0].record_index, 1);
  EXPECT_EQ(out.rejects[0].field, "$key");
  EXPECT_NE(out.rejects[0].reason.find("invalid uuid 'nope'"), std::string::npos);
  EXPECT_EQ(out.rejects[1].record_index, 2);
  EXPECT_EQ(out.rejects[1].field, "$key");
  EXPECT_EQ(out.rejects[1].reason, "missing required field '$key'");
}

TEST(DocumentMapperTest, DottedPathsReachIntoNestedObjects) {
  const auto spec = MustParse(R"(  users:
    source: { from: files, file: users.jsonl }
    key: [id]
    columns:
      id:    { type: integer }
      email: { from: profile.contact.email, type: text }
      city:  { from: profile.address.city, type: text, default: unknown }
      zip:   { from: profile.address.zip, type: integer }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(
      Batch({
          R"({"id": 1, "profile": {"contact": {"email": "a@x"},)"
          R"( "address": {"city": "Oslo", "zip": "0150"}}})",
          R"({"id": 2, "profile": {"contact": null}})",
          R"({"id": 3, "profile": "flat string"})",  // a step that is not an object is absent
          R"({"id": 4, "profile.contact.email": "literal key", "profile": {}})",
          R"({"id": 5, "profile": {"address": {"zip": "x1"}}})",
      }),
      &out);
  ExpectCountsAddUp(out);
  using V = std::vector<std::string>;
  EXPECT_EQ(ColumnCells(out, 0, "id"), (V{"1", "2", "3", "4"}));
  EXPECT_EQ(ColumnCells(out, 0, "email"), (V{"a@x", "NULL", "NULL", "NULL"}));
  EXPECT_EQ(ColumnCells(out, 0, "city"), (V{"Oslo", "unknown", "unknown", "unknown"}));
  EXPECT_EQ(ColumnCells(out, 0, "zip"), (V{"150", "NULL", "NULL", "NULL"}));
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects[0].record_index, 4);
  EXPECT_EQ(out.rejects[0].field, "profile.address.zip");
  EXPECT_NE(out.rejects[0].reason.find("invalid integer 'x1'"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Whole records that are not objects, not JSON, or not UTF-8.

TEST(DocumentMapperTest, RejectsRecordsThatAreNotJsonObjectsWithTheirPosition) {
  const auto spec = MustParse(R"(  things:
    source: { from: files, file: things.jsonl }
    key: [id]
    columns:
      id: { type: integer }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  struct {
    std::string doc;
    std::string_view reason;  // "" when the record maps
  } cases[] = {
      {R"({"id": 1})", ""},
      {R"({"id": 2,)", "malformed JSON"},
      {R"({"id": 3} trailing)", "malformed JSON"},
      {"[1, 2]", "record is a JSON array, not an object"},
      {"42", "record is a JSON number, not an object"},
      {R"("text")", "record is a JSON string, not an object"},
      {"null", "record is a JSON null, not an object"},
      {"{\"id\": 8, \"s\": \"\xff\xfe\"}", "invalid UTF-8 in record"},
      {"{\"id\": 9, \"s\": \"\xc3\"}", "invalid UTF-8 in record"},
      {"", "malformed JSON"},
      {R"({"id": 11})", ""},
  };
  std::vector<std::string> docs;
  for (const auto& c : cases) docs.push_back(c.doc);
  MappedBatch out;
  const auto batch = Batch(docs);
  mapper->Map(batch, &out);
  ExpectCountsAddUp(out);
  EXPECT_EQ(ColumnCells(out, 0, "id"), (std::vector<std::string>{"1", "11"}));
  EXPECT_EQ(out.counts[0].read, static_cast<int64_t>(std::size(cases)));
  size_t next = 0;
  for (size_t i = 0; i < std::size(cases); ++i) {
    if (cases[i].reason.empty()) continue;
    SCOPED_TRACE(i);
    ASSERT_LT(next, out.rejects.size());
    const Reject& r = out.rejects[next++];
    EXPECT_EQ(r.entity, "things");
    EXPECT_EQ(r.source, "things.jsonl");
    EXPECT_EQ(r.record_index, static_cast<int64_t>(i));
    EXPECT_EQ(r.line, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(r.byte_offset, batch.positions[i].byte_offset);
    EXPECT_EQ(r.field, "");
    EXPECT_EQ(r.item, "");
    EXPECT_NE(r.reason.find(cases[i].reason), std::string::npos) << r.reason;
    EXPECT_EQ(r.record, cases[i].doc);  // the raw bytes, even when not UTF-8
  }
  EXPECT_EQ(next, out.rejects.size());
}

// ---------------------------------------------------------------------------
// Nested children and grandchildren.

const char kProjectsSpec[] = R"(  projects:
    source: { from: files, file: projects.jsonl }
    key: [id]
    columns:
      id:   { type: integer }
      name: { type: text, required: true }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { project_id: id }
        columns:
          id:         { type: integer }
          project_id: { type: integer }
          title:      { type: text, required: true }
          hours:      { from: estimate.hours, type: float8 }
        children:
          checks:
            path: checklist
            key: [task_id, n]
            parent: { task_id: id }
            columns:
              task_id: { type: integer }
              n:       { type: integer }
              done:    { type: bool, default: "false" }
      milestones:
        path: plan.milestones
        key: [project_id, due]
        parent: { project_id: id }
        columns:
          project_id: { type: integer }
          due:        { type: date }
)";

TEST(DocumentMapperTest, TablesAreTheEntityThenItsDescendantsDepthFirst) {
  const auto spec = MustParse(kProjectsSpec);
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  std::vector<std::string> names;
  for (const auto* e : mapper->tables()) names.push_back(e->name);
  EXPECT_EQ(names, (std::vector<std::string>{"projects", "tasks", "checks", "milestones"}));
  EXPECT_EQ(mapper->ParentOf(0), -1);
  EXPECT_EQ(mapper->ParentOf(1), 0);
  EXPECT_EQ(mapper->ParentOf(2), 1);
  EXPECT_EQ(mapper->ParentOf(3), 0);
}

TEST(DocumentMapperTest, ChildrenAndGrandchildrenCarryTheirParentKeys) {
  const auto spec = MustParse(kProjectsSpec);
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  const std::vector<std::string> docs = {
      R"({"id": 10, "name": "alpha", "tasks": [)"
      R"({"id": 100, "title": "t0", "estimate": {"hours": 1.5},)"
      R"( "checklist": [{"n": 1, "done": true}, {"n": 2}]},)"
      R"({"id": 101, "project_id": 999, "title": "t1"}],)"
      R"( "plan": {"milestones": [{"due": "2024-02-29"}]}})",
      R"({"id": 20, "name": "beta"})",  // no children at all
      R"({"id": 30, "name": "gamma", "tasks": [], "plan": {"milestones": null}})",
      R"({"id": 40, "name": "delta",)"
      R"( "tasks": [{"id": 400, "title": "t", "checklist": [{"n": 7}]}]})",
  };
  MappedBatch out;
  mapper->Map(Batch(docs), &out);
  ExpectCountsAddUp(out);
  EXPECT_TRUE(out.rejects.empty());
  using V = std::vector<std::string>;
  EXPECT_EQ(ColumnCells(out, 0, "id"), (V{"10", "20", "30", "40"}));
  EXPECT_EQ(ColumnCells(out, 1, "id"), (V{"100", "101", "400"}));
  // The parent's key wins over a field of the same name in the child.
  EXPECT_EQ(ColumnCells(out, 1, "project_id"), (V{"10", "10", "40"}));
  EXPECT_EQ(ColumnCells(out, 1, "hours"), (V{"1.5", "NULL", "NULL"}));
  EXPECT_EQ(ColumnCells(out, 2, "task_id"), (V{"100", "100", "400"}));
  EXPECT_EQ(ColumnCells(out, 2, "n"), (V{"1", "2", "7"}));
  EXPECT_EQ(ColumnCells(out, 2, "done"), (V{"true", "false", "false"}));
  EXPECT_EQ(ColumnCells(out, 3, "project_id"), (V{"10"}));
  EXPECT_EQ(ColumnCells(out, 3, "due"), (V{"8825"}));

  // Origins: the source record, and the place inside it.
  auto origins = [&](size_t t) {
    std::vector<std::string> v;
    for (const auto& o : out.origins[t]) v.push_back(Ints(o.record) + ":" + o.item);
    return v;
  };
  EXPECT_EQ(origins(0), (V{"0:", "1:", "2:", "3:"}));
  EXPECT_EQ(origins(1), (V{"0:tasks[0]", "0:tasks[1]", "3:tasks[0]"}));
  EXPECT_EQ(origins(2),
            (V{"0:tasks[0].checklist[0]", "0:tasks[0].checklist[1]", "3:tasks[0].checklist[0]"}));
  EXPECT_EQ(origins(3), (V{"0:plan.milestones[0]"}));
  EXPECT_EQ(out.counts[1].read, 3);
  EXPECT_EQ(out.counts[2].read, 3);
  EXPECT_EQ(out.counts[3].read, 1);
}

TEST(DocumentMapperTest, BadChildRejectsOnlyThatChildAndTheParentStays) {
  const auto spec = MustParse(kProjectsSpec);
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  const std::vector<std::string> docs = {
      // tasks[1] lacks its title; tasks[2] is not an object; tasks[3]'s
      // checklist[1] has a bad n; milestone[0] has a bad date.
      R"({"id": 1, "name": "p", "tasks": [)"
      R"({"id": 10, "title": "ok"},)"
      R"({"id": 11, "checklist": [{"n": 1}]},)"
      R"("just text",)"
      R"({"id": 13, "title": "ok too", "checklist": [{"n": 1}, {"n": "two"}, {"n": 3}]}],)"
      R"( "plan": {"milestones": [{"due": "2024-02-30"}, {"due": "2024-03-01"}]}})",
      // tasks is not an array; checklist of a good task is not an array.
      R"({"id": 2, "name": "q", "tasks": {"id": 20}})",
      R"({"id": 3, "name": "r", "tasks": [{"id": 30, "title": "x", "checklist": 5}]})",
      // The parent itself is bad: nothing of it is mapped, children unread.
      R"({"id": 4, "tasks": [{"id": 40, "title": "orphan"}]})",
  };
  MappedBatch out;
  mapper->Map(Batch(docs), &out);
  ExpectCountsAddUp(out);
  using V = std::vector<std::string>;
  EXPECT_EQ(ColumnCells(out, 0, "id"), (V{"1", "2", "3"}));
  EXPECT_EQ(ColumnCells(out, 1, "id"), (V{"10", "13", "30"}));
  EXPECT_EQ(ColumnCells(out, 1, "project_id"), (V{"1", "1", "3"}));
  EXPECT_EQ(ColumnCells(out, 2, "task_id"), (V{"13", "13"}));
  EXPECT_EQ(ColumnCells(out, 2, "n"), (V{"1", "3"}));
  EXPECT_EQ(ColumnCells(out, 3, "due"), (V{"8826"}));  // 2024-03-01: 8825 + 1
  struct {
    std::string_view entity;
    int64_t record;
    std::string_view item;
    std::string_view field;
    std::string_view reason;
    std::string_view record_text;  // "" for "the whole source record"
  } want[] = {
      {"tasks", 0, "tasks[1]", "title", "missing required field 'title'",
       R"({"id":11,"checklist":[{"n":1}]})"},
      {"tasks", 0, "tasks[2]", "tasks", "expected an object, got string", R"("just text")"},
      {"checks", 0, "tasks[3].checklist[1]", "n", "invalid integer 'two'", R"({"n":"two"})"},
      {"milestones", 0, "plan.milestones[0]", "due", "day 30 out of range for 2024-02",
       R"({"due":"2024-02-30"})"},
      {"tasks", 1, "tasks", "tasks", "expected an array at 'tasks', got object", R"({"id":20})"},
      {"checks", 2, "tasks[0].checklist", "checklist",
       "expected an array at 'checklist', got number", "5"},
      {"projects", 3, "", "name", "missing required field 'name'", ""},
  };
  ASSERT_EQ(out.rejects.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    SCOPED_TRACE(i);
    const Reject& r = out.rejects[i];
    EXPECT_EQ(r.entity, want[i].entity);
    EXPECT_EQ(r.record_index, want[i].record);
    EXPECT_EQ(r.line, want[i].record + 1);
    EXPECT_EQ(r.item, want[i].item);
    EXPECT_EQ(r.field, want[i].field);
    EXPECT_NE(r.reason.find(want[i].reason), std::string::npos) << r.reason;
    EXPECT_EQ(r.record, want[i].record_text.empty() ? docs[static_cast<size_t>(want[i].record)]
                                                    : std::string(want[i].record_text));
  }
  // read = mapped + rejected, table by table, by hand: projects 4 = 3 + 1;
  // tasks 4 (record 0) + 1 (record 1's non-array) + 1 (record 2) = 6 = 3 + 3;
  // checks 3 (tasks[3]) + 1 (record 2's non-array) = 4 = 2 + 2 (tasks[1] was
  // rejected, so its checklist is never read); milestones 2 = 1 + 1.
  EXPECT_EQ(out.counts[0].read, 4);
  EXPECT_EQ(out.counts[0].rejected, 1);
  EXPECT_EQ(out.counts[1].read, 6);
  EXPECT_EQ(out.counts[1].rejected, 3);
  EXPECT_EQ(out.counts[2].read, 4);
  EXPECT_EQ(out.counts[2].rejected, 2);
  EXPECT_EQ(out.counts[3].read, 2);
  EXPECT_EQ(out.counts[3].rejected, 1);
}

TEST(DocumentMapperTest, ReusedOutputHoldsOnlyTheLatestBatch) {
  const auto spec = MustParse(kProjectsSpec);
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(Batch({R"({"id": 1, "name": "a", "tasks": [{"id": 5, "title": "t"}, 7]})"}), &out);
  ASSERT_EQ(out.rejects.size(), 1u);
  mapper->Map(Batch({R"({"id": 2, "name": "b"})", R"({"id": 3, "name": "c"})"}), &out);
  ExpectCountsAddUp(out);
  EXPECT_TRUE(out.rejects.empty());
  EXPECT_EQ(ColumnCells(out, 0, "id"), (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(out.tables[1].num_rows(), 0u);
  EXPECT_EQ(out.counts[0].read, 2);
  EXPECT_EQ(out.counts[1].read, 0);
  EXPECT_EQ(out.origins[0][1].record, 1u);
}

// Regression: a jsonb value holding a backslash followed by "u0000" (JSON
// "\\u0000", six ordinary characters) was rejected as if it held NUL.
TEST(DocumentMapperTest, EscapedBackslashBeforeU0000IsNotANul) {
  const auto spec = MustParse(R"(  things:
    source: { from: files, file: things.jsonl }
    key: [id]
    columns:
      id:  { type: integer }
      doc: { type: jsonb }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(
      Batch({R"({"id": 1, "doc": ["\\u0000", "\\\\u0000"]})", R"({"id": 2, "doc": ["\\\u0000"]})"}),
      &out);
  ExpectCountsAddUp(out);
  EXPECT_EQ(ColumnCells(out, 0, "doc"), (std::vector<std::string>{R"(["\\u0000","\\\\u0000"])"}));
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects[0].record_index, 1);
  EXPECT_NE(out.rejects[0].reason.find("jsonb cannot store"), std::string::npos);
}

// Regression: a grandchild array that is not an array was reported at
// "tasks[0]checklist", without the dot every other item has.
TEST(DocumentMapperTest, NonArrayGrandchildIsReportedAtADottedItem) {
  const auto spec = MustParse(kProjectsSpec);
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(
      Batch({R"({"id": 1, "name": "p", "tasks": [{"id": 2, "title": "t", "checklist": {}}]})"}),
      &out);
  ExpectCountsAddUp(out);
  ASSERT_EQ(out.rejects.size(), 1u);
  EXPECT_EQ(out.rejects[0].entity, "checks");
  EXPECT_EQ(out.rejects[0].item, "tasks[0].checklist");
  EXPECT_EQ(out.tables[1].num_rows(), 1u);  // the task itself stays
}

// Regression: simdjson's DOM turned every JSON number into a double, so a
// numeric column got 0.12345678901234568 and an integer beyond 2^64 rejected
// the record as malformed JSON.
TEST(DocumentMapperTest, NumericFromLongJsonNumberIsExact) {
  const auto spec = MustParse(R"(  things:
    source: { from: files, file: things.jsonl }
    key: [id]
    columns:
      id: { type: integer }
      v:  { type: numeric }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(Batch({R"({"id": 1, "v": 0.12345678901234567890})",
                     R"({"id": 2, "v": 123456789012345678901234567890})"}),
              &out);
  EXPECT_TRUE(out.rejects.empty());
  EXPECT_EQ(ColumnCells(out, 0, "v"),
            (std::vector<std::string>{"0.12345678901234567890", "123456789012345678901234567890"}));
}

// An object that names a key twice: the last value wins for a column, as it
// does in PostgreSQL's jsonb (which gets the text as written and keeps the
// last), and the record is counted once however many keys repeat.
TEST(DocumentMapperTest, RepeatedKeyTakesTheLastValueForColumnsAndIsCounted) {
  const auto spec = MustParse(R"(  things:
    source: { from: files, file: things.jsonl }
    key: [id]
    columns:
      id:   { type: integer }
      v:    { type: integer }
      deep: { from: a.b, type: text }
      j:    { type: jsonb }
    children:
      parts:
        path: parts
        key: [thing_id, n]
        parent: { thing_id: id }
        columns:
          thing_id: { type: integer }
          n:        { type: integer }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  MappedBatch out;
  mapper->Map(Batch({
                  R"({"id": 1, "v": 1, "v": 2})",
                  R"({"id": 2, "v": 1, "\u0076": 3, "a": {"b": "x"}, "a": {"b": "y"}})",
                  R"({"id": 3, "v": 4, "j": {"k": 1, "k": 2}})",
                  R"({"id": 4, "v": 5, "parts": [{"n": 1, "n": 2}]})",
                  R"({"id": 5, "v": 6, "a": {"b": "z", "c": 1}})",
              }),
              &out);
  ExpectCountsAddUp(out);
  ASSERT_TRUE(out.rejects.empty()) << out.rejects[0].reason;
  EXPECT_EQ(ColumnCells(out, 0, "v"), (std::vector<std::string>{"2", "3", "4", "5", "6"}));
  EXPECT_EQ(ColumnCells(out, 0, "deep"),
            (std::vector<std::string>{"NULL", "y", "NULL", "NULL", "z"}));
  EXPECT_EQ(ColumnCells(out, 0, "j"),
            (std::vector<std::string>{"NULL", "NULL", R"({"k":1,"k":2})", "NULL", "NULL"}));
  EXPECT_EQ(ColumnCells(out, 1, "n"), (std::vector<std::string>{"2"}));
  EXPECT_EQ(out.counts[0].repeated_keys, 4);
  EXPECT_EQ(out.counts[1].repeated_keys, 0);
}

// Strings the DOM used to accept or refuse differently from PostgreSQL's
// jsonb: a lone surrogate is refused by both; a raw control character too.
TEST(DocumentMapperTest, RecordsPostgresWouldRefuseAreRejectedWithTheirReason) {
  const auto spec = MustParse(R"(  things:
    source: { from: files, file: things.jsonl }
    key: [id]
    columns:
      id: { type: integer }
      s:  { type: text }
)");
  auto mapper = MustCreate(spec);
  ASSERT_NE(mapper, nullptr);
  struct {
    std::string doc;
    std::string reason;
  } cases[] = {
      {R"({"id": 1, "s": "\ud800"})",
       "malformed JSON at byte 16: a high surrogate \\u escape must be followed by a low"},
      {R"({"id": 2, "s": "\udc00x"})",
       "malformed JSON at byte 16: a low surrogate \\u escape must follow a high surrogate"},
      {"{\"id\": 3, \"s\": \"a\tb\"}",
       "malformed JSON at byte 17: control character 0x09 inside a string must be escaped"},
      {R"({"id": 4, "s": 01})", "malformed JSON at byte 15: a number has a leading zero"},
      {R"({"id": 5, "s": 1.})", "malformed JSON at byte 17: a number needs digits after '.'"},
      {R"({"id": 6 "s": 1})", "malformed JSON at byte 9: expected ',' or '}'"},
      {R"({"id": 7, "s": tru})", "malformed JSON at byte 15: unknown literal; expected 'true'"},
  };
  std::vector<std::string> docs;
  for (const auto& c : cases) docs.push_back(c.doc);
  MappedBatch out;
  mapper->Map(Batch(docs), &out);
  ExpectCountsAddUp(out);
  ASSERT_EQ(out.rejects.size(), std::size(cases));
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_NE(out.rejects[i].reason.find(cases[i].reason), std::string::npos)
        << out.rejects[i].reason;
  }
}

TEST(DocumentMapperTest, ParentLinkOfAnotherTypeFailsCreate) {
  const auto spec = MustParse(R"(  projects:
    source: { from: files, file: projects.jsonl }
    key: [id]
    columns:
      id: { type: uuid }
    children:
      tasks:
        path: tasks
        key: [id]
        parent: { project_id: id }
        columns:
          id:         { type: integer }
          project_id: { type: integer }
)");
  ASSERT_FALSE(spec.entities.empty());
  auto mapper = DocumentMapper::Create(spec.entities[0]);
  ASSERT_FALSE(mapper.ok());
  EXPECT_NE(mapper.status().message().find("links to 'projects.id', which is uuid"),
            std::string::npos)
      << mapper.status().message();
}

}  // namespace
}  // namespace cutover::map
