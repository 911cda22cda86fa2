// Cursor: where a reader or a change stream stopped, as its adapter encodes it
// (a file byte offset, a SCAN cursor, a timestamp, an LSN), kept verbatim in ledgers.
#pragma once

#include <string>

namespace cutover::store {

// An opaque position. Only the adapter that produced a token reads it; every
// other component stores it and hands it back unchanged (a ledger keeps it as
// bytes). The empty token is the start: of a partition for a BatchReader, of
// the store's history for a ChangeStream (which then starts at its Head()).
//
// A token is valid for the partition (or stream) it came from, across
// processes and runs, as long as the data before it is unchanged; an adapter
// refuses a token it cannot read (InvalidArgument) rather than guess.
// Plain data; copy freely.
struct Cursor {
  std::string token;

  bool AtStart() const { return token.empty(); }
  friend bool operator==(const Cursor&, const Cursor&) = default;
};

}  // namespace cutover::store
