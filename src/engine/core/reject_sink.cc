#include "engine/core/reject_sink.h"

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

namespace {

// PostgreSQL's encode(bytes, 'hex'): two lowercase digits per byte.
std::string FromHex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace

Status RewriteRejectFile(pg_store::PgConnection* conn, const std::string& migration,
                         const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(tmp.c_str(), "w"), &std::fclose);
  if (file == nullptr) {
    return IoError(fmt::format("cannot write reject file {}: {}", tmp, std::strerror(errno)));
  }
  constexpr size_t kPage = 5000;
  std::string after = "0";
  for (;;) {
    auto page = conn->Query(
        "SELECT id, entity, source, coalesce(byte_offset, -1), coalesce(line, -1), record_index, "
        "item, coalesce(field, ''), reason, encode(coalesce(record, ''::bytea), 'hex') "
        "FROM cutover.rejects WHERE migration = $1 AND id > $2 ORDER BY id LIMIT 5000",
        {migration, after});
    if (!page.ok()) return page.status().WithContext("rewriting the reject file " + path);
    std::string out;
    for (const auto& row : page->rows) {
      Reject r;
      r.entity = row[1].value_or("");
      r.source = row[2].value_or("");
      r.byte_offset = std::stoll(row[3].value_or("-1"));
      r.line = std::stoll(row[4].value_or("-1"));
      r.record_index = std::stoll(row[5].value_or("-1"));
      r.item = row[6].value_or("");
      r.field = row[7].value_or("");
      r.reason = row[8].value_or("");
      r.record = FromHex(row[9].value_or(""));
      out += RejectToJson(r);
      out += '\n';
    }
    if (std::fwrite(out.data(), 1, out.size(), file.get()) != out.size()) {
      return IoError(fmt::format("cannot write reject file {}: {}", tmp, std::strerror(errno)));
    }
    if (page->rows.size() < kPage) break;
    after = page->rows.back()[0].value_or("0");
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
