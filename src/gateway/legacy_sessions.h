// LegacySessions: an entity's connections to its legacy store (a reader and a
// writer each), lent to one request at a time by the write and read paths.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/writer.h"

namespace cutover::gateway {

// Neither a store nor a writer is thread-safe, so each request borrows a
// session of its entity for its legacy part and gives it back when the lease
// goes; a request finding every session lent waits for one. The sessions'
// connections open on first use. Thread-safe.
class LegacySessions {
 public:
  struct Session {
    store::Store* store = nullptr;    // reads a key back (key_reader())
    store::Writer* writer = nullptr;  // writes a record into it
  };

  class Lease {
   public:
    Lease(Lease&& other) noexcept : owner_(other.owner_), index_(other.index_) {
      other.owner_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    const Session& operator*() const;
    const Session* operator->() const { return &**this; }

   private:
    friend class LegacySessions;
    struct Slot;
    Lease(Slot* owner, size_t index) : owner_(owner), index_(index) {}
    Slot* owner_;
    size_t index_;
  };

  // Every pointer must outlive this object.
  explicit LegacySessions(std::map<std::string, std::vector<Session>> entities);
  ~LegacySessions();

  bool Has(const std::string& entity) const { return slots_.contains(entity); }
  // REQUIRES: Has(entity).
  Lease Borrow(const std::string& entity);

 private:
  std::map<std::string, std::unique_ptr<Lease::Slot>> slots_;
};

}  // namespace cutover::gateway
