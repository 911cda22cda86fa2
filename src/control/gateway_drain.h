// The cut-over barrier: before reads move to PostgreSQL, wait until no
// gateway journal still owes a write that was acknowledged before the move.
#pragma once

#include <chrono>
#include <string>

#include "control/guards.h"
#include "stores/postgres/pg_connection.h"

namespace cutover::control {

// GatewayDrain design
//
// A client acknowledged a write in dual_write may read it back a moment
// later; once reads come from PostgreSQL, that read must not find an older
// value, so every write acknowledged before the move must have landed.
// Each gateway reports its journal every quarter second
// (catalog/gateway_journals.h): the newest durable write and the oldest one
// still owed, stamped with PostgreSQL's clock. The barrier notes the
// clock when it starts (t0); a write acknowledged before t0 is durable
// before t0, so a report made after t0 names a sequence number A at least
// as high as every such write. The journal has drained them once a later
// report's oldest owed write is past A (or nothing is owed). A gateway that
// has not reported for `stale_after` is gone: with nothing owed it is
// ignored, with writes owed it holds the barrier until it runs again and
// replays them (its journal is on its own disk, out of anyone else's reach).
// Writes acknowledged after t0 may still be in flight when the move
// commits; the read path sends a key its own journal owes to legacy (read
// your writes, gateway/read_path.h) for exactly that window.
//
// Returns the guard "gateways_drained": passed when drained within
// `timeout` (0: judge once, without waiting), otherwise unmet naming each
// journal still owing and how much. The stage machine waits even for a
// forced move: --force overrides evidence, and this is the reads'
// correctness.
Result<GuardResult> WaitForGatewayDrain(
    pg_store::PgConnection* conn, const std::string& migration, std::chrono::milliseconds timeout,
    std::chrono::milliseconds stale_after = std::chrono::seconds(5));

}  // namespace cutover::control
