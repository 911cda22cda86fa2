// SharedScan: one SCAN per master read by several entities of a Redis source
// at once, each taking the keys its pattern's glob matches (store/shared_pass.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/spec.h"
#include "store/shared_pass.h"
#include "stores/redis/redis_connection.h"

namespace cutover::redis_store {

// A member's keys of one SCAN page, and the cursor after the page: the
// position its own SCAN MATCH would have reached there.
struct ScanPage {
  std::vector<std::string> keys;
  std::string cursor_after;
};

// Shared scan design
//
// Per master, the scan keeps the pages fetched but not yet taken by every
// member, each page holding every member's keys; whichever member needs a
// page no one fetched yet fetches it (SCAN cursor COUNT n, without MATCH) on
// its own connection, one at a time. A page is the same for every member
// because MATCH only filters what a step of SCAN visits, and the cursor
// after it is the one SCAN MATCH returns, so each member's checkpoint is
// valid for its own scan. Waits are bounded so that nothing waits forever:
//   - The first page is fetched once every member has joined (or was
//     refused) or left, or `start_wait` after the first joined. One that
//     comes after it, or at another cursor (a resume), reads alone: its own
//     scan would begin now, and the pages fetched before may miss a key
//     written since.
//   - A member ahead of the slowest by `window` pages waits; after
//     `stall_wait` it leaves and reads on alone from its cursor. Only the
//     one ahead waits, never the slowest, so members do not wait on each
//     other in a circle.
// A member left as the only reader of the pass goes on alone too: its own
// SCAN MATCH sends it only its keys. Memory is at most `window` pages of keys.
class SharedScan : public store::SharedPass, public std::enable_shared_from_this<SharedScan> {
 public:
  struct Limits {
    int64_t count = 1000;  // SCAN's COUNT
    size_t window = 32;    // pages held for the slowest member
    std::chrono::milliseconds start_wait{5000};
    std::chrono::milliseconds stall_wait{10000};
  };

  // `entities`: the members, each reading its pattern's keys. REQUIRES: each
  // has a redis key spec; they outlive the scan.
  SharedScan(std::vector<const spec::EntitySpec*> entities, Limits limits);

  void Leave(const std::string& entity) override;

  // One member's place in the scan of one master; leaves it when destroyed.
  class Member {
   public:
    Member(std::shared_ptr<SharedScan> scan, std::string node, size_t index)
        : scan_(std::move(scan)), node_(std::move(node)), index_(index) {}
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

    // The next page, fetched on `conn` (a connection to this master) if no
    // member has; nullopt when the member is to read on alone from its
    // cursor.
    Result<std::optional<ScanPage>> Next(RedisConnection& conn);

   private:
    std::shared_ptr<SharedScan> scan_;
    std::string node_;
    size_t index_;
  };

  // `entity` joins the scan of master `node` (its partition id) on a server
  // of `run_id`, at `cursor`. Null when it is to read alone: it is not a
  // member or has left, the scan of that master began without it, or it
  // starts at another position or on another server run.
  std::unique_ptr<Member> Join(const std::string& entity, const std::string& node,
                               const std::string& run_id, const std::string& cursor);

 private:
  struct Page {
    std::vector<std::vector<std::string>> keys;  // by member
    std::string cursor_after;
  };
  struct Node {
    std::string run_id;
    std::string start;          // the cursor it began at
    std::string next_cursor;    // of the next page to fetch
    bool started = false;       // a page was fetched
    bool fetching = false;      // a member is fetching one now
    int64_t base = 0;           // the number of pages.front()
    std::deque<Page> pages;     // held pages, oldest first
    std::vector<int64_t> next;  // by member: the page it takes next; -1: not reading
    std::vector<bool> joined;   // by member: ever joined (its keys of taken pages are gone)
    std::chrono::steady_clock::time_point first_join;
  };

  Result<std::optional<ScanPage>> Next(const std::string& node, size_t member,
                                       RedisConnection& conn);
  void Detach(const std::string& node, size_t member);
  // Drops the pages every reading member has taken. REQUIRES: mu_ held.
  void Trim(Node& n);
  // True once no member may still join `n` at its start. REQUIRES: mu_ held.
  bool StartSettled(const Node& n) const;
  // True when member `m` reads `n` through the pass (pages are fetched once
  // the start settled, so one not joined by then never will). REQUIRES: mu_
  // held.
  bool MayTake(const Node& n, size_t m) const;
  // True when a member other than `member` reads `n`. REQUIRES: mu_ held.
  bool OthersReading(const Node& n, size_t member) const;

  std::vector<const spec::EntitySpec*> entities_;
  Limits limits_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<bool> left_;             // guarded by mu_
  std::map<std::string, Node> nodes_;  // guarded by mu_
};

}  // namespace cutover::redis_store
