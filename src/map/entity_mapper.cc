#include "map/entity_mapper.h"

#include <charconv>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <simdjson.h>

#include "map/value_converter.h"
#include "map/value_parsers.h"

namespace cutover::map {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct ColumnPlan {
  const spec::ColumnSpec* spec = nullptr;
  std::vector<std::string> path;  // the dotted `from`, split
  bool from_key = false;          // `from: $key`: the object key of a keyed file
  bool required = false;
  int parent_column = -1;               // >= 0: copy this column of the parent row (a parent link)
  std::optional<Column> default_value;  // one row, already converted
};

struct TablePlan {
  const spec::EntitySpec* entity = nullptr;
  int parent = -1;
  std::vector<std::string> array_path;  // where the parent record holds our rows
  std::vector<ColumnPlan> columns;
  std::vector<int> children;
};

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    parts.emplace_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

std::string_view JsonTypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

std::string ShortestDouble(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

Status Mismatch(const spec::ColumnSpec& c, element_type got) {
  return DataError(fmt::format("expected {}, got {}", ValueTypeName(c.type), JsonTypeName(got)));
}

Status AppendJson(element v, const spec::ColumnSpec& c, Column* out) {
  if (c.type == ValueType::kJsonb) return AppendJsonText(simdjson::minify(v), out);
  switch (v.type()) {
    case element_type::STRING: {
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) return DataError("unreadable string");
      return AppendFromText(s, c, out);
    }
    case element_type::INT64:
      return AppendFromInteger(v.get_int64().value_unsafe(), c, out);
    case element_type::UINT64: {
      uint64_t u = v.get_uint64().value_unsafe();
      if (c.type == ValueType::kNumeric || c.type == ValueType::kText) {
        out->AppendBytes(std::to_string(u));
        return Status::Ok();
      }
      if (c.type == ValueType::kFloat64) {
        out->AppendFloat(static_cast<double>(u));
        return Status::Ok();
      }
      return DataError(fmt::format("{} is out of range for {}", u, ValueTypeName(c.type)));
    }
    case element_type::DOUBLE: {
      double d = v.get_double().value_unsafe();
      switch (c.type) {
        case ValueType::kFloat64:
          out->AppendFloat(d);
          return Status::Ok();
        case ValueType::kText:
          out->AppendBytes(ShortestDouble(d));
          return Status::Ok();
        case ValueType::kNumeric:
          return AppendFromText(ShortestDouble(d), c, out);
        case ValueType::kInt32:
        case ValueType::kInt64: {
          ASSIGN_OR_RETURN(int64_t i, Int64FromDouble(d, c.type == ValueType::kInt32));
          out->AppendInt(i);
          return Status::Ok();
        }
        case ValueType::kTimestamptz:
          if (c.time_format == spec::TimeFormat::kIso8601) return Mismatch(c, element_type::DOUBLE);
          return AppendFromText(ShortestDouble(d), c, out);
        default:
          return Mismatch(c, element_type::DOUBLE);
      }
    }
    case element_type::BOOL: {
      bool b = v.get_bool().value_unsafe();
      if (c.type == ValueType::kBool) {
        out->AppendBool(b);
        return Status::Ok();
      }
      if (c.type == ValueType::kText) {
        out->AppendBytes(b ? "true" : "false");
        return Status::Ok();
      }
      return Mismatch(c, element_type::BOOL);
    }
    default:
      return Mismatch(c, v.type());
  }
}

// Follows a dotted path through nested objects; false when a step is absent.
bool Resolve(element root, const std::vector<std::string>& path, element* out) {
  element cur = root;
  for (const auto& part : path) {
    simdjson::dom::object obj;
    if (cur.get_object().get(obj) != simdjson::SUCCESS) return false;
    if (obj.at_key(part).get(cur) != simdjson::SUCCESS) return false;
  }
  *out = cur;
  return true;
}

std::string ParseErrorReason(simdjson::error_code err) {
  if (err == simdjson::UTF8_ERROR) return "invalid UTF-8 in record";
  return fmt::format("malformed JSON: {}", simdjson::error_message(err));
}

}  // namespace

struct EntityMapper::Impl {
  std::vector<TablePlan> plans;
  std::vector<const spec::EntitySpec*> entities;
  simdjson::dom::parser parser;
  std::string padded;  // the record copied with simdjson's required padding

  // Per-call state.
  const source::SourceBatch* in = nullptr;
  size_t record = 0;
  MappedBatch* out = nullptr;

  Status AddTable(const spec::EntitySpec& entity, int parent);
  void MapRecord(size_t i);
  bool MapRow(int table, element obj, std::string_view key, size_t parent_row,
              const std::string& item);
  void RejectRow(int table, const std::string& item, std::string field, std::string reason,
                 std::string record);
};

Status EntityMapper::Impl::AddTable(const spec::EntitySpec& entity, int parent) {
  const int index = static_cast<int>(plans.size());
  plans.emplace_back();
  entities.push_back(&entity);
  TablePlan& plan = plans.back();
  plan.entity = &entity;
  plan.parent = parent;
  if (parent >= 0) plan.array_path = SplitPath(entity.path);
  for (const auto& c : entity.columns) {
    if (c.lookup || c.geometry) {
      return InvalidArgument(fmt::format(
          "{}: column '{}' of '{}' uses '{}', which only parquet and csv sources support yet",
          c.where.ToString(), c.name, entity.name, c.lookup ? "lookup" : "geometry"));
    }
    ColumnPlan cp;
    cp.spec = &c;
    cp.from_key = c.from == "$key";
    cp.path = SplitPath(c.from.empty() ? c.name : c.from);
    cp.required =
        c.required || std::find(entity.key.begin(), entity.key.end(), c.name) != entity.key.end();
    for (const auto& [child_col, parent_col] : entity.parent_columns) {
      if (child_col != c.name || parent < 0) continue;
      const spec::EntitySpec& p = *plans[parent].entity;
      for (size_t k = 0; k < p.columns.size(); ++k) {
        if (p.columns[k].name != parent_col) continue;
        if (p.columns[k].type != c.type) {
          return InvalidArgument(fmt::format(
              "{}: column '{}' of '{}' links to '{}.{}', which is {}, but is declared {}",
              c.where.ToString(), c.name, entity.name, p.name, parent_col,
              ValueTypeName(p.columns[k].type), ValueTypeName(c.type)));
        }
        cp.parent_column = static_cast<int>(k);
      }
    }
    if (c.default_value) {
      Column d(c.type);
      Status st = AppendFromText(*c.default_value, c, &d);
      if (!st.ok()) {
        return InvalidArgument(fmt::format("{}: default of column '{}': {}", c.where.ToString(),
                                           c.name, st.message()));
      }
      cp.default_value = std::move(d);
    }
    plans[index].columns.push_back(std::move(cp));
  }
  for (const auto& child : entity.children) {
    plans[index].children.push_back(static_cast<int>(plans.size()));
    RETURN_IF_ERROR(AddTable(child, index));
  }
  return Status::Ok();
}

void EntityMapper::Impl::RejectRow(int table, const std::string& item, std::string field,
                                   std::string reason, std::string record_text) {
  const auto& pos = in->positions[record];
  Reject r;
  r.entity = plans[table].entity->name;
  r.source = in->origin;
  r.byte_offset = pos.byte_offset;
  r.line = pos.line;
  r.record_index = pos.record_index;
  r.item = item;
  r.field = std::move(field);
  r.reason = std::move(reason);
  r.record = std::move(record_text);
  out->counts[table].rejected++;
  out->rejects.push_back(std::move(r));
}

bool EntityMapper::Impl::MapRow(int table, element obj, std::string_view key, size_t parent_row,
                                const std::string& item) {
  TablePlan& plan = plans[table];
  RowBatch& rows = out->tables[table];
  for (size_t ci = 0; ci < plan.columns.size(); ++ci) {
    const ColumnPlan& cp = plan.columns[ci];
    Column& col = rows.columns[ci];
    Status st;
    if (cp.parent_column >= 0) {
      col.AppendFrom(out->tables[plan.parent].columns[cp.parent_column], parent_row);
      continue;
    }
    element value;
    bool present;
    if (cp.from_key) {
      present = !key.empty();
      if (present) st = AppendFromText(key, *cp.spec, &col);
    } else {
      present = Resolve(obj, cp.path, &value) && !value.is_null();
      if (present) st = AppendJson(value, *cp.spec, &col);
    }
    if (!present) {
      if (cp.default_value) {
        col.AppendFrom(*cp.default_value, 0);
      } else if (cp.required) {
        st = DataError(fmt::format("missing required field '{}'", cp.spec->from));
      } else {
        col.AppendNull();
      }
    }
    if (!st.ok()) {
      for (size_t k = 0; k < ci; ++k) rows.columns[k].PopBack();
      std::string text = parent_row == SIZE_MAX ? std::string(in->rows.columns[0].BytesAt(record))
                                                : std::string(simdjson::minify(obj));
      RejectRow(table, item, cp.spec->from, st.message(), std::move(text));
      return false;
    }
  }
  const size_t row = rows.num_rows() - 1;
  out->origins[table].push_back({static_cast<uint32_t>(record), item});
  for (int child : plan.children) {
    const TablePlan& cplan = plans[child];
    element arr;
    if (!Resolve(obj, cplan.array_path, &arr) || arr.is_null()) continue;
    const std::string where = cplan.entity->path;
    simdjson::dom::array elements;
    if (arr.get_array().get(elements) != simdjson::SUCCESS) {
      out->counts[child].read++;
      RejectRow(child, item.empty() ? where : item + "." + where, where,
                fmt::format("expected an array at '{}', got {}", where, JsonTypeName(arr.type())),
                std::string(simdjson::minify(arr)));
      continue;
    }
    size_t k = 0;
    for (element e : elements) {
      std::string child_item = fmt::format("{}{}[{}]", item.empty() ? "" : item + ".", where, k++);
      out->counts[child].read++;
      if (!e.is_object()) {
        RejectRow(child, child_item, where,
                  fmt::format("expected an object, got {}", JsonTypeName(e.type())),
                  std::string(simdjson::minify(e)));
        continue;
      }
      MapRow(child, e, {}, row, child_item);
    }
  }
  return true;
}

void EntityMapper::Impl::MapRecord(size_t i) {
  record = i;
  std::string_view doc = in->rows.columns[0].BytesAt(i);
  int key_col = in->rows.IndexOf("$key");
  std::string_view key = key_col >= 0 ? in->rows.columns[key_col].BytesAt(i) : std::string_view();
  out->counts[0].read++;

  padded.assign(doc);
  padded.resize(doc.size() + simdjson::SIMDJSON_PADDING, '\0');
  element root;
  auto err = parser.parse(padded.data(), doc.size(), false).get(root);
  if (err != simdjson::SUCCESS) {
    RejectRow(0, "", "", ParseErrorReason(err), std::string(doc));
    return;
  }
  if (!root.is_object()) {
    RejectRow(0, "", "",
              fmt::format("record is a JSON {}, not an object", JsonTypeName(root.type())),
              std::string(doc));
    return;
  }
  MapRow(0, root, key, SIZE_MAX, "");
}

EntityMapper::EntityMapper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EntityMapper::~EntityMapper() = default;

Result<std::unique_ptr<EntityMapper>> EntityMapper::Create(const spec::EntitySpec& entity) {
  auto impl = std::make_unique<Impl>();
  RETURN_IF_ERROR(impl->AddTable(entity, -1));
  return std::unique_ptr<EntityMapper>(new EntityMapper(std::move(impl)));
}

const std::vector<const spec::EntitySpec*>& EntityMapper::tables() const {
  return impl_->entities;
}

int EntityMapper::ParentOf(size_t table) const {
  return impl_->plans[table].parent;
}

std::string EntityMapper::RecordText(const source::SourceBatch& in, size_t record) const {
  return std::string(in.rows.columns[0].BytesAt(record));
}

void EntityMapper::Map(const source::SourceBatch& in, MappedBatch* out) {
  const size_t n = impl_->plans.size();
  if (out->tables.size() != n) {
    out->tables.assign(n, RowBatch());
    for (size_t t = 0; t < n; ++t) {
      for (const auto& c : impl_->plans[t].entity->columns)
        out->tables[t].AddColumn(c.name, c.type);
    }
  } else {
    for (auto& t : out->tables) t.Clear();
  }
  out->origins.assign(n, {});
  out->counts.assign(n, TableCounts());
  out->rejects.clear();
  impl_->in = &in;
  impl_->out = out;
  for (size_t i = 0; i < in.size(); ++i) impl_->MapRecord(i);
}

}  // namespace cutover::map
