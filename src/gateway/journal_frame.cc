// Encoding and checked decoding of the gateway journal's frames.
#include "gateway/journal_frame.h"

#include <xxhash.h>

#include <cstring>

namespace cutover::gateway {
namespace {

template <typename T>
void Put(T v, std::string* out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // the journal is read on the machine that wrote it
  out->append(bytes, sizeof(T));
}

void PutBytes(std::string_view s, std::string* out) {
  Put<uint32_t>(static_cast<uint32_t>(s.size()), out);
  out->append(s);
}

// Reads from a payload; any read past its end makes it malformed.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Get(T* v) {
    if (bytes_.size() - at_ < sizeof(T)) return false;
    std::memcpy(v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  bool GetBytes(std::string* s) {
    uint32_t n = 0;
    if (!Get(&n) || bytes_.size() - at_ < n) return false;
    s->assign(bytes_.data() + at_, n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

}  // namespace

void EncodeFrame(const JournalEntry& entry, std::string* out) {
  std::string payload;
  Put<uint8_t>(static_cast<uint8_t>(entry.kind), &payload);
  Put<uint64_t>(entry.record.seq, &payload);
  if (entry.kind == JournalEntry::Kind::kWrite) {
    const JournalRecord& r = entry.record;
    Put<uint8_t>(static_cast<uint8_t>(r.owed_to), &payload);
    Put<uint8_t>(r.deleted ? 1 : 0, &payload);
    Put<int64_t>(r.version, &payload);
    Put<int64_t>(r.written_at_us, &payload);
    PutBytes(r.entity, &payload);
    PutBytes(r.key, &payload);
    PutBytes(r.state, &payload);
  }
  Put<uint32_t>(kFrameMagic, out);
  Put<uint32_t>(static_cast<uint32_t>(payload.size()), out);
  Put<uint64_t>(XXH3_64bits(payload.data(), payload.size()), out);
  out->append(payload);
}

FrameResult DecodeFrame(std::string_view bytes) {
  FrameResult result;
  if (bytes.size() < kFrameHeaderBytes) {
    // Fewer bytes than a header: the end of a torn write, or zeros.
    uint32_t magic = 0;
    const bool starts_like_one =
        bytes.size() >= 4 && (std::memcpy(&magic, bytes.data(), 4), magic == kFrameMagic);
    result.problem =
        starts_like_one || bytes.empty() ? FrameProblem::kShort : FrameProblem::kNotFrame;
    return result;
  }
  uint32_t magic = 0, length = 0;
  uint64_t checksum = 0;
  std::memcpy(&magic, bytes.data(), 4);
  std::memcpy(&length, bytes.data() + 4, 4);
  std::memcpy(&checksum, bytes.data() + 8, 8);
  if (magic != kFrameMagic || length > kMaxPayloadBytes) {
    result.problem = FrameProblem::kNotFrame;
    return result;
  }
  if (bytes.size() - kFrameHeaderBytes < length) {
    result.problem = FrameProblem::kShort;
    return result;
  }
  const std::string_view payload = bytes.substr(kFrameHeaderBytes, length);
  if (XXH3_64bits(payload.data(), payload.size()) != checksum) {
    result.problem = FrameProblem::kChecksum;
    return result;
  }
  DecodedFrame frame;
  frame.size = kFrameHeaderBytes + length;
  Reader in(payload);
  uint8_t kind = 0;
  if (!in.Get(&kind) || !in.Get(&frame.entry.record.seq)) {
    result.problem = FrameProblem::kMalformed;
    return result;
  }
  if (kind == static_cast<uint8_t>(JournalEntry::Kind::kLanded)) {
    frame.entry.kind = JournalEntry::Kind::kLanded;
  } else if (kind == static_cast<uint8_t>(JournalEntry::Kind::kWrite)) {
    JournalRecord& r = frame.entry.record;
    uint8_t owed = 0, deleted = 0;
    if (!in.Get(&owed) || !in.Get(&deleted) || !in.Get(&r.version) || !in.Get(&r.written_at_us) ||
        !in.GetBytes(&r.entity) || !in.GetBytes(&r.key) || !in.GetBytes(&r.state) ||
        (owed != static_cast<uint8_t>(OwedTo::kPostgres) &&
         owed != static_cast<uint8_t>(OwedTo::kLegacy)) ||
        deleted > 1) {
      result.problem = FrameProblem::kMalformed;
      return result;
    }
    r.owed_to = static_cast<OwedTo>(owed);
    r.deleted = deleted == 1;
  } else {
    result.problem = FrameProblem::kMalformed;
    return result;
  }
  if (!in.done()) {
    result.problem = FrameProblem::kMalformed;
    return result;
  }
  result.frame = std::move(frame);
  return result;
}

std::string_view FrameProblemText(FrameProblem problem) {
  switch (problem) {
    case FrameProblem::kNone:
      return "none";
    case FrameProblem::kShort:
      return "a frame cut short";
    case FrameProblem::kNotFrame:
      return "bytes that are not a frame";
    case FrameProblem::kChecksum:
      return "a frame whose checksum does not match";
    case FrameProblem::kMalformed:
      return "a frame whose payload does not parse";
  }
  return "?";
}

}  // namespace cutover::gateway
