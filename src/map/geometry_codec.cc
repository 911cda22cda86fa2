#include "map/geometry_codec.h"

#include <bit>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

namespace cutover::map {
namespace {

constexpr uint32_t kSridFlag = 0x20000000;
constexpr uint32_t kZFlag = 0x80000000;
constexpr uint32_t kMFlag = 0x40000000;
constexpr int kMaxDepth = 32;  // nested collections; deeper input is refused

void PutU32(std::string* out, uint32_t v) {
  out->append(reinterpret_cast<const char*>(&v), 4);  // little-endian host
}
void PutF64(std::string* out, double v) {
  out->append(reinterpret_cast<const char*>(&v), 8);
}

// Walks WKB of either byte order and writes NDR EWKB.
class WkbNormalizer {
 public:
  explicit WkbNormalizer(std::string_view in) : in_(in) {}

  Status Geometry(int depth, int srid, std::string* out) {
    if (depth > kMaxDepth) return DataError("WKB nests collections too deeply");
    if (pos_ >= in_.size()) return Truncated();
    const uint8_t order = static_cast<uint8_t>(in_[pos_++]);
    if (order > 1) return DataError(fmt::format("WKB byte order {} at byte {}", order, pos_ - 1));
    swap_ = order == 0;  // 0: big-endian (XDR)
    uint32_t type = 0;
    RETURN_IF_ERROR(U32(&type));
    bool z = (type & kZFlag) != 0, m = (type & kMFlag) != 0;
    const bool has_srid = (type & kSridFlag) != 0;
    uint32_t base = type & 0x0FFFFFFF;
    // ISO WKB: 1001 = Point Z, 2001 = Point M, 3001 = Point ZM.
    if (base >= 1000 && base < 4000) {
      z = z || base / 1000 == 1 || base / 1000 == 3;
      m = m || base / 1000 == 2 || base / 1000 == 3;
      base %= 1000;
    }
    if (base < 1 || base > 7) return DataError(fmt::format("WKB geometry type {}", base));
    if (has_srid) {
      uint32_t given = 0;
      RETURN_IF_ERROR(U32(&given));
      if (depth == 0 && static_cast<int>(given) != srid && given != 0) {
        return DataError(fmt::format("WKB has SRID {}, the column's is {}", given, srid));
      }
    }
    out->push_back(1);
    PutU32(out, base | (z ? kZFlag : 0) | (m ? kMFlag : 0) | (depth == 0 ? kSridFlag : 0));
    if (depth == 0) PutU32(out, static_cast<uint32_t>(srid));
    const int dims = 2 + (z ? 1 : 0) + (m ? 1 : 0);
    switch (base) {
      case 1:  // point
        return Coords(1, dims, out);
      case 2: {  // linestring
        uint32_t n = 0;
        RETURN_IF_ERROR(Count(&n, dims * 8, out));
        return Coords(n, dims, out);
      }
      case 3: {  // polygon: rings of points
        uint32_t rings = 0;
        RETURN_IF_ERROR(Count(&rings, 4, out));
        for (uint32_t r = 0; r < rings; ++r) {
          uint32_t n = 0;
          RETURN_IF_ERROR(Count(&n, dims * 8, out));
          RETURN_IF_ERROR(Coords(n, dims, out));
        }
        return Status::Ok();
      }
      default: {  // multi* and collections: a count of whole geometries
        uint32_t n = 0;
        RETURN_IF_ERROR(Count(&n, 5, out));
        for (uint32_t i = 0; i < n; ++i) RETURN_IF_ERROR(Geometry(depth + 1, srid, out));
        return Status::Ok();
      }
    }
  }

  bool AtEnd() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

 private:
  Status Truncated() const { return DataError(fmt::format("WKB truncated at byte {}", pos_)); }

  Status U32(uint32_t* v) {
    if (in_.size() - pos_ < 4) return Truncated();
    std::memcpy(v, in_.data() + pos_, 4);
    if (swap_) *v = __builtin_bswap32(*v);
    pos_ += 4;
    return Status::Ok();
  }

  // A count, checked against the bytes left (each item needs at least
  // `min_item_bytes`), so a corrupt count cannot make us loop for long.
  Status Count(uint32_t* n, size_t min_item_bytes, std::string* out) {
    RETURN_IF_ERROR(U32(n));
    if (static_cast<uint64_t>(*n) * min_item_bytes > in_.size() - pos_) return Truncated();
    PutU32(out, *n);
    return Status::Ok();
  }

  Status Coords(uint32_t points, int dims, std::string* out) {
    const size_t bytes = static_cast<size_t>(points) * dims * 8;
    if (in_.size() - pos_ < bytes) return Truncated();
    for (size_t k = 0; k < static_cast<size_t>(points) * dims; ++k) {
      uint64_t bits;
      std::memcpy(&bits, in_.data() + pos_, 8);
      if (swap_) bits = __builtin_bswap64(bits);
      PutF64(out, std::bit_cast<double>(bits));
      pos_ += 8;
    }
    return Status::Ok();
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool swap_ = false;
};

bool IsHex(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string FromHex(std::string_view s) {
  std::string out(s.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned v = 0;
    std::from_chars(s.data() + 2 * i, s.data() + 2 * i + 2, v, 16);
    out[i] = static_cast<char>(v);
  }
  return out;
}

void SkipSpace(std::string_view s, size_t* i) {
  while (*i < s.size() && std::isspace(static_cast<unsigned char>(s[*i]))) ++*i;
}

bool StartsWithNoCase(std::string_view s, size_t at, std::string_view prefix) {
  if (s.size() - at < prefix.size()) return false;
  for (size_t k = 0; k < prefix.size(); ++k) {
    if (std::toupper(static_cast<unsigned char>(s[at + k])) != prefix[k]) return false;
  }
  return true;
}

Result<double> Number(std::string_view s, size_t* i) {
  SkipSpace(s, i);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data() + *i, s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data() + *i) {
    return DataError(fmt::format("WKT: expected a number at character {}", *i + 1));
  }
  *i = static_cast<size_t>(ptr - s.data());
  return v;
}

}  // namespace

std::string EwkbPoint(double x, double y, int srid) {
  std::string out;
  out.reserve(25);
  out.push_back(1);
  PutU32(&out, 1 | kSridFlag);
  PutU32(&out, static_cast<uint32_t>(srid));
  PutF64(&out, x);
  PutF64(&out, y);
  return out;
}

Result<std::string> EwkbFromWkt(std::string_view wkt, int srid) {
  size_t i = 0;
  SkipSpace(wkt, &i);
  if (StartsWithNoCase(wkt, i, "SRID=")) {
    i += 5;
    const size_t semi = wkt.find(';', i);
    int given = 0;
    const auto [ptr, ec] = std::from_chars(wkt.data() + i, wkt.data() + semi, given);
    if (semi == std::string_view::npos || ec != std::errc() || ptr != wkt.data() + semi) {
      return DataError("WKT: malformed SRID=...; prefix");
    }
    if (given != srid) {
      return DataError(fmt::format("WKT has SRID {}, the column's is {}", given, srid));
    }
    i = semi + 1;
    SkipSpace(wkt, &i);
  }
  if (!StartsWithNoCase(wkt, i, "POINT")) {
    size_t end = i;
    while (end < wkt.size() && std::isalpha(static_cast<unsigned char>(wkt[end]))) ++end;
    return DataError(fmt::format("WKT {} is not supported; only POINT(x y) is",
                                 end > i ? std::string(wkt.substr(i, end - i)) : "input"));
  }
  i += 5;
  SkipSpace(wkt, &i);
  if (i >= wkt.size() || wkt[i] != '(') {
    return DataError(
        "WKT: expected '(' after POINT (POINT EMPTY and Z/M points are not supported)");
  }
  ++i;
  ASSIGN_OR_RETURN(double x, Number(wkt, &i));
  ASSIGN_OR_RETURN(double y, Number(wkt, &i));
  SkipSpace(wkt, &i);
  if (i >= wkt.size() || wkt[i] != ')') {
    return DataError(fmt::format("WKT: expected ')' at character {}", i + 1));
  }
  ++i;
  SkipSpace(wkt, &i);
  if (i != wkt.size()) return DataError(fmt::format("WKT: extra text at character {}", i + 1));
  return EwkbPoint(x, y, srid);
}

Result<std::string> EwkbFromWkb(std::string_view wkb, int srid) {
  std::string decoded;
  if (IsHex(wkb) && (wkb.starts_with("00") || wkb.starts_with("01"))) {
    decoded = FromHex(wkb);
    wkb = decoded;
  }
  if (wkb.empty()) return DataError("WKB is empty");
  std::string out;
  out.reserve(wkb.size() + 4);
  WkbNormalizer walker(wkb);
  RETURN_IF_ERROR(walker.Geometry(0, srid, &out));
  if (!walker.AtEnd()) {
    return DataError(fmt::format("WKB has {} bytes after the geometry", wkb.size() - walker.pos()));
  }
  return out;
}

Result<std::pair<double, double>> PointCoordinates(std::string_view wkb) {
  // Normalized first (NDR, PostGIS flags), so one layout is left to read:
  // order byte, type word, SRID when flagged, then x and y.
  int srid = 0;
  if (wkb.size() >= 9) {
    const bool ndr = wkb[0] == 1;
    uint32_t type = 0;
    for (int b = 0; b < 4; ++b) {
      const auto byte = static_cast<uint8_t>(wkb[ndr ? 1 + b : 4 - b]);
      type |= static_cast<uint32_t>(byte) << (8 * b);
    }
    if ((type & kSridFlag) != 0) {
      uint32_t given = 0;
      for (int b = 0; b < 4; ++b) {
        const auto byte = static_cast<uint8_t>(wkb[ndr ? 5 + b : 8 - b]);
        given |= static_cast<uint32_t>(byte) << (8 * b);
      }
      srid = static_cast<int>(given);
    }
  }
  ASSIGN_OR_RETURN(const std::string ndr, EwkbFromWkb(wkb, srid));
  uint32_t type = 0;
  std::memcpy(&type, ndr.data() + 1, 4);
  const size_t at = (type & kSridFlag) != 0 ? 9 : 5;
  if ((type & 0x0fffffffu) != 1 || (type & 0xc0000000u) != 0 || ndr.size() != at + 16) {
    return DataError("the geometry is not a 2D point, so it has no lon and lat to go back to");
  }
  double x = 0, y = 0;
  std::memcpy(&x, ndr.data() + at, 8);
  std::memcpy(&y, ndr.data() + at + 8, 8);
  return std::make_pair(x, y);
}

}  // namespace cutover::map
