// Reads a store of columns (Parquet/CSV) on several threads, mapped and with
// lookups resolved read-only: the source side of verify.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/core/source_factory.h"
#include "map/record_mapper.h"
#include "spec/spec.h"
#include "store/batch_reader.h"
#include "store/store.h"

namespace cutover::engine {

// Called for every mapped batch, on the thread `worker` (0 .. threads-1)
// that read it; `chunk_seq` is the place in the scan's plan of the partition
// read (SnapshotReader::PlanScan), so a caller can order rows as the source
// does (chunk_seq, then record_index). Calls on one
// worker are sequential; different workers call concurrently.
using ScanCallback = std::function<Status(
    int worker, int64_t chunk_seq, const store::StoreBatch& in, const map::MappedBatch& mapped)>;

// Picks, before a batch is mapped, the records worth mapping: `keep` (empty
// on entry) gets their indexes in the batch, ascending. Called on the worker's
// thread, like the ScanCallback.
using ScanSelector =
    std::function<Status(int worker, const store::StoreBatch& in, std::vector<size_t>* keep)>;

struct ColumnarScanOptions {
  int threads = 1;  // readers; each maps with its own mapper
  size_t batch_rows = 8192;
  // Empty: every record is mapped and handed over. Set: only those it keeps,
  // so that a scan that wants a few rows does not pay to map them all.
  ScanSelector select;
  std::string url;  // PostgreSQL, to resolve lookups (read-only); empty: names stay text
  // Called once with the opened store before any partition is read (to ask
  // it for the hashes of its repeated keys, say).
  std::function<Status(store::Store*)> prepare;
};

// The records `keep` (indexes into `in`, ascending) of `in`, in order, into
// `out`.
void PickRecords(const store::StoreBatch& in, const std::vector<size_t>& keep,
                 store::StoreBatch* out);

// Scans every partition of the entity's store once; returns the number of
// threads used (the callback's `worker` is below it). Lookup names the
// dimension lacks resolve to NULL, so such rows show up as differences.
Result<int> ScanColumnarStore(const spec::MigrationSpec& migration, const spec::EntitySpec& entity,
                              const ColumnarScanOptions& options, const ScanCallback& on_batch);

}  // namespace cutover::engine
