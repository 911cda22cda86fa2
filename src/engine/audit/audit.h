// `cutover audit`: what lives in a migration's Redis sources before anything
// moves (keys per pattern, types, memory, TTLs), and the spec's stop conditions.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/spec.h"
#include "store/keyspace_scan.h"

namespace cutover::engine {

struct AuditRequest {
  // Keys whose memory is measured (MEMORY USAGE), about: every Nth key of
  // each pattern and of the unmatched keys, N = keys / sample, the first of
  // each always. 0 measures none (memory is then not estimated).
  int64_t sample = 1000;
  int64_t scan_count = 1000;  // SCAN COUNT per round trip
};

// Time to live in the runbook's buckets: none, <1 min, <1 h, <1 day,
// <7 days, <30 days, >= 30 days.
struct TtlHistogram {
  static constexpr size_t kBuckets = 7;
  std::array<int64_t, kBuckets> counts{};

  void Add(int64_t ttl_ms);  // -1: no TTL
  // JSON names: "none", "under_1m", ..., "at_least_30d".
  static const char* Name(size_t bucket);
  // Column headings: "none", "<1m", ..., ">=30d".
  static const char* Heading(size_t bucket);
};

// Sampled memory of a group of keys: the mean of the measured keys times
// the keys counted. An estimate unless every key was measured.
struct MemoryEstimate {
  int64_t keys = 0;
  int64_t sampled_keys = 0;
  int64_t sampled_bytes = 0;

  // Null when keys were counted but none measured.
  std::optional<int64_t> EstimatedBytes() const;
  bool exact() const { return sampled_keys == keys; }
};

struct PatternAudit {
  std::string entity;
  std::string source;
  std::string pattern;
  int priority = 0;
  std::string declared_type;  // the Redis type the spec's value kind is stored as
  int64_t keys = 0;
  std::map<std::string, int64_t> types;  // Redis type -> keys
  int64_t type_mismatches = 0;           // keys of a type other than declared_type
  MemoryEstimate memory;
  TtlHistogram ttl;
};

// Keys no pattern of their source matches.
struct UnmatchedAudit {
  int64_t keys = 0;
  std::map<std::string, int64_t> types;
  MemoryEstimate memory;
  TtlHistogram ttl;
  struct Prefix {
    std::string prefix;  // escaped when not UTF-8
    int64_t keys = 0;
  };
  std::vector<Prefix> prefixes;  // the 20 commonest, commonest first
  // False when more distinct prefixes came than counters were kept: counts
  // may then be too high by a little (engine/audit/prefix_counter.h).
  bool prefixes_exact = true;
};

// Keys that two patterns of one source both match: the spec is ambiguous.
struct PatternOverlap {
  std::string source;
  std::string first_entity, second_entity;
  std::string first_pattern, second_pattern;
  int64_t keys = 0;
  std::string example_key;  // escaped when not UTF-8
};

struct SourceAudit {
  std::string source;
  bool cluster = false;
  std::vector<store::KeyspaceNode> masters;
  int64_t keys = 0;            // keys read
  int64_t keys_gone = 0;       // SCAN returned them, gone before they were read
  int64_t keys_elsewhere = 0;  // a cluster slot moved away while scanned
};

struct BigKey {
  std::string key;  // escaped when not UTF-8
  int64_t bytes = 0;
  std::string type;
  std::string entity;  // "" when no pattern matches it
  std::string source;
};

struct PriorityTotal {
  int priority = 0;
  std::vector<std::string> entities;
  int64_t keys = 0;
  // Sum of the entities' estimates; null when one of them has none.
  std::optional<int64_t> estimated_bytes;
};

// One stop condition of the spec's `audit:` block and what was measured.
struct StopCheck {
  std::string condition;         // "max_keys", "max_memory", "not_empty"
  std::string entity;            // "" for the conditions on the whole keyspace
  std::optional<int64_t> limit;  // none for not_empty
  std::string limit_text;        // as the spec writes it
  // Null when it cannot be evaluated (max_memory with nothing measured),
  // which stops as a hit does: a condition with nothing to judge never passes.
  std::optional<int64_t> measured;
  bool hit = false;
  spec::Location where;
  std::string message;  // one line saying which condition, limit and value
};

struct AuditReport {
  std::string migration;
  int64_t sample = 0;
  std::vector<SourceAudit> sources;
  std::vector<PatternAudit> patterns;  // spec order of the redis entities
  UnmatchedAudit unmatched;
  std::vector<PatternOverlap> overlaps;
  int64_t keys = 0;          // every key read, all sources
  int64_t matched_keys = 0;  // keys some pattern matches (once each)
  // Every key: stratified by pattern (a key under its first pattern) and the
  // unmatched keys, so that no key counts twice.
  MemoryEstimate memory;
  std::optional<int64_t> estimated_bytes;          // all keys
  std::optional<int64_t> matched_estimated_bytes;  // keys some pattern matches
  TtlHistogram ttl;
  std::vector<PriorityTotal> priorities;  // most urgent first
  std::vector<BigKey> biggest_keys;       // the 10 largest measured, largest first
  std::vector<StopCheck> stop_conditions;

  bool stop_hit() const;
};

// Scans every redis source of `migration` once and counts. Sources of other
// types are left out; a spec with no redis source is InvalidArgument. A
// source that cannot be scanned is its store's error (kUnavailable when
// unreachable), named with the source.
Result<AuditReport> RunAudit(const spec::MigrationSpec& migration, const AuditRequest& request);

// The stop conditions of `audit` evaluated against `report` (RunAudit fills
// report.stop_conditions with this).
std::vector<StopCheck> EvaluateStopConditions(const spec::AuditSpec& audit,
                                              const AuditReport& report);

// The report as one JSON document: stable field names, counts and bytes as
// numbers, null for what could not be measured.
nlohmann::json AuditReportJson(const AuditReport& report);
// The report as compact tables for a terminal.
std::string FormatAuditReport(const AuditReport& report);

// "1,234,567".
std::string Thousands(int64_t n);

// "12.34%", floored: 100.00% only when part == whole.
std::string FlooredPercent(int64_t part, int64_t whole);

}  // namespace cutover::engine
