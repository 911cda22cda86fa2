// JsonFileReplacer: a JSON file written anew from records in the order given,
// in the file's layout, and renamed over it (rollback's export into a file).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/atomic_file.h"
#include "common/file_lock.h"
#include "spec/spec.h"
#include "store/replacer.h"

namespace cutover::json_store {

// The file keeps its layout (the spec's `layout:`, else the one the existing
// file has, else its extension's) and is written the way JsonFileWriter
// writes one: "[\n" records joined by ",\n" "\n]\n" for an array, the same
// with `"name": ` before each record for a keyed object, a record per line
// for JSON lines. The gateway's lock on the file (json_file_committer.h) is
// held from Begin to Commit, so a gateway process writing the file makes
// Begin fail rather than lose its writes or have them lost.
class JsonFileReplacer : public store::Replacer {
 public:
  JsonFileReplacer(std::string path, spec::JsonLayout layout)
      : path_(std::move(path)), requested_(layout) {}

  Status Begin() override;
  Status Append(const store::RecordKey& key, const RowBatch& rows, size_t row) override;
  Status Commit() override;
  void Abort() override;

 private:
  Status FlushBuffer();

  const std::string path_;
  const spec::JsonLayout requested_;
  spec::JsonLayout layout_ = spec::JsonLayout::kArray;
  std::optional<FileLock> lock_;
  std::unique_ptr<AtomicFile> file_;
  std::string buffer_;
  size_t records_ = 0;
};

}  // namespace cutover::json_store
