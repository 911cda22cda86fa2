// Lending an entity's legacy-store sessions to requests, one at a time each.
#include "gateway/legacy_sessions.h"

namespace cutover::gateway {

struct LegacySessions::Lease::Slot {
  std::vector<Session> sessions;
  std::mutex mu;
  std::condition_variable released;
  std::vector<size_t> free;  // guarded by mu
};

LegacySessions::Lease::~Lease() {
  if (owner_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(owner_->mu);
    owner_->free.push_back(index_);
  }
  owner_->released.notify_one();
}

const LegacySessions::Session& LegacySessions::Lease::operator*() const {
  return owner_->sessions[index_];
}

LegacySessions::LegacySessions(std::map<std::string, std::vector<Session>> entities) {
  for (auto& [name, sessions] : entities) {
    auto slot = std::make_unique<Lease::Slot>();
    slot->sessions = std::move(sessions);
    for (size_t i = 0; i < slot->sessions.size(); ++i) slot->free.push_back(i);
    slots_.emplace(name, std::move(slot));
  }
}

LegacySessions::~LegacySessions() = default;

LegacySessions::Lease LegacySessions::Borrow(const std::string& entity) {
  Lease::Slot* slot = slots_.at(entity).get();
  std::unique_lock<std::mutex> lock(slot->mu);
  slot->released.wait(lock, [&] { return !slot->free.empty(); });
  const size_t index = slot->free.back();
  slot->free.pop_back();
  return Lease(slot, index);
}

}  // namespace cutover::gateway
