// The gateway journal's on-disk frame: a write the secondary store owes, or
// the mark that it landed, checksummed so a torn or flipped record is found.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cutover::gateway {

// Which store still lacks a journaled write.
enum class OwedTo : uint8_t { kPostgres = 1, kLegacy = 2 };

// A write the primary store took and the client was told about: the record's
// whole state after it (never the operation, so replaying it twice, or after
// a later write of the key landed, changes nothing).
struct JournalRecord {
  uint64_t seq = 0;  // the journal's order; assigned by Journal::Append
  std::string entity;
  std::string key;  // the entity's key as the gateway encodes it
  bool deleted = false;
  std::string state;  // the record as JSON; empty when deleted
  OwedTo owed_to = OwedTo::kPostgres;
  // The primary store's version of this state (Redis: its clock in
  // microseconds, read inside the write's MULTI/EXEC), so the secondary
  // keeps each key's newest state whatever order writes reach it in.
  int64_t version = 0;
  int64_t written_at_us = 0;  // wall clock, microseconds since the Unix epoch
};

// A frame's payload: a write, or the mark that the write `seq` landed.
struct JournalEntry {
  enum class Kind : uint8_t { kWrite = 1, kLanded = 2 };
  Kind kind = Kind::kWrite;
  JournalRecord record;  // for kLanded only record.seq is meaningful
};

// Frame layout, little-endian:
//   u32 magic (kFrameMagic)  u32 payload length  u64 XXH3-64 of the payload
//   payload: u8 kind, u64 seq, and for a write: u8 owed_to, u8 deleted,
//            i64 version, i64 written_at_us, then entity, key, state as
//            u32 length + bytes.
// The magic lets recovery tell a frame from the zeros or garbage a crash can
// leave after the last synced byte.
inline constexpr uint32_t kFrameMagic = 0xC07E7A11;
inline constexpr size_t kFrameHeaderBytes = 16;
// A frame longer than this is damage, not a record (a state is one record).
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;

// Appends `entry`'s frame to `out`.
void EncodeFrame(const JournalEntry& entry, std::string* out);

// The frame at the start of `bytes`, if one is whole and its checksum holds.
struct DecodedFrame {
  JournalEntry entry;
  size_t size = 0;  // bytes the frame takes
};
enum class FrameProblem {
  kNone,
  kShort,     // the bytes end inside the frame (a torn write, or the end)
  kNotFrame,  // no magic here, or a length no frame has
  kChecksum,  // whole, but its bytes are not the ones written
  kMalformed  // the checksum holds but the payload does not parse
};
struct FrameResult {
  std::optional<DecodedFrame> frame;
  FrameProblem problem = FrameProblem::kNone;
};
FrameResult DecodeFrame(std::string_view bytes);

std::string_view FrameProblemText(FrameProblem problem);

}  // namespace cutover::gateway
