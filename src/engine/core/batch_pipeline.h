// Reads and maps source batches on a thread of their own, so the source
// side works while PostgreSQL ingests the previous batch.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "map/record_mapper.h"
#include "store/batch_reader.h"

namespace cutover::engine {

struct MappedWork {
  store::StoreBatch in;
  map::MappedBatch mapped;
};

// Batches come out in source order. At most `depth` mapped batches wait, plus
// the one the caller holds and the one being mapped, so memory is bounded by
// (depth + 2) batches whatever the input size. Work objects are recycled to
// keep their buffers. One consumer thread; the reader and mapper are used
// only by the pipeline's thread until the pipeline is destroyed.
class BatchPipeline {
 public:
  BatchPipeline(store::BatchReader* reader, map::RecordMapper* mapper, size_t batch_size,
                size_t depth = 2);
  ~BatchPipeline();  // stops the thread, discarding what was not taken
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // The next batch, or nullptr at the end of the source. The batch stays
  // valid until the next call. A read error ends the stream with its Status.
  Result<MappedWork*> Next();

 private:
  void Produce();

  store::BatchReader* const reader_;
  map::RecordMapper* const mapper_;
  const size_t batch_size_;
  const size_t depth_;

  std::mutex mu_;  // protects everything below
  std::condition_variable changed_;
  std::deque<std::unique_ptr<MappedWork>> ready_;
  std::deque<std::unique_ptr<MappedWork>> free_;
  std::unique_ptr<MappedWork> held_;  // handed to the consumer
  bool finished_ = false;             // the producer has pushed its last batch
  bool stopping_ = false;
  Status error_;

  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace cutover::engine
