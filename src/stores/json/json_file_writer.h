// Keyed upserts and deletes into one JSON file (the gateway's dual write,
// rollback into files), applied by rewriting the file with an atomic replace.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"

namespace cutover::json_store {

// JsonFileWriter design
//
// A reader of the file must always see a whole file, the one before a Flush
// or the one after, even if the writer is killed (kill -9, a power cut) at
// any instant. So Flush never writes into the file: it streams the old file
// (through JsonRecordReader, memory bounded by a batch) into a temporary file
// in the same directory, `.<name>.cutover-tmp.XXXXXX`, applying the staged
// writes as it goes, then fsyncs it, renames it over the file (atomic within
// a filesystem) and fsyncs the directory so the rename itself survives a
// power cut. A kill before the rename leaves the old file and a stray
// temporary file; its name starts with a dot and ends in no data extension,
// so no source (file, directory of *.json, glob *.json) reads it, and the
// next Flush removes it. Readers that mapped the old file keep reading it
// (the rename gives the new contents a new inode).
//
// Order is stable: records keep their place; a replaced record takes the
// place of its key's first occurrence (later ones, which the backfill would
// have counted as superseded, are dropped); new keys go at the end, in the
// order they were first staged. Records not written to keep their exact
// text; the whitespace between records is the writer's. So flushing the same
// writes twice gives the same file byte for byte: replay is harmless.
//
// Layouts: a top-level array (records by their `key_field`), an object keyed
// by id (the member name is the key), or JSON lines (records by their
// `key_field`; a staged document's line breaks are turned into spaces, which
// JSON allows between tokens and forbids inside strings). Records whose key
// cannot be read (a broken record, one without the field) are kept as they
// are and cannot be addressed.
//
// Cost: a Flush rewrites the whole file, O(file) I/O however few writes are
// staged; batch writes into few Flushes. One writer per file: two writers of
// one file (two processes) would lose each other's writes. Not thread-safe.
class JsonFileWriter {
 public:
  // `layout` kAuto takes the existing file's layout (as the reader detects
  // it), or for a file that does not exist yet its extension's (.jsonl and
  // .ndjson: lines; else array). `key_field` is the dotted path of the key
  // inside a record, for the array and lines layouts ("id", "meta.id").
  JsonFileWriter(std::string path, spec::JsonLayout layout, std::string key_field);

  // Stages `document` (one JSON value) as the record with `key`; the last
  // staged write of a key wins. InvalidArgument when the document is not one
  // valid JSON value, or (array and lines) its key field differs from `key`.
  Status Upsert(std::string_view key, std::string_view document);
  // Stages the removal of every record with `key` (none: nothing happens).
  Status Delete(std::string_view key);

  // Rewrites the file with every staged write, atomically (see above), and
  // clears them; a file that does not exist is created. On error the file is
  // unchanged and the writes stay staged. The file's broken container is a
  // DataError with its position, as the reader reports it.
  Status Flush();

  size_t staged() const { return staged_.size(); }
  // Drops every staged write.
  void Discard() { staged_.clear(); }
  const std::string& path() const { return path_; }

 private:
  struct Staged {
    std::string key;
    std::optional<std::string> document;  // nullopt: delete
  };
  Status Stage(std::string_view key, std::optional<std::string> document);
  // The layout to write: the requested one, else the existing file's, else
  // the extension's (detected once, then cached).
  spec::JsonLayout LayoutForNewFile();
  void RemoveStaleTemporaryFiles() const;

  // Constant after construction.
  const std::string path_;
  const spec::JsonLayout requested_;
  const std::string key_field_;

  std::optional<spec::JsonLayout> detected_;
  std::vector<Staged> staged_;                      // in first-staged order
  std::unordered_map<std::string, size_t> by_key_;  // key -> index in staged_
};

// The key of `document` at `key_field` (a dotted path): a string's decoded
// text, or any other value's JSON text; nullopt when the document is not an
// object or has no such field.
std::optional<std::string> DocumentKey(std::string_view document, std::string_view key_field);

}  // namespace cutover::json_store
