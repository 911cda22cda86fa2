#include "engine/core/batch_pipeline.h"

namespace cutover::engine {

BatchPipeline::BatchPipeline(store::BatchReader* reader, map::RecordMapper* mapper,
                             size_t batch_size, size_t depth)
    : reader_(reader), mapper_(mapper), batch_size_(batch_size), depth_(depth), thread_([this] {
        Produce();
      }) {}

BatchPipeline::~BatchPipeline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchPipeline::Produce() {
  for (;;) {
    std::unique_ptr<MappedWork> work;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stopping_ || ready_.size() < depth_; });
      if (stopping_) return;
      if (!free_.empty()) {
        work = std::move(free_.front());
        free_.pop_front();
      }
    }
    if (!work) work = std::make_unique<MappedWork>();
    Result<bool> more = reader_->Next(batch_size_, &work->in);
    if (more.ok() && *more) mapper_->Map(work->in, &work->mapped);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!more.ok()) {
        error_ = more.status();
        finished_ = true;
      } else if (!*more) {
        finished_ = true;
      } else {
        ready_.push_back(std::move(work));
      }
    }
    changed_.notify_all();
    if (!more.ok() || !*more) return;
  }
}

Result<MappedWork*> BatchPipeline::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (held_) free_.push_back(std::move(held_));
  changed_.notify_all();
  changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
  if (!ready_.empty()) {
    held_ = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return held_.get();
  }
  if (!error_.ok()) return error_;
  return static_cast<MappedWork*>(nullptr);
}

}  // namespace cutover::engine
