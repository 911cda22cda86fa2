// DocumentMapper: JSON documents walked along the spec's paths into typed rows
// of the entity and its children; what cannot be stored becomes a reject.
#include "map/document_mapper.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "map/json_document.h"
#include "map/value_converter.h"
#include "map/value_parsers.h"

namespace cutover::map {
namespace {

struct ColumnPlan {
  const spec::ColumnSpec* spec = nullptr;
  std::vector<std::string> path;  // the dotted `from`, split
  bool from_key = false;          // `from: $key`: the object key of a keyed file
  bool item = false;              // `from: $item`: a child row's array element itself
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
  bool scalar_items = false;  // a column reads `$item`: array elements need not be objects
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

using Kind = JsonDocument::Kind;

Status Mismatch(const spec::ColumnSpec& c, Kind got) {
  return DataError(
      fmt::format("expected {}, got {}", ValueTypeName(c.type), JsonDocument::KindName(got)));
}

// Whether a JSON number is written as an integer: no fraction, no exponent.
bool IsIntegerText(std::string_view number) {
  return number.find_first_of(".eE") == std::string_view::npos;
}

// A JSON number into a column, from its digits: numeric and text keep it
// exactly, integers are range-checked exactly (1e2 and 3.0 are integers,
// 2^64 is out of range for bigint), float8 is correctly rounded.
Status AppendNumber(std::string_view number, const spec::ColumnSpec& c, Column* out) {
  switch (c.type) {
    case ValueType::kText:
      out->AppendBytes(number);  // as written: the text is the value
      return Status::Ok();
    case ValueType::kJsonb:
      return AppendJsonText(std::string(number), out);
    case ValueType::kNumeric:
    case ValueType::kFloat64:
      return AppendFromText(number, c, out);
    case ValueType::kTimestamptz:
      if (c.time_format == spec::TimeFormat::kIso8601) {
        return DataError(
            "expected an ISO 8601 string, got number (set format: epoch_s or epoch_ms)");
      }
      break;
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kBool:
      break;
    default:
      return Mismatch(c, Kind::kNumber);
  }
  // A boolean is 0 or 1 written as an integer; 1.0 is a number, not a flag.
  if (c.type == ValueType::kBool && !IsIntegerText(number)) return Mismatch(c, Kind::kNumber);
  // Integers and epochs: the exact value in plain digits (1e2 is 100).
  const std::string_view written = number;
  std::string plain;
  if (!IsIntegerText(number)) {
    ASSIGN_OR_RETURN(plain, CanonicalNumeric(number));
    number = plain;
  }
  if (c.type == ValueType::kTimestamptz) return AppendFromText(number, c, out);
  if (!IsIntegerText(number)) {
    return DataError(fmt::format("not an integer: {}", number));
  }
  if (c.type == ValueType::kBool) {
    if (number != "0" && number != "1") {
      return DataError(fmt::format("{} is not a boolean (0 or 1)", number));
    }
    out->AppendBool(number == "1");
    return Status::Ok();
  }
  // `number` is now plain digits with an optional '-', so the parser can only
  // fail on range.
  const bool int32 = c.type == ValueType::kInt32;
  auto v = ParseInt64(number);
  if (!v.ok() || (int32 && (*v < INT32_MIN || *v > INT32_MAX))) {
    return DataError(fmt::format("{} is out of range for {}", written,
                                 int32 ? "integer (int4)" : "bigint (int8)"));
  }
  out->AppendInt(*v);
  return Status::Ok();
}

// A byte string as a Redis document spells one that is not UTF-8:
// {"$bytes": "<hex>"} (stores/redis/redis_document.h). Null when `v` is not one.
std::optional<std::string> ByteString(const JsonDocument& doc, size_t v, std::string* scratch) {
  if (doc.at(v).kind != Kind::kObject) return std::nullopt;
  const size_t hex = doc.Member(v, "$bytes");
  if (hex == JsonDocument::kNone || doc.at(hex).kind != Kind::kString) return std::nullopt;
  const std::string_view digits = doc.String(hex, scratch);
  if (digits.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(digits.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i < digits.size(); i += 2) {
    bytes.push_back(static_cast<char>(nibble(digits[i]) << 4 | nibble(digits[i + 1])));
  }
  return bytes;
}

// `binary_strings`: the record is a Redis key's document, whose strings are
// byte strings: a bytea column takes a string's bytes, or a {"$bytes"} value's.
Status AppendJson(const JsonDocument& doc, size_t v, const spec::ColumnSpec& c, bool binary_strings,
                  std::string* scratch, Column* out) {
  if (binary_strings) {
    if (std::optional<std::string> bytes = ByteString(doc, v, scratch)) {
      if (c.type == ValueType::kBytes) {
        out->AppendBytes(*bytes);
        return Status::Ok();
      }
      return DataError(
          fmt::format("value is not UTF-8 text ({} bytes; map it to a bytea column to keep it)",
                      bytes->size()));
    }
    if (c.type == ValueType::kBytes && doc.at(v).kind == Kind::kString) {
      out->AppendBytes(doc.String(v, scratch));
      return Status::Ok();
    }
  }
  if (c.type == ValueType::kJsonb) return AppendJsonText(doc.Minified(v), out);
  const Kind kind = doc.at(v).kind;
  switch (kind) {
    case Kind::kString:
      return AppendFromText(doc.String(v, scratch), c, out);
    case Kind::kNumber:
      return AppendNumber(doc.Text(v), c, out);
    case Kind::kTrue:
    case Kind::kFalse: {
      const bool b = kind == Kind::kTrue;
      if (c.type == ValueType::kBool) {
        out->AppendBool(b);
        return Status::Ok();
      }
      if (c.type == ValueType::kText) {
        out->AppendBytes(b ? "true" : "false");
        return Status::Ok();
      }
      return Mismatch(c, kind);
    }
    default:
      return Mismatch(c, kind);
  }
}

// Follows a dotted path through nested objects, taking the last member of a
// repeated key as jsonb does; kNone when a step is absent.
size_t Resolve(const JsonDocument& doc, size_t root, const std::vector<std::string>& path) {
  size_t cur = root;
  for (const auto& part : path) {
    cur = doc.Member(cur, part);
    if (cur == JsonDocument::kNone) return cur;
  }
  return cur;
}

}  // namespace

struct DocumentMapper::Impl {
  std::vector<TablePlan> plans;
  std::vector<const spec::EntitySpec*> entities;
  JsonDocument doc;
  std::string scratch;          // decoded strings
  bool binary_strings = false;  // a Redis entity: see AppendJson

  // Per-call state.
  const store::StoreBatch* in = nullptr;
  size_t record = 0;
  MappedBatch* out = nullptr;

  Status AddTable(const spec::EntitySpec& entity, int parent);
  void MapRecord(size_t i);
  bool MapRow(int table, size_t obj, std::string_view key, size_t parent_row,
              const std::string& item);
  void RejectRow(int table, const std::string& item, std::string field, std::string reason,
                 std::string record);
};

Status DocumentMapper::Impl::AddTable(const spec::EntitySpec& entity, int parent) {
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
    // A Redis key is in its document (it may not be UTF-8); "$key" there.
    cp.from_key = c.from == "$key" && !entity.redis;
    cp.path = SplitPath(c.from.empty() ? c.name : c.from);
    cp.item = parent >= 0 && c.from == "$item";
    if (cp.item) plan.scalar_items = true;
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

void DocumentMapper::Impl::RejectRow(int table, const std::string& item, std::string field,
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
  if (binary_strings) {
    // A Redis record's position is an ordinal in one SCAN, which names
    // nothing a reader can look up: the reason names the key (UTF-8 escaped).
    if (const int key_col = in->rows.IndexOf("$key"); key_col >= 0) {
      r.reason = fmt::format("key '{}': {}", in->rows.columns[key_col].BytesAt(record), r.reason);
    }
  }
  r.record = std::move(record_text);
  out->counts[table].rejected++;
  out->rejects.push_back(std::move(r));
}

bool DocumentMapper::Impl::MapRow(int table, size_t obj, std::string_view key, size_t parent_row,
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
    bool present;
    if (cp.from_key) {
      present = !key.empty();
      if (present) st = AppendFromText(key, *cp.spec, &col);
    } else {
      // `from: $item`: the array element itself (a set's member, a list's element).
      const size_t value = cp.item ? obj : Resolve(doc, obj, cp.path);
      present = value != JsonDocument::kNone && doc.at(value).kind != Kind::kNull;
      if (present) st = AppendJson(doc, value, *cp.spec, binary_strings, &scratch, &col);
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
                                                : doc.Minified(obj);
      RejectRow(table, item, cp.spec->from, st.message(), std::move(text));
      return false;
    }
  }
  const size_t row = rows.num_rows() - 1;
  out->origins[table].push_back({static_cast<uint32_t>(record), item});
  for (int child : plan.children) {
    const TablePlan& cplan = plans[child];
    const size_t arr = Resolve(doc, obj, cplan.array_path);
    if (arr == JsonDocument::kNone || doc.at(arr).kind == Kind::kNull) continue;
    const std::string where = cplan.entity->path;
    if (doc.at(arr).kind != Kind::kArray) {
      out->counts[child].read++;
      RejectRow(child, item.empty() ? where : item + "." + where, where,
                fmt::format("expected an array at '{}', got {}", where,
                            JsonDocument::KindName(doc.at(arr).kind)),
                doc.Minified(arr));
      continue;
    }
    size_t k = 0;
    for (size_t e = doc.First(arr); e < doc.at(arr).next; e = doc.at(e).next) {
      std::string child_item = fmt::format("{}{}[{}]", item.empty() ? "" : item + ".", where, k++);
      out->counts[child].read++;
      if (doc.at(e).kind != Kind::kObject && !cplan.scalar_items) {
        RejectRow(child, child_item, where,
                  fmt::format("expected an object, got {}", JsonDocument::KindName(doc.at(e).kind)),
                  doc.Minified(e));
        continue;
      }
      MapRow(child, e, {}, row, child_item);
    }
  }
  return true;
}

void DocumentMapper::Impl::MapRecord(size_t i) {
  record = i;
  std::string_view text = in->rows.columns[0].BytesAt(i);
  int key_col = in->rows.IndexOf("$key");
  std::string_view key = key_col >= 0 ? in->rows.columns[key_col].BytesAt(i) : std::string_view();
  out->counts[0].read++;

  Status parsed = doc.Parse(text);
  if (!parsed.ok()) {
    RejectRow(0, "", "", parsed.message(), std::string(text));
    return;
  }
  if (doc.at(0).kind != Kind::kObject) {
    RejectRow(
        0, "", "",
        fmt::format("record is a JSON {}, not an object", JsonDocument::KindName(doc.at(0).kind)),
        std::string(text));
    return;
  }
  if (doc.has_repeated_key()) out->counts[0].repeated_keys++;
  const size_t root = 0;
  if (binary_strings) {
    // A key the store could not read as the spec says (stores/redis).
    if (const size_t error = doc.Member(root, "$error"); error != JsonDocument::kNone) {
      RejectRow(0, "", "$value", std::string(doc.String(error, &scratch)), std::string(text));
      return;
    }
  }
  MapRow(0, root, key, SIZE_MAX, "");
}

DocumentMapper::DocumentMapper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentMapper::~DocumentMapper() = default;

Result<std::unique_ptr<DocumentMapper>> DocumentMapper::Create(const spec::EntitySpec& entity) {
  auto impl = std::make_unique<Impl>();
  impl->binary_strings = entity.redis.has_value() || entity.iotdb.has_value();
  RETURN_IF_ERROR(impl->AddTable(entity, -1));
  return std::unique_ptr<DocumentMapper>(new DocumentMapper(std::move(impl)));
}

const std::vector<const spec::EntitySpec*>& DocumentMapper::tables() const {
  return impl_->entities;
}

int DocumentMapper::ParentOf(size_t table) const {
  return impl_->plans[table].parent;
}

std::string DocumentMapper::RecordText(const store::StoreBatch& in, size_t record) const {
  return std::string(in.rows.columns[0].BytesAt(record));
}

void DocumentMapper::Map(const store::StoreBatch& in, MappedBatch* out) {
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
