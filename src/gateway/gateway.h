// Gateway: everything `cutover serve` needs to take writes and serve reads:
// the journal, the legacy sessions, PostgreSQL's writer and reader, the replayer.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "control/stage.h"
#include "gateway/journal.h"
#include "gateway/read_path.h"
#include "gateway/replayer.h"
#include "gateway/write_path.h"
#include "spec/spec.h"

namespace cutover::gateway {

// Live from Open to destruction: the replayer runs in the background. The
// entities it writes are those of redis sources (the legacy writers that
// exist yet); one gateway process per journal directory. Thread-safe.
class Gateway {
 public:
  // Null (no error) when the spec has no entity the gateway can write.
  static Result<std::unique_ptr<Gateway>> Open(std::shared_ptr<const spec::MigrationSpec> migration,
                                               const std::string& target_url,
                                               const std::string& journal_dir,
                                               const std::string& origin);
  ~Gateway();

  WritePath& writes();
  ReadPath& reads();
  // Whether `entity` is written through this gateway.
  bool Writes(const std::string& entity) const;
  JournalStats journal_stats() const;
  ReplayStats replay_stats() const;
  const JournalRecovery& recovery() const;
  ShadowStats shadow_stats() const;
  // Read outcomes per entity since the process started.
  std::map<std::string, catalog::ReadCounts> read_totals() const;

 private:
  struct Parts;
  explicit Gateway(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cutover::gateway
