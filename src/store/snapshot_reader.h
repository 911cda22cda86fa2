// SnapshotReader: the copy side of a store. Plans stable partitions and opens
// a BatchReader on any of them at a cursor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/value_type.h"
#include "store/batch_reader.h"
#include "store/cursor.h"

namespace cutover::store {

// What a batch's rows look like, which picks the mapper family.
enum class RecordShape {
  // One "$doc" column (kJsonb: the record's exact text) and, for stores that
  // key documents outside them (a JSON object keyed by id, a Redis key), a
  // "$key" column (kText, NULL when absent). Mapped by map/entity_mapper.
  kDocuments,
  // Typed columns named as the store names them (Parquet, CSV, a PostgreSQL
  // table). Mapped by map/columnar_mapper.
  kColumns,
};

// A unit of resumable work: a JSON file, a run of a Parquet file's row
// groups, a range of keys, a device's time window. `id` is stable across
// processes and runs as long as the data is unchanged, so a ledger can key
// progress by it; `origin` names it for people.
struct Partition {
  std::string id;
  std::string origin;
  int64_t records = -1;  // when known before reading, else -1
  int64_t bytes = -1;    // when known (progress and ETA), else -1
};

// A column as the store describes it.
struct ColumnDescription {
  std::string name;
  ValueType type = ValueType::kText;
};

// Thread-safe: Plan, Describe and Open may be called from several threads at
// once (parallel workers share one reader); each BatchReader belongs to the
// thread that uses it. SelectColumns is the exception: call it before any Open.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;

  virtual RecordShape shape() const = 0;

  // Whether every batch a reader yields carries its keys' versions
  // (StoreBatch::versions), so that every write of a key is claimed by
  // version and two writers of one key take turns (catalog/key_versions.h).
  virtual bool versioned() const { return false; }

  // The columns batches carry (for kDocuments, "$doc" and maybe "$key"); for
  // a glob of files, the union of theirs.
  virtual Result<std::vector<ColumnDescription>> Describe() = 0;

  // Restricts the columns readers yield to those of `columns` the store has
  // (empty: all), so that a column nobody reads is never decoded. Stores of
  // documents ignore it. REQUIRES: no BatchReader opened yet.
  virtual void SelectColumns(const std::vector<std::string>& columns) { (void)columns; }

  // Per partition origin (a file of a glob), those of `columns` it lacks,
  // so that data whose schema drifted is named, not read as NULLs. Default:
  // none (stores without per-partition schemas).
  virtual Result<std::vector<std::pair<std::string, std::vector<std::string>>>> MissingColumns(
      const std::vector<std::string>& columns) {
    (void)columns;
    return std::vector<std::pair<std::string, std::vector<std::string>>>{};
  }

  // Every partition, in a deterministic order; the same ids on every call
  // and in every process while the data is unchanged.
  virtual Result<std::vector<Partition>> Plan() = 0;

  // Partitions for one pass by `readers` parallel readers that keep no
  // ledger (verify, a dry run): the store may join Plan()'s partitions into
  // fewer, longer reads where each read has a fixed cost (a query that binds
  // a file's footer). Their ids are good for Open on this reader only.
  // Default: Plan().
  virtual Result<std::vector<Partition>> PlanScan(int readers) {
    (void)readers;
    return Plan();
  }

  // A reader of `partition` positioned at `from` (the empty cursor: its
  // first record; else a StoreBatch::end previously returned by a reader of
  // the same partition). InvalidArgument for a partition this store did not
  // plan or a cursor it cannot read.
  virtual Result<std::unique_ptr<BatchReader>> Open(const Partition& partition,
                                                    const Cursor& from) = 0;
};

}  // namespace cutover::store
