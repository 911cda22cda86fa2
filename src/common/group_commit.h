// GroupCommit: callers of one durable write (a file replace, a new Parquet
// file) share it: whoever finds no write running leads one for everyone queued.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <vector>

#include "common/status.h"

namespace cutover {

// GroupCommit design
//
// A caller queues its work and, if no write is running, becomes the leader:
// it takes everything queued so far (after lingering, when asked to, until
// `linger` has passed since the oldest of it arrived or `max_items` are
// queued), applies it in one write with `apply`, which sets every member's
// status and version, and wakes the members; callers that queued meanwhile
// wait and form the next group. A caller returns only once its own work's
// write is over, with that write's outcome: throughput grows with the
// callers waiting, and nothing is answered before it is durable.
// Thread-safe.
template <typename Work>
class GroupCommit {
 public:
  struct Options {
    std::chrono::microseconds linger{0};
    size_t max_items = std::numeric_limits<size_t>::max();
  };
  // One caller's part of a group: its work, and what `apply` made of it.
  struct Member {
    const Work* work = nullptr;
    size_t items = 0;
    std::chrono::steady_clock::time_point arrived;
    Status status;
    int64_t version = 0;
    bool done = false;
  };

  GroupCommit() = default;
  explicit GroupCommit(Options options) : options_(options) {}

  // Queues `work` (`items` of the units max_items counts) and returns its
  // version once a write carrying it is over, or that write's error for it.
  // `apply(std::vector<Member*>& group)` runs on the leader's thread, one
  // at a time, without the queue's lock held.
  template <typename Apply>
  Result<int64_t> Commit(const Work& work, size_t items, Apply&& apply) {
    Member me;
    me.work = &work;
    me.items = items;
    me.arrived = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&me);
    queued_items_ += items;
    arrived_.notify_all();
    while (!me.done) {
      if (leading_) {
        done_.wait(lock);
        continue;
      }
      leading_ = true;
      if (options_.linger.count() > 0) {
        const auto deadline = queue_.front()->arrived + options_.linger;
        arrived_.wait_until(lock, deadline, [&] { return queued_items_ >= options_.max_items; });
      }
      std::vector<Member*> group;
      group.swap(queue_);
      queued_items_ = 0;
      lock.unlock();
      apply(group);
      lock.lock();
      bool wrote = false;
      for (Member* m : group) {
        if (m->status.ok()) {
          applied_ += static_cast<int64_t>(m->items);
          wrote = true;
        }
        m->done = true;
      }
      if (wrote) ++writes_;
      leading_ = false;
      done_.notify_all();
    }
    if (!me.status.ok()) return me.status;
    return me.version;
  }

  // Writes done (a group none of whose members succeeded is none), and the
  // items they applied, since construction.
  int64_t writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  int64_t applied() const {
    std::lock_guard<std::mutex> lock(mu_);
    return applied_;
  }

 private:
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable done_;     // a write is over
  std::condition_variable arrived_;  // work was queued (ends a linger early)
  std::vector<Member*> queue_;       // protected by mu_
  size_t queued_items_ = 0;          // protected by mu_
  bool leading_ = false;             // protected by mu_
  int64_t writes_ = 0;               // protected by mu_
  int64_t applied_ = 0;              // protected by mu_
};

// A version clock for a store one process writes: the wall clock in
// microseconds, read after the write, strictly increasing. Not thread-safe
// (the group's leader calls it).
inline int64_t NextWallClockVersion(int64_t* last) {
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  *last = std::max(now, *last + 1);
  return *last;
}

}  // namespace cutover
