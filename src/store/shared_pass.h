// SharedPass: one read of a source that several entities take their records
// from at once, so that a keyspace holding them all is read once, not once each.
#pragma once

#include <string>

namespace cutover::store {

// Shared pass design
//
// The entities of one Redis source are patterns over one keyspace, and a
// SCAN MATCH visits every key of it whatever the pattern: four entities
// loading side by side made the server visit each key four times, the
// largest cost cutover added to the read itself. A pass is made for the
// entities that start together; each one's reader takes, page by page, the
// keys its own scan would have returned, from one scan (the adapter's part,
// stores/redis/shared_scan.h). Three rules keep it as safe as reading alone:
//   - A reader's position is the same cursor its own scan would have, so its
//     checkpoints, and a resume, do not know the pass existed.
//   - The pass waits only for entities still reading it: one that ends, for
//     any reason, leaves it (Leave), and one that waits too long on the
//     others reads on alone from where it is.
//   - An entity that comes late, or resumes at another position, reads alone.
class SharedPass {
 public:
  virtual ~SharedPass() = default;

  // `entity` reads no more of this pass (it finished, failed or stopped):
  // the others no longer wait for it. Thread-safe; idempotent.
  virtual void Leave(const std::string& entity) = 0;
};

}  // namespace cutover::store
