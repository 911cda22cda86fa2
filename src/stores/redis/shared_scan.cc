// SharedScan: the pages of one SCAN per master, held until every member
// reading it has taken its keys of them.
#include "stores/redis/shared_scan.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cutover::redis_store {

SharedScan::SharedScan(std::vector<const spec::EntitySpec*> entities, Limits limits)
    : entities_(std::move(entities)), limits_(limits), left_(entities_.size(), false) {}

void SharedScan::Leave(const std::string& entity) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t m = 0; m < entities_.size(); ++m) {
    if (entities_[m]->name != entity) continue;
    left_[m] = true;
    for (auto& [id, n] : nodes_) {
      n.next[m] = -1;
      Trim(n);
    }
  }
  changed_.notify_all();
}

std::unique_ptr<SharedScan::Member> SharedScan::Join(const std::string& entity,
                                                     const std::string& node,
                                                     const std::string& run_id,
                                                     const std::string& cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t m = 0;
  while (m < entities_.size() && entities_[m]->name != entity) ++m;
  if (m == entities_.size() || left_[m]) return nullptr;
  auto [it, created] = nodes_.try_emplace(node);
  Node& n = it->second;
  if (created) {
    n.run_id = run_id;
    n.start = cursor;
    n.next_cursor = cursor;
    n.next.assign(entities_.size(), -1);
    n.joined.assign(entities_.size(), false);
    n.first_join = std::chrono::steady_clock::now();
  }
  const bool refused = n.run_id != run_id || n.start != cursor || n.started || n.joined[m];
  // Said once per master, so that "read it in one pass" is not taken to hold
  // for an entity that does not.
  if (refused && !n.joined[m]) {
    spdlog::info("{}: {}; it reads this master alone", entity,
                 n.run_id != run_id || n.start != cursor
                     ? "it resumes at a cursor of its own, not where the shared scan starts"
                     : "the shared scan began without it");
  }
  // Joined either way: the start waits for it no longer.
  n.joined[m] = true;
  changed_.notify_all();
  if (refused) return nullptr;
  n.next[m] = 0;
  return std::make_unique<Member>(shared_from_this(), node, m);
}

SharedScan::Member::~Member() {
  scan_->Detach(node_, index_);
}

Result<std::optional<ScanPage>> SharedScan::Member::Next(RedisConnection& conn) {
  return scan_->Next(node_, index_, conn);
}

void SharedScan::Detach(const std::string& node, size_t member) {
  std::lock_guard<std::mutex> lock(mu_);
  Node& n = nodes_.at(node);
  n.next[member] = -1;
  Trim(n);
  changed_.notify_all();
}

void SharedScan::Trim(Node& n) {
  int64_t lowest = n.base + static_cast<int64_t>(n.pages.size());
  for (size_t m = 0; m < n.next.size(); ++m) {
    if (n.next[m] >= 0 && !left_[m]) lowest = std::min(lowest, n.next[m]);
  }
  while (n.base < lowest && !n.pages.empty()) {
    n.pages.pop_front();
    ++n.base;
  }
}

bool SharedScan::MayTake(const Node& n, size_t m) const {
  return !left_[m] && n.next[m] >= 0;
}

bool SharedScan::OthersReading(const Node& n, size_t member) const {
  for (size_t m = 0; m < entities_.size(); ++m) {
    if (m != member && MayTake(n, m)) return true;
  }
  return false;
}

bool SharedScan::StartSettled(const Node& n) const {
  if (std::chrono::steady_clock::now() >= n.first_join + limits_.start_wait) return true;
  for (size_t m = 0; m < entities_.size(); ++m) {
    if (!left_[m] && !n.joined[m]) return false;
  }
  return true;
}

Result<std::optional<ScanPage>> SharedScan::Next(const std::string& node, size_t member,
                                                 RedisConnection& conn) {
  std::unique_lock<std::mutex> lock(mu_);
  Node& n = nodes_.at(node);
  const std::string count = std::to_string(limits_.count);
  std::optional<std::chrono::steady_clock::time_point> held_back_since;
  for (;;) {
    if (n.next[member] < 0) return std::optional<ScanPage>();
    if (n.next[member] < n.base + static_cast<int64_t>(n.pages.size())) {
      Page& page = n.pages[static_cast<size_t>(n.next[member] - n.base)];
      ScanPage out{std::move(page.keys[member]), page.cursor_after};
      ++n.next[member];
      Trim(n);
      changed_.notify_all();
      return std::optional<ScanPage>(std::move(out));
    }
    if (n.started && n.next_cursor == "0") return std::optional<ScanPage>(ScanPage{{}, "0"});
    if (!n.started && !StartSettled(n)) {
      changed_.wait_until(lock, n.first_join + limits_.start_wait);
      continue;
    }
    if (n.pages.size() >= limits_.window) {
      const auto now = std::chrono::steady_clock::now();
      if (!held_back_since) held_back_since = now;
      if (now - *held_back_since >= limits_.stall_wait) {
        spdlog::info(
            "{}: the entities reading {} with it fell {} pages behind for {} ms; it reads on "
            "alone",
            entities_[member]->name, conn.where(), n.pages.size(), limits_.stall_wait.count());
        n.next[member] = -1;
        Trim(n);
        changed_.notify_all();
        return std::optional<ScanPage>();
      }
      changed_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    held_back_since.reset();
    if (n.fetching) {
      changed_.wait(lock);
      continue;
    }
    // Alone in the pass, its own SCAN MATCH is cheaper: no other key's name
    // crosses the network.
    if (!OthersReading(n, member)) {
      n.next[member] = -1;
      Trim(n);
      changed_.notify_all();
      return std::optional<ScanPage>();
    }
    n.fetching = true;
    const std::string cursor = n.next_cursor;
    lock.unlock();
    Result<Reply> reply = conn.Run({"SCAN", cursor, "COUNT", count});
    lock.lock();
    n.fetching = false;
    changed_.notify_all();
    if (!reply.ok()) return reply.status();
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return Internal("redis " + conn.where() + ": SCAN answered an unexpected reply");
    }
    Page page;
    page.cursor_after = std::string(ReplyText(r->element[0]));
    page.keys.resize(entities_.size());
    const redisReply* found = r->element[1];
    for (size_t i = 0; i < found->elements; ++i) {
      const std::string_view key = ReplyText(found->element[i]);
      for (size_t m = 0; m < entities_.size(); ++m) {
        if (MayTake(n, m) && entities_[m]->redis->pattern.MatchesGlob(key)) {
          page.keys[m].emplace_back(key);
        }
      }
    }
    n.next_cursor = page.cursor_after;
    n.started = true;
    n.pages.push_back(std::move(page));
  }
}

}  // namespace cutover::redis_store
