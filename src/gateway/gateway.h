// Gateway: everything `cutover serve` needs to take writes: the journal, the
// legacy stores and writers, PostgreSQL as the secondary, the replayer.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "control/stage.h"
#include "gateway/journal.h"
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
                                               const std::string& journal_dir);
  ~Gateway();

  WritePath& writes();
  // Whether `entity` is written through this gateway.
  bool Writes(const std::string& entity) const;
  JournalStats journal_stats() const;
  ReplayStats replay_stats() const;
  const JournalRecovery& recovery() const;

 private:
  struct Parts;
  explicit Gateway(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cutover::gateway
