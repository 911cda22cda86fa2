// WatermarkSync: `cutover sync` for a source with no change feed (IoTDB):
// polls each device for the points after its newest time seen, less a window.
#pragma once

#include <atomic>
#include <vector>

#include "common/status.h"
#include "engine/sync/sync_command.h"
#include "spec/spec.h"

namespace cutover::engine {

// Watermark sync design
//
// IoTDB says nothing of its changes, and its points are keyed by series and
// time, mostly appended. So a sync polls: its first pass reads every device
// whole (the reconciliation), and each later pass, every `poll`, reads each
// device from its watermark (the newest time seen there) less `lateness`,
// and merges what it reads. A point written late, with a time inside that
// window (a device that buffered while offline), is read on the next pass;
// a point written twice (the same series and time) is one row, holding the
// last value read, since writes are keyed merges and IoTDB keeps the last
// write. Devices are listed anew each pass, so a new one is read whole.
// A device's watermark never passes now: a point stamped in the future (a
// wrong clock) would otherwise hide every later point of that device.
// What polling cannot see: a delete, a point written with a time older
// than the window, and the older points of a series added to a device
// already seen (read from the device's watermark on). Both are out of reach by construction
// (guarantees: lossless and deletes false); `cutover verify` compares every point and names them,
// and a `sync` started again reconciles them. Records carry no versions: a backfill racing the sync
// may write an older value of a point rewritten meanwhile, which the next pass within the window
// writes again. Watermarks live in memory: a sync started again reads every device whole once more,
// which keyed writes make harmless.
Result<SourceSyncReport> RunWatermarkSync(const spec::MigrationSpec& migration,
                                          const spec::SourceSpec& source,
                                          const std::vector<const spec::EntitySpec*>& entities,
                                          const std::string& target_url, const SyncRequest& request,
                                          const std::atomic<bool>& stop);

}  // namespace cutover::engine
