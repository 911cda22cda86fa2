// A record cutover could not store, with where it came from and why; the
// unit that reject files and cutover.rejects are made of.
#pragma once

#include <cstdint>
#include <string>

namespace cutover {

struct Reject {
  std::string entity;
  std::string source;  // file or store the record came from
  int64_t byte_offset = -1;
  int64_t line = -1;
  int64_t record_index = -1;
  std::string item;   // "" for the record itself; "tasks[3]" for a nested child
  std::string field;  // the offending field, when one is to blame
  std::string reason;
  std::string record;  // the raw record bytes, kept whole

  // "users.json:42 (byte 1234)"
  std::string PositionText() const;
};

}  // namespace cutover
