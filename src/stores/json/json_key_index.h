// JsonKeyIndex: where each key's record sits in one generation of a JSON
// file, so the gateway reads a record by key without reading the file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/batch_reader.h"

namespace cutover::json_store {

// JsonKeyIndex design
//
// A read by key used to scan the whole file: O(file) per GET. The index maps
// a 128-bit hash of each key (XXH3) to the byte range of the key's first
// record (the record the writer replaces and every reader takes), 32 bytes a
// record, sorted. It belongs to one generation of the file (inode,
// modification time, size): the gateway's writer replaces the file whole
// (common/atomic_file.h), never in place, so a generation's bytes never
// change, and a read opens the file, takes the generation of what it opened,
// builds the index again only when that differs, and reads the records with
// pread(2) from the same open file. A replace between the open and the build
// is seen (the generations differ) and the build starts over. A file
// rewritten in place within one tick of its clock, at the same size, would
// keep its generation: a record read is therefore checked to hold its key
// (records keyed by a field; a member name is not in the record's bytes),
// and the index built again when it does not. A file broken part way keeps
// the keys before the break; a key not among them is the break's error, as
// a scan that met it would be. One index per file, layout and key field
// in the process (For), shared by every session's reader. Thread-safe.
class JsonKeyIndex {
 public:
  // `key_field`: the dotted path of the key inside each record ("" for a
  // file keyed by member name).
  JsonKeyIndex(std::string path, spec::JsonLayout layout, std::string key_field);

  // The process's index of that file, layout and key field.
  static std::shared_ptr<JsonKeyIndex> For(const std::string& path, spec::JsonLayout layout,
                                           const std::string& key_field);

  // Fills `out` (cleared first; "$doc" and "$key" columns) with the records
  // of those of `keys` the file holds, each with the file's modification
  // time as its version; versions_floor is that time, or now when there is
  // no file (every key is missing).
  Status Read(const std::vector<std::string>& keys, store::StoreBatch* out);

  // How many times the index was built (a test's witness that reads of one
  // generation share one build).
  int64_t builds() const;

 private:
  struct Entry {
    uint64_t high = 0, low = 0;  // the key's hash
    int64_t offset = 0;          // the record's first byte
    int64_t record_index = 0;
    int64_t line = 0;
    uint32_t length = 0;
    bool operator<(const Entry& o) const {
      return high != o.high ? high < o.high : low != o.low ? low < o.low : offset < o.offset;
    }
  };
  struct Generation {
    int64_t inode = -1, mtime_ns = -1, size = -1;
    bool operator==(const Generation&) const = default;
  };

  // Builds the entries of the file at path_ if it is still `generation`;
  // false when it was replaced meanwhile.
  Result<bool> Build(const Generation& generation);

  const std::string path_;
  const spec::JsonLayout layout_;
  const std::string key_field_;
  mutable std::mutex mu_;
  // Reads `keys` from `fd`, the open file the index is of; false when a
  // record read does not hold its key (the index is stale).
  Result<bool> Lookup(int fd, const std::vector<std::string>& keys, int64_t version,
                      store::StoreBatch* out) const;

  Generation indexed_;          // protected by mu_
  std::vector<Entry> entries_;  // protected by mu_, sorted
  Status broken_;               // protected by mu_: where the indexed file breaks
  bool by_member_ = false;      // protected by mu_: keyed by member name, not in the record
  int64_t builds_ = 0;          // protected by mu_
};

}  // namespace cutover::json_store
