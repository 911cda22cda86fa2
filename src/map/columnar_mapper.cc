#include "map/columnar_mapper.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

#include <fmt/format.h>
#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "map/geometry_codec.h"
#include "map/value_converter.h"
#include "map/value_parsers.h"

namespace cutover::map {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000LL;

enum class Kind { kValue, kPoint, kWkt, kWkb, kLookup };

struct ColumnPlan {
  const spec::ColumnSpec* spec = nullptr;
  Kind kind = Kind::kValue;
  ValueType out_type = ValueType::kText;  // lookups carry names as text
  std::vector<std::string> inputs;        // source column names (lon, lat for a point)
  bool required = false;
  std::optional<Column> default_value;  // one row, already converted
  std::vector<int> at;                  // per batch: indexes of `inputs` in the batch, or -1
};

std::string ShortestDouble(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

Status Unconvertible(ValueType from, const spec::ColumnSpec& c) {
  return DataError(
      fmt::format("a {} value cannot be stored as {}", ValueTypeName(from), ValueTypeName(c.type)));
}

Status AppendJsonValue(std::string_view text, Column* out) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text.data(), text.size(), true).get(e) != simdjson::SUCCESS) {
    return DataError("text is not valid JSON");
  }
  return AppendJsonText(std::string(simdjson::minify(e)), out);
}

Result<double> AsDouble(const Column& src, size_t row) {
  switch (src.type()) {
    case ValueType::kFloat64:
      return src.FloatAt(row);
    case ValueType::kInt32:
    case ValueType::kInt64:
      return static_cast<double>(src.IntAt(row));
    case ValueType::kNumeric:
    case ValueType::kText:
      return ParseFloat64(src.BytesAt(row));
    default:
      return DataError(fmt::format("a {} value is not a coordinate", ValueTypeName(src.type())));
  }
}

// "2024-03-31 02:30:00": a wall-clock time as text, without the 'Z' that
// would claim it is UTC.
std::string WallClockText(int64_t micros) {
  std::string text = FormatTimestamptz(micros);
  text.pop_back();
  text[10] = ' ';
  return text;
}

// A wall-clock time (microseconds since 2000-01-01 as if UTC) -> the instant
// in the column's zone, or the reason it has none.
Status AppendWallClock(int64_t local_micros, const spec::ColumnSpec& c, Column* out) {
  if (c.timezone == nullptr) {
    return DataError(fmt::format(
        "the source holds '{}' without a UTC offset and no time zone is set for it; name the zone "
        "its clock shows with 'timezone:' on the column or its source (e.g. Europe/Berlin, or "
        "UTC), "
        "so that it is not guessed",
        WallClockText(local_micros)));
  }
  ASSIGN_OR_RETURN(int64_t utc, TimestampFromWallClock(local_micros, *c.timezone));
  out->AppendInt(utc);
  return Status::Ok();
}

// Converts row `row` of `src` (not null) to column `c`'s type.
Status Convert(const Column& src, size_t row, const spec::ColumnSpec& c, Column* out) {
  const ValueType to = c.type;
  switch (src.type()) {
    case ValueType::kText:
      if (to == ValueType::kJsonb) return AppendJsonValue(src.BytesAt(row), out);
      if (to == ValueType::kGeometry) return Unconvertible(src.type(), c);
      return AppendFromText(src.BytesAt(row), c, out);
    case ValueType::kInt32:
    case ValueType::kInt64:
      if (to == ValueType::kGeometry || to == ValueType::kBytes || to == ValueType::kUuid ||
          to == ValueType::kDate) {
        return Unconvertible(src.type(), c);
      }
      return AppendFromInteger(src.IntAt(row), c, out);
    case ValueType::kFloat64: {
      const double d = src.FloatAt(row);
      switch (to) {
        case ValueType::kFloat64:
          out->AppendFloat(StoredFloat(d));
          return Status::Ok();
        case ValueType::kInt32:
        case ValueType::kInt64: {
          ASSIGN_OR_RETURN(int64_t i, Int64FromDouble(d, to == ValueType::kInt32));
          out->AppendInt(i);
          return Status::Ok();
        }
        case ValueType::kText:
          out->AppendBytes(std::isnan(d)   ? std::string("NaN")
                           : std::isinf(d) ? std::string(d > 0 ? "Infinity" : "-Infinity")
                                           : ShortestDouble(d));
          return Status::Ok();
        case ValueType::kNumeric:
          if (std::isnan(d)) return AppendFromText("NaN", c, out);
          return AppendFromText(ShortestDouble(d), c, out);
        case ValueType::kJsonb:
          if (!std::isfinite(d)) return DataError("JSON cannot hold NaN or Infinity");
          out->AppendBytes(ShortestDouble(d));
          return Status::Ok();
        case ValueType::kTimestamptz:
          if (c.time_format == spec::TimeFormat::kIso8601) {
            return DataError("a number is not a timestamp (set format: epoch_s or epoch_ms)");
          }
          return AppendFromText(ShortestDouble(d), c, out);
        default:
          return Unconvertible(src.type(), c);
      }
    }
    case ValueType::kBool:
      switch (to) {
        case ValueType::kBool:
          out->AppendBool(src.BoolAt(row));
          return Status::Ok();
        case ValueType::kText:
        case ValueType::kJsonb:
          out->AppendBytes(src.BoolAt(row) ? "true" : "false");
          return Status::Ok();
        case ValueType::kInt32:
        case ValueType::kInt64:
          out->AppendInt(src.BoolAt(row) ? 1 : 0);
          return Status::Ok();
        default:
          return Unconvertible(src.type(), c);
      }
    case ValueType::kNumeric:
      if (to == ValueType::kJsonb) {
        ASSIGN_OR_RETURN(std::string canonical, CanonicalNumeric(src.BytesAt(row)));
        if (canonical == "NaN") return DataError("JSON cannot hold NaN");
        out->AppendBytes(canonical);
        return Status::Ok();
      }
      if (to == ValueType::kInt32 || to == ValueType::kInt64) {
        ASSIGN_OR_RETURN(std::string canonical, CanonicalNumeric(src.BytesAt(row)));
        if (canonical.find('.') != std::string::npos || canonical == "NaN") {
          return DataError(fmt::format("{} is not an integer", canonical));
        }
        return AppendFromText(canonical, c, out);
      }
      if (to == ValueType::kNumeric || to == ValueType::kFloat64 || to == ValueType::kText) {
        return AppendFromText(src.BytesAt(row), c, out);
      }
      return Unconvertible(src.type(), c);
    case ValueType::kDate: {
      const int64_t days = src.IntAt(row);
      switch (to) {
        case ValueType::kDate:
          out->AppendInt(days);
          return Status::Ok();
        case ValueType::kTimestamptz:
          // A date's midnight is a wall-clock time: which instant it is
          // depends on the zone, so it takes the spec's or is refused.
          if (days == INT32_MAX || days == INT32_MIN) {
            out->AppendInt(days == INT32_MAX ? INT64_MAX : INT64_MIN);
            return Status::Ok();
          }
          return AppendWallClock(days * kMicrosPerDay, c, out);
        case ValueType::kText:
          out->AppendBytes(FormatDate(static_cast<int32_t>(days)));
          return Status::Ok();
        default:
          return Unconvertible(src.type(), c);
      }
    }
    case ValueType::kTimestamptz: {
      const int64_t micros = src.IntAt(row);
      const bool infinite = micros == INT64_MAX || micros == INT64_MIN;
      switch (to) {
        case ValueType::kTimestamptz:
          if (src.wall_clock() && !infinite) return AppendWallClock(micros, c, out);
          out->AppendInt(micros);
          return Status::Ok();
        case ValueType::kDate: {
          // Only a midnight converts: dropping a time of day would lose data.
          if (micros % kMicrosPerDay != 0) {
            return DataError(fmt::format("{} has a time of day; a date column cannot hold it",
                                         FormatTimestamptz(micros)));
          }
          out->AppendInt(micros / kMicrosPerDay);
          return Status::Ok();
        }
        case ValueType::kText:
          out->AppendBytes(src.wall_clock() ? WallClockText(micros) : FormatTimestamptz(micros));
          return Status::Ok();
        default:
          return Unconvertible(src.type(), c);
      }
    }
    case ValueType::kUuid:
      if (to == ValueType::kUuid) {
        out->AppendBytes(src.BytesAt(row));
        return Status::Ok();
      }
      if (to == ValueType::kText) {
        out->AppendBytes(FormatUuid(reinterpret_cast<const uint8_t*>(src.BytesAt(row).data())));
        return Status::Ok();
      }
      return Unconvertible(src.type(), c);
    case ValueType::kJsonb:
      if (to == ValueType::kJsonb || to == ValueType::kText) {
        if (to == ValueType::kJsonb) return AppendJsonText(std::string(src.BytesAt(row)), out);
        return AppendFromText(src.BytesAt(row), c, out);
      }
      return Unconvertible(src.type(), c);
    case ValueType::kBytes:
      if (to == ValueType::kBytes) {
        out->AppendBytes(src.BytesAt(row));
        return Status::Ok();
      }
      return Unconvertible(src.type(), c);
    case ValueType::kGeometry:
      if (to == ValueType::kGeometry) {  // already EWKB, as the source decoded it
        out->AppendBytes(src.BytesAt(row));
        return Status::Ok();
      }
      return Unconvertible(src.type(), c);
  }
  return Internal("unhandled source type");
}

std::string HexBytes(std::string_view bytes) {
  std::string out = "\\x";
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

bool Convertible(ValueType from, ValueType to) {
  using VT = ValueType;
  auto in = [&](std::initializer_list<VT> types) {
    return std::find(types.begin(), types.end(), to) != types.end();
  };
  switch (from) {
    case VT::kText:
      return to != VT::kGeometry && to != VT::kBytes;
    case VT::kInt32:
    case VT::kInt64:
      return in({VT::kInt32, VT::kInt64, VT::kFloat64, VT::kNumeric, VT::kText, VT::kJsonb,
                 VT::kBool, VT::kTimestamptz});
    case VT::kFloat64:
      return in({VT::kFloat64, VT::kInt32, VT::kInt64, VT::kText, VT::kNumeric, VT::kJsonb,
                 VT::kTimestamptz});
    case VT::kBool:
      return in({VT::kBool, VT::kText, VT::kJsonb, VT::kInt32, VT::kInt64});
    case VT::kNumeric:
      return in({VT::kNumeric, VT::kFloat64, VT::kInt32, VT::kInt64, VT::kText, VT::kJsonb});
    case VT::kDate:
      return in({VT::kDate, VT::kTimestamptz, VT::kText});
    case VT::kTimestamptz:
      return in({VT::kTimestamptz, VT::kDate, VT::kText});
    case VT::kUuid:
      return in({VT::kUuid, VT::kText});
    case VT::kJsonb:
      return in({VT::kJsonb, VT::kText});
    case VT::kBytes:
      return in({VT::kBytes});
    case VT::kGeometry:
      return in({VT::kGeometry});
  }
  return false;
}

std::string RowAsJson(const RowBatch& batch, size_t row) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    const Column& col = batch.columns[c];
    auto& v = j[batch.names[c]];
    if (col.IsNull(row)) continue;  // stays null
    switch (col.type()) {
      case ValueType::kInt32:
      case ValueType::kInt64:
        v = col.IntAt(row);
        break;
      case ValueType::kFloat64: {
        const double d = col.FloatAt(row);
        if (std::isfinite(d)) {
          v = d;
        } else {
          v = std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
        }
        break;
      }
      case ValueType::kBool:
        v = col.BoolAt(row);
        break;
      case ValueType::kDate:
        v = FormatDate(static_cast<int32_t>(col.IntAt(row)));
        break;
      case ValueType::kTimestamptz:
        v = col.wall_clock() ? WallClockText(col.IntAt(row)) : FormatTimestamptz(col.IntAt(row));
        break;
      case ValueType::kUuid:
        v = FormatUuid(reinterpret_cast<const uint8_t*>(col.BytesAt(row).data()));
        break;
      case ValueType::kBytes:
      case ValueType::kGeometry:
        v = HexBytes(col.BytesAt(row));
        break;
      default:
        v = std::string(col.BytesAt(row));
    }
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

struct ColumnarMapper::Impl {
  const spec::EntitySpec* entity = nullptr;
  std::vector<const spec::EntitySpec*> entities;
  std::vector<ColumnPlan> plans;
  std::vector<std::string> bound_names;  // the batch column names `at` was computed for

  void Bind(const RowBatch& rows) {
    if (rows.names == bound_names) return;
    bound_names = rows.names;
    for (auto& p : plans) {
      p.at.clear();
      for (const auto& name : p.inputs) p.at.push_back(rows.IndexOf(name));
    }
  }

  // Appends the value of plan `p` for `row`, or returns why it cannot.
  Status Append(const ColumnPlan& p, const RowBatch& rows, size_t row, Column* out) const {
    bool present = true;
    for (int at : p.at) present = present && at >= 0 && !rows.columns[at].IsNull(row);
    if (!present) {
      if (p.default_value) {
        out->AppendFrom(*p.default_value, 0);
        return Status::Ok();
      }
      if (p.required) {
        std::string names;
        for (const auto& n : p.inputs) names += (names.empty() ? "'" : ", '") + n + "'";
        return DataError(fmt::format("missing required value {}", names));
      }
      out->AppendNull();
      return Status::Ok();
    }
    const Column& src = rows.columns[p.at[0]];
    switch (p.kind) {
      case Kind::kValue:
        return Convert(src, row, *p.spec, out);
      case Kind::kLookup: {
        if (src.type() != ValueType::kText) {
          spec::ColumnSpec as_text = *p.spec;
          as_text.type = ValueType::kText;
          return Convert(src, row, as_text, out);
        }
        if (HasNulByte(src.BytesAt(row))) return DataError("name contains a NUL byte");
        out->AppendBytes(src.BytesAt(row));
        return Status::Ok();
      }
      case Kind::kPoint: {
        ASSIGN_OR_RETURN(double x, AsDouble(src, row));
        ASSIGN_OR_RETURN(double y, AsDouble(rows.columns[p.at[1]], row));
        if (!std::isfinite(x) || !std::isfinite(y)) {
          return DataError(fmt::format("point ({}, {}) is not finite", x, y));
        }
        out->AppendBytes(EwkbPoint(x, y, p.spec->geometry->srid));
        return Status::Ok();
      }
      case Kind::kWkt: {
        if (src.type() != ValueType::kText) {
          return DataError(fmt::format("WKT column '{}' is {}, not text", p.inputs[0],
                                       ValueTypeName(src.type())));
        }
        ASSIGN_OR_RETURN(std::string ewkb, EwkbFromWkt(src.BytesAt(row), p.spec->geometry->srid));
        out->AppendBytes(ewkb);
        return Status::Ok();
      }
      case Kind::kWkb: {
        if (IsFixedWidth(src.type())) {
          return DataError(fmt::format("WKB column '{}' is {}, not bytes", p.inputs[0],
                                       ValueTypeName(src.type())));
        }
        ASSIGN_OR_RETURN(std::string ewkb, EwkbFromWkb(src.BytesAt(row), p.spec->geometry->srid));
        out->AppendBytes(ewkb);
        return Status::Ok();
      }
    }
    return Internal("unhandled column kind");
  }
};

ColumnarMapper::ColumnarMapper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColumnarMapper::~ColumnarMapper() = default;

Result<std::unique_ptr<ColumnarMapper>> ColumnarMapper::Create(const spec::EntitySpec& entity) {
  if (!entity.children.empty()) {
    return InvalidArgument(
        fmt::format("{}: entity '{}' has children, which columnar sources "
                    "(Parquet, CSV) cannot feed: they hold no nested arrays",
                    entity.where.ToString(), entity.name));
  }
  auto impl = std::make_unique<Impl>();
  impl->entity = &entity;
  impl->entities.push_back(&entity);
  auto listed = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  for (const auto& c : entity.columns) {
    ColumnPlan p;
    p.spec = &c;
    p.out_type = c.type;
    p.required = c.required || listed(entity.key, c.name) ||
                 (entity.dedup && listed(entity.dedup->keep_last_by, c.name));
    if (c.geometry) {
      const auto& g = *c.geometry;
      if (!g.lon.empty()) {
        p.kind = Kind::kPoint;
        p.inputs = {g.lon, g.lat};
      } else if (!g.wkt.empty()) {
        p.kind = Kind::kWkt;
        p.inputs = {g.wkt};
      } else {
        p.kind = Kind::kWkb;
        p.inputs = {g.wkb};
      }
    } else {
      p.kind = c.lookup ? Kind::kLookup : Kind::kValue;
      p.inputs = {c.from.empty() ? c.name : c.from};
      if (c.lookup) p.out_type = ValueType::kText;
    }
    if (c.default_value) {
      Column d(p.out_type);
      spec::ColumnSpec as_out = c;
      as_out.type = p.out_type;
      Status st = p.out_type == ValueType::kGeometry
                      ? [&] {
                          auto ewkb = EwkbFromWkt(*c.default_value, c.geometry ? c.geometry->srid
                                                                               : 0);
                          if (ewkb.ok()) d.AppendBytes(*ewkb);
                          return ewkb.status();
                        }()
                      : AppendFromText(*c.default_value, as_out, &d);
      if (!st.ok()) {
        return InvalidArgument(fmt::format("{}: default of column '{}': {}", c.where.ToString(),
                                           c.name, st.message()));
      }
      p.default_value = std::move(d);
    }
    impl->plans.push_back(std::move(p));
  }
  return std::unique_ptr<ColumnarMapper>(new ColumnarMapper(std::move(impl)));
}

Status ColumnarMapper::CheckSource(
    const std::vector<std::pair<std::string, ValueType>>& columns) const {
  std::vector<std::string> names;
  for (const auto& [n, t] : columns) names.push_back(n);
  for (const auto& p : impl_->plans) {
    for (const auto& input : p.inputs) {
      auto it = std::find_if(columns.begin(), columns.end(),
                             [&](const auto& col) { return col.first == input; });
      if (it == columns.end()) {
        if (p.default_value || !p.required) continue;  // absent everywhere: default or NULL
        std::string listed;
        for (const auto& n : names) listed += (listed.empty() ? "" : ", ") + n;
        return InvalidArgument(fmt::format(
            "{}: column '{}' of entity '{}' reads '{}', which the source does not have; it has: "
            "{}",
            p.spec->where.ToString(), p.spec->name, impl_->entity->name, input, listed));
      }
      const ValueType from = it->second;
      bool ok = true;
      switch (p.kind) {
        case Kind::kValue:
          ok = Convertible(from, p.spec->type);
          break;
        case Kind::kLookup:
          ok = Convertible(from, ValueType::kText);
          break;
        case Kind::kPoint:
          ok = from == ValueType::kFloat64 || from == ValueType::kInt32 ||
               from == ValueType::kInt64 || from == ValueType::kNumeric || from == ValueType::kText;
          break;
        case Kind::kWkt:
          ok = from == ValueType::kText;
          break;
        case Kind::kWkb:
          ok =
              from == ValueType::kBytes || from == ValueType::kText || from == ValueType::kGeometry;
          break;
      }
      if (!ok) {
        return InvalidArgument(fmt::format(
            "{}: column '{}' of entity '{}' reads '{}', which is {} in the source and cannot "
            "become {}",
            p.spec->where.ToString(), p.spec->name, impl_->entity->name, input, ValueTypeName(from),
            p.kind == Kind::kValue ? ValueTypeName(p.spec->type) : "that"));
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> ColumnarMapper::SourceColumns() const {
  std::vector<std::string> out;
  for (const auto& p : impl_->plans) {
    for (const auto& name : p.inputs) {
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    }
  }
  return out;
}

const std::vector<const spec::EntitySpec*>& ColumnarMapper::tables() const {
  return impl_->entities;
}

void ColumnarMapper::Map(const store::StoreBatch& in, MappedBatch* out) {
  const auto& plans = impl_->plans;
  if (out->tables.size() != 1 || out->tables[0].columns.size() != plans.size()) {
    out->tables.assign(1, RowBatch());
    for (const auto& p : plans) out->tables[0].AddColumn(p.spec->name, p.out_type);
  } else {
    // A recycled batch may come back with a column of another type: the
    // lookup resolver swaps a column of names for one of ids. Appending
    // names to an id column would misplace every row after a reject, so
    // each column gets the plan's type back.
    RowBatch& rows = out->tables[0];
    for (size_t i = 0; i < plans.size(); ++i) {
      if (rows.columns[i].type() == plans[i].out_type) {
        rows.columns[i].Clear();
      } else {
        rows.columns[i] = Column(plans[i].out_type);
      }
    }
  }
  out->origins.assign(1, {});
  out->counts.assign(1, TableCounts());
  out->rejects.clear();
  impl_->Bind(in.rows);
  RowBatch& rows = out->tables[0];
  const size_t n = in.size();
  out->counts[0].read = static_cast<int64_t>(n);
  out->origins[0].reserve(n);
  for (size_t r = 0; r < n; ++r) {
    size_t ci = 0;
    Status st;
    for (; ci < plans.size(); ++ci) {
      st = impl_->Append(plans[ci], in.rows, r, &rows.columns[ci]);
      if (!st.ok()) break;
    }
    if (st.ok()) {
      out->origins[0].push_back({static_cast<uint32_t>(r), ""});
      continue;
    }
    for (size_t k = 0; k < ci; ++k) rows.columns[k].PopBack();
    const auto& pos = in.positions[r];
    Reject rej;
    rej.entity = impl_->entity->name;
    rej.source = in.origin;
    rej.byte_offset = pos.byte_offset;
    rej.line = pos.line;
    rej.record_index = pos.record_index;
    rej.field = plans[ci].inputs[0];
    rej.reason = st.message();
    rej.record = RowAsJson(in.rows, r);
    out->counts[0].rejected++;
    out->rejects.push_back(std::move(rej));
  }
}

std::string ColumnarMapper::RecordText(const store::StoreBatch& in, size_t record) const {
  return RowAsJson(in.rows, record);
}

}  // namespace cutover::map
