// The audit's counting: one scan of each redis source, every key matched
// against the source's patterns and tallied in counters and bounded top lists.
#include "engine/audit/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "common/utf8.h"
#include "engine/audit/prefix_counter.h"
#include "stores/registry.h"

namespace cutover::engine {

void TtlHistogram::Add(int64_t ttl_ms) {
  static constexpr int64_t kMinute = 60'000;
  static constexpr int64_t kLimits[] = {kMinute, 60 * kMinute, 24 * 60 * kMinute,
                                        7 * 24 * 60 * kMinute, 30 * 24 * 60 * kMinute};
  if (ttl_ms < 0) {
    ++counts[0];
    return;
  }
  size_t bucket = 1;
  while (bucket - 1 < std::size(kLimits) && ttl_ms >= kLimits[bucket - 1]) ++bucket;
  ++counts[bucket];
}

const char* TtlHistogram::Name(size_t bucket) {
  static const char* const kNames[kBuckets] = {"none",     "under_1m",  "under_1h",    "under_1d",
                                               "under_7d", "under_30d", "at_least_30d"};
  return kNames[bucket];
}

const char* TtlHistogram::Heading(size_t bucket) {
  static const char* const kHeadings[kBuckets] = {"none", "<1m",  "<1h",  "<1d",
                                                  "<7d",  "<30d", ">=30d"};
  return kHeadings[bucket];
}

std::optional<int64_t> MemoryEstimate::EstimatedBytes() const {
  if (keys == 0) return 0;
  if (sampled_keys == 0) return std::nullopt;
  if (exact()) return sampled_bytes;
  return static_cast<int64_t>(
      std::llround(static_cast<double>(sampled_bytes) / static_cast<double>(sampled_keys) *
                   static_cast<double>(keys)));
}

bool AuditReport::stop_hit() const {
  return std::any_of(stop_conditions.begin(), stop_conditions.end(),
                     [](const StopCheck& c) { return c.hit; });
}

namespace {

constexpr size_t kBiggestKeys = 10;
constexpr size_t kTopPrefixes = 20;

void AddSample(MemoryEstimate& m, int64_t bytes) {
  if (bytes < 0) return;
  ++m.sampled_keys;
  m.sampled_bytes += bytes;
}

// KeyspaceTally design
//
// Memory is bounded whatever the size of the keyspace: per pattern and per
// source a fixed set of counters, the unmatched prefixes in a Space-Saving
// counter of fixed capacity, the biggest keys in a heap of ten, overlaps one
// counter (and one example key) per pair of patterns, and the pattern matches
// of the page being read. Keys are never collected.
//
// Memory is sampled per stratum: each key belongs to the first pattern that
// matches it (spec order) or to its source's unmatched keys, and the 1st,
// (N+1)th, (2N+1)th ... key of each stratum is measured, N = the source's
// keys (DBSIZE) / --sample. Every stratum with a key thus has a sample, and
// the total is the sum of the strata's estimates, in which no key counts twice.
class KeyspaceTally : public store::KeyspaceVisitor {
 public:
  KeyspaceTally(AuditReport* report, const AuditRequest& request)
      : report_(report), request_(request) {}

  // Before the scan of `source`: its patterns (indices into report->patterns).
  void BeginSource(size_t source_index, std::vector<size_t> patterns,
                   std::vector<const spec::KeyPattern*> matchers) {
    source_ = source_index;
    patterns_ = std::move(patterns);
    matchers_ = std::move(matchers);
    seen_.assign(patterns_.size() + 1, 0);
    first_stratum_ = strata_.size();
    strata_.resize(strata_.size() + patterns_.size() + 1);
    overlap_index_.clear();
  }

  void Start(const store::KeyspaceOverview& overview) override {
    SourceAudit& s = report_->sources[source_];
    s.cluster = overview.cluster;
    s.masters = overview.nodes;
    stride_ = 1;
    if (request_.sample > 0) {
      stride_ = std::max<int64_t>(1, (overview.KeyCount() + request_.sample - 1) / request_.sample);
    }
  }

  void Admit(std::vector<store::ScannedKey>& page) override {
    matches_.resize(page.size());
    for (size_t i = 0; i < page.size(); ++i) {
      std::vector<int>& m = matches_[i];
      m.clear();
      for (size_t p = 0; p < matchers_.size(); ++p) {
        if (matchers_[p]->Match(page[i].name)) m.push_back(static_cast<int>(p));
      }
      const int stratum = m.empty() ? static_cast<int>(patterns_.size()) : m.front();
      page[i].group = stratum;
      page[i].measure = request_.sample > 0 && seen_[stratum]++ % stride_ == 0;
    }
  }

  void Visit(const std::vector<store::ScannedKey>& page) override {
    SourceAudit& s = report_->sources[source_];
    for (size_t i = 0; i < page.size(); ++i) {
      const store::ScannedKey& key = page[i];
      if (key.state == store::ScannedKey::State::kGone) {
        ++s.keys_gone;
        continue;
      }
      if (key.state == store::ScannedKey::State::kElsewhere) {
        ++s.keys_elsewhere;
        continue;
      }
      ++s.keys;
      ++report_->keys;
      report_->ttl.Add(key.ttl_ms);
      MemoryEstimate& stratum = strata_[first_stratum_ + key.group];
      ++stratum.keys;
      AddSample(stratum, key.memory_bytes);
      const std::vector<int>& m = matches_[i];
      if (m.empty()) {
        UnmatchedAudit& u = report_->unmatched;
        ++u.keys;
        ++u.types[key.type];
        u.ttl.Add(key.ttl_ms);
        ++u.memory.keys;
        AddSample(u.memory, key.memory_bytes);
        prefixes_.Add(KeyPrefix(key.name));
      } else {
        ++report_->matched_keys;
        for (int p : m) {
          PatternAudit& pa = report_->patterns[patterns_[p]];
          ++pa.keys;
          ++pa.types[key.type];
          if (key.type != pa.declared_type) ++pa.type_mismatches;
          pa.ttl.Add(key.ttl_ms);
          ++pa.memory.keys;
          AddSample(pa.memory, key.memory_bytes);
        }
        for (size_t a = 0; a < m.size(); ++a) {
          for (size_t b = a + 1; b < m.size(); ++b) CountOverlap(m[a], m[b], key.name);
        }
      }
      if (key.memory_bytes >= 0) {
        const std::string entity =
            m.empty() ? std::string() : report_->patterns[patterns_[m.front()]].entity;
        OfferBigKey(key, entity);
      }
    }
  }

  // After every source: the totals that need all of them.
  void Finish() {
    report_->memory = MemoryEstimate();
    std::optional<int64_t> total = 0;
    std::optional<int64_t> matched = 0;
    for (const auto& [first, count] : source_strata_) {
      for (size_t k = 0; k < count; ++k) {
        const MemoryEstimate& m = strata_[first + k];
        report_->memory.keys += m.keys;
        report_->memory.sampled_keys += m.sampled_keys;
        report_->memory.sampled_bytes += m.sampled_bytes;
        const std::optional<int64_t> e = m.EstimatedBytes();
        const bool is_matched = k + 1 < count;  // the last stratum is the unmatched keys
        if (!e) {
          total.reset();
          if (is_matched) matched.reset();
        } else {
          if (total) *total += *e;
          if (is_matched && matched) *matched += *e;
        }
      }
    }
    report_->estimated_bytes = total;
    report_->matched_estimated_bytes = matched;
    for (const auto& entry : prefixes_.Top(kTopPrefixes)) {
      report_->unmatched.prefixes.push_back({EscapeInvalidUtf8(entry.prefix), entry.count});
    }
    report_->unmatched.prefixes_exact = prefixes_.exact();
    std::sort(biggest_.begin(), biggest_.end(),
              [](const BigKey& a, const BigKey& b) { return a.bytes > b.bytes; });
    report_->biggest_keys = std::move(biggest_);
  }

  void EndSource() { source_strata_.emplace_back(first_stratum_, patterns_.size() + 1); }

 private:
  void CountOverlap(int a, int b, const std::string& key) {
    auto [it, added] = overlap_index_.try_emplace({a, b}, report_->overlaps.size());
    if (added) {
      const PatternAudit& pa = report_->patterns[patterns_[a]];
      const PatternAudit& pb = report_->patterns[patterns_[b]];
      PatternOverlap o;
      o.source = pa.source;
      o.first_entity = pa.entity;
      o.second_entity = pb.entity;
      o.first_pattern = pa.pattern;
      o.second_pattern = pb.pattern;
      o.example_key = EscapeInvalidUtf8(key);
      report_->overlaps.push_back(std::move(o));
    }
    ++report_->overlaps[it->second].keys;
  }

  // Keeps the ten biggest in a min-heap: the smallest kept is on top.
  void OfferBigKey(const store::ScannedKey& key, const std::string& entity) {
    auto smaller_on_top = [](const BigKey& a, const BigKey& b) { return a.bytes > b.bytes; };
    if (biggest_.size() == kBiggestKeys) {
      if (key.memory_bytes <= biggest_.front().bytes) return;
      std::pop_heap(biggest_.begin(), biggest_.end(), smaller_on_top);
      biggest_.pop_back();
    }
    biggest_.push_back({EscapeInvalidUtf8(key.name), key.memory_bytes, key.type, entity,
                        report_->sources[source_].source});
    std::push_heap(biggest_.begin(), biggest_.end(), smaller_on_top);
  }

  AuditReport* report_;
  AuditRequest request_;
  size_t source_ = 0;
  std::vector<size_t> patterns_;
  std::vector<const spec::KeyPattern*> matchers_;
  std::vector<int64_t> seen_;  // keys admitted per stratum of this source
  int64_t stride_ = 1;
  std::vector<std::vector<int>> matches_;  // per key of the page in flight
  size_t first_stratum_ = 0;
  std::vector<MemoryEstimate> strata_;
  std::vector<std::pair<size_t, size_t>> source_strata_;  // (first, count) per source
  std::map<std::pair<int, int>, size_t> overlap_index_;   // this source's pairs
  PrefixCounter prefixes_;
  std::vector<BigKey> biggest_;
};

}  // namespace

std::string Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::vector<StopCheck> EvaluateStopConditions(const spec::AuditSpec& audit,
                                              const AuditReport& report) {
  std::vector<StopCheck> out;
  auto pattern_of = [&](const std::string& entity) -> const PatternAudit* {
    for (const PatternAudit& p : report.patterns) {
      if (p.entity == entity) return &p;
    }
    return nullptr;
  };
  if (audit.max_keys) {
    StopCheck c;
    c.condition = "max_keys";
    c.limit = audit.max_keys->value;
    c.limit_text = audit.max_keys->text;
    c.where = audit.max_keys->where;
    c.measured = report.matched_keys;
    c.hit = *c.measured > *c.limit;
    c.message = fmt::format("max_keys ({}): {} keys match the spec's patterns, limit {}",
                            c.where.ToString(), Thousands(*c.measured), Thousands(*c.limit));
    out.push_back(std::move(c));
  }
  if (audit.max_memory) {
    StopCheck c;
    c.condition = "max_memory";
    c.limit = audit.max_memory->value;
    c.limit_text = audit.max_memory->text;
    c.where = audit.max_memory->where;
    c.measured = report.estimated_bytes;
    if (c.measured) {
      c.hit = *c.measured > *c.limit;
      c.message = fmt::format(
          "max_memory ({}): an estimated {} bytes in all {} keys ({} of them measured), "
          "limit {} ({} bytes)",
          c.where.ToString(), Thousands(*c.measured), Thousands(report.memory.keys),
          Thousands(report.memory.sampled_keys), c.limit_text, Thousands(*c.limit));
    } else {
      c.hit = true;
      c.message = fmt::format(
          "max_memory ({}): cannot be evaluated, the memory of some keys' group was never "
          "measured (--sample 0, or MEMORY USAGE refused); limit {}",
          c.where.ToString(), c.limit_text);
    }
    out.push_back(std::move(c));
  }
  for (const spec::AuditSpec::NotEmpty& n : audit.not_empty) {
    StopCheck c;
    c.condition = "not_empty";
    c.entity = n.entity;
    c.where = n.where;
    const PatternAudit* p = pattern_of(n.entity);
    c.measured = p ? p->keys : 0;
    c.hit = *c.measured == 0;
    c.message = fmt::format("not_empty ({}): entity '{}' ({}) matches {} keys", c.where.ToString(),
                            n.entity, p ? p->pattern : "no pattern", Thousands(*c.measured));
    out.push_back(std::move(c));
  }
  for (const spec::AuditSpec::EntityLimits& e : audit.entities) {
    if (!e.max_keys) continue;
    StopCheck c;
    c.condition = "max_keys";
    c.entity = e.entity;
    c.limit = e.max_keys->value;
    c.limit_text = e.max_keys->text;
    c.where = e.max_keys->where;
    const PatternAudit* p = pattern_of(e.entity);
    c.measured = p ? p->keys : 0;
    c.hit = *c.measured > *c.limit;
    c.message = fmt::format("max_keys of entity '{}' ({}): {} keys match {}, limit {}", e.entity,
                            c.where.ToString(), Thousands(*c.measured),
                            p ? p->pattern : "no pattern", Thousands(*c.limit));
    out.push_back(std::move(c));
  }
  return out;
}

Result<AuditReport> RunAudit(const spec::MigrationSpec& migration, const AuditRequest& request) {
  AuditReport report;
  report.migration = migration.name;
  report.sample = request.sample;
  std::vector<const spec::SourceSpec*> sources;
  std::vector<std::string_view> others;
  for (const spec::SourceSpec& s : migration.sources) {
    if (s.type == "redis") {
      sources.push_back(&s);
    } else {
      others.push_back(s.name);
    }
  }
  if (sources.empty()) {
    std::string names;
    for (std::string_view n : others) names += (names.empty() ? "" : ", ") + std::string(n);
    return InvalidArgument(
        "the spec declares no redis source; audit reads Redis keyspaces (its "
        "sources are: " +
        names + ")");
  }
  // Entities in spec order (migration.entities is sorted by priority,
  // stably): their order decides a key's first pattern.
  std::vector<const spec::EntitySpec*> entities;
  for (const spec::EntitySpec& e : migration.entities) {
    if (e.redis) entities.push_back(&e);
  }
  std::stable_sort(entities.begin(), entities.end(),
                   [](const spec::EntitySpec* a, const spec::EntitySpec* b) {
                     return std::make_pair(a->where.line, a->where.column) <
                            std::make_pair(b->where.line, b->where.column);
                   });
  for (const spec::EntitySpec* e : entities) {
    PatternAudit p;
    p.entity = e->name;
    p.source = e->source;
    p.pattern = e->redis->pattern.text();
    p.priority = e->priority;
    p.declared_type = std::string(spec::RedisTypeName(e->redis->value));
    report.patterns.push_back(std::move(p));
  }
  KeyspaceTally tally(&report, request);
  store::KeyspaceScanOptions scan;
  scan.scan_count = request.scan_count;
  for (size_t i = 0; i < sources.size(); ++i) {
    SourceAudit source_audit;
    source_audit.source = sources[i]->name;
    report.sources.push_back(std::move(source_audit));
    std::vector<size_t> patterns;
    std::vector<const spec::KeyPattern*> matchers;
    for (size_t p = 0; p < entities.size(); ++p) {
      if (entities[p]->source == sources[i]->name) {
        patterns.push_back(p);
        matchers.push_back(&entities[p]->redis->pattern);
      }
    }
    tally.BeginSource(i, std::move(patterns), std::move(matchers));
    const Status st = stores::ScanSourceKeyspace(*sources[i], scan, tally);
    if (!st.ok()) {
      return st.WithContext("source '" + sources[i]->name + "'");
    }
    tally.EndSource();
  }
  tally.Finish();

  std::map<int, PriorityTotal> by_priority;
  for (const PatternAudit& p : report.patterns) {
    PriorityTotal& t = by_priority[p.priority];
    if (t.entities.empty()) t.estimated_bytes = 0;
    t.priority = p.priority;
    t.entities.push_back(p.entity);
    t.keys += p.keys;
    const std::optional<int64_t> e = p.memory.EstimatedBytes();
    if (!e) {
      t.estimated_bytes.reset();
    } else if (t.estimated_bytes) {
      *t.estimated_bytes += *e;
    }
  }
  for (auto& [priority, total] : by_priority) report.priorities.push_back(std::move(total));
  report.stop_conditions = EvaluateStopConditions(migration.audit, report);
  return report;
}

}  // namespace cutover::engine
