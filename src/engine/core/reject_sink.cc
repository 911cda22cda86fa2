#include "engine/core/reject_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/rejects.h"
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
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fwrite(out.data(), 1, out.size(), file_) != out.size() || std::fflush(file_) != 0 ||
      fsync(fileno(file_)) != 0) {
    return IoError(fmt::format("cannot write reject file {}: {}", path_, std::strerror(errno)));
  }
  return Status::Ok();
}

Status RewriteRejectFile(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& path) {
  // Several processes sharing one run each rewrite the file when they end:
  // each writes a temporary file of its own, and the renames, atomic, leave
  // the last one's (all of them read the same cutover.rejects).
  const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(tmp.c_str(), "w"), &std::fclose);
  if (file == nullptr) {
    return IoError(fmt::format("cannot write reject file {}: {}", tmp, std::strerror(errno)));
  }
  constexpr int kPage = 5000;
  int64_t after = 0;
  for (;;) {
    auto page = catalog::ReadRejectsPage(conn, migration, &after, kPage);
    if (!page.ok()) return page.status().WithContext("rewriting the reject file " + path);
    std::string out;
    for (const Reject& r : *page) {
      out += RejectToJson(r);
      out += '\n';
    }
    if (std::fwrite(out.data(), 1, out.size(), file.get()) != out.size()) {
      return IoError(fmt::format("cannot write reject file {}: {}", tmp, std::strerror(errno)));
    }
    if (page->size() < static_cast<size_t>(kPage)) break;
  }
  if (std::fflush(file.get()) != 0 || fsync(fileno(file.get())) != 0) {
    return IoError(fmt::format("cannot write reject file {}: {}", tmp, std::strerror(errno)));
  }
  file.reset();
  std::filesystem::rename(tmp, path, ec);
  if (ec) return IoError(fmt::format("cannot replace reject file {}: {}", path, ec.message()));
  return Status::Ok();
}

}  // namespace cutover::engine
