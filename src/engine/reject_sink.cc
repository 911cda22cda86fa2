#include "engine/reject_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/utf8.h"

namespace cutover::engine {

RejectSink::~RejectSink() {
  if (file_) std::fclose(file_);
}

Result<std::unique_ptr<RejectSink>> RejectSink::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    return IoError(fmt::format("cannot open reject file {}: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<RejectSink>(new RejectSink(f, path));
}

std::string RejectToJson(const Reject& r) {
  nlohmann::ordered_json j;
  j["entity"] = r.entity;
  j["source"] = EscapeInvalidUtf8(r.source);
  j["line"] = r.line;
  j["byte_offset"] = r.byte_offset;
  j["record_index"] = r.record_index;
  if (!r.item.empty()) j["item"] = EscapeInvalidUtf8(r.item);
  if (!r.field.empty()) j["field"] = EscapeInvalidUtf8(r.field);
  j["reason"] = EscapeInvalidUtf8(r.reason);
  if (IsValidUtf8(r.record)) {
    j["record"] = r.record;
  } else {
    j["record_base64"] = Base64(r.record);
  }
  return j.dump();
}

Status RejectSink::Write(std::span<const Reject> rejects) {
  if (rejects.empty()) return Status::Ok();
  std::string out;
  for (const auto& r : rejects) {
    out += RejectToJson(r);
    out += '\n';
  }
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size() || std::fflush(file_) != 0 ||
      fsync(fileno(file_)) != 0) {
    return IoError(fmt::format("cannot write reject file {}: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

}  // namespace cutover::engine
