// DocumentBuilder: columns placed at their source paths, children as arrays,
// every value spelled the one way the design block gives.
#include "map/document_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/json_text.h"
#include "common/value_text.h"

namespace cutover::map {
namespace {

// A JSON object under construction: members in first-placed order.
struct Node {
  std::string name{};
  std::string raw{};  // a leaf's JSON text
  bool object = false;
  std::vector<Node> members{};
};

Node* Member(Node* parent, std::string_view name) {
  for (Node& m : parent->members) {
    if (m.name == name) return &m;
  }
  parent->members.push_back(Node{.name = std::string(name)});
  return &parent->members.back();
}

// Places `raw` at the dotted `path` under `root`.
void Put(Node* root, std::string_view path, std::string raw) {
  Node* at = root;
  for (;;) {
    const size_t dot = path.find('.');
    at->object = true;
    at = Member(at, path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  at->raw = std::move(raw);
}

void Write(const Node& node, std::string* out) {
  if (!node.object) {
    out->append(node.raw);
    return;
  }
  out->push_back('{');
  for (size_t i = 0; i < node.members.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(node.members[i].name, out);
    out->push_back(':');
    Write(node.members[i], out);
  }
  out->push_back('}');
}

// Microseconds as a decimal number of `per_unit` units, its fraction without
// trailing zeros: what TimestampFromEpochText reads back exactly.
std::string EpochText(int64_t unix_micros, int64_t per_unit) {
  int64_t whole = unix_micros / per_unit;
  int64_t frac = unix_micros % per_unit;
  if (frac < 0) {
    frac += per_unit;
    --whole;
  }
  if (frac == 0) return std::to_string(whole);
  // A negative value with a fraction: -1.25 is written as the whole part
  // rounded toward zero and the fraction of what is left.
  if (whole < 0) {
    return "-" + EpochText(-unix_micros, per_unit);
  }
  const int digits = per_unit == 1000 ? 3 : 6;
  std::string f = fmt::format("{:0{}d}", frac, digits);
  while (f.back() == '0') f.pop_back();
  return std::to_string(whole) + "." + f;
}

constexpr int64_t kPgToUnixMicros = 946684800LL * 1000000;

Status AppendValue(const Column& col, size_t row, const spec::ColumnSpec& c, std::string* out) {
  if (col.IsNull(row)) {
    out->append("null");
    return Status::Ok();
  }
  switch (col.type()) {
    case ValueType::kInt32:
    case ValueType::kInt64:
      out->append(std::to_string(col.IntAt(row)));
      return Status::Ok();
    case ValueType::kFloat64: {
      const double d = col.FloatAt(row);
      if (std::isnan(d)) {
        out->append("\"NaN\"");
      } else if (std::isinf(d)) {
        out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      } else {
        AppendJsonDouble(d, out);
      }
      return Status::Ok();
    }
    case ValueType::kBool:
      out->append(col.BoolAt(row) ? "true" : "false");
      return Status::Ok();
    case ValueType::kDate:
      AppendJsonString(FormatDate(static_cast<int32_t>(col.IntAt(row))), out);
      return Status::Ok();
    case ValueType::kTimestamptz:
      if (col.IntAt(row) == INT64_MAX || col.IntAt(row) == INT64_MIN) {
        return DataError(
            fmt::format("column '{}' holds {}infinity, which no JSON reader takes "
                        "back as a time",
                        c.name, col.IntAt(row) < 0 ? "-" : ""));
      }
      switch (c.time_format) {
        case spec::TimeFormat::kIso8601:
          AppendJsonString(FormatTimestamptz(col.IntAt(row)), out);
          return Status::Ok();
        case spec::TimeFormat::kEpochSeconds:
          out->append(EpochText(col.IntAt(row) + kPgToUnixMicros, 1000000));
          return Status::Ok();
        case spec::TimeFormat::kEpochMillis:
          out->append(EpochText(col.IntAt(row) + kPgToUnixMicros, 1000));
          return Status::Ok();
      }
      return Status::Ok();
    case ValueType::kUuid:
      AppendJsonString(FormatUuid(reinterpret_cast<const uint8_t*>(col.BytesAt(row).data())), out);
      return Status::Ok();
    case ValueType::kNumeric: {
      const std::string_view text = col.BytesAt(row);
      // NaN and the infinities are no JSON numbers; the reader takes the strings.
      if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text.back())))) {
        AppendJsonString(text, out);
      } else {
        out->append(text);
      }
      return Status::Ok();
    }
    case ValueType::kJsonb:
      AppendCompactJson(col.BytesAt(row), out);
      return Status::Ok();
    case ValueType::kText:
      AppendJsonString(col.BytesAt(row), out);
      return Status::Ok();
    case ValueType::kBytes:
    case ValueType::kGeometry:
      break;
  }
  return DataError(fmt::format("column '{}': {} values are not written into JSON documents", c.name,
                               ValueTypeName(col.type())));
}

bool IsParentColumn(const spec::EntitySpec& entity, const std::string& column) {
  return std::any_of(entity.parent_columns.begin(), entity.parent_columns.end(),
                     [&](const auto& link) { return link.first == column; });
}

// Row `row` of `rows` as `entity`'s record, children included.
Status AppendRecord(const spec::EntitySpec& entity, bool is_child, const RowBatch& rows, size_t row,
                    const std::vector<ChildRows>& children, std::string* out) {
  Node root{.object = true};
  for (const spec::ColumnSpec& c : entity.columns) {
    if (c.from == "$tag" || c.from == "$key" || (is_child && IsParentColumn(entity, c.name))) {
      continue;
    }
    const int at = rows.IndexOf(c.name);
    if (at < 0) {
      return Internal(fmt::format("{}: the row has no column '{}'", entity.name, c.name));
    }
    std::string raw;
    RETURN_IF_ERROR(
        AppendValue(rows.columns[static_cast<size_t>(at)], row, c, &raw).WithContext(entity.name));
    if (c.from == "$item") {  // an array of scalars: the item is the value
      out->append(raw);
      return Status::Ok();
    }
    Put(&root, c.from.empty() ? c.name : c.from, std::move(raw));
  }
  for (size_t i = 0; i < entity.children.size() && i < children.size(); ++i) {
    const spec::EntitySpec& child = entity.children[i];
    std::string array = "[";
    for (size_t r = children[i].begin; r < children[i].end; ++r) {
      if (r > children[i].begin) array.push_back(',');
      RETURN_IF_ERROR(AppendRecord(child, true, *children[i].rows, r, {}, &array));
    }
    array.push_back(']');
    Put(&root, child.path, std::move(array));
  }
  Write(root, out);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<DocumentBuilder>> DocumentBuilder::Create(const spec::EntitySpec& entity) {
  if (!entity.write_back) {
    return FailedPrecondition(spec::NotWrittenBack(entity, "records"));
  }
  return std::unique_ptr<DocumentBuilder>(new DocumentBuilder(entity));
}

Status DocumentBuilder::Append(const RowBatch& rows, size_t row,
                               const std::vector<ChildRows>& children, std::string* out) const {
  return AppendRecord(entity_, false, rows, row, children, out);
}

Result<std::string> DocumentBuilder::MemberName(const RowBatch& rows, size_t row) const {
  for (const spec::ColumnSpec& c : entity_.columns) {
    if (c.from != "$key") continue;
    const int at = rows.IndexOf(c.name);
    if (at < 0 || rows.columns[static_cast<size_t>(at)].IsNull(row)) {
      return DataError(
          fmt::format("{}: the member name (column '{}') is NULL", entity_.name, c.name));
    }
    return ValueText(rows.columns[static_cast<size_t>(at)], row);
  }
  return FailedPrecondition(entity_.name + ": no column holds the member name ('$key')");
}

}  // namespace cutover::map
