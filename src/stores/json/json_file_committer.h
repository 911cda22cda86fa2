// JsonFileCommitter: one JSON file written by many threads of a process (the
// gateway's requests), their writes coalesced into few atomic replaces.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/file_lock.h"
#include "common/group_commit.h"
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
// writes. Writers therefore commit as a group (common/group_commit.h): the
// leader applies every queued change in queue order (the last one of a key
// wins) in one replace. Each caller still returns only once its changes are
// on disk (renamed into place, the directory fsync'd).
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
  using Group = GroupCommit<std::vector<JsonChange>>;
  JsonFileCommitter(std::string path, spec::JsonLayout layout, std::string key_field,
                    FileLock lock);
  // The leader's work: `group` applied in one replace; fills each one's
  // outcome.
  void Replace(std::vector<Group::Member*>& group);

  const FileLock lock_;
  JsonFileWriter writer_;     // the leader's alone
  int64_t last_version_ = 0;  // the leader's alone
  Group group_;
};

}  // namespace cutover::json_store
