// One entity's part of `cutover backfill`, whatever its source: the JSON
// runner and the chunked (Parquet/CSV) runner both implement it.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "engine/backfill/backfill_command.h"
#include "spec/spec.h"
#include "store/shared_pass.h"

namespace cutover::engine {

// RunBackfill prepares every selected entity, resets them all in one
// transaction when a new run starts, then runs them in priority order.
// Each implementation is used from one thread at a time; it may start its own.
class EntityRun {
 public:
  virtual ~EntityRun() = default;
  // Creates or checks the tables and loads the ledger.
  virtual Status Prepare() = 0;
  // Runs, resumes, or skips (when done) the entity; fills the summaries.
  virtual Status Run(bool* stopped_on_rejects) = 0;
  virtual std::vector<TableSummary> Summaries() const = 0;
  // True when the ledger says the previous run finished this entity.
  virtual bool done() const = 0;
  // Forgets the entity's progress and rejects inside the caller's open
  // transaction, so the next Run starts from the beginning.
  virtual Status ResetLedgers() = 0;
  // After Prepare: whether the entity may load while others do (see
  // "Entities side by side" in backfill_command.cc).
  virtual Result<bool> MayRunBeside() { return false; }
  // From here on, coordinates on a connection of its own, not the command's.
  virtual Status UseOwnConnection() { return Status::Ok(); }
  // The entity whose source it reads, when it could read it in one pass
  // with others (store/shared_pass.h); null otherwise.
  virtual const spec::EntitySpec* ReadsSourceAs() const { return nullptr; }
  // Its next Run reads through `pass` and leaves it, however it ends.
  virtual void ReadThrough(std::shared_ptr<store::SharedPass> pass) { (void)pass; }
};

}  // namespace cutover::engine
