// PostGIS geometry as EWKB, built by hand: points from coordinates, points
// from WKT, and any WKB normalized to the bytes PostgreSQL itself returns.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace cutover::map {

// EWKB is what binary COPY sends for a geometry and what PostgreSQL sends
// back: little-endian (NDR) on this platform, the type word carrying the
// PostGIS flags (0x20000000 SRID, 0x80000000 Z, 0x40000000 M), the SRID
// after the outer type word only. Every function here produces exactly that
// form, so a value hashes alike in the source and when read back.

// POINT(x y) with the SRID: 01 | 01 00 00 20 | srid | x | y (25 bytes).
std::string EwkbPoint(double x, double y, int srid);

// "POINT(x y)", "POINT (x y)" or "SRID=n;POINT(x y)" (case-insensitive).
// Other geometry types are refused with a reason; a written SRID must equal
// `srid`, since the column's SRID is declared in the spec.
Result<std::string> EwkbFromWkt(std::string_view wkt, int srid);

// WKB or EWKB of any type (ISO or PostGIS flags, either byte order, or hex
// text of it) re-encoded as NDR EWKB with `srid`; an embedded SRID must
// equal it. Truncated or malformed input is refused with the offset.
Result<std::string> EwkbFromWkb(std::string_view wkb, int srid);

// The x and y of a 2D point in WKB or EWKB (rollback turns a geometry built
// from lon/lat columns back into them); any other geometry is refused.
Result<std::pair<double, double>> PointCoordinates(std::string_view wkb);

}  // namespace cutover::map
