// The reject file: one JSON object per line for every record cutover could
// not store, with its position and reason, flushed before the batch commits.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "common/reject.h"
#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::engine {

// Appends to the file as batches commit, so that a reject is on disk before
// its batch is; a resumed run or a retried batch may then write one twice,
// never zero times, until RewriteRejectFile ends the run. Thread-safe: writes
// of entities loading side by side never interleave.
class RejectSink {
 public:
  ~RejectSink();
  static Result<std::unique_ptr<RejectSink>> Open(const std::string& path);
  Status Write(std::span<const Reject> rejects);
  const std::string& path() const { return path_; }

 private:
  RejectSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::mutex mu_;  // one Write at a time
  std::FILE* file_;
  std::string path_;
};

// Rewrites the reject file from cutover.rejects, which holds each reject of
// the migration once (keyed by entity, source, record and item): written to
// `path`.tmp.<pid> page by page (memory stays bounded), then renamed over
// `path`, so that processes sharing a run never rename each other's file.
Status RewriteRejectFile(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& path);

// The JSON line for one reject (no trailing newline). Records that are not
// valid UTF-8 are kept byte for byte as "record_base64".
std::string RejectToJson(const Reject& reject);

}  // namespace cutover::engine
