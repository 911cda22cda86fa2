// RunRoundTrip: legacy records read, their rows found by key and rebuilt by
// RecordBuilder, then compared field by field by each column's type.
#include "engine/verify/round_trip.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/legacy_write_back.h"
#include "engine/core/source_factory.h"
#include "map/document_mapper.h"
#include "map/record_builder.h"
#include "map/value_parsers.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_reader.h"

namespace cutover::engine {
namespace {

using Json = nlohmann::json;

// A JSON value as the text a legacy store holds: strings as they are, the
// rest as JSON prints them; nullopt for null.
std::optional<std::string> Text(const Json& v) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A decimal ("-001.2300", "1.5e3") as sign, significant digits and the
// power of ten of the last one, so that equal numbers compare equal;
// nullopt when `text` is no decimal.
std::optional<std::string> CanonicalDecimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  std::string digits;
  int64_t exponent = 0;
  bool any = false, dot = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
      any = true;
      if (dot) --exponent;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    const Result<int64_t> e = map::ParseInt64(text.substr(i + 1));
    if (!e.ok()) return std::nullopt;
    exponent += *e;
    i = text.size();
  }
  if (i != text.size()) return std::nullopt;
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return "0";
  digits.erase(0, first);
  while (digits.size() > 1 && digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  return fmt::format("{}{}e{}", negative ? "-" : "", digits, exponent);
}

// Whether the legacy value and the rebuilt one are the same value of the
// column's type.
bool SameValue(const Json& legacy, const Json& rebuilt, const spec::ColumnSpec& column) {
  const std::optional<std::string> a = Text(legacy);
  const std::optional<std::string> b = Text(rebuilt);
  if (!a || !b) return a.has_value() == b.has_value();
  if (*a == *b) return true;
  switch (column.type) {
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kNumeric:
    case ValueType::kFloat64: {
      const auto x = CanonicalDecimal(*a), y = CanonicalDecimal(*b);
      return x && y && *x == *y;
    }
    case ValueType::kBool: {
      const Result<bool> x = map::ParseBool(*a), y = map::ParseBool(*b);
      return x.ok() && y.ok() && *x == *y;
    }
    case ValueType::kTimestamptz: {
      const Result<int64_t> x = map::ParseTimestamptz(*a, column.timezone.get());
      const Result<int64_t> y = map::ParseTimestamptz(*b, column.timezone.get());
      return x.ok() && y.ok() && *x == *y;
    }
    case ValueType::kDate: {
      const Result<int32_t> x = map::ParseDate(*a), y = map::ParseDate(*b);
      return x.ok() && y.ok() && *x == *y;
    }
    case ValueType::kJsonb:
      return Json::parse(*a, nullptr, false) == Json::parse(*b, nullptr, false);
    default:
      return false;
  }
}

// The value at `path` ("a.b") under `root`; null when absent.
Json At(const Json& root, std::string_view path) {
  const Json* at = &root;
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string part(path.substr(0, dot));
    if (!at->is_object() || !at->contains(part)) return nullptr;
    at = &(*at)[part];
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return *at;
}

class EntityRoundTrip {
 public:
  EntityRoundTrip(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                  const RoundTripRequest& request, pg_store::PgConnection* conn)
      : migration_(migration), entity_(entity), request_(request), conn_(conn) {
    out_.entity = entity.name;
  }

  Result<RoundTripEntity> Run() {
    if (!entity_.redis) {
      const spec::SourceSpec* source = migration_.FindSource(entity_.source);
      out_.not_checked = fmt::format("rebuilding records of {} sources is not built yet",
                                     source != nullptr ? source->type : "its");
      return out_;
    }
    if (!entity_.write_back) {
      out_.not_checked = "it does not declare write_back: true, so no inverse mapping is known";
      return out_;
    }
    shape_ = PlanTables(migration_, entity_)[0].shape;
    ASSIGN_OR_RETURN(builder_, map::RecordBuilder::Create(entity_));
    ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration_, entity_, 1));
    // The mapper keeps a reference to the spec it maps by.
    const spec::EntitySpec keys_only = KeysOnly(entity_);
    ASSIGN_OR_RETURN(auto mapper, map::DocumentMapper::Create(keys_only));
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
  Status CompareBatch(const store::StoreBatch& in, const map::MappedBatch& mapped) {
    out_.legacy_records += static_cast<int64_t>(in.size());
    const int doc_column = in.rows.IndexOf("$doc");
    if (doc_column < 0) return Internal(entity_.name + ": legacy records without documents");
    const RowBatch& keys = mapped.tables[0];
    std::vector<std::string> tuples;
    std::vector<bool> keyed(in.size(), false);  // the record's row key could be looked up
    for (size_t r = 0; r < keys.num_rows(); ++r) {
      const uint32_t record = mapped.origins[0][r].record;
      std::optional<std::string> t = KeyTupleLiteral(keys, shape_, r);
      if (!t || record >= in.size()) continue;
      tuples.push_back("(" + *t + ")");
      keyed[record] = true;
    }
    out_.unreadable += static_cast<int64_t>(in.size() - tuples.size());
    if (tuples.empty()) return Status::Ok();
    RowBatch rows;
    bool first = true;
    RETURN_IF_ERROR(pg_store::ScanTable(
        conn_, shape_, tuples.size() + 1,
        [&](const RowBatch& batch) -> Status {
          if (!first) return Internal("the rows of a page came in more than one batch");
          first = false;
          rows = batch;
          return Status::Ok();
        },
        fmt::format("({}) IN (VALUES {})", KeyColumnList(shape_), fmt::join(tuples, ", "))));
    std::map<std::string, size_t> row_of;  // legacy key -> row
    for (size_t r = 0; r < rows.num_rows(); ++r) {
      ASSIGN_OR_RETURN(std::string key, builder_->Key(rows, r));
      row_of.emplace(std::move(key), r);
    }
    const Column& docs = in.rows.columns[static_cast<size_t>(doc_column)];
    for (size_t i = 0; i < in.size(); ++i) {
      if (!keyed[i]) continue;  // counted as unreadable above
      const Json legacy = Json::parse(docs.BytesAt(i), nullptr, false);
      if (legacy.is_discarded() || legacy.contains("$error")) {
        ++out_.unreadable;
        continue;
      }
      const auto found = row_of.find(in.source_keys[i]);
      if (found == row_of.end()) {
        ++out_.without_row;
        continue;
      }
      ASSIGN_OR_RETURN(const std::string built, builder_->Build(rows, found->second));
      Compare(in.source_keys[i], legacy, Json::parse(built));
    }
    return Status::Ok();
  }

  void Compare(const std::string& key, const Json& legacy, const Json& rebuilt) {
    ++out_.compared;
    std::vector<std::string> differ;
    std::set<std::string> read_fields;
    for (const spec::ColumnSpec& c : entity_.columns) {
      if (c.from == "$expires_at") {
        const Json a = legacy.value("$expires_at", Json());
        const Json b = rebuilt.contains("$expires_at_ms")
                           ? Json(map::FormatTimestamptz(
                                 (rebuilt["$expires_at_ms"].get<int64_t>() - 946684800000) * 1000))
                           : Json();
        if (!SameValue(a, b, c)) differ.push_back("$expires_at");
      } else if (c.from == "$value" || c.from.starts_with("$value.")) {
        const std::string path = c.from == "$value" ? "" : c.from.substr(7);
        const std::string top = path.substr(0, path.find('.'));
        if (!top.empty()) read_fields.insert(top);
        const Json a = At(legacy.value("$value", Json()), path);
        const Json b = At(rebuilt.value("$value", Json()), path);
        if (!SameValue(a, b, c)) differ.push_back(path.empty() ? "$value" : path);
      }
    }
    if (legacy.value("$type", "") != rebuilt.value("$type", "")) differ.push_back("$type");
    // Fields of an object value that no column reads: left out on purpose.
    const Json value = legacy.value("$value", Json());
    if (value.is_object() && !read_fields.empty()) {
      for (const auto& [field, v] : value.items()) {
        if (!read_fields.contains(field)) out_.dropped_fields.insert(field);
      }
    }
    if (differ.empty()) return;
    ++out_.differing;
    for (const std::string& f : differ) ++out_.differing_fields[f];
    if (out_.keys.size() < request_.max_listed_keys) out_.keys.push_back(key);
  }

  const spec::MigrationSpec& migration_;
  const spec::EntitySpec& entity_;
  const RoundTripRequest& request_;
  pg_store::PgConnection* conn_;
  pg_store::TableShape shape_;
  std::unique_ptr<map::RecordBuilder> builder_;
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
              {"differing_fields", e.differing_fields},
              {"differing_keys", e.keys},
              {"dropped_fields", e.dropped_fields}};
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
        "{}: {} legacy records, {} compared with their row turned back, {} differing{}{}\n",
        e.entity, e.legacy_records, e.compared, e.differing,
        e.without_row > 0
            ? fmt::format(", {} without a row (plain verify names them)", e.without_row)
            : "",
        e.unreadable > 0 ? fmt::format(", {} unreadable (rejected by backfill)", e.unreadable)
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
  }
  out += report.clean() ? "round trip: clean\n" : "round trip: NOT clean\n";
  return out;
}

}  // namespace cutover::engine
