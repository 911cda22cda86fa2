// JsonFileWriter: staged keyed writes, applied by streaming the old file into
// a temporary one and renaming it over the file (see the design block).
#include "stores/json/json_file_writer.h"

#include <simdjson.h>

#include <filesystem>
#include <memory>

#include "common/atomic_file.h"
#include "common/failpoint.h"
#include "common/json_text.h"
#include "stores/json/json_record_reader.h"

namespace cutover::json_store {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadBatch = 1024;
constexpr size_t kWriteBuffer = 1 << 20;

}  // namespace

std::optional<std::string> DocumentKey(std::string_view document, std::string_view key_field) {
  // One parser per thread: a backfill asks this of every record.
  static thread_local simdjson::ondemand::parser parser;
  simdjson::padded_string padded(document);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  simdjson::ondemand::value value;
  std::string_view rest = key_field;
  while (true) {
    const size_t dot = rest.find('.');
    const std::string_view name = rest.substr(0, dot);
    if (object.find_field_unordered(name).get(value) != simdjson::SUCCESS) return std::nullopt;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
    if (value.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  }
  simdjson::ondemand::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS) return std::nullopt;
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
    return std::string(text);
  }
  std::string_view raw = value.raw_json_token();
  while (!raw.empty() &&
         (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t')) {
    raw.remove_suffix(1);
  }
  return std::string(raw);
}

JsonFileWriter::JsonFileWriter(std::string path, spec::JsonLayout layout, std::string key_field)
    : path_(std::move(path)), requested_(layout), key_field_(std::move(key_field)) {}

Status JsonFileWriter::Stage(std::string_view key, std::optional<std::string> document) {
  auto it = by_key_.find(std::string(key));
  if (it != by_key_.end()) {
    staged_[it->second].document = std::move(document);
    return Status::Ok();
  }
  by_key_.emplace(std::string(key), staged_.size());
  staged_.push_back(Staged{std::string(key), std::move(document)});
  return Status::Ok();
}

Status JsonFileWriter::Upsert(std::string_view key, std::string_view document) {
  simdjson::dom::parser validator;
  simdjson::dom::element ignored;
  if (validator.parse(simdjson::padded_string(document)).get(ignored) != simdjson::SUCCESS) {
    return InvalidArgument(path_ + ": the document for key '" + std::string(key) +
                           "' is not one valid JSON value");
  }
  const spec::JsonLayout layout = LayoutForNewFile();
  if (layout != spec::JsonLayout::kObject) {
    if (key_field_.empty()) {
      return FailedPrecondition(path_ +
                                ": records of an array or lines file are found by a key "
                                "field, and none was given");
    }
    const std::optional<std::string> own = DocumentKey(document, key_field_);
    if (own != key) {
      return InvalidArgument(path_ + ": the document staged for key '" + std::string(key) +
                             "' has " + (own ? "'" + *own + "'" : "no value") + " at " +
                             key_field_);
    }
  }
  std::string text(document);
  if (layout == spec::JsonLayout::kLines) {
    for (char& c : text) {
      if (c == '\n' || c == '\r') c = ' ';
    }
  }
  return Stage(key, std::move(text));
}

Status JsonFileWriter::Delete(std::string_view key) {
  return Stage(key, std::nullopt);
}

spec::JsonLayout JsonFileWriter::LayoutForNewFile() {
  if (requested_ != spec::JsonLayout::kAuto) return requested_;
  if (detected_) return *detected_;
  std::error_code ec;
  if (fs::exists(path_, ec)) {
    JsonRecordReader probe(path_, requested_);
    if (probe.Open({}).ok()) detected_ = probe.layout();
  }
  if (!detected_) {
    const bool lines = path_.ends_with(".jsonl") || path_.ends_with(".ndjson");
    detected_ = lines ? spec::JsonLayout::kLines : spec::JsonLayout::kArray;
  }
  return *detected_;
}

void JsonFileWriter::RemoveStaleTemporaryFiles() const {
  AtomicFile::RemoveStale(path_);
}

Status JsonFileWriter::Flush() {
  if (staged_.empty()) return Status::Ok();
  RemoveStaleTemporaryFiles();

  std::error_code ec;
  const bool exists = fs::exists(path_, ec);
  std::unique_ptr<JsonRecordReader> reader;
  spec::JsonLayout layout = requested_;
  if (exists) {
    reader = std::make_unique<JsonRecordReader>(path_, requested_);
    RETURN_IF_ERROR(reader->Open({}));
    layout = reader->layout();
    detected_ = layout;
  } else {
    layout = LayoutForNewFile();
  }

  AtomicFile temp;
  RETURN_IF_ERROR(temp.Create(path_));
  FailPoint("json_writer.temp_created");

  std::string out;
  out.reserve(kWriteBuffer + 4096);
  size_t written_records = 0;
  auto begin_record = [&]() {
    if (layout != spec::JsonLayout::kLines && written_records > 0) out.append(",\n");
    ++written_records;
  };
  auto end_record = [&]() -> Status {
    if (layout == spec::JsonLayout::kLines) out.push_back('\n');
    if (out.size() >= kWriteBuffer) {
      RETURN_IF_ERROR(temp.Append(out));
      out.clear();
    }
    FailPoint("json_writer.record_written");
    return Status::Ok();
  };
  auto emit = [&](std::string_view key, std::string_view document) -> Status {
    begin_record();
    if (layout == spec::JsonLayout::kObject) {
      AppendJsonString(key, &out);
      out.append(": ");
    }
    out.append(document);
    return end_record();
  };
  if (layout == spec::JsonLayout::kArray) out.append("[\n");
  if (layout == spec::JsonLayout::kObject) out.append("{\n");

  std::vector<bool> done(staged_.size(), false);
  if (reader != nullptr) {
    store::StoreBatch batch;
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(kReadBatch, &batch));
      if (!more) break;
      const int doc_column = batch.rows.IndexOf("$doc");
      const int key_column = batch.rows.IndexOf("$key");
      for (size_t r = 0; r < batch.rows.num_rows(); ++r) {
        const std::string_view document = batch.rows.columns[doc_column].BytesAt(r);
        std::optional<std::string> key;
        if (layout == spec::JsonLayout::kObject) {
          if (key_column >= 0 && !batch.rows.columns[key_column].IsNull(r)) {
            key = std::string(batch.rows.columns[key_column].BytesAt(r));
          }
        } else if (!key_field_.empty()) {
          key = DocumentKey(document, key_field_);
        }
        auto hit = key ? by_key_.find(*key) : by_key_.end();
        if (hit == by_key_.end()) {
          // Not written to (or not addressable): kept as it is.
          if (layout == spec::JsonLayout::kObject && key) {
            RETURN_IF_ERROR(emit(*key, document));
          } else if (layout == spec::JsonLayout::kObject) {
            return DataError(path_ + ": a member without a readable name at byte " +
                             std::to_string(batch.positions[r].byte_offset));
          } else {
            RETURN_IF_ERROR(emit({}, document));
          }
          continue;
        }
        if (done[hit->second]) continue;  // a later occurrence of a written key
        done[hit->second] = true;
        const Staged& staged = staged_[hit->second];
        if (staged.document) RETURN_IF_ERROR(emit(staged.key, *staged.document));
      }
    }
  }
  for (size_t i = 0; i < staged_.size(); ++i) {
    if (!done[i] && staged_[i].document)
      RETURN_IF_ERROR(emit(staged_[i].key, *staged_[i].document));
  }
  if (layout == spec::JsonLayout::kArray) out.append(written_records > 0 ? "\n]\n" : "]\n");
  if (layout == spec::JsonLayout::kObject) out.append(written_records > 0 ? "\n}\n" : "}\n");
  RETURN_IF_ERROR(temp.Append(out));
  FailPoint("json_writer.written");

  RETURN_IF_ERROR(temp.Commit());
  FailPoint("json_writer.dir_synced");

  staged_.clear();
  by_key_.clear();
  return Status::Ok();
}

}  // namespace cutover::json_store
