// The verify report: accuracy floored to hundredths, the table printed for
// people, and the JSON document whose fields programs read.
#include "engine/verify/verify_report.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace cutover::engine {

std::optional<double> TableVerdict::accuracy() const {
  const int64_t universe = matched + missing + changed + extra;
  if (universe == 0) return std::nullopt;
  return 100.0 * static_cast<double>(matched) / static_cast<double>(universe);
}

std::string TableVerdict::AccuracyText() const {
  const int64_t universe = matched + missing + changed + extra;
  if (universe == 0) return "-";
  // In integers: a double's 99.995 may print as 100.00, and its 99.99 may
  // floor to 99.98. matched * 10000 fits int64 below 9e14 keys.
  const int64_t hundredths = matched * 10000 / universe;
  return fmt::format("{}.{:02}%", hundredths / 100, hundredths % 100);
}

bool VerifyReport::clean() const {
  return !tables.empty() &&
         std::all_of(tables.begin(), tables.end(), [](const auto& t) { return t.clean(); });
}

std::string FormatVerifyReport(const VerifyReport& report, bool detailed) {
  std::string out =
      fmt::format("{:<20} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}\n", "entity", "source",
                  "postgres", "matched", "missing", "extra", "changed", "accuracy");
  for (const auto& t : report.tables) {
    out += fmt::format("{:<20} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>9}\n", t.entity,
                       t.source_rows, t.target_rows, t.matched, t.missing, t.extra, t.changed,
                       t.AccuracyText());
  }
  for (const auto& t : report.tables) {
    for (const auto& k : t.missing_keys)
      out += fmt::format("  {} missing in PostgreSQL: {}\n", t.entity, k);
    for (const auto& k : t.extra_keys)
      out += fmt::format("  {} extra in PostgreSQL: {}\n", t.entity, k);
    for (const auto& k : t.changed_keys) {
      out += fmt::format("  {} changed: {}", t.entity, k.key);
      if (detailed && !k.columns.empty())
        out += fmt::format(" (columns: {})", fmt::join(k.columns, ", "));
      out += "\n";
    }
    const int64_t listed =
        static_cast<int64_t>(t.missing_keys.size() + t.extra_keys.size() + t.changed_keys.size());
    if (listed < t.missing + t.extra + t.changed) {
      out += fmt::format("  {}: {} more differences not listed (see --json)\n", t.entity,
                         t.missing + t.extra + t.changed - listed);
    }
    if (t.source_duplicates > 0) {
      out += fmt::format("  {}: {} repeated keys in the source; the last occurrence counts\n",
                         t.entity, t.source_duplicates);
    }
    if (t.unmappable > 0) {
      out += fmt::format(
          "  {}: {} source records could not be mapped and are not compared "
          "(they are rejects; see cutover.rejects)\n",
          t.entity, t.unmappable);
    }
    for (const auto& o : t.orphans) {
      if (o.orphans == 0) continue;
      out +=
          fmt::format("  {}: {} rows whose {} names no {} (orphans){}{}\n", t.entity, o.orphans,
                      o.column, o.references, o.keys.empty() ? "" : ": ", fmt::join(o.keys, "; "));
    }
    for (const auto& r : t.rollups) {
      if (!r.exists) {
        out += fmt::format(
            "  {}: not clean: its rollup {} does not exist; run backfill with --create-tables "
            "to create it\n",
            t.entity, r.table);
      } else if (!r.clean()) {
        out += fmt::format(
            "  {}: not clean: rollup {} differs from the table in {} of {} buckets ({} missing, "
            "{} extra, {} changed){}{}\n",
            t.entity, r.table, r.missing + r.extra + r.changed, r.buckets + r.extra, r.missing,
            r.extra, r.changed, r.listed.empty() ? "" : ": ", fmt::join(r.listed, "; "));
      }
    }
    if (!t.set_aside.empty()) {
      out += fmt::format(
          "  {}: not clean: {} of its key, indexes or constraints (its child tables' foreign "
          "keys included) are still set aside in cutover.deferred_ddl by an unfinished load "
          "({}); run backfill again to build them (see the README on bulk loads)\n",
          t.entity, t.set_aside.size(), fmt::join(t.set_aside, ", "));
    }
  }
  if (report.tables.empty()) {
    out += fmt::format("nothing was compared, so nothing is proven; verify took {:.1f}s\n",
                       report.seconds);
    return out;
  }
  int64_t differences = 0;
  for (const auto& t : report.tables) differences += t.missing + t.extra + t.changed;
  // "0 differences" alone would read as clean when orphans, a rollup or a
  // set-aside key say otherwise.
  int64_t unclean = 0;
  for (const auto& t : report.tables) {
    if (t.missing + t.extra + t.changed == 0 && !t.clean()) ++unclean;
  }
  out += fmt::format("{} differences{}; verify took {:.1f}s\n", differences,
                     unclean == 0 ? ""
                                  : fmt::format(" in rows, yet {} {} not clean (see above)",
                                                unclean, unclean == 1 ? "table is" : "tables are"),
                     report.seconds);
  return out;
}

nlohmann::json VerifyReportJson(const VerifyReport& report) {
  nlohmann::json j;
  j["clean"] = report.clean();
  j["seconds"] = report.seconds;
  j["entities"] = nlohmann::json::array();
  for (const auto& t : report.tables) {
    nlohmann::json e;
    e["entity"] = t.entity;
    e["table"] = t.table;
    e["source_rows"] = t.source_rows;
    e["target_rows"] = t.target_rows;
    e["matched"] = t.matched;
    e["missing"] = t.missing;
    e["extra"] = t.extra;
    e["changed"] = t.changed;
    e["unmappable"] = t.unmappable;
    e["source_duplicates"] = t.source_duplicates;
    e["set_aside"] = t.set_aside;
    e["orphans"] = nlohmann::json::array();
    for (const auto& o : t.orphans) {
      e["orphans"].push_back({{"column", o.column},
                              {"references", o.references},
                              {"count", o.orphans},
                              {"keys", o.keys}});
    }
    e["rollups"] = nlohmann::json::array();
    for (const auto& r : t.rollups) {
      e["rollups"].push_back({{"table", r.table},
                              {"exists", r.exists},
                              {"clean", r.clean()},
                              {"buckets", r.buckets},
                              {"missing", r.missing},
                              {"extra", r.extra},
                              {"changed", r.changed},
                              {"listed", r.listed}});
    }
    const std::optional<double> accuracy = t.accuracy();
    e["accuracy_percent"] = accuracy ? nlohmann::json(*accuracy) : nlohmann::json(nullptr);
    e["missing_keys"] = t.missing_keys;
    e["extra_keys"] = t.extra_keys;
    e["changed_keys"] = nlohmann::json::array();
    for (const auto& k : t.changed_keys) {
      e["changed_keys"].push_back({{"key", k.key}, {"columns", k.columns}});
    }
    j["entities"].push_back(std::move(e));
  }
  return j;
}

}  // namespace cutover::engine
