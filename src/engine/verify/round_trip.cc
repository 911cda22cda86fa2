// RunRoundTrip: legacy records read, their rows found by key and turned back
// by the store's builder, then compared field by field by each column's type.
#include "engine/verify/round_trip.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "common/value_text.h"
#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/family_reader.h"
#include "engine/core/legacy_write_back.h"
#include "engine/core/source_factory.h"
#include "engine/verify/legacy_values.h"
#include "map/columnar_builder.h"
#include "map/document_builder.h"
#include "map/record_builder.h"
#include "map/value_parsers.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {
namespace {

using Json = nlohmann::json;

// The kind of legacy record an entity's rows turn back into.
enum class RecordKind { kRedis, kDocument, kColumnar };

bool IsParentColumn(const spec::EntitySpec& entity, const std::string& column) {
  return std::any_of(entity.parent_columns.begin(), entity.parent_columns.end(),
                     [&](const auto& link) { return link.first == column; });
}

std::string FieldPath(const spec::ColumnSpec& c) {
  return c.from.empty() ? c.name : c.from;
}

std::string TopField(const std::string& path) {
  return path.substr(0, path.find('.'));
}

// A typed cell as the JSON text a legacy value compares as; null for NULL.
Json CellValue(const Column& column, size_t row) {
  if (column.IsNull(row)) return nullptr;
  return Json(ValueText(column, row));
}

// What one record's comparison found: the fields that differ, and the
// fields left out or filled in on purpose.
struct RecordFindings {
  std::set<std::string> differing;
  std::set<std::string> dropped;    // legacy fields no column reads
  std::set<std::string> defaulted;  // absent in the record, the column's default in the row
};

// A column's value against the rebuilt one: same, filled by its default
// (listed), or differing.
void CompareValue(const Json& legacy, const Json& rebuilt, const spec::ColumnSpec& column,
                  const std::string& field, RecordFindings* found) {
  if (SameLegacyValue(legacy, rebuilt, column)) return;
  if (legacy.is_null() && column.default_value &&
      SameLegacyValue(Json(*column.default_value), rebuilt, column)) {
    found->defaulted.insert(field);
    return;
  }
  found->differing.insert(field);
}

void CompareDocument(const spec::EntitySpec& entity, bool is_child, const Json& legacy,
                     const Json& rebuilt, const std::string& prefix, RecordFindings* found);

// The elements of a child's arrays matched by the child's own key columns
// (its parent's are implied), in any order; by position when it has none.
void CompareChildren(const spec::EntitySpec& child, const Json& legacy, const Json& rebuilt,
                     const std::string& prefix, RecordFindings* found) {
  const std::string whole = prefix + child.path + "[]";
  const Json empty = Json::array();
  const Json& a = legacy.is_array() ? legacy : empty;
  const Json& b = rebuilt.is_array() ? rebuilt : empty;
  if (!legacy.is_null() && !legacy.is_array()) {
    found->differing.insert(whole);
    return;
  }
  std::vector<const spec::ColumnSpec*> keys;
  for (const std::string& k : child.key) {
    const spec::ColumnSpec* c = child.FindColumn(k);
    if (c != nullptr && !IsParentColumn(child, k)) keys.push_back(c);
  }
  auto key_of = [&](const Json& element, size_t position) {
    if (keys.empty()) return std::to_string(position);
    std::string key;
    for (const spec::ColumnSpec* c : keys) {
      key += CanonicalLegacyText(c->from == "$item" ? element : AtPath(element, FieldPath(*c)), *c);
      key.push_back('\x1f');
    }
    return key;
  };
  std::map<std::string, const Json*> rebuilt_by_key;
  for (size_t i = 0; i < b.size(); ++i) rebuilt_by_key.emplace(key_of(b[i], i), &b[i]);
  std::set<std::string> seen;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string key = key_of(a[i], i);
    const auto match = rebuilt_by_key.find(key);
    if (match == rebuilt_by_key.end() || !seen.insert(key).second) {
      found->differing.insert(whole);
      continue;
    }
    CompareDocument(child, true, a[i], *match->second, whole + ".", found);
  }
  if (seen.size() != rebuilt_by_key.size()) found->differing.insert(whole);
}

// Every column's value at its path, every child's array, and the fields no
// column reads, of one record (or one element of a child's array).
void CompareDocument(const spec::EntitySpec& entity, bool is_child, const Json& legacy,
                     const Json& rebuilt, const std::string& prefix, RecordFindings* found) {
  std::set<std::string> read;  // top-level fields some column or child reads
  for (const spec::ColumnSpec& c : entity.columns) {
    if (c.from == "$tag" || c.from == "$key" || (is_child && IsParentColumn(entity, c.name))) {
      continue;
    }
    if (c.from == "$item") {  // an array of scalars: the element is the value
      CompareValue(legacy, rebuilt, c, prefix.substr(0, prefix.size() - 1), found);
      continue;
    }
    const std::string path = FieldPath(c);
    read.insert(TopField(path));
    CompareValue(AtPath(legacy, path), AtPath(rebuilt, path), c, prefix + path, found);
  }
  for (const spec::EntitySpec& child : entity.children) {
    read.insert(TopField(child.path));
    CompareChildren(child, AtPath(legacy, child.path), AtPath(rebuilt, child.path), prefix, found);
  }
  if (!legacy.is_object()) return;
  for (const auto& [field, v] : legacy.items()) {
    if (!read.contains(field)) found->dropped.insert(prefix + field);
  }
}

class EntityRoundTrip {
 public:
  EntityRoundTrip(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                  const RoundTripRequest& request, pg_store::PgConnection* conn)
      : migration_(migration), entity_(entity), request_(request), conn_(conn) {
    out_.entity = entity.name;
  }

  Result<RoundTripEntity> Run() {
    if (!entity_.write_back) {
      out_.not_checked = "it does not declare write_back: true, so no inverse mapping is known";
      return out_;
    }
    if (entity_.redis) {
      kind_ = RecordKind::kRedis;
      ASSIGN_OR_RETURN(record_builder_, map::RecordBuilder::Create(entity_));
    } else if (entity_.children.empty() && IsChunkedEntity(migration_, entity_)) {
      kind_ = RecordKind::kColumnar;
      ASSIGN_OR_RETURN(columnar_builder_, map::ColumnarBuilder::Create(entity_));
      PlanSourceColumns();
    } else {
      kind_ = RecordKind::kDocument;
      ASSIGN_OR_RETURN(document_builder_, map::DocumentBuilder::Create(entity_));
    }
    ASSIGN_OR_RETURN(family_, FamilyReader::Create(migration_, entity_));
    ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration_, entity_, 1));
    // The mapper keeps a reference to the spec it maps by.
    const spec::EntitySpec keys_only = KeysOnly(entity_);
    ASSIGN_OR_RETURN(auto mapper, CreateMapper(migration_, keys_only));
    store::SnapshotReader& reader = store->snapshot();
    ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, reader.Plan());
    store::StoreBatch in;
    map::MappedBatch mapped;
    for (const store::Partition& partition : partitions) {
      ASSIGN_OR_RETURN(auto batches, reader.Open(partition, store::Cursor{}));
      for (;;) {
        ASSIGN_OR_RETURN(const bool more, batches->Next(request_.batch_size, &in));
        if (!more) break;
        mapper->Map(in, &mapped);
        RETURN_IF_ERROR(CompareBatch(in, mapped));
      }
    }
    return out_;
  }

 private:
  // Which spec column each source column of a Parquet or CSV row goes back
  // from, typed as its values compare (a point's lon and lat as doubles).
  void PlanSourceColumns() {
    for (const spec::ColumnSpec& c : entity_.columns) {
      if (c.from == "$tag") continue;
      if (c.geometry) {
        spec::ColumnSpec coordinate = c;
        coordinate.type = ValueType::kFloat64;
        coordinate.default_value.reset();
        source_columns_.emplace(c.geometry->lon, coordinate);
        source_columns_.emplace(c.geometry->lat, coordinate);
        continue;
      }
      source_columns_.emplace(FieldPath(c), c);
    }
  }

  Status CompareBatch(const store::StoreBatch& in, const map::MappedBatch& mapped) {
    out_.legacy_records += static_cast<int64_t>(in.size());
    const RowBatch& keys = mapped.tables[0];
    const pg_store::TableShape& shape = family_.shape();
    std::vector<std::optional<std::string>> tuple_of(in.size());
    std::vector<std::string> tuples;
    for (size_t r = 0; r < keys.num_rows(); ++r) {
      const uint32_t record = mapped.origins[0][r].record;
      std::optional<std::string> t = KeyTupleLiteral(keys, shape, r);
      if (!t || record >= in.size()) continue;
      tuple_of[record] = "(" + *t + ")";
      tuples.push_back(*tuple_of[record]);
    }
    out_.unreadable += static_cast<int64_t>(in.size() - tuples.size());
    if (tuples.empty()) return Status::Ok();
    RETURN_IF_ERROR(family_.Read(
        conn_, fmt::format("({}) IN (VALUES {})", KeyColumnList(shape), fmt::join(tuples, ", ")),
        "", &page_));
    std::map<std::string, size_t> row_of;  // key tuple -> row
    for (size_t r = 0; r < page_.key_tuples.size(); ++r) row_of.emplace(page_.key_tuples[r], r);
    if (kind_ == RecordKind::kColumnar) {
      RETURN_IF_ERROR(columnar_builder_->Build(page_.rows, &rebuilt_rows_));
    }
    const int doc_column = in.rows.IndexOf("$doc");
    if (kind_ != RecordKind::kColumnar && doc_column < 0) {
      return Internal(entity_.name + ": legacy records without documents");
    }
    for (size_t i = 0; i < in.size(); ++i) {
      if (!tuple_of[i]) continue;  // counted as unreadable above
      const auto found = row_of.find(*tuple_of[i]);
      if (kind_ == RecordKind::kColumnar) {
        if (found == row_of.end()) {
          ++out_.without_row;
          continue;
        }
        if (SupersededRow(in.rows, i, found->second)) {
          ++out_.superseded;
          continue;
        }
        Record(RowName(found->second), CompareColumns(in.rows, i, found->second));
        continue;
      }
      const Json legacy =
          Json::parse(in.rows.columns[static_cast<size_t>(doc_column)].BytesAt(i), nullptr, false);
      if (legacy.is_discarded() || (kind_ == RecordKind::kRedis && legacy.contains("$error"))) {
        ++out_.unreadable;
        continue;
      }
      if (found == row_of.end()) {
        ++out_.without_row;
        continue;
      }
      const size_t r = found->second;
      if (kind_ == RecordKind::kRedis) {
        ASSIGN_OR_RETURN(const std::string built, record_builder_->Build(page_.rows, r));
        Record(in.source_keys[i], CompareRedis(legacy, Json::parse(built)));
      } else {
        std::string built;
        RETURN_IF_ERROR(document_builder_->Append(page_.rows, r, page_.children[r], &built));
        const Json rebuilt = Json::parse(built);
        if (SupersededRecord(legacy, rebuilt)) {
          ++out_.superseded;
          continue;
        }
        RecordFindings findings;
        CompareDocument(entity_, false, legacy, rebuilt, "", &findings);
        Record(RowName(r), std::move(findings));
      }
    }
    return Status::Ok();
  }

  // A Redis record: its type, its value's fields (or the whole value) and
  // its expiry.
  RecordFindings CompareRedis(const Json& legacy, const Json& rebuilt) const {
    RecordFindings found;
    std::set<std::string> read_fields;
    for (const spec::ColumnSpec& c : entity_.columns) {
      if (c.from == "$expires_at") {
        const Json a = legacy.value("$expires_at", Json());
        const Json b = rebuilt.contains("$expires_at_ms")
                           ? Json(map::FormatTimestamptz(
                                 (rebuilt["$expires_at_ms"].get<int64_t>() - 946684800000) * 1000))
                           : Json();
        if (!SameLegacyValue(a, b, c)) found.differing.insert("$expires_at");
      } else if (c.from == "$value" || c.from.starts_with("$value.")) {
        const std::string path = c.from == "$value" ? "" : c.from.substr(7);
        if (!path.empty()) read_fields.insert(TopField(path));
        CompareValue(AtPath(legacy.value("$value", Json()), path),
                     AtPath(rebuilt.value("$value", Json()), path), c,
                     path.empty() ? "$value" : path, &found);
      }
    }
    if (legacy.value("$type", "") != rebuilt.value("$type", "")) found.differing.insert("$type");
    // Fields of an object value that no column reads: left out on purpose.
    const Json value = legacy.value("$value", Json());
    if (value.is_object() && !read_fields.empty()) {
      for (const auto& [field, v] : value.items()) {
        if (!read_fields.contains(field)) found.dropped.insert(field);
      }
    }
    return found;
  }

  // A Parquet or CSV row: each source column against the one rebuilt from
  // PostgreSQL's row `r`.
  RecordFindings CompareColumns(const RowBatch& legacy, size_t i, size_t r) const {
    RecordFindings found;
    for (size_t c = 0; c < rebuilt_rows_.columns.size(); ++c) {
      const std::string& name = rebuilt_rows_.names[c];
      const int at = legacy.IndexOf(name);
      const auto column = source_columns_.find(name);
      if (at < 0 || column == source_columns_.end()) {
        found.differing.insert(name);
        continue;
      }
      CompareValue(CellValue(legacy.columns[static_cast<size_t>(at)], i),
                   CellValue(rebuilt_rows_.columns[c], r), column->second, name, &found);
    }
    for (const std::string& name : legacy.names) {
      if (!name.starts_with('$') && rebuilt_rows_.IndexOf(name) < 0) found.dropped.insert(name);
    }
    return found;
  }

  // Whether `dedup:` kept another record of this key than `legacy`: its
  // keep_last_by values are not those of the row (`rebuilt`).
  bool SupersededRecord(const Json& legacy, const Json& rebuilt) const {
    if (!entity_.dedup) return false;
    for (const std::string& name : entity_.dedup->keep_last_by) {
      const spec::ColumnSpec* c = entity_.FindColumn(name);
      if (c == nullptr) continue;
      if (!SameLegacyValue(AtPath(legacy, FieldPath(*c)), AtPath(rebuilt, FieldPath(*c)), *c)) {
        return true;
      }
    }
    return false;
  }
  // The same for source row `i` against rebuilt row `r`.
  bool SupersededRow(const RowBatch& legacy, size_t i, size_t r) const {
    if (!entity_.dedup) return false;
    for (const std::string& name : entity_.dedup->keep_last_by) {
      const spec::ColumnSpec* c = entity_.FindColumn(name);
      if (c == nullptr) continue;
      const int a = legacy.IndexOf(FieldPath(*c));
      const int b = rebuilt_rows_.IndexOf(FieldPath(*c));
      if (a < 0 || b < 0) continue;
      if (!SameLegacyValue(CellValue(legacy.columns[static_cast<size_t>(a)], i),
                           CellValue(rebuilt_rows_.columns[static_cast<size_t>(b)], r), *c)) {
        return true;
      }
    }
    return false;
  }

  // A row named by its key values, "v1, v2".
  std::string RowName(size_t r) const {
    std::string name;
    for (const std::string& k : family_.shape().key) {
      const int at = page_.rows.IndexOf(k);
      if (!name.empty()) name += ", ";
      name += at < 0 ? "?" : ValueText(page_.rows.columns[static_cast<size_t>(at)], r);
    }
    return name;
  }

  void Record(const std::string& key, RecordFindings found) {
    ++out_.compared;
    out_.dropped_fields.merge(found.dropped);
    out_.defaulted_fields.merge(found.defaulted);
    if (found.differing.empty()) return;
    ++out_.differing;
    for (const std::string& f : found.differing) ++out_.differing_fields[f];
    if (out_.keys.size() < request_.max_listed_keys) out_.keys.push_back(key);
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const RoundTripRequest& request_;
  pg_store::PgConnection* conn_;
  RecordKind kind_ = RecordKind::kRedis;
  FamilyReader family_;
  FamilyPage page_;
  std::unique_ptr<map::RecordBuilder> record_builder_;
  std::unique_ptr<map::DocumentBuilder> document_builder_;
  std::unique_ptr<map::ColumnarBuilder> columnar_builder_;
  std::map<std::string, spec::ColumnSpec> source_columns_;  // source column -> how it compares
  RowBatch rebuilt_rows_;                                   // a Parquet page's rows turned back
  RoundTripEntity out_;
};

}  // namespace

bool RoundTripReport::clean() const {
  int64_t compared = 0;
  for (const auto& e : entities) {
    if (!e.not_checked.empty() || e.differing > 0) return false;
    compared += e.compared;
  }
  return compared > 0;
}

Result<RoundTripReport> RunRoundTrip(const spec::MigrationSpec& migration,
                                     const std::string& target_url,
                                     const RoundTripRequest& request) {
  std::vector<const spec::EntitySpec*> selected;
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    if (match.is_child() || match.is_dimension()) {
      return InvalidArgument(fmt::format(
          "--entity {}: --round-trip rebuilds whole legacy records: name a top-level entity",
          name));
    }
    if (std::find(selected.begin(), selected.end(), match.entity) == selected.end()) {
      selected.push_back(match.entity);
    }
  }
  if (request.entities.empty()) {
    for (const auto& e : migration.entities) {
      if (!e.source.empty()) selected.push_back(&e);
    }
  }
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::Connect(target_url));
  RoundTripReport report;
  for (const spec::EntitySpec* e : selected) {
    EntityRoundTrip run(migration, *e, request, conn.get());
    ASSIGN_OR_RETURN(RoundTripEntity done, run.Run());
    spdlog::info("round trip: {}: {} legacy records, {} compared, {} differing", done.entity,
                 done.legacy_records, done.compared, done.differing);
    report.entities.push_back(std::move(done));
  }
  return report;
}

nlohmann::json RoundTripReportJson(const RoundTripReport& report) {
  Json entities = Json::array();
  for (const auto& e : report.entities) {
    Json j = {{"entity", e.entity},
              {"checked", e.not_checked.empty()},
              {"legacy_records", e.legacy_records},
              {"compared", e.compared},
              {"differing", e.differing},
              {"without_row", e.without_row},
              {"unreadable", e.unreadable},
              {"superseded", e.superseded},
              {"differing_fields", e.differing_fields},
              {"differing_keys", e.keys},
              {"dropped_fields", e.dropped_fields},
              {"defaulted_fields", e.defaulted_fields}};
    if (!e.not_checked.empty()) j["not_checked"] = e.not_checked;
    entities.push_back(std::move(j));
  }
  return {{"round_trip", true}, {"clean", report.clean()}, {"entities", std::move(entities)}};
}

std::string FormatRoundTripReport(const RoundTripReport& report) {
  std::string out;
  for (const auto& e : report.entities) {
    if (!e.not_checked.empty()) {
      out += fmt::format("{}: not checked: {}\n", e.entity, e.not_checked);
      continue;
    }
    out += fmt::format(
        "{}: {} legacy records, {} compared with their row turned back, {} differing{}{}{}\n",
        e.entity, e.legacy_records, e.compared, e.differing,
        e.without_row > 0
            ? fmt::format(", {} without a row (plain verify names them)", e.without_row)
            : "",
        e.unreadable > 0 ? fmt::format(", {} unreadable (rejected by backfill)", e.unreadable) : "",
        e.superseded > 0
            ? fmt::format(", {} superseded (dedup kept a later record of their key)", e.superseded)
            : "");
    for (const auto& [field, n] : e.differing_fields) {
      out += fmt::format("  field {}: differs in {} records\n", field, n);
    }
    for (const std::string& key : e.keys) out += fmt::format("  differs: {}\n", key);
    if (static_cast<int64_t>(e.keys.size()) < e.differing) {
      out += fmt::format("  ... and {} more\n", e.differing - static_cast<int64_t>(e.keys.size()));
    }
    if (!e.dropped_fields.empty()) {
      out += fmt::format("  left out on purpose (no column reads them): {}\n",
                         fmt::join(e.dropped_fields, ", "));
    }
    if (!e.defaulted_fields.empty()) {
      out += fmt::format("  absent in some records, filled in by the column's default: {}\n",
                         fmt::join(e.defaulted_fields, ", "));
    }
  }
  out += report.clean() ? "round trip: clean\n" : "round trip: NOT clean\n";
  return out;
}

}  // namespace cutover::engine
