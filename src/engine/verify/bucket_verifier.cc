// Bucket verifier: pass 1 folds both stores into buckets of key hashes, pass 2
// compares the rows of differing buckets key by key (design note below).
#include "engine/verify/bucket_verifier.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "catalog/deferred_ddl.h"
#include "catalog/schema.h"
#include "catalog/table_ddl.h"
#include "catalog/verify_runs.h"
#include "common/string_hash.h"
#include "engine/core/chunked_scan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/source_dedup.h"
#include "engine/core/source_factory.h"
#include "engine/verify/row_hasher.h"
#include "map/columnar_mapper.h"
#include "map/entity_mapper.h"
#include "map/value_parsers.h"
#include "store/chunked_source.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_reader.h"

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
// Each side finds those rows by their key first: PostgreSQL copies the key
// columns alone and then reads the few rows listed by key (up to
// kMaxTargetedKeys; past that, the whole table); a chunked source maps the
// key columns and maps a record whole only when it is kept.
// Pass 2 also resolves what pass 1 cannot: a key repeated in the source (the
// last occurrence is what the backfill stored) and float columns equal within
// the relative tolerance.
//
// Chunked sources (Parquet, CSV) are read on up to --jobs threads, each
// folding into buckets of its own, summed at the end (the sums commute). In
// pass 2 a key seen twice keeps, as the backfill did, the row with the
// greatest dedup keep_last_by (encoded so bytes compare like the values),
// then the later one in source order (chunk, then row in file). A dimension
// filled by lookups is verified as a set of names: those the facts' source
// rows carry against those the table holds.
//
// An entity with `dedup` holds one row per dedup key, while its source may
// repeat keys; folding every source row into the buckets would make nearly
// every bucket differ and send most rows to pass 2. So when the source can
// hash its keys (Parquet and CSV, through DuckDB), it first lists the hashes
// that repeat, in one read of the key columns; pass 1 then folds at once the
// rows of every other key, and holds for each repeated key only the row the
// backfill kept so far (greatest keep_last_by, then source order, as in pass
// 2 below): about 60 bytes per repeated key. Those rows are folded after the
// scan, and the buckets are those of one row per key: equal stores again
// cost one pass. The rows left out are counted as the source's repeats. This
// ranks with verify's own code, not the backfill's, so a wrong choice in
// either shows as a difference. Source key columns are the spec columns'
// `from`; a lookup's `from` is the name, one-to-one with its id, so this is
// used only when every lookup column is part of the key.
//
// Pass 2 reads the chunks and ranks repeated keys itself, as for an entity
// without dedup.

constexpr size_t kBuckets = 1 << 16;
constexpr int64_t kRowsPerRound = 1 << 20;  // pass-2 rows held at once, both sides together
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
  // Chunked sources: which of a repeated key's rows the backfill kept.
  std::string rank;    // keep_last_by values, order-preserving bytes
  int64_t order = -1;  // (chunk << 40) + row in file
};

// One side's view of one table.
struct SideTable {
  std::vector<Bucket> buckets = std::vector<Bucket>(kBuckets);
  int64_t rows = 0;
  int64_t unmappable = 0;
  std::unordered_map<std::string, RowInfo> rows_in_diff;  // pass 2 only
};

// Names the facts' source rows carry, per dimension entity (lookups).
using DimensionNames = std::map<std::string, StringSet>;

struct EntityPlan {
  const spec::EntitySpec* entity;
  std::unique_ptr<map::RecordMapper> mapper;
  bool chunked = false;
  // Pass 1 keeps one row per source key (see the design note): the source
  // columns of the dedup key; how many rows it left out.
  bool dedup_stream = false;
  std::vector<std::string> dedup_key_sources;
  int64_t superseded_rows = 0;
  std::vector<int> keep_last_by;  // column indexes in shapes[0]
  std::vector<pg_store::TableShape> shapes;
  std::vector<RowHasher> hashers;
  std::vector<std::unordered_set<size_t>> diff_buckets;  // pass 2 filter per table
};

// Folds one batch of rows of table `t` into `side` for the given pass.
void Absorb(const EntityPlan& plan, size_t t, const RowBatch& batch, bool second_pass,
            SideTable* side) {
  const RowHasher& hasher = plan.hashers[t];
  std::vector<uint64_t> column_hashes;
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    if (!second_pass) {
      const uint64_t h = hasher.RowHash(batch, r, &column_hashes);
      const size_t bucket = hasher.KeyHash(column_hashes) & (kBuckets - 1);
      side->buckets[bucket].count++;
      side->buckets[bucket].sum += h;
      side->rows++;
      continue;
    }
    const size_t bucket = hasher.KeyHash(batch, r) & (kBuckets - 1);
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

// Bytes that compare (memcmp) as the numeric `text` does in PostgreSQL:
// -Infinity, negatives, zero, positives, Infinity, NaN. A finite value is
// its decimal exponent (the position of its point after the first
// significant digit), then those digits; negatives with every byte inverted,
// so that a greater magnitude sorts first.
std::string NumericOrderBytes(std::string_view text) {
  if (text == "-Infinity") return std::string(1, '\x00');
  if (text == "Infinity") return std::string(1, '\x04');
  auto canonical = map::CanonicalNumeric(text);
  if (!canonical.ok() || *canonical == "NaN") return std::string(1, '\x05');
  std::string_view v = *canonical;
  if (v == "0") return std::string(1, '\x02');
  const bool negative = v.front() == '-';
  if (negative) v.remove_prefix(1);
  const size_t dot = v.find('.');
  const std::string_view int_part = v.substr(0, dot);
  const std::string_view frac_part = dot == std::string_view::npos ? "" : v.substr(dot + 1);
  std::string digits;
  int32_t exponent = 0;
  if (int_part != "0") {
    exponent = static_cast<int32_t>(int_part.size());
    digits.append(int_part).append(frac_part);
  } else {
    const size_t lead = frac_part.find_first_not_of('0');
    exponent = -static_cast<int32_t>(lead);
    digits.append(frac_part.substr(lead));
  }
  digits.erase(digits.find_last_not_of('0') + 1);
  std::string body;
  const uint32_t biased = static_cast<uint32_t>(exponent) ^ (uint32_t{1} << 31);
  for (int shift = 24; shift >= 0; shift -= 8) body.push_back(static_cast<char>(biased >> shift));
  body.append(digits);
  body.push_back('\0');  // a shorter digit string is the smaller value
  if (negative) {
    for (char& c : body) c = static_cast<char>(~static_cast<unsigned char>(c));
  }
  return (negative ? std::string(1, '\x01') : std::string(1, '\x03')) + body;
}

// Bytes that compare (memcmp) as the keep_last_by values do in the merge:
// integers and times big-endian with the sign flipped, floats by the IEEE
// order trick, numerics by NumericOrderBytes, text as is (COLLATE "C") with
// a terminator.
std::string RankOf(const RowBatch& batch, size_t row, const std::vector<int>& columns) {
  std::string out;
  for (int c : columns) {
    const Column& col = batch.columns[c];
    if (col.IsNull(row)) {
      out.push_back('\0');
      continue;
    }
    out.push_back('\1');
    uint64_t bits = 0;
    switch (col.type()) {
      case ValueType::kFloat64:
        bits = static_cast<uint64_t>(col.IntAt(row));
        bits = (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
        break;
      case ValueType::kNumeric:
        out.append(NumericOrderBytes(col.BytesAt(row)));
        continue;
      case ValueType::kText:
        out.append(col.BytesAt(row));
        out.push_back('\0');
        continue;
      default:
        bits = static_cast<uint64_t>(col.IntAt(row)) ^ (uint64_t{1} << 63);
    }
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(bits >> shift));
  }
  return out;
}

// Pass 2 of a chunked source: keeps, per key, the row the backfill kept.
void AbsorbRanked(const EntityPlan& plan, const store::SourceBatch& in,
                  const map::MappedBatch& mapped, int64_t chunk_seq, SideTable* side) {
  const RowHasher& hasher = plan.hashers[0];
  const RowBatch& batch = mapped.tables[0];
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    const size_t bucket = hasher.KeyHash(batch, r) & (kBuckets - 1);
    if (!plan.diff_buckets[0].contains(bucket)) continue;
    RowInfo info;
    info.row_hash = hasher.RowHash(batch, r, &info.column_hashes);
    info.floats.assign(batch.columns.size(), std::nullopt);
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (batch.columns[c].type() == ValueType::kFloat64 && !batch.columns[c].IsNull(r)) {
        info.floats[c] = batch.columns[c].FloatAt(r);
      }
    }
    info.rank = RankOf(batch, r, plan.keep_last_by);
    info.order = (chunk_seq << 40) + in.positions[mapped.origins[0][r].record].record_index;
    info.occurrences = 1;
    auto [it, inserted] = side->rows_in_diff.try_emplace(hasher.KeyText(batch, r), info);
    if (inserted) continue;
    const int occurrences = it->second.occurrences + 1;
    if (std::tie(info.rank, info.order) > std::tie(it->second.rank, it->second.order)) {
      it->second = std::move(info);
    }
    it->second.occurrences = occurrences;
  }
}

// A row's non-NULL lookup names: (dimension entity, name).
using LookupNames = std::vector<std::pair<std::string, std::string>>;

LookupNames LookupNamesOf(const spec::EntitySpec& entity, const store::SourceBatch& in,
                          size_t record) {
  LookupNames out;
  for (const auto& c : entity.columns) {
    if (!c.lookup) continue;
    const int at = in.rows.IndexOf(c.from.empty() ? c.name : c.from);
    if (at < 0 || in.rows.columns[at].IsNull(record)) continue;
    out.emplace_back(c.lookup->entity, std::string(in.rows.columns[at].BytesAt(record)));
  }
  return out;
}

bool HasLookups(const spec::EntitySpec& entity) {
  return std::any_of(entity.columns.begin(), entity.columns.end(),
                     [](const spec::ColumnSpec& c) { return c.lookup.has_value(); });
}

// Pass 1 of a dedup entity: per key hash that repeats in the source, the row
// the backfill kept among those read so far. Shared by the reader threads.
class RepeatedKeys {
 public:
  explicit RepeatedKeys(std::vector<int64_t> hashes)
      : hashes_(std::move(hashes)), slots_(hashes_.size()) {
    // A bit per hash value's low bits, 16 bits per repeated key or more: most
    // rows' keys do not repeat, and one probe of this (it fits a core's
    // cache) tells them apart without searching the sorted hashes.
    size_t bits = size_t{1} << 16;
    while (bits < 16 * hashes_.size()) bits <<= 1;
    filter_mask_ = bits - 1;
    filter_.assign(bits / 64, 0);
    for (int64_t h : hashes_) {
      const size_t bit = static_cast<uint64_t>(h) & filter_mask_;
      filter_[bit / 64] |= uint64_t{1} << (bit % 64);
    }
  }

  // The slot of `source_hash`, or -1 when the source holds that key once.
  int64_t SlotOf(int64_t source_hash) const {
    const size_t bit = static_cast<uint64_t>(source_hash) & filter_mask_;
    if ((filter_[bit / 64] >> (bit % 64) & 1) == 0) return -1;
    auto it = std::lower_bound(hashes_.begin(), hashes_.end(), source_hash);
    return it != hashes_.end() && *it == source_hash ? it - hashes_.begin() : -1;
  }

  // Offers one row of the slot's key; the greatest (rank, order) stays.
  // `row_hash` is empty for a row the mapper rejected: if it ranks first,
  // the backfill stored nothing for the key (its source skipped the older
  // rows before mapping), so neither does verify.
  // `names`: the row's lookup names (LookupNamesOf), which the dimensions
  // hold only if the row is the one kept.
  void Offer(int64_t slot, std::string rank, int64_t order, std::optional<uint64_t> row_hash,
             size_t bucket, LookupNames names = {}) {
    std::lock_guard<std::mutex> lock(locks_[static_cast<size_t>(slot) % locks_.size()]);
    Slot& s = slots_[static_cast<size_t>(slot)];
    if (!row_hash) s.rejected++;
    if (++s.rows > 1 && std::tie(rank, order) <= std::tie(s.rank, s.order)) return;
    s.rank = std::move(rank);
    s.order = order;
    s.row_hash = row_hash;
    s.bucket = bucket;
    s.names = std::move(names);
  }

  struct Folded {
    int64_t superseded = 0;  // rows that lost to a later one of their key
    // Of them, rows the mapper rejected: the backfill never mapped them, so
    // they are superseded, not rejects.
    int64_t superseded_rejects = 0;
  };

  // Folds every slot's kept row into `side`, and its lookup names into
  // `names`.
  Folded FoldKeptRows(SideTable* side, DimensionNames* names) const {
    Folded folded;
    for (const Slot& s : slots_) {
      if (s.rows == 0) continue;
      folded.superseded += s.rows - 1;
      folded.superseded_rejects += s.rejected - (s.row_hash ? 0 : 1);
      if (!s.row_hash) continue;
      side->buckets[s.bucket].count++;
      side->buckets[s.bucket].sum += *s.row_hash;
      side->rows++;
      for (const auto& [dimension, name] : s.names) (*names)[dimension].emplace(name);
    }
    return folded;
  }

 private:
  struct Slot {
    std::string rank;  // RankOf the kept row
    int64_t order = -1;
    std::optional<uint64_t> row_hash;  // empty: the kept row is a reject
    size_t bucket = 0;
    int64_t rows = 0;      // offered
    int64_t rejected = 0;  // offered without a row hash
    LookupNames names;     // of the kept row
  };
  std::vector<int64_t> hashes_;  // sorted
  std::vector<Slot> slots_;      // parallel to hashes_
  std::vector<uint64_t> filter_;
  size_t filter_mask_ = 0;
  std::array<std::mutex, 64> locks_;
};

// Pass 1 of a dedup entity: folds the rows of keys the source holds once,
// and offers the others to `repeated`.
Status AbsorbHoldingRepeats(const EntityPlan& plan, const store::SourceBatch& in,
                            const map::MappedBatch& mapped, int64_t chunk_seq,
                            RepeatedKeys* repeated, SideTable* side) {
  const RowHasher& hasher = plan.hashers[0];
  const RowBatch& batch = mapped.tables[0];
  const int hash_column = in.rows.IndexOf(store::kKeyHashColumn);
  if (hash_column < 0) return Internal("the source's chunks lack their key hashes");
  const Column& source_hashes = in.rows.columns[hash_column];
  const bool lookups = HasLookups(*plan.entity);
  std::vector<uint64_t> column_hashes;
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    const uint64_t h = hasher.RowHash(batch, r, &column_hashes);
    const size_t bucket = hasher.KeyHash(column_hashes) & (kBuckets - 1);
    const size_t record = mapped.origins[0][r].record;
    const int64_t slot = repeated->SlotOf(source_hashes.IntAt(record));
    if (slot >= 0) {
      repeated->Offer(slot, RankOf(batch, r, plan.keep_last_by),
                      (chunk_seq << 40) + in.positions[record].record_index, h, bucket,
                      lookups ? LookupNamesOf(*plan.entity, in, record) : LookupNames());
      continue;
    }
    side->buckets[bucket].count++;
    side->buckets[bucket].sum += h;
    side->rows++;
  }
  return Status::Ok();
}

// Folds one thread's side into `into`.
void MergeSide(SideTable&& from, SideTable* into) {
  for (size_t b = 0; b < kBuckets; ++b) {
    into->buckets[b].count += from.buckets[b].count;
    into->buckets[b].sum += from.buckets[b].sum;
  }
  into->rows += from.rows;
  into->unmappable += from.unmappable;
  for (auto& [key, info] : from.rows_in_diff) {
    auto [it, inserted] = into->rows_in_diff.try_emplace(key, info);
    if (inserted) continue;
    const int occurrences = it->second.occurrences + info.occurrences;
    if (std::tie(info.rank, info.order) > std::tie(it->second.rank, it->second.order)) {
      it->second = std::move(info);
    }
    it->second.occurrences = occurrences;
  }
}

// Adds the lookup names of mapped rows of `in` to `names`. The rows of keys
// that repeat (`repeated`, may be null) add theirs only if kept (FoldKeptRows):
// the backfill never resolves the names of superseded rows.
void CollectNames(const spec::EntitySpec& entity, const store::SourceBatch& in,
                  const map::MappedBatch& mapped, const RepeatedKeys* repeated,
                  DimensionNames* names) {
  const int hash_column = repeated ? in.rows.IndexOf(store::kKeyHashColumn) : -1;
  for (const auto& c : entity.columns) {
    if (!c.lookup) continue;
    const int at = in.rows.IndexOf(c.from.empty() ? c.name : c.from);
    if (at < 0) continue;
    auto& set = (*names)[c.lookup->entity];
    const Column& col = in.rows.columns[at];
    for (const auto& origin : mapped.origins[0]) {
      // Probe first: emplace would build a node (and a string) for every row.
      if (col.IsNull(origin.record)) continue;
      if (hash_column >= 0 &&
          repeated->SlotOf(in.rows.columns[hash_column].IntAt(origin.record)) >= 0) {
        continue;
      }
      const std::string_view name = col.BytesAt(origin.record);
      if (!set.contains(name)) set.emplace(name);
    }
  }
}

// The source columns of the entity's dedup key and keep_last_by, when the
// deduplicated stream can stand for the source (see the design note).
bool PlanDedupStream(const spec::EntitySpec& entity, EntityPlan* plan) {
  if (!plan->chunked || !entity.dedup || entity.dedup->key.empty()) return false;
  std::optional<SourceDedup> dedup = SourceDedupOf(entity);
  if (!dedup) return false;
  plan->dedup_key_sources = std::move(dedup->key);
  return true;
}

// `shape` with only its key columns, in the shape's order (a batch mapped by
// KeyEntity has them in that order too).
pg_store::TableShape KeysOnly(const pg_store::TableShape& shape) {
  pg_store::TableShape keys = shape;
  keys.columns.clear();
  for (const auto& c : shape.columns) {
    if (std::find(shape.key.begin(), shape.key.end(), c.name) != shape.key.end()) {
      keys.columns.push_back(c);
    }
  }
  return keys;
}

// `entity` with only the key columns of `shape`: its mapper rejects what the
// whole entity's would for a missing key, and maps nothing else.
spec::EntitySpec KeyEntity(const spec::EntitySpec& entity, const pg_store::TableShape& shape) {
  spec::EntitySpec keys = entity;
  keys.columns.clear();
  for (const auto& c : entity.columns) {
    if (std::find(shape.key.begin(), shape.key.end(), c.name) != shape.key.end()) {
      keys.columns.push_back(c);
    }
  }
  keys.dedup.reset();
  keys.indexes.clear();
  return keys;
}

// `entity` with only its key, dedup key and keep_last_by columns: enough to
// rank a record the whole entity's mapper rejected. Its mapper rejects a
// record without a key or keep_last_by value, which cannot be ranked.
spec::EntitySpec RankEntity(const spec::EntitySpec& entity, const pg_store::TableShape& shape) {
  spec::EntitySpec ranked = entity;
  ranked.columns.clear();
  auto named = [](const std::vector<std::string>& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const auto& c : entity.columns) {
    if (named(shape.key, c.name) || named(entity.dedup->key, c.name) ||
        named(entity.dedup->keep_last_by, c.name)) {
      ranked.columns.push_back(c);
    }
  }
  ranked.indexes.clear();
  return ranked;
}

// Ranks the records a dedup entity's mapper rejected, for pass 1.
class RejectRanker {
 public:
  static Result<std::unique_ptr<RejectRanker>> Create(const spec::EntitySpec& entity,
                                                      const pg_store::TableShape& shape) {
    std::unique_ptr<RejectRanker> r(new RejectRanker());
    r->entity_ = RankEntity(entity, shape);
    ASSIGN_OR_RETURN(r->mapper_, map::ColumnarMapper::Create(r->entity_));
    for (const auto& name : entity.dedup->keep_last_by) {
      for (size_t i = 0; i < r->entity_.columns.size(); ++i) {
        if (r->entity_.columns[i].name == name) r->keep_last_by_.push_back(static_cast<int>(i));
      }
    }
    return r;
  }

  // Offers to `repeated` each record of `in` that `mapped` rejected and
  // whose key repeats in the source, without a row hash (see
  // RepeatedKeys::Offer).
  Status Offer(const store::SourceBatch& in, const map::MappedBatch& mapped, int64_t chunk_seq,
               RepeatedKeys* repeated) {
    const int hash_column = in.rows.IndexOf(store::kKeyHashColumn);
    if (hash_column < 0) return Internal("the source's chunks lack their key hashes");
    const Column& source_hashes = in.rows.columns[hash_column];
    keep_.clear();
    size_t next_mapped = 0;
    for (size_t record = 0; record < in.size(); ++record) {
      if (next_mapped < mapped.origins[0].size() &&
          mapped.origins[0][next_mapped].record == record) {
        ++next_mapped;
        continue;
      }
      if (repeated->SlotOf(source_hashes.IntAt(record)) >= 0) keep_.push_back(record);
    }
    if (keep_.empty()) return Status::Ok();
    PickRecords(in, keep_, &picked_);
    mapper_->Map(picked_, &ranked_);
    for (size_t r = 0; r < ranked_.tables[0].num_rows(); ++r) {
      const size_t record = keep_[ranked_.origins[0][r].record];
      repeated->Offer(repeated->SlotOf(source_hashes.IntAt(record)),
                      RankOf(ranked_.tables[0], r, keep_last_by_),
                      (chunk_seq << 40) + in.positions[record].record_index, std::nullopt, 0);
    }
    return Status::Ok();
  }

 private:
  RejectRanker() = default;
  spec::EntitySpec entity_;
  std::unique_ptr<map::ColumnarMapper> mapper_;
  std::vector<int> keep_last_by_;  // in entity_'s columns
  std::vector<size_t> keep_;
  store::SourceBatch picked_;
  map::MappedBatch ranked_;
};

Status ReadChunkedSource(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                         EntityPlan* plan, bool second_pass, std::vector<SideTable>* sides,
                         DimensionNames* names) {
  std::vector<SideTable> local(std::max(1, jobs));
  std::vector<DimensionNames> local_names(local.size());
  const spec::EntitySpec& entity = *plan->entity;
  std::unique_ptr<RepeatedKeys> repeated;  // pass 1 of a dedup entity
  std::vector<std::unique_ptr<RejectRanker>> reject_rankers(local.size());
  auto on_batch = [&](int t, int64_t seq, const store::SourceBatch& in,
                      const map::MappedBatch& mapped) -> Status {
    if (second_pass) {
      AbsorbRanked(*plan, in, mapped, seq, &local[t]);
      return Status::Ok();
    }
    if (repeated != nullptr) {
      RETURN_IF_ERROR(AbsorbHoldingRepeats(*plan, in, mapped, seq, repeated.get(), &local[t]));
      if (mapped.counts[0].rejected > 0) {
        if (reject_rankers[t] == nullptr) {
          ASSIGN_OR_RETURN(reject_rankers[t], RejectRanker::Create(entity, plan->shapes[0]));
        }
        RETURN_IF_ERROR(reject_rankers[t]->Offer(in, mapped, seq, repeated.get()));
      }
    } else {
      Absorb(*plan, 0, mapped.tables[0], false, &local[t]);
    }
    local[t].unmappable += mapped.counts[0].rejected;
    CollectNames(entity, in, mapped, repeated.get(), &local_names[t]);
    return Status::Ok();
  };
  ChunkedScanOptions options;
  options.threads = static_cast<int>(local.size());
  options.batch_rows = kScanBatchRows;
  options.url = url;
  // Pass 2 maps a record whole only when its key falls in a differing
  // bucket: the key columns alone are mapped (and looked up) to tell.
  spec::EntitySpec key_entity = KeyEntity(entity, plan->shapes[0]);
  const RowHasher key_hasher(KeysOnly(plan->shapes[0]));
  std::vector<std::unique_ptr<map::ColumnarMapper>> key_mappers(local.size());
  std::vector<map::MappedBatch> key_batches(local.size());
  std::unique_ptr<LookupResolver> key_resolver;
  if (second_pass) {
    if (!url.empty()) {
      ASSIGN_OR_RETURN(key_resolver, LookupResolver::Create(migration, key_entity, url,
                                                            /*create_missing=*/false));
    }
    options.select = [&](int t, const store::SourceBatch& in, std::vector<size_t>* keep) {
      if (key_mappers[t] == nullptr) {
        ASSIGN_OR_RETURN(key_mappers[t], map::ColumnarMapper::Create(key_entity));
      }
      map::MappedBatch& keys = key_batches[t];
      key_mappers[t]->Map(in, &keys);
      if (key_resolver) RETURN_IF_ERROR(key_resolver->Resolve(&keys));
      for (size_t r = 0; r < keys.tables[0].num_rows(); ++r) {
        const size_t bucket = key_hasher.KeyHash(keys.tables[0], r) & (kBuckets - 1);
        if (plan->diff_buckets[0].contains(bucket)) keep->push_back(keys.origins[0][r].record);
      }
      return Status::Ok();
    };
  }
  // Pass 1 of a dedup entity keeps one row per source key, as the backfill
  // did (see the design note).
  if (!second_pass && plan->dedup_stream) {
    options.prepare = [&](store::ChunkedSource* src) -> Status {
      const auto started = std::chrono::steady_clock::now();
      auto hashes = src->HashKeys(plan->dedup_key_sources);
      spdlog::debug(
          "{}: source keys hashed in {:.2f} s", entity.name,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      if (hashes.ok()) {
        repeated = std::make_unique<RepeatedKeys>(std::move(hashes).value());
        return Status::Ok();
      }
      if (hashes.status().code() != StatusCode::kFailedPrecondition &&
          hashes.status().code() != StatusCode::kInvalidArgument) {
        return hashes.status();
      }
      spdlog::debug("{}: {}; repeated keys are resolved key by key", entity.name,
                    hashes.status().ToString());
      plan->dedup_stream = false;
      return Status::Ok();
    };
  }
  RETURN_IF_ERROR(ScanChunkedSource(migration, entity, options, on_batch).status());
  if (repeated != nullptr) {
    const RepeatedKeys::Folded folded = repeated->FoldKeptRows(&local[0], &local_names[0]);
    plan->superseded_rows = folded.superseded;
    local[0].unmappable -= folded.superseded_rejects;
  }
  for (auto& side : local) MergeSide(std::move(side), &(*sides)[0]);
  if (!second_pass) {
    for (auto& per_thread : local_names) {
      for (auto& [dimension, set] : per_thread) (*names)[dimension].merge(set);
    }
  }
  return Status::Ok();
}

Status ReadSource(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                  EntityPlan* plan, bool second_pass, std::vector<SideTable>* sides,
                  DimensionNames* names) {
  if (plan->chunked) {
    return ReadChunkedSource(migration, url, jobs, plan, second_pass, sides, names);
  }
  ASSIGN_OR_RETURN(auto reader, OpenSource(migration, *plan->entity));
  RETURN_IF_ERROR(reader->Open({}));
  store::SourceBatch in;
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

// A key value as a SQL literal of its type, or nullopt for types (and
// values, such as infinite dates) whose text PostgreSQL might not read back.
std::optional<std::string> KeyLiteral(const Column& col, size_t row) {
  constexpr int64_t kFirstDay = -730119;  // 0001-01-01, in days since 2000-01-01
  constexpr int64_t kLastDay = 2921939;   // 9999-12-31
  constexpr int64_t kMicrosPerDay = 86400LL * 1000000;
  if (col.IsNull(row)) return std::nullopt;
  switch (col.type()) {
    case ValueType::kDate:
      if (col.IntAt(row) < kFirstDay || col.IntAt(row) > kLastDay) return std::nullopt;
      break;
    case ValueType::kTimestamptz:
      if (col.IntAt(row) < kFirstDay * kMicrosPerDay ||
          col.IntAt(row) >= (kLastDay + 1) * kMicrosPerDay) {
        return std::nullopt;
      }
      break;
    case ValueType::kInt32:
    case ValueType::kInt64:
    case ValueType::kBool:
    case ValueType::kText:
    case ValueType::kNumeric:
    case ValueType::kUuid:
      break;
    default:
      return std::nullopt;
  }
  return pg_store::QuoteLiteral(ValueText(col, row)) +
         "::" + std::string(PostgresTypeName(col.type()));
}

// Pass 2 of PostgreSQL: reads only the key columns (half the cost of every
// column here), then the rows whose key falls in a differing bucket, by key,
// through the key index. Nullopt when that list would be long (more than
// kMaxTargetedKeys) or a key does not print safely: then the table is read
// whole, as in pass 1.
constexpr size_t kMaxTargetedKeys = 4096;

Result<std::optional<std::string>> DifferingKeysCondition(pg_store::PgConnection* conn,
                                                          const EntityPlan& plan, size_t t) {
  const pg_store::TableShape keys_only = KeysOnly(plan.shapes[t]);
  const RowHasher hasher(keys_only);
  std::string tuples;
  size_t listed = 0;
  bool too_many = false;
  RETURN_IF_ERROR(
      pg_store::ScanTable(conn, keys_only, kScanBatchRows, [&](const RowBatch& batch) -> Status {
        for (size_t r = 0; r < batch.num_rows() && !too_many; ++r) {
          if (!plan.diff_buckets[t].contains(hasher.KeyHash(batch, r) & (kBuckets - 1))) continue;
          if (++listed > kMaxTargetedKeys) {
            too_many = true;
            break;
          }
          tuples += tuples.empty() ? "(" : ", (";
          for (size_t c = 0; c < batch.columns.size(); ++c) {
            std::optional<std::string> literal = KeyLiteral(batch.columns[c], r);
            if (!literal) {
              too_many = true;
              break;
            }
            tuples += (c ? ", " : "") + *literal;
          }
          tuples += ")";
        }
        return Status::Ok();
      }));
  if (too_many) return std::optional<std::string>();
  // No row of PostgreSQL is in a differing bucket: select none.
  if (listed == 0) return std::optional<std::string>("false");
  // Cast as ScanTable reads them, so a column stored as another type than the
  // spec's still compares (a cast to the column's own type is a no-op, and the
  // key index still serves).
  std::string columns;
  for (const auto& c : keys_only.columns) {
    columns += (columns.empty() ? "" : ", ") + pg_store::QuoteIdent(c.name) +
               "::" + std::string(PostgresTypeName(c.type));
  }
  // A VALUES list: PostgreSQL hashes it and probes the key index per key,
  // where an IN list of row constructors becomes an OR of index scans that
  // takes seconds to plan and run at 4096 keys (measured: 2.7 s against
  // 0.25 s).
  return std::optional<std::string>("(" + columns + ") IN (VALUES " + tuples + ")");
}

Status ReadTarget(const std::string& url, EntityPlan* plan, bool second_pass,
                  std::vector<SideTable>* sides) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  for (size_t t = 0; t < plan->shapes.size(); ++t) {
    if (second_pass && plan->diff_buckets[t].empty()) continue;
    std::optional<std::string> where;
    if (second_pass && !plan->shapes[t].key.empty()) {
      ASSIGN_OR_RETURN(where, DifferingKeysCondition(conn.get(), *plan, t));
    }
    RETURN_IF_ERROR(pg_store::ScanTable(
        conn.get(), plan->shapes[t], kScanBatchRows,
        [&](const RowBatch& batch) {
          Absorb(*plan, t, batch, second_pass, &(*sides)[t]);
          return Status::Ok();
        },
        where.value_or("")));
  }
  return Status::Ok();
}

// Reads both stores at once; the source and PostgreSQL each get a thread.
Status ReadBoth(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                EntityPlan* plan, bool second_pass, std::vector<SideTable>* source_side,
                std::vector<SideTable>* target_side, DimensionNames* names) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  Status target_status;
  double target_seconds = 0;
  std::thread target_thread([&] {
    target_status = ReadTarget(url, plan, second_pass, target_side);
    target_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  });
  Status source_status = ReadSource(migration, url, jobs, plan, second_pass, source_side, names);
  const double source_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  target_thread.join();
  // Which side bounds the pass, for tuning --jobs and the server.
  spdlog::debug("{} pass {}: source read in {:.2f} s, PostgreSQL in {:.2f} s", plan->entity->name,
                second_pass ? 2 : 1, source_seconds, target_seconds);
  RETURN_IF_ERROR(source_status.WithContext("reading the source of " + plan->entity->name));
  return target_status.WithContext("reading PostgreSQL for " + plan->entity->name);
}

bool WithinTolerance(double a, double b, double tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= tolerance * std::max(std::fabs(a), std::fabs(b));
}

void CompareRows(const pg_store::TableShape& shape, const SideTable& src, const SideTable& dst,
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

// Names of the definitions still set aside for (migration, entity).
Result<std::vector<std::string>> SetAsideDefinitions(const std::string& url,
                                                     const std::string& migration,
                                                     const std::string& entity) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  return catalog::DeferredNames(conn.get(), migration, entity);
}

Status RecordVerdicts(const std::string& url, const std::string& migration,
                      const std::vector<TableVerdict>& verdicts) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  RETURN_IF_ERROR(catalog::EnsureControlSchema(conn.get()));
  std::vector<catalog::VerifyRun> runs;
  for (const auto& v : verdicts) {
    runs.push_back(
        {v.entity, v.source_rows, v.target_rows, v.missing, v.extra, v.changed, v.clean()});
  }
  return catalog::RecordVerifyRuns(conn.get(), migration, runs);
}

// A dimension that lookups fill holds exactly the names the facts' source
// rows carry: compared as sets (names are its unique `match`). Nullopt when
// no fact entity naming it was verified in this run.
Result<std::optional<TableVerdict>> VerifyDimension(const spec::MigrationSpec& migration,
                                                    const std::string& url,
                                                    const spec::EntitySpec& dimension,
                                                    const DimensionNames& names,
                                                    const VerifyRequest& request) {
  auto it = names.find(dimension.name);
  std::string match;
  for (const auto& e : migration.entities) {
    for (const auto& c : e.columns) {
      if (c.lookup && c.lookup->entity == dimension.name) match = c.lookup->match;
    }
  }
  if (it == names.end() || match.empty()) return std::optional<TableVerdict>();
  const auto shape = pg_store::ShapeOf(dimension, nullptr);
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  ASSIGN_OR_RETURN(auto rows,
                   conn->Query(fmt::format("SELECT {} FROM {}", pg_store::QuoteIdent(match),
                                           shape.QualifiedName())));
  TableVerdict v;
  v.entity = dimension.name;
  v.table = shape.schema + "." + shape.table;
  v.source_rows = static_cast<int64_t>(it->second.size());
  v.target_rows = static_cast<int64_t>(rows.rows.size());
  std::unordered_set<std::string> in_target;
  for (const auto& row : rows.rows) {
    const std::string name = row[0].value_or("");
    in_target.insert(name);
    if (!it->second.contains(name)) {
      v.extra++;
      if (v.extra_keys.size() < request.max_listed_keys) v.extra_keys.push_back(match + "=" + name);
    }
  }
  for (const auto& name : it->second) {
    if (in_target.contains(name)) continue;
    v.missing++;
    if (v.missing_keys.size() < request.max_listed_keys)
      v.missing_keys.push_back(match + "=" + name);
  }
  v.matched = v.source_rows - v.missing;
  return std::optional<TableVerdict>(std::move(v));
}

}  // namespace

std::optional<double> TableVerdict::accuracy() const {
  const int64_t universe = matched + missing + changed + extra;
  if (universe == 0) return std::nullopt;
  return 100.0 * static_cast<double>(matched) / static_cast<double>(universe);
}

std::string TableVerdict::AccuracyText() const {
  const int64_t universe = matched + missing + changed + extra;
  if (universe == 0) return "-";
  // In integers: a double's 99.995 may print as 100.00, and its 99.99 may
  // floor to 99.98. matched * 10000 fits int64 below 9e14 keys.
  const int64_t hundredths = matched * 10000 / universe;
  return fmt::format("{}.{:02}%", hundredths / 100, hundredths % 100);
}

bool VerifyReport::clean() const {
  return !tables.empty() &&
         std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t.clean(); });
}

Result<VerifyReport> RunVerify(const spec::MigrationSpec& migration, const std::string& target_url,
                               const VerifyRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const double tolerance = request.float_tolerance.value_or(migration.verify.float_tolerance);
  const int jobs = request.jobs > 0 ? request.jobs : DefaultJobs();
  // The top-level entities to read, and (when names were given) the tables
  // to report: a child is read through its parent, a dimension through the
  // entities whose lookups fill it.
  std::set<std::string> to_read;
  std::set<std::string> to_report;
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    to_read.insert(match.top_level->name);
    if (match.is_dimension()) {
      if (match.filled_by.empty()) {
        return InvalidArgument(fmt::format(
            "--entity {}: it has no source and no entity's lookup fills it, so there is "
            "nothing to compare it with",
            name));
      }
      for (const auto* fact : match.filled_by) to_read.insert(fact->name);
      to_report.insert(name);
    } else {
      const auto names = EntityAndChildren(*match.entity);
      to_report.insert(names.begin(), names.end());
    }
  }
  VerifyReport report;
  DimensionNames dimension_names;
  std::vector<const spec::EntitySpec*> dimensions;
  std::unique_ptr<pg_store::PgConnection> catalog;  // opened on first use
  for (const auto& entity : migration.entities) {
    if (!request.entities.empty() && !to_read.contains(entity.name)) continue;
    if (entity.source.empty()) {  // a lookup dimension: checked after the facts
      dimensions.push_back(&entity);
      continue;
    }
    EntityPlan plan;
    plan.entity = &entity;
    plan.chunked = IsChunkedEntity(migration, entity);
    if (plan.chunked) {
      ASSIGN_OR_RETURN(plan.mapper, map::ColumnarMapper::Create(entity));
    } else {
      ASSIGN_OR_RETURN(plan.mapper, map::EntityMapper::Create(entity));
    }
    const auto& tables = plan.mapper->tables();
    if (catalog == nullptr) {
      ASSIGN_OR_RETURN(catalog, pg_store::PgConnection::ConnectWithRetry(target_url));
    }
    for (size_t t = 0; t < tables.size(); ++t) {
      int parent = plan.mapper->ParentOf(t);
      plan.shapes.push_back(pg_store::ShapeOf(*tables[t], parent >= 0 ? tables[parent] : nullptr));
      RETURN_IF_ERROR(catalog::ReadNumericScales(catalog.get(), &plan.shapes.back()));
      plan.hashers.emplace_back(plan.shapes.back());
    }
    for (const auto& k : plan.shapes[0].keep_last_by) {
      plan.keep_last_by.push_back(plan.shapes[0].IndexOf(k));
    }
    plan.diff_buckets.resize(tables.size());
    plan.dedup_stream = PlanDedupStream(entity, &plan);

    std::vector<SideTable> src(tables.size()), dst(tables.size());
    RETURN_IF_ERROR(
        ReadBoth(migration, target_url, jobs, &plan, false, &src, &dst, &dimension_names));
    // Pass 2 holds the rows of differing buckets in memory. When most buckets
    // differ (a source full of duplicates that the load resolved, say), that
    // is most of the table, so the differing buckets are split into rounds of
    // about kRowsPerRound rows (counted in pass 1), each one a re-read of both
    // stores: memory stays bounded, at the cost of one read per round.
    std::vector<std::vector<size_t>> differing(tables.size());
    int64_t differing_rows = 0;
    for (size_t t = 0; t < tables.size(); ++t) {
      for (size_t b = 0; b < kBuckets; ++b) {
        if (src[t].buckets[b] == dst[t].buckets[b]) continue;
        differing[t].push_back(b);
        differing_rows += src[t].buckets[b].count + dst[t].buckets[b].count;
      }
    }
    std::vector<TableVerdict> verdicts(tables.size());
    if (differing_rows > 0) {
      const int64_t rounds = (differing_rows + kRowsPerRound - 1) / kRowsPerRound;
      size_t buckets = 0;
      for (const auto& d : differing) buckets += d.size();
      spdlog::info("{}: {} buckets differ ({} rows); comparing their rows in {} round(s)",
                   entity.name, buckets, differing_rows, rounds);
      for (int64_t round = 0; round < rounds; ++round) {
        for (size_t t = 0; t < tables.size(); ++t) {
          plan.diff_buckets[t].clear();
          for (size_t b : differing[t]) {
            if (static_cast<int64_t>(b % rounds) == round) plan.diff_buckets[t].insert(b);
          }
          src[t].rows_in_diff.clear();
          dst[t].rows_in_diff.clear();
        }
        RETURN_IF_ERROR(
            ReadBoth(migration, target_url, jobs, &plan, true, &src, &dst, &dimension_names));
        for (size_t t = 0; t < tables.size(); ++t) {
          CompareRows(plan.shapes[t], src[t], dst[t], tolerance, request, &verdicts[t]);
        }
      }
    }
    for (size_t t = 0; t < tables.size(); ++t) {
      TableVerdict& v = verdicts[t];
      v.entity = tables[t]->name;
      v.table = plan.shapes[t].schema + "." + plan.shapes[t].table;
      v.target_rows = dst[t].rows;
      v.unmappable = src[t].unmappable;
      if (t == 0 && plan.dedup_stream) v.source_duplicates = plan.superseded_rows;
      v.source_rows = src[t].rows - (plan.dedup_stream ? 0 : v.source_duplicates);
      v.matched = v.source_rows - v.missing - v.changed;
      if (t == 0) {
        ASSIGN_OR_RETURN(v.set_aside, SetAsideDefinitions(target_url, migration.name, entity.name));
      }
      report.tables.push_back(std::move(v));
    }
  }
  for (const auto* dimension : dimensions) {
    ASSIGN_OR_RETURN(auto verdict,
                     VerifyDimension(migration, target_url, *dimension, dimension_names, request));
    if (verdict) report.tables.push_back(std::move(*verdict));
  }
  if (!to_report.empty()) {
    std::erase_if(report.tables,
                  [&](const TableVerdict& v) { return !to_report.contains(v.entity); });
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
    out += fmt::format("{:<20} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}\n", t.entity,
                       t.source_rows, t.target_rows, t.matched, t.missing, t.extra, t.changed,
                       t.AccuracyText());
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
    if (!t.set_aside.empty()) {
      out += fmt::format(
          "  {}: not clean: {} of its key, indexes or constraints are still set aside in "
          "cutover.deferred_ddl by an unfinished bulk load ({}); run backfill again to build "
          "them (see the README on bulk loads)\n",
          t.entity, t.set_aside.size(), fmt::join(t.set_aside, ", "));
    }
  }
  if (report.tables.empty()) {
    out += fmt::format("nothing was compared, so nothing is proven; verify took {:.1f}s\n",
                       report.seconds);
    return out;
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
    e["set_aside"] = t.set_aside;
    const std::optional<double> accuracy = t.accuracy();
    e["accuracy_percent"] = accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr);
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
