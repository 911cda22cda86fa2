// Reading the legacy store for verify: documents on one thread, in the
// store's order; a store of columns on many, with pass 1's one-row-per-key fold for dedup.
#include "engine/verify/source_side.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "engine/core/columnar_scan.h"
#include "engine/core/lookup_resolver.h"
#include "engine/core/source_dedup.h"
#include "engine/core/source_factory.h"
#include "engine/verify/order_bytes.h"
#include "map/columnar_mapper.h"
#include "store/deduplication.h"

namespace cutover::engine::verify {
namespace {

// Pass 2 of a chunked source: keeps, per key, the row the backfill kept.
void AbsorbRanked(const VerifyPlan& plan, const store::StoreBatch& in,
                  const map::MappedBatch& mapped, int64_t chunk_seq, SideTable* side) {
  const RowHasher& hasher = plan.hashers[0];
  const RowBatch& batch = mapped.tables[0];
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    if (!plan.diff_buckets[0].contains(BucketOf(hasher.KeyHash(batch, r)))) continue;
    RowInfo info = DescribeRow(hasher, batch, r);
    info.ranked.rank = RankOf(batch, r, plan.keep_last_by);
    info.ranked.order =
        SourceOrder(chunk_seq, in.positions[mapped.origins[0][r].record].record_index);
    info.occurrences = 1;
    side->KeepRanked(hasher.KeyText(batch, r), std::move(info));
  }
}

LookupNames LookupNamesOf(const spec::EntitySpec& entity, const store::StoreBatch& in,
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

// Pass 1 of a dedup entity: folds the rows of keys the source holds once,
// and offers the others to `repeated`.
Status AbsorbHoldingRepeats(const VerifyPlan& plan, const store::StoreBatch& in,
                            const map::MappedBatch& mapped, int64_t chunk_seq,
                            RepeatedKeys* repeated, SideTable* side) {
  const RowHasher& hasher = plan.hashers[0];
  const RowBatch& batch = mapped.tables[0];
  const int hash_column = in.rows.IndexOf(store::kKeyHashColumnName);
  if (hash_column < 0) return Internal("the source's chunks lack their key hashes");
  const Column& source_hashes = in.rows.columns[hash_column];
  const bool lookups = HasLookups(*plan.entity);
  std::vector<uint64_t> column_hashes;
  for (size_t r = 0; r < batch.num_rows(); ++r) {
    const uint64_t h = hasher.RowHash(batch, r, &column_hashes);
    const size_t bucket = BucketOf(hasher.KeyHash(column_hashes));
    const size_t record = mapped.origins[0][r].record;
    const int64_t slot = repeated->SlotOf(source_hashes.IntAt(record));
    if (slot >= 0) {
      repeated->Offer(slot,
                      RowRank{RankOf(batch, r, plan.keep_last_by),
                              SourceOrder(chunk_seq, in.positions[record].record_index)},
                      h, bucket, lookups ? LookupNamesOf(*plan.entity, in, record) : LookupNames());
      continue;
    }
    side->Fold(bucket, h);
  }
  return Status::Ok();
}

// Adds the lookup names of mapped rows of `in` to `names`. The rows of keys
// that repeat (`repeated`, may be null) add theirs only if kept (FoldKeptRows):
// the backfill never resolves the names of superseded rows.
void CollectNames(const spec::EntitySpec& entity, const store::StoreBatch& in,
                  const map::MappedBatch& mapped, const RepeatedKeys* repeated,
                  DimensionNames* names) {
  const int hash_column = repeated ? in.rows.IndexOf(store::kKeyHashColumnName) : -1;
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
  Status Offer(const store::StoreBatch& in, const map::MappedBatch& mapped, int64_t chunk_seq,
               RepeatedKeys* repeated) {
    const int hash_column = in.rows.IndexOf(store::kKeyHashColumnName);
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
                      RowRank{RankOf(ranked_.tables[0], r, keep_last_by_),
                              SourceOrder(chunk_seq, in.positions[record].record_index)},
                      std::nullopt, 0);
    }
    return Status::Ok();
  }

 private:
  RejectRanker() = default;
  spec::EntitySpec entity_;
  std::unique_ptr<map::ColumnarMapper> mapper_;
  std::vector<int> keep_last_by_;  // in entity_'s columns
  std::vector<size_t> keep_;
  store::StoreBatch picked_;
  map::MappedBatch ranked_;
};

Status ReadColumnarStore(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                         VerifyPlan* plan, bool second_pass, std::vector<SideTable>* sides,
                         DimensionNames* names) {
  std::vector<SideTable> local(std::max(1, jobs));
  std::vector<DimensionNames> local_names(local.size());
  const spec::EntitySpec& entity = *plan->entity;
  std::unique_ptr<RepeatedKeys> repeated;  // pass 1 of a dedup entity
  std::vector<std::unique_ptr<RejectRanker>> reject_rankers(local.size());
  auto on_batch = [&](int t, int64_t seq, const store::StoreBatch& in,
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
      Absorb(plan->hashers[0], mapped.tables[0], nullptr, &local[t]);
    }
    local[t].unmappable += mapped.counts[0].rejected;
    CollectNames(entity, in, mapped, repeated.get(), &local_names[t]);
    return Status::Ok();
  };
  ColumnarScanOptions options;
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
    options.select = [&](int t, const store::StoreBatch& in, std::vector<size_t>* keep) {
      if (key_mappers[t] == nullptr) {
        ASSIGN_OR_RETURN(key_mappers[t], map::ColumnarMapper::Create(key_entity));
      }
      map::MappedBatch& keys = key_batches[t];
      key_mappers[t]->Map(in, &keys);
      if (key_resolver) RETURN_IF_ERROR(key_resolver->Resolve(&keys));
      for (size_t r = 0; r < keys.tables[0].num_rows(); ++r) {
        if (plan->diff_buckets[0].contains(BucketOf(key_hasher.KeyHash(keys.tables[0], r)))) {
          keep->push_back(keys.origins[0][r].record);
        }
      }
      return Status::Ok();
    };
  }
  // Pass 1 of a dedup entity keeps one row per source key, as the backfill
  // did (docs/verify.md).
  if (!second_pass && plan->dedup_stream) {
    options.prepare = [&](store::Store* source) -> Status {
      const auto started = std::chrono::steady_clock::now();
      auto hashes =
          source->dedup() != nullptr
              ? source->dedup()->HashKeys(plan->dedup_key_sources)
              : Result<std::vector<int64_t>>(FailedPrecondition("this store cannot hash its keys"));
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
  RETURN_IF_ERROR(ScanColumnarStore(migration, entity, options, on_batch).status());
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

}  // namespace

bool PlanDedupStream(const spec::EntitySpec& entity, VerifyPlan* plan) {
  plan->dedup_stream = false;
  if (!plan->chunked || !entity.dedup || entity.dedup->key.empty()) return false;
  std::optional<SourceDedup> dedup = SourceDedupOf(entity);
  if (!dedup) return false;
  plan->dedup_key_sources = std::move(dedup->key);
  plan->dedup_stream = true;
  return true;
}

Status ReadSource(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                  VerifyPlan* plan, bool second_pass, std::vector<SideTable>* sides,
                  DimensionNames* names) {
  if (plan->chunked) {
    return ReadColumnarStore(migration, url, jobs, plan, second_pass, sides, names);
  }
  // Documents are read in the store's order, as the backfill loaded them.
  ASSIGN_OR_RETURN(auto store, OpenEntityStore(migration, *plan->entity, /*jobs=*/1));
  ASSIGN_OR_RETURN(const std::vector<store::Partition> partitions, store->snapshot().Plan());
  store::StoreBatch in;
  map::MappedBatch mapped;
  for (const store::Partition& partition : partitions) {
    ASSIGN_OR_RETURN(auto reader, store->snapshot().Open(partition, store::Cursor{}));
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader->Next(kScanBatchRows, &in));
      if (!more) break;
      plan->mapper->Map(in, &mapped);
      for (size_t t = 0; t < mapped.tables.size(); ++t) {
        Absorb(plan->hashers[t], mapped.tables[t], second_pass ? &plan->diff_buckets[t] : nullptr,
               &(*sides)[t]);
        if (!second_pass) (*sides)[t].unmappable += mapped.counts[t].rejected;
      }
    }
  }
  return Status::Ok();
}

}  // namespace cutover::engine::verify
