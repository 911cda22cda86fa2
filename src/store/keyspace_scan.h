// KeyspaceVisitor: what a scan of a whole key-value store hands to whoever
// counts it (`cutover audit`), page by page, without holding the keyspace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cutover::store {

// One server the scan reads (a Redis master).
struct KeyspaceNode {
  std::string name;       // "host:port/db", never a password
  int64_t key_count = 0;  // the server's own count before the scan (DBSIZE)
};

struct KeyspaceOverview {
  bool cluster = false;
  std::vector<KeyspaceNode> nodes;  // every node the scan reads, in scan order

  int64_t KeyCount() const {
    int64_t n = 0;
    for (const KeyspaceNode& node : nodes) n += node.key_count;
    return n;
  }
};

// One key of a page. The visitor sets `group` and `measure` in Admit; the
// scan fills the rest before Visit.
struct ScannedKey {
  enum class State {
    kPresent,
    kGone,       // deleted or expired between SCAN and its reads
    kElsewhere,  // a cluster node no longer holds it (its slot moved meanwhile)
  };
  std::string name;  // bytes; need not be UTF-8
  // The visitor's own classification, handed back untouched in Visit.
  int group = -1;
  bool measure = false;  // read the key's memory (MEMORY USAGE)
  State state = State::kPresent;
  std::string type;           // "string", "hash", "list", "set", "zset", "stream", ...
  int64_t ttl_ms = -1;        // time to live; -1: none
  int64_t memory_bytes = -1;  // measured when asked and the store could; else -1
};

// Receives a scan. Called on the scanning thread only, node after node.
class KeyspaceVisitor {
 public:
  virtual ~KeyspaceVisitor() = default;
  // Once, before any key: the nodes and their key counts.
  virtual void Start(const KeyspaceOverview& overview) = 0;
  // A page of keys as the scan found them (names only): set each key's
  // group and whether to measure it.
  virtual void Admit(std::vector<ScannedKey>& page) = 0;
  // The same page with type, TTL and memory read.
  virtual void Visit(const std::vector<ScannedKey>& page) = 0;
};

struct KeyspaceScanOptions {
  int64_t scan_count = 1000;  // SCAN COUNT: keys asked for per round trip
};

}  // namespace cutover::store
