// Own writes: the mark on every transaction in which cutover carries legacy
// data into PostgreSQL, so that the way back never sends it back again.
#pragma once

#include <string_view>

#include "common/status.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::catalog {

// The prefix of the transactional logical message that marks a transaction.
inline constexpr std::string_view kOwnWriteMarker = "cutover.own_write";

// Own writes design
//
// The way back (engine/sync/way_back.h) reads PostgreSQL's changes and
// writes them into the legacy store; a change that came from the legacy
// store (backfill, sync, the gateway's replay of a legacy-first write) must
// not go back, or the two directions would chase each other. A replication
// origin would say so, but PostgreSQL 15 lets only one session at a time
// use an origin, and cutover writes from many. So each such transaction
// begins with a transactional logical message under kOwnWriteMarker: it
// costs one small WAL record, needs no privilege, and the change stream
// (PgChangeStreamOptions::skip_marker) drops every change of a transaction
// that carries it. The gateway's PostgreSQL-first writes are not marked:
// the way back carries them too, which covers a gateway that died between
// PostgreSQL's commit and its journal.
//
// Marks the transaction open on `conn`; call it first thing after BEGIN.
Status MarkOwnWrite(pg_store::PgConnection* conn);

}  // namespace cutover::catalog
