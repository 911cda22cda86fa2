// JsonFileReplacer: records streamed into a temporary file in the layout's
// punctuation, then the temporary file renamed over the old one.
#include "stores/json/json_file_replacer.h"

#include <filesystem>

#include "common/failpoint.h"
#include "common/json_text.h"
#include "stores/json/json_record_reader.h"

namespace cutover::json_store {
namespace {

namespace fs = std::filesystem;

constexpr size_t kWriteBuffer = 1 << 20;

spec::JsonLayout LayoutToWrite(const std::string& path, spec::JsonLayout requested) {
  if (requested != spec::JsonLayout::kAuto) return requested;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    JsonRecordReader probe(path, requested);
    if (probe.Open({}).ok()) return probe.layout();
  }
  const bool lines = path.ends_with(".jsonl") || path.ends_with(".ndjson");
  return lines ? spec::JsonLayout::kLines : spec::JsonLayout::kArray;
}

}  // namespace

Status JsonFileReplacer::Begin() {
  Abort();
  const fs::path p(path_);
  ASSIGN_OR_RETURN(FileLock lock,
                   FileLock::Acquire(
                       (p.parent_path() / ("." + p.filename().string() + ".cutover-lock")).string(),
                       "the JSON file " + path_));
  lock_.emplace(std::move(lock));
  AtomicFile::RemoveStale(path_);
  layout_ = LayoutToWrite(path_, requested_);
  file_ = std::make_unique<AtomicFile>();
  RETURN_IF_ERROR(file_->Create(path_));
  records_ = 0;
  buffer_.clear();
  if (layout_ == spec::JsonLayout::kArray) buffer_.append("[\n");
  if (layout_ == spec::JsonLayout::kObject) buffer_.append("{\n");
  return Status::Ok();
}

Status JsonFileReplacer::Append(const store::RecordKey& key, const RowBatch& rows, size_t row) {
  if (file_ == nullptr) return Internal("JsonFileReplacer::Append before Begin");
  const int doc = rows.IndexOf("$doc");
  if (doc < 0 || row >= rows.num_rows() || rows.columns[doc].IsNull(row)) {
    return InvalidArgument(path_ + ": a record needs a \"$doc\" value");
  }
  if (layout_ != spec::JsonLayout::kLines && records_ > 0) buffer_.append(",\n");
  if (layout_ == spec::JsonLayout::kObject) {
    if (key.size() != 1) return InvalidArgument(path_ + ": a member needs a one-part key");
    AppendJsonString(key[0], &buffer_);
    buffer_.append(": ");
  }
  const std::string_view text = rows.columns[doc].BytesAt(row);
  if (layout_ == spec::JsonLayout::kLines && text.find('\n') != std::string_view::npos) {
    return InvalidArgument(path_ + ": a JSON lines record must be on one line");
  }
  buffer_.append(text);
  if (layout_ == spec::JsonLayout::kLines) buffer_.push_back('\n');
  ++records_;
  if (buffer_.size() >= kWriteBuffer) return FlushBuffer();
  return Status::Ok();
}

Status JsonFileReplacer::FlushBuffer() {
  RETURN_IF_ERROR(file_->Append(buffer_));
  buffer_.clear();
  return Status::Ok();
}

Status JsonFileReplacer::Commit() {
  if (file_ == nullptr) return Internal("JsonFileReplacer::Commit before Begin");
  if (layout_ == spec::JsonLayout::kArray) buffer_.append(records_ > 0 ? "\n]\n" : "]\n");
  if (layout_ == spec::JsonLayout::kObject) buffer_.append(records_ > 0 ? "\n}\n" : "}\n");
  RETURN_IF_ERROR(FlushBuffer());
  FailPoint("json_replacer.before_commit");
  RETURN_IF_ERROR(file_->Commit());
  file_.reset();
  lock_.reset();
  return Status::Ok();
}

void JsonFileReplacer::Abort() {
  file_.reset();  // removes the temporary file
  lock_.reset();
  buffer_.clear();
}

}  // namespace cutover::json_store
