// Tests that geometry values become the EWKB PostgreSQL itself stores and
// returns: hand-assembled bytes in, the PostGIS-documented bytes out.
#include "map/geometry_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::map {
namespace {

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// ST_AsEWKB('SRID=4326;POINT(1 2)') as PostGIS prints it.
constexpr char kPoint12Srid4326[] = "0101000020E6100000000000000000F03F0000000000000040";

TEST(GeometryCodecTest, PointFromCoordinates) {
  EXPECT_EQ(Hex(EwkbPoint(1, 2, 4326)), kPoint12Srid4326);
}

TEST(GeometryCodecTest, PointFromWkt) {
  const char* spellings[] = {"POINT(1 2)", "POINT (1 2)", "point(1.0 2e0)", "SRID=4326;POINT(1 2)",
                             "  POINT( 1   2 ) "};
  for (const char* wkt : spellings) {
    auto r = EwkbFromWkt(wkt, 4326);
    ASSERT_TRUE(r.ok()) << wkt << ": " << r.status().message();
    EXPECT_EQ(Hex(*r), kPoint12Srid4326) << wkt;
  }
}

TEST(GeometryCodecTest, WktRejectsWithReasons) {
  struct Case {
    const char* wkt;
    const char* reason;
  } cases[] = {
      {"LINESTRING(0 0, 1 1)", "WKT LINESTRING is not supported; only POINT(x y) is"},
      {"SRID=3857;POINT(1 2)", "WKT has SRID 3857, the column's is 4326"},
      {"POINT(1)", "WKT: expected a number at character 8"},
      {"POINT(1 2) x", "WKT: extra text at character 12"},
      {"POINT EMPTY",
       "WKT: expected '(' after POINT (POINT EMPTY and Z/M points are not supported)"},
  };
  for (const auto& c : cases) {
    auto r = EwkbFromWkt(c.wkt, 4326);
    ASSERT_FALSE(r.ok()) << c.wkt;
    EXPECT_EQ(r.status().message(), c.reason) << c.wkt;
  }
}

TEST(GeometryCodecTest, WkbIsNormalizedToNdrEwkbWithTheSrid) {
  struct Case {
    const char* name;
    std::string wkb_hex;
    std::string ewkb_hex;
  } cases[] = {
      {"NDR point", "0101000000000000000000F03F0000000000000040", kPoint12Srid4326},
      {"XDR point", "00000000013FF00000000000004000000000000000", kPoint12Srid4326},
      {"EWKB with the same SRID", kPoint12Srid4326, kPoint12Srid4326},
      {"hex text of NDR point", "0101000000000000000000F03F0000000000000040", kPoint12Srid4326},
      // ISO Point Z (type 1001): the Z flag 0x80000000 replaces the 1000s.
      {"ISO point Z",
       "01E9030000"
       "000000000000F03F"
       "0000000000000040"
       "0000000000000840",
       "01010000A0E6100000"
       "000000000000F03F"
       "0000000000000040"
       "0000000000000840"},
      // XDR linestring of two points, SRID only on the outer geometry.
      {"XDR linestring",
       "0000000002"
       "00000002"
       "0000000000000000"
       "0000000000000000"
       "3FF0000000000000"
       "3FF0000000000000",
       "0102000020E6100000"
       "02000000"
       "0000000000000000"
       "0000000000000000"
       "000000000000F03F"
       "000000000000F03F"},
      // MULTIPOINT of one XDR point: the member keeps no SRID.
      {"multipoint",
       "0000000004"
       "00000001"
       "00000000013FF00000000000004000000000000000",
       "0104000020E6100000"
       "01000000"
       "0101000000000000000000F03F0000000000000040"},
  };
  for (const auto& c : cases) {
    const bool as_text = std::string(c.name).starts_with("hex");
    auto r = EwkbFromWkb(as_text ? c.wkb_hex : Unhex(c.wkb_hex), 4326);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status().message();
    EXPECT_EQ(Hex(*r), c.ewkb_hex) << c.name;
  }
}

TEST(GeometryCodecTest, WkbRejectsWithReasons) {
  struct Case {
    const char* name;
    std::string wkb_hex;
    const char* reason;
  } cases[] = {
      {"truncated", "0101000000000000000000F03F00", "WKB truncated at byte 5"},
      {"bad byte order", "0201000000000000000000F03F0000000000000040",
       "WKB byte order 2 at byte 0"},
      {"unknown type", "0109000000", "WKB geometry type 9"},
      {"other SRID", "0101000020110F0000000000000000F03F0000000000000040",
       "WKB has SRID 3857, the column's is 4326"},
      {"trailing bytes", "0101000000000000000000F03F000000000000004000",
       "WKB has 1 bytes after the geometry"},
      {"huge count", "010200000000FFFFFF", "WKB truncated at byte 9"},
  };
  for (const auto& c : cases) {
    auto r = EwkbFromWkb(Unhex(c.wkb_hex), 4326);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().message(), c.reason) << c.name;
  }
}

TEST(GeometryCodecTest, PointCoordinatesReadBackWhatWasBuilt) {
  auto point = PointCoordinates(EwkbPoint(-80.125, 37.0625, 4326));
  ASSERT_TRUE(point.ok()) << point.status().message();
  EXPECT_EQ(point->first, -80.125);
  EXPECT_EQ(point->second, 37.0625);
  // Big-endian WKB without an SRID: 00 | 00000001 | x | y, by hand.
  const std::string xdr(
      "\x00\x00\x00\x00\x01\x3f\xf8\x00\x00\x00\x00\x00\x00"
      "\xc0\x04\x00\x00\x00\x00\x00\x00",
      21);
  point = PointCoordinates(xdr);
  ASSERT_TRUE(point.ok()) << point.status().message();
  EXPECT_EQ(point->first, 1.5);
  EXPECT_EQ(point->second, -2.5);
  // LINESTRING(0 0, 1 1): not a point, so no lon and lat.
  auto line = EwkbFromWkb(
      std::string("\x01\x02\x00\x00\x00\x02\x00\x00\x00", 9) + std::string(16, '\0') +
          std::string("\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xf0\x3f", 16),
      0);
  ASSERT_TRUE(line.ok()) << line.status().message();
  EXPECT_FALSE(PointCoordinates(*line).ok());
}

}  // namespace
}  // namespace cutover::map
