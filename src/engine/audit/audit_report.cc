// The audit report as JSON (stable names, numbers as numbers) and as compact
// tables for a terminal.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <string>

#include "engine/audit/audit.h"

namespace cutover::engine {
namespace {

using nlohmann::json;

json OptionalNumber(const std::optional<int64_t>& v) {
  return v ? json(*v) : json(nullptr);
}

json TtlJson(const TtlHistogram& h) {
  json out = json::object();
  for (size_t b = 0; b < TtlHistogram::kBuckets; ++b) out[TtlHistogram::Name(b)] = h.counts[b];
  return out;
}

json TypesJson(const std::map<std::string, int64_t>& types) {
  json out = json::object();
  for (const auto& [type, n] : types) out[type] = n;
  return out;
}

json MemoryJson(const MemoryEstimate& m) {
  json out = json::object();
  out["keys"] = m.keys;
  out["sampled_keys"] = m.sampled_keys;
  out["sampled_bytes"] = m.sampled_bytes;
  out["mean_bytes"] =
      m.sampled_keys > 0
          ? json(static_cast<double>(m.sampled_bytes) / static_cast<double>(m.sampled_keys))
          : json(nullptr);
  out["estimated_bytes"] = OptionalNumber(m.EstimatedBytes());
  out["estimated"] = !m.exact();
  return out;
}

// "1.5 MiB"; "-" when unknown; "~" before a figure that is an estimate.
std::string Bytes(const std::optional<int64_t>& bytes, bool estimate) {
  if (!bytes) return "-";
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(*bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  const std::string figure =
      unit == 0 ? fmt::format("{} B", *bytes) : fmt::format("{:.1f} {}", v, kUnits[unit]);
  return (estimate && *bytes > 0 ? "~" : "") + figure;
}

std::string Types(const std::map<std::string, int64_t>& types) {
  std::string out;
  for (const auto& [type, n] : types) {
    if (!out.empty()) out += " ";
    out += type + ":" + Thousands(n);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string FlooredPercent(int64_t part, int64_t whole) {
  if (whole <= 0) return "-";
  if (part >= whole) return part == whole ? "100.00%" : "-";
  // Hundredths of a percent, floored, in integers: 99.999% stays 99.99%.
  int64_t h = part <= std::numeric_limits<int64_t>::max() / 10000
                  ? part * 10000 / whole
                  : static_cast<int64_t>(static_cast<long double>(part) / whole * 10000);
  h = std::min<int64_t>(h, 9999);  // a part is never shown as the whole
  return fmt::format("{}.{:02d}%", h / 100, h % 100);
}

json AuditReportJson(const AuditReport& r) {
  json out = json::object();
  out["migration"] = r.migration;
  out["sample"] = r.sample;
  json sources = json::array();
  for (const SourceAudit& s : r.sources) {
    json masters = json::array();
    for (const auto& m : s.masters)
      masters.push_back({{"endpoint", m.name}, {"dbsize", m.key_count}});
    sources.push_back({{"source", s.source},
                       {"cluster", s.cluster},
                       {"masters", std::move(masters)},
                       {"keys", s.keys},
                       {"keys_gone", s.keys_gone},
                       {"keys_elsewhere", s.keys_elsewhere}});
  }
  out["sources"] = std::move(sources);
  out["keys"] = {{"total", r.keys}, {"matched", r.matched_keys}, {"unmatched", r.unmatched.keys}};
  json memory = MemoryJson(r.memory);
  memory["estimated_bytes"] = OptionalNumber(r.estimated_bytes);
  memory["matched_estimated_bytes"] = OptionalNumber(r.matched_estimated_bytes);
  out["memory"] = std::move(memory);
  out["ttl"] = TtlJson(r.ttl);
  json entities = json::array();
  for (const PatternAudit& p : r.patterns) {
    entities.push_back({{"entity", p.entity},
                        {"source", p.source},
                        {"pattern", p.pattern},
                        {"priority", spec::PriorityName(p.priority)},
                        {"priority_rank", p.priority},
                        {"declared_type", p.declared_type},
                        {"keys", p.keys},
                        {"types", TypesJson(p.types)},
                        {"type_mismatches", p.type_mismatches},
                        {"memory", MemoryJson(p.memory)},
                        {"ttl", TtlJson(p.ttl)}});
  }
  out["entities"] = std::move(entities);
  json prefixes = json::array();
  for (const auto& p : r.unmatched.prefixes) {
    prefixes.push_back({{"prefix", p.prefix}, {"keys", p.keys}});
  }
  out["unmatched"] = {{"keys", r.unmatched.keys},
                      {"types", TypesJson(r.unmatched.types)},
                      {"memory", MemoryJson(r.unmatched.memory)},
                      {"ttl", TtlJson(r.unmatched.ttl)},
                      {"prefixes", std::move(prefixes)},
                      {"prefixes_exact", r.unmatched.prefixes_exact}};
  json overlaps = json::array();
  for (const PatternOverlap& o : r.overlaps) {
    overlaps.push_back({{"source", o.source},
                        {"entities", {o.first_entity, o.second_entity}},
                        {"patterns", {o.first_pattern, o.second_pattern}},
                        {"keys", o.keys},
                        {"example_key", o.example_key}});
  }
  out["overlaps"] = std::move(overlaps);
  json priorities = json::array();
  for (const PriorityTotal& t : r.priorities) {
    priorities.push_back({{"priority", spec::PriorityName(t.priority)},
                          {"rank", t.priority},
                          {"entities", t.entities},
                          {"keys", t.keys},
                          {"estimated_bytes", OptionalNumber(t.estimated_bytes)}});
  }
  out["priorities"] = std::move(priorities);
  json biggest = json::array();
  for (const BigKey& b : r.biggest_keys) {
    biggest.push_back({{"key", b.key},
                       {"bytes", b.bytes},
                       {"type", b.type},
                       {"entity", b.entity.empty() ? json(nullptr) : json(b.entity)},
                       {"source", b.source}});
  }
  out["biggest_keys"] = std::move(biggest);
  json stops = json::array();
  for (const StopCheck& c : r.stop_conditions) {
    stops.push_back({{"condition", c.condition},
                     {"entity", c.entity.empty() ? json(nullptr) : json(c.entity)},
                     {"limit", OptionalNumber(c.limit)},
                     {"limit_text", c.limit_text},
                     {"measured", OptionalNumber(c.measured)},
                     {"evaluated", c.measured.has_value()},
                     {"hit", c.hit},
                     {"where", c.where.ToString()},
                     {"message", c.message}});
  }
  out["stop_conditions"] = std::move(stops);
  return out;
}

std::string FormatAuditReport(const AuditReport& r) {
  std::string out;
  auto line = [&out](const std::string& text) {
    const size_t end = text.find_last_not_of(' ');
    out += (end == std::string::npos ? std::string() : text.substr(0, end + 1)) + "\n";
  };
  for (const SourceAudit& s : r.sources) {
    std::string masters;
    for (const auto& m : s.masters) masters += (masters.empty() ? "" : ", ") + m.name;
    line(fmt::format("source {}: {} keys on {} ({})", s.source, Thousands(s.keys),
                     s.cluster ? fmt::format("{} cluster masters", s.masters.size())
                               : std::string("a standalone server"),
                     masters));
    if (s.keys_gone > 0 || s.keys_elsewhere > 0) {
      line(
          fmt::format("  not counted: {} keys gone before they were read, {} in slots that "
                      "moved during the scan",
                      Thousands(s.keys_gone), Thousands(s.keys_elsewhere)));
    }
  }
  line(fmt::format("keys: {} in all, {} matched by the spec's patterns ({}), {} unmatched",
                   Thousands(r.keys), Thousands(r.matched_keys),
                   FlooredPercent(r.matched_keys, r.keys), Thousands(r.unmatched.keys)));
  if (r.memory.sampled_keys == 0 && r.keys > 0) {
    line("memory: not measured (--sample 0, or MEMORY USAGE refused)");
  } else {
    line(fmt::format("memory: {} in all, {} matched; {} from MEMORY USAGE of {} of {} keys ({})",
                     Bytes(r.estimated_bytes, !r.memory.exact()),
                     Bytes(r.matched_estimated_bytes, !r.memory.exact()),
                     r.memory.exact() ? "exact" : "an estimate (sampled mean x keys)",
                     Thousands(r.memory.sampled_keys), Thousands(r.memory.keys),
                     FlooredPercent(r.memory.sampled_keys, r.memory.keys)));
  }
  line("");

  size_t entity_w = std::string("(unmatched)").size();
  for (const PatternAudit& p : r.patterns) entity_w = std::max(entity_w, p.entity.size());
  line(fmt::format("{:<{}}  {:<8}  {:>10}  {:>7}  {:>11}  {:<24}  {}", "ENTITY", entity_w,
                   "PRIORITY", "KEYS", "%KEYS", "MEMORY", "TYPES", "PATTERN"));
  for (const PatternAudit& p : r.patterns) {
    std::string types = Types(p.types);
    if (p.type_mismatches > 0) {
      types += fmt::format(" ({} not {})", Thousands(p.type_mismatches), p.declared_type);
    }
    line(fmt::format("{:<{}}  {:<8}  {:>10}  {:>7}  {:>11}  {:<24}  {}", p.entity, entity_w,
                     spec::PriorityName(p.priority), Thousands(p.keys),
                     FlooredPercent(p.keys, r.keys),
                     Bytes(p.memory.EstimatedBytes(), !p.memory.exact()), types, p.pattern));
  }
  line(fmt::format("{:<{}}  {:<8}  {:>10}  {:>7}  {:>11}  {:<24}", "(unmatched)", entity_w, "",
                   Thousands(r.unmatched.keys), FlooredPercent(r.unmatched.keys, r.keys),
                   Bytes(r.unmatched.memory.EstimatedBytes(), !r.unmatched.memory.exact()),
                   Types(r.unmatched.types)));
  line("");

  std::string heading = fmt::format("{:<{}}", "TTL", entity_w);
  for (size_t b = 0; b < TtlHistogram::kBuckets; ++b) {
    heading += fmt::format("  {:>8}", TtlHistogram::Heading(b));
  }
  line(heading);
  auto ttl_row = [&](const std::string& name, const TtlHistogram& h) {
    std::string row = fmt::format("{:<{}}", name, entity_w);
    for (int64_t n : h.counts) row += fmt::format("  {:>8}", Thousands(n));
    line(row);
  };
  for (const PatternAudit& p : r.patterns) ttl_row(p.entity, p.ttl);
  ttl_row("(unmatched)", r.unmatched.ttl);
  ttl_row("(all keys)", r.ttl);
  line("");

  line("by priority:");
  for (const PriorityTotal& t : r.priorities) {
    std::string names;
    for (const auto& e : t.entities) names += (names.empty() ? "" : ", ") + e;
    line(fmt::format("  {:<8}  {:>10} keys  {:>11}  {}", spec::PriorityName(t.priority),
                     Thousands(t.keys), Bytes(t.estimated_bytes, !r.memory.exact()), names));
  }
  if (!r.unmatched.prefixes.empty()) {
    line(fmt::format("unmatched keys by prefix (top {}{}):", r.unmatched.prefixes.size(),
                     r.unmatched.prefixes_exact ? "" : ", counts approximate"));
    for (const auto& p : r.unmatched.prefixes) {
      line(fmt::format("  {:>10}  {}*", Thousands(p.keys), p.prefix));
    }
  }
  if (!r.biggest_keys.empty()) {
    line(fmt::format("biggest keys (of the {} measured):", Thousands(r.memory.sampled_keys)));
    for (const BigKey& b : r.biggest_keys) {
      line(fmt::format("  {:>11}  {:<6}  {}{}", Bytes(b.bytes, false), b.type, b.key,
                       b.entity.empty() ? " (unmatched)" : " (" + b.entity + ")"));
    }
  }
  for (const PatternAudit& p : r.patterns) {
    if (p.type_mismatches > 0) {
      line(fmt::format(
          "warning: {} keys of entity '{}' ({}) are not of type {} as its value "
          "kind declares: {}",
          Thousands(p.type_mismatches), p.entity, p.pattern, p.declared_type, Types(p.types)));
    }
  }
  for (const PatternOverlap& o : r.overlaps) {
    line(
        fmt::format("error: {} keys of source {} match two patterns, {} ({}) and {} ({}); "
                    "e.g. {}",
                    Thousands(o.keys), o.source, o.first_pattern, o.first_entity, o.second_pattern,
                    o.second_entity, o.example_key));
  }
  for (const StopCheck& c : r.stop_conditions) {
    line(fmt::format("{}: {}", c.hit ? "STOP" : "ok", c.message));
  }
  return out;
}

}  // namespace cutover::engine
