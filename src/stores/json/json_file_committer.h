// JsonFileCommitter: one JSON file written by many threads of a process (the
// gateway's requests), their writes coalesced into few atomic replaces.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "stores/json/json_file_writer.h"

namespace cutover::json_store {

// One keyed write: `document` the record's JSON text, nullopt to delete it.
struct JsonChange {
  std::string key;
  std::optional<std::string> document;
};

// JsonFileCommitter design
//
// A replace rewrites the whole file (json_file_writer.h), so a file that took
// one replace per write would be as slow as its size, however small the
// writes. Writers therefore commit as a group: a caller queues its changes
// and, if no replace is running, becomes the leader, which takes every change
// queued so far, applies them in queue order (the last one of a key wins)
// in one replace, and wakes their callers; callers that queued meanwhile
// wait and form the next group. Throughput grows with the number of writers
// waiting, while each caller still returns only once its changes are on disk
// (renamed into place, the directory fsync'd).
//
// Every commit returns a version: the wall clock in microseconds read after
// the rename, strictly increasing per file. A reader that opened the file
// before the rename sees an older generation, whose modification time (the
// version such a read carries) is earlier than the rename, so any version
// ordering between a read and a write is the order of their effects.
//
// One writer per file: within a process, ForFile hands every caller the same
// committer; across processes, an exclusive flock(2) on `.<name>.cutover-lock`
// beside the file (a dot file with no data extension, which no source reads)
// refuses a second process while the first holds it. Thread-safe.
class JsonFileCommitter {
 public:
  // The process's committer of `path` (by its absolute path), made on first
  // use. FailedPrecondition when another process holds the file's lock.
  static Result<std::shared_ptr<JsonFileCommitter>> ForFile(const std::string& path,
                                                            spec::JsonLayout layout,
                                                            const std::string& key_field);
  ~JsonFileCommitter();
  JsonFileCommitter(const JsonFileCommitter&) = delete;
  JsonFileCommitter& operator=(const JsonFileCommitter&) = delete;

  // Applies `changes` in one replace of the file, shared with whatever other
  // callers commit meanwhile, and returns that replace's version. A change
  // the writer refuses (InvalidArgument: not one JSON value, a key field
  // that is not `key`) fails this call alone, and none of `changes` is
  // written; a replace that fails fails every caller in it, and writes none.
  Result<int64_t> Commit(const std::vector<JsonChange>& changes);

  const std::string& path() const { return writer_.path(); }

  // What the committers alive in this process did since each was made: per
  // file, the replaces done and the changes they applied (their ratio is
  // the group commit's gain).
  struct Counts {
    std::string path;
    int64_t replaces = 0;
    int64_t changes = 0;
  };
  static std::vector<Counts> AllCounts();

 private:
  struct Waiter;
  JsonFileCommitter(std::string path, spec::JsonLayout layout, std::string key_field, int lock_fd);
  // The leader's work: `group` applied in one replace; fills each one's
  // outcome. REQUIRES: the caller is the leader (mu_ not held).
  void Replace(const std::vector<Waiter*>& group);

  const int lock_fd_;
  JsonFileWriter writer_;  // the leader's alone
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::vector<Waiter*> queue_;  // protected by mu_
  bool leading_ = false;        // protected by mu_
  int64_t last_version_ = 0;    // the leader's alone
  int64_t replaces_ = 0;        // protected by mu_
  int64_t changes_ = 0;         // protected by mu_
};

}  // namespace cutover::json_store
