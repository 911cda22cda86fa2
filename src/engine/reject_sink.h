// The reject file: one JSON object per line for every record cutover could
// not store, with its position and reason, flushed before the batch commits.
#pragma once

#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "common/reject.h"
#include "common/status.h"

namespace cutover::engine {

// Appends to the file (a resumed run adds to what the first part wrote; a
// record may then appear twice, never zero times). Not thread-safe.
class RejectSink {
 public:
  ~RejectSink();
  static Result<std::unique_ptr<RejectSink>> Open(const std::string& path);
  Status Write(std::span<const Reject> rejects);
  const std::string& path() const { return path_; }

 private:
  RejectSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

// The JSON line for one reject (no trailing newline). Records that are not
// valid UTF-8 are kept byte for byte as "record_base64".
std::string RejectToJson(const Reject& reject);

}  // namespace cutover::engine
