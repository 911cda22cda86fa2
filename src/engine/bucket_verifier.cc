#include "engine/bucket_verifier.h"

#include <chrono>
#include <cmath>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/row_hasher.h"
#include "engine/source_factory.h"
#include "map/entity_mapper.h"
#include "target/pg_connection.h"
#include "target/schema_manager.h"
#include "target/table_reader.h"

namespace cutover::engine {
namespace {

// Bucket verifier design
//
// Pass 1 reads both stores once, in parallel (the source on one thread,
// PostgreSQL on another), and folds every row into one of kBuckets buckets
// chosen by the hash of its key: (count, wrapping sum of row digests). The
// sum is order-independent, so neither side is sorted, and memory is
// O(kBuckets) whatever the row count. Equal stores cost exactly this pass.
//
// Pass 2 runs only when buckets differ. It reads both stores again but keeps
// only the rows whose key falls in a differing bucket, so memory is
// O(k * rows per bucket) for k differences, and compares them key by key.
// Pass 2 also resolves what pass 1 cannot: a key repeated in the source (the
// last occurrence is what the backfill stored) and float columns equal within
// the relative tolerance.

constexpr size_t kBuckets = 1 << 16;
constexpr size_t kScanBatchRows = 8192;

struct Bucket {
  int64_t count = 0;
  uint64_t sum = 0;
  bool operator==(const Bucket&) const = default;
};

struct RowInfo {
  uint64_t row_hash = 0;
  std::vector<uint64_t> column_hashes;
  std::vector<std::optional<double>> floats;  // per column; unset for NULL and non-floats
  int occurrences = 0;
};

// One side's view of one table.
struct SideTable {
  std::vector<Bucket> buckets = std::vector<Bucket>(kBuckets);
  int64_t rows = 0;
  int64_t unmappable = 0;
  std::unordered_map<std::string, RowInfo> rows_in_diff;  // pass 2 only
};

struct EntityPlan {
  const spec::EntitySpec* entity;
  std::unique_ptr<map::EntityMapper> mapper;
  std::vector<target::TableShape> shapes;
  std::vector<RowHasher> hashers;
  std::vector<std::unordered_set<size_t>> diff_buckets;  // pass 2 filter per table
};

// Folds one batch of rows of table `t` into `side` for the given pass.
void Absorb(const EntityPlan& plan, size_t t, const RowBatch& batch, bool second_pass,
            SideTable* side) {
  const RowHasher& hasher = plan.hashers[t];
  std::vector<uint64_t> column_hashes;
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    const size_t bucket = hasher.KeyHash(batch, r) & (kBuckets - 1);
    if (!second_pass) {
      uint64_t h = hasher.RowHash(batch, r, &column_hashes);
      side->buckets[bucket].count++;
      side->buckets[bucket].sum += h;
      side->rows++;
      continue;
    }
    if (!plan.diff_buckets[t].contains(bucket)) continue;
    RowInfo& info = side->rows_in_diff[hasher.KeyText(batch, r)];
    info.row_hash = hasher.RowHash(batch, r, &info.column_hashes);
    info.floats.assign(batch.columns.size(), std::nullopt);
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (batch.columns[c].type() == ValueType::kFloat64 && !batch.columns[c].IsNull(r)) {
        info.floats[c] = batch.columns[c].FloatAt(r);
      }
    }
    info.occurrences++;
  }
}

Status ReadSource(const spec::MigrationSpec& migration, EntityPlan* plan, bool second_pass,
                  std::vector<SideTable>* sides) {
  ASSIGN_OR_RETURN(auto reader, OpenSource(migration, *plan->entity));
  RETURN_IF_ERROR(reader->Open({}));
  source::SourceBatch in;
  map::MappedBatch mapped;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader->Next(kScanBatchRows, &in));
    if (!more) break;
    plan->mapper->Map(in, &mapped);
    for (size_t t = 0; t < mapped.tables.size(); ++t) {
      Absorb(*plan, t, mapped.tables[t], second_pass, &(*sides)[t]);
      if (!second_pass) (*sides)[t].unmappable += mapped.counts[t].rejected;
    }
  }
  return Status::Ok();
}

Status ReadTarget(const std::string& url, EntityPlan* plan, bool second_pass,
                  std::vector<SideTable>* sides) {
  ASSIGN_OR_RETURN(auto conn, target::PgConnection::ConnectWithRetry(url));
  for (size_t t = 0; t < plan->shapes.size(); ++t) {
    if (second_pass && plan->diff_buckets[t].empty()) continue;
    RETURN_IF_ERROR(
        target::ScanTable(conn.get(), plan->shapes[t], kScanBatchRows, [&](const RowBatch& batch) {
          Absorb(*plan, t, batch, second_pass, &(*sides)[t]);
          return Status::Ok();
        }));
  }
  return Status::Ok();
}

// Reads both stores at once; the source and PostgreSQL each get a thread.
Status ReadBoth(const spec::MigrationSpec& migration, const std::string& url, EntityPlan* plan,
                bool second_pass, std::vector<SideTable>* source_side,
                std::vector<SideTable>* target_side) {
  Status target_status;
  std::thread target_thread(
      [&] { target_status = ReadTarget(url, plan, second_pass, target_side); });
  Status source_status = ReadSource(migration, plan, second_pass, source_side);
  target_thread.join();
  RETURN_IF_ERROR(source_status.WithContext("reading the source of " + plan->entity->name));
  return target_status.WithContext("reading PostgreSQL for " + plan->entity->name);
}

bool WithinTolerance(double a, double b, double tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= tolerance * std::max(std::fabs(a), std::fabs(b));
}

void CompareRows(const target::TableShape& shape, const SideTable& src, const SideTable& dst,
                 double tolerance, const VerifyRequest& request, TableVerdict* v) {
  for (const auto& [key, s] : src.rows_in_diff) {
    if (s.occurrences > 1) v->source_duplicates += s.occurrences - 1;
    auto it = dst.rows_in_diff.find(key);
    if (it == dst.rows_in_diff.end()) {
      v->missing++;
      if (v->missing_keys.size() < request.max_listed_keys) v->missing_keys.push_back(key);
      continue;
    }
    const RowInfo& d = it->second;
    if (s.row_hash == d.row_hash) continue;
    ChangedKey changed{key, {}};
    for (size_t c = 0; c < s.column_hashes.size(); ++c) {
      if (s.column_hashes[c] == d.column_hashes[c]) continue;
      const bool both_float =
          shape.columns[c].type == ValueType::kFloat64 && s.column_hashes[c] != d.column_hashes[c];
      // A NULL is never "within tolerance" of a number, not even of 0.0.
      if (both_float && tolerance > 0 && s.floats[c] && d.floats[c] &&
          WithinTolerance(*s.floats[c], *d.floats[c], tolerance)) {
        continue;
      }
      changed.columns.push_back(shape.columns[c].name);
    }
    if (changed.columns.empty()) continue;  // equal within the float tolerance
    v->changed++;
    if (v->changed_keys.size() < request.max_listed_keys) {
      if (!request.detailed) changed.columns.clear();
      v->changed_keys.push_back(std::move(changed));
    }
  }
  for (const auto& [key, d] : dst.rows_in_diff) {
    if (src.rows_in_diff.contains(key)) continue;
    v->extra++;
    if (v->extra_keys.size() < request.max_listed_keys) v->extra_keys.push_back(key);
  }
}

Status RecordVerdicts(const std::string& url, const std::string& migration,
                      const std::vector<TableVerdict>& verdicts) {
  ASSIGN_OR_RETURN(auto conn, target::PgConnection::ConnectWithRetry(url));
  RETURN_IF_ERROR(target::EnsureControlSchema(conn.get()));
  for (const auto& v : verdicts) {
    auto r = conn->Query(
        "INSERT INTO cutover.verify_runs (migration, entity, source_rows, target_rows, missing, "
        "extra, changed, clean) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {migration, v.entity, std::to_string(v.source_rows), std::to_string(v.target_rows),
         std::to_string(v.missing), std::to_string(v.extra), std::to_string(v.changed),
         v.clean() ? "true" : "false"});
    if (!r.ok()) return r.status().WithContext("recording the verify outcome");
  }
  return Status::Ok();
}

}  // namespace

double TableVerdict::accuracy() const {
  const int64_t universe = matched + missing + changed + extra;
  return universe == 0 ? 100.0 : 100.0 * static_cast<double>(matched) / universe;
}

bool VerifyReport::clean() const {
  return std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t.clean(); });
}

Result<VerifyReport> RunVerify(const spec::MigrationSpec& migration, const std::string& target_url,
                               const VerifyRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const double tolerance = request.float_tolerance.value_or(migration.verify.float_tolerance);
  VerifyReport report;
  for (const auto& entity : migration.entities) {
    if (!request.entities.empty() && std::find(request.entities.begin(), request.entities.end(),
                                               entity.name) == request.entities.end()) {
      continue;
    }
    EntityPlan plan;
    plan.entity = &entity;
    ASSIGN_OR_RETURN(plan.mapper, map::EntityMapper::Create(entity));
    const auto& tables = plan.mapper->tables();
    for (size_t t = 0; t < tables.size(); ++t) {
      int parent = plan.mapper->ParentOf(t);
      plan.shapes.push_back(target::ShapeOf(*tables[t], parent >= 0 ? tables[parent] : nullptr));
      plan.hashers.emplace_back(plan.shapes.back());
    }
    plan.diff_buckets.resize(tables.size());

    std::vector<SideTable> src(tables.size()), dst(tables.size());
    RETURN_IF_ERROR(ReadBoth(migration, target_url, &plan, false, &src, &dst));
    bool any_diff = false;
    for (size_t t = 0; t < tables.size(); ++t) {
      for (size_t b = 0; b < kBuckets; ++b) {
        if (!(src[t].buckets[b] == dst[t].buckets[b])) plan.diff_buckets[t].insert(b);
      }
      any_diff |= !plan.diff_buckets[t].empty();
    }
    if (any_diff) {
      spdlog::info("{}: {} buckets differ; comparing their rows", entity.name, [&] {
        size_t n = 0;
        for (const auto& d : plan.diff_buckets) n += d.size();
        return n;
      }());
      RETURN_IF_ERROR(ReadBoth(migration, target_url, &plan, true, &src, &dst));
    }
    for (size_t t = 0; t < tables.size(); ++t) {
      TableVerdict v;
      v.entity = tables[t]->name;
      v.table = plan.shapes[t].schema + "." + plan.shapes[t].table;
      v.target_rows = dst[t].rows;
      v.unmappable = src[t].unmappable;
      CompareRows(plan.shapes[t], src[t], dst[t], tolerance, request, &v);
      v.source_rows = src[t].rows - v.source_duplicates;
      v.matched = v.source_rows - v.missing - v.changed;
      report.tables.push_back(std::move(v));
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (request.record) RETURN_IF_ERROR(RecordVerdicts(target_url, migration.name, report.tables));
  return report;
}

std::string FormatVerifyReport(const VerifyReport& report, bool detailed) {
  std::string out =
      fmt::format("{:<20} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}\n", "entity", "source",
                  "postgres", "matched", "missing", "extra", "changed", "accuracy");
  for (const auto& t : report.tables) {
    out += fmt::format("{:<20} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8.2f}%\n", t.entity,
                       t.source_rows, t.target_rows, t.matched, t.missing, t.extra, t.changed,
                       t.accuracy());
  }
  for (const auto& t : report.tables) {
    for (const auto& k : t.missing_keys)
      out += fmt::format("  {} missing in PostgreSQL: {}\n", t.entity, k);
    for (const auto& k : t.extra_keys)
      out += fmt::format("  {} extra in PostgreSQL: {}\n", t.entity, k);
    for (const auto& k : t.changed_keys) {
      out += fmt::format("  {} changed: {}", t.entity, k.key);
      if (detailed && !k.columns.empty())
        out += fmt::format(" (columns: {})", fmt::join(k.columns, ", "));
      out += "\n";
    }
    const int64_t listed =
        static_cast<int64_t>(t.missing_keys.size() + t.extra_keys.size() + t.changed_keys.size());
    if (listed < t.missing + t.extra + t.changed) {
      out += fmt::format("  {}: {} more differences not listed (see --json)\n", t.entity,
                         t.missing + t.extra + t.changed - listed);
    }
    if (t.source_duplicates > 0) {
      out += fmt::format("  {}: {} repeated keys in the source; the last occurrence counts\n",
                         t.entity, t.source_duplicates);
    }
    if (t.unmappable > 0) {
      out += fmt::format(
          "  {}: {} source records could not be mapped and are not compared "
          "(they are rejects; see cutover.rejects)\n",
          t.entity, t.unmappable);
    }
  }
  int64_t differences = 0;
  for (const auto& t : report.tables) differences += t.missing + t.extra + t.changed;
  out += fmt::format("{} differences; verify took {:.1f}s\n", differences, report.seconds);
  return out;
}

nlohmann::json VerifyReportJson(const VerifyReport& report) {
  nlohmann::json j;
  j["clean"] = report.clean();
  j["seconds"] = report.seconds;
  j["entities"] = nlohmann::json::array();
  for (const auto& t : report.tables) {
    nlohmann::json e;
    e["entity"] = t.entity;
    e["table"] = t.table;
    e["source_rows"] = t.source_rows;
    e["target_rows"] = t.target_rows;
    e["matched"] = t.matched;
    e["missing"] = t.missing;
    e["extra"] = t.extra;
    e["changed"] = t.changed;
    e["unmappable"] = t.unmappable;
    e["source_duplicates"] = t.source_duplicates;
    e["accuracy_percent"] = t.accuracy();
    e["missing_keys"] = t.missing_keys;
    e["extra_keys"] = t.extra_keys;
    e["changed_keys"] = nlohmann::json::array();
    for (const auto& k : t.changed_keys) {
      e["changed_keys"].push_back({{"key", k.key}, {"columns", k.columns}});
    }
    j["entities"].push_back(std::move(e));
  }
  return j;
}

}  // namespace cutover::engine
