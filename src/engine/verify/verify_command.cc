// `cutover verify` in two passes (the full design, with a picture, is
// docs/verify.md):
//   pass 1  both stores are read at once, the source mapped by the backfill's
//           own mapper, every row folded into one of 65,536 buckets by its key
//           hash as (count, sum of row digests); equal stores end here.
//   pass 2  only for buckets that differ: both stores read again, keeping the
//           rows of those buckets, compared key by key (in rounds when many
//           differ, so memory stays bounded).
// Because the source side is mapped with the backfill's mapper, verify proves
// "PostgreSQL == mapper(source)", not "PostgreSQL == source": a mapping bug
// shared by both (a value rounded the same way twice) passes as clean. What
// verify ranks itself (a dedup entity's repeated keys) it ranks with its own
// code, so a wrong choice in either shows as a difference.
#include "engine/verify/verify_command.h"
#include "engine/verify/orphans.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "catalog/deferred_ddl.h"
#include "catalog/rollup_ddl.h"
#include "catalog/schema.h"
#include "catalog/table_ddl.h"
#include "catalog/verify_runs.h"
#include "engine/core/entity_plan.h"
#include "engine/core/entity_selection.h"
#include "engine/core/source_factory.h"
#include "engine/verify/bucket_fold.h"
#include "engine/verify/compare.h"
#include "engine/verify/repeated_keys.h"
#include "engine/verify/source_side.h"
#include "engine/verify/target_side.h"
#include "engine/verify/verify_plan.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/table_reader.h"

namespace cutover::engine {
namespace {

using verify::DimensionNames;
using verify::kBuckets;
using verify::SideTable;
using verify::VerifyPlan;

constexpr int64_t kRowsPerRound = 1 << 20;  // pass-2 rows held at once, both sides together

// Reads both stores at once; the source and PostgreSQL each get a thread.
Status ReadBoth(const spec::MigrationSpec& migration, const std::string& url, int jobs,
                VerifyPlan* plan, bool second_pass, std::vector<SideTable>* source_side,
                std::vector<SideTable>* target_side, DimensionNames* names) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  Status target_status;
  double target_seconds = 0;
  std::thread target_thread([&] {
    target_status = verify::ReadTarget(url, *plan, second_pass, target_side);
    target_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  });
  Status source_status =
      verify::ReadSource(migration, url, jobs, plan, second_pass, source_side, names);
  const double source_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  target_thread.join();
  // Which side bounds the pass, for tuning --jobs and the server.
  spdlog::debug("{} pass {}: source read in {:.2f} s, PostgreSQL in {:.2f} s", plan->entity->name,
                second_pass ? 2 : 1, source_seconds, target_seconds);
  RETURN_IF_ERROR(source_status.WithContext("reading the source of " + plan->entity->name));
  return target_status.WithContext("reading PostgreSQL for " + plan->entity->name);
}

// Names of the definitions still set aside for (migration, entity).
Result<std::vector<std::string>> SetAsideDefinitions(const std::string& url,
                                                     const std::string& migration,
                                                     const std::string& entity) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  return catalog::DeferredNames(conn.get(), migration, entity);
}

Status RecordVerdicts(const std::string& url, const std::string& migration,
                      const std::vector<TableVerdict>& verdicts) {
  ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(url));
  RETURN_IF_ERROR(catalog::EnsureControlSchema(conn.get()));
  std::vector<catalog::VerifyRun> runs;
  for (const auto& v : verdicts) {
    runs.push_back(
        {v.entity, v.source_rows, v.target_rows, v.missing, v.extra, v.changed, v.clean()});
  }
  return catalog::RecordVerifyRuns(conn.get(), migration, runs);
}

// ExpiredRedisKeys design
//
// A key of a Redis entity that expires after the backfill leaves its row
// (and its child rows) in PostgreSQL, while Redis no longer returns it. That
// row is no difference: both stores say the key is gone once its expiry has
// passed. So before rows only PostgreSQL holds are reported, they are checked
// again: a row whose `$expires_at` column (a child row: its parent row's) is
// at or before the moment this pass finished reading Redis belongs to a key
// that expired, before the compare or during it, and is left out. It cannot
// hide a row Redis returned (Redis never returns a key past its expiry, on
// its clock, which is taken to be this host's), nor a row whose key was
// deleted early: that one is reported until its expiry passes. Children of
// children are not re-checked. Returns how many rows were left out.
Result<int64_t> DropExpiredExtras(const std::string& url, const VerifyPlan& plan,
                                  std::chrono::system_clock::time_point read_done,
                                  const std::vector<SideTable>& src, std::vector<SideTable>* dst) {
  const spec::EntitySpec& entity = *plan.entity;
  if (!entity.redis) return 0;
  const spec::ColumnSpec* expiry = nullptr;
  for (const auto& c : entity.columns) {
    if (c.from == "$expires_at" && c.type == ValueType::kTimestamptz) expiry = &c;
  }
  if (expiry == nullptr) return 0;
  const int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(read_done.time_since_epoch()).count();
  const std::string expired_parents =
      fmt::format("{} <= to_timestamp({}.{:06})", pg_store::QuoteIdent(expiry->name),
                  micros / 1000000, micros % 1000000);
  const auto& tables = plan.mapper->tables();
  std::unique_ptr<pg_store::PgConnection> conn;
  int64_t dropped = 0;
  for (size_t t = 0; t < tables.size(); ++t) {
    const auto only_in_target = [&](const std::string& key) {
      return !src[t].rows_in_diff.contains(key);
    };
    if (std::none_of((*dst)[t].rows_in_diff.begin(), (*dst)[t].rows_in_diff.end(),
                     [&](const auto& row) { return only_in_target(row.first); })) {
      continue;
    }
    std::string where;
    if (t == 0) {
      where = expired_parents;
    } else if (plan.mapper->ParentOf(t) == 0 && !tables[t]->parent_columns.empty()) {
      std::vector<std::string> child_columns, parent_columns;
      for (const auto& [child, parent] : tables[t]->parent_columns) {
        child_columns.push_back(pg_store::QuoteIdent(child));
        parent_columns.push_back(pg_store::QuoteIdent(parent));
      }
      where = fmt::format("({}) IN (SELECT {} FROM {} WHERE {})", fmt::join(child_columns, ", "),
                          fmt::join(parent_columns, ", "), plan.shapes[0].QualifiedName(),
                          expired_parents);
    } else {
      continue;
    }
    if (conn == nullptr) {
      ASSIGN_OR_RETURN(conn, pg_store::PgConnection::ConnectWithRetry(url));
    }
    RETURN_IF_ERROR(pg_store::ScanTable(
        conn.get(), plan.shapes[t], verify::kScanBatchRows,
        [&](const RowBatch& batch) {
          for (size_t r = 0; r < batch.num_rows(); ++r) {
            const std::string key = plan.hashers[t].KeyText(batch, r);
            if (only_in_target(key) && (*dst)[t].rows_in_diff.erase(key) > 0) ++dropped;
          }
          return Status::Ok();
        },
        where));
  }
  return dropped;
}

}  // namespace

Result<VerifyReport> RunVerify(const spec::MigrationSpec& migration, const std::string& target_url,
                               const VerifyRequest& given) {
  // --priority and --pattern become the --entity names they select.
  VerifyRequest request = given;
  ASSIGN_OR_RETURN(request.entities, ApplyEntityFilter(migration, given.entities, given.filter));
  const auto started = std::chrono::steady_clock::now();
  const verify::CompareOptions compare{
      .float_tolerance = request.float_tolerance.value_or(migration.verify.float_tolerance),
      .detailed = request.detailed,
      .max_listed_keys = request.max_listed_keys};
  const int jobs = request.jobs > 0 ? request.jobs : DefaultJobs();
  {
    // A schema that a newer cutover shaped is refused before the scans, not
    // after them, when the verdicts would be recorded.
    ASSIGN_OR_RETURN(auto conn, pg_store::PgConnection::ConnectWithRetry(target_url));
    ASSIGN_OR_RETURN(const std::optional<int> version, catalog::ReadCatalogVersion(conn.get()));
    if (version && *version > catalog::kCatalogVersion) {
      return catalog::NewerCatalogError(*version);
    }
  }
  // The top-level entities to read, and (when names were given) the tables
  // to report: a child is read through its parent, a dimension through the
  // entities whose lookups fill it.
  std::set<std::string> to_read;
  std::set<std::string> to_report;
  for (const auto& name : request.entities) {
    ASSIGN_OR_RETURN(const EntityMatch match, MatchEntity(migration, name));
    to_read.insert(match.top_level->name);
    if (match.is_dimension()) {
      if (match.filled_by.empty()) {
        return InvalidArgument(fmt::format(
            "--entity {}: it has no source and no entity's lookup fills it, so there is "
            "nothing to compare it with",
            name));
      }
      for (const auto* fact : match.filled_by) to_read.insert(fact->name);
      to_report.insert(name);
    } else {
      const auto names = EntityAndChildren(*match.entity);
      to_report.insert(names.begin(), names.end());
    }
  }
  VerifyReport report;
  DimensionNames dimension_names;
  std::vector<const spec::EntitySpec*> dimensions;
  std::unique_ptr<pg_store::PgConnection> catalog;  // opened on first use
  // A source tag says which run wrote a row, not what the record holds: a
  // row an application wrote straight into PostgreSQL has none, and is
  // still the record. Tagged entities are compared without their tag
  // column (a deque: mappers keep the address of their entity).
  std::deque<spec::EntitySpec> untagged;
  for (const auto& entity : migration.entities) {
    if (!request.entities.empty() && !to_read.contains(entity.name)) continue;
    if (entity.source.empty()) {  // a lookup dimension: checked after the facts
      dimensions.push_back(&entity);
      continue;
    }
    const spec::EntitySpec* compared = &entity;
    if (entity.tag) {
      spec::EntitySpec& copy = untagged.emplace_back(entity);
      std::erase_if(copy.columns, [](const spec::ColumnSpec& c) { return c.from == "$tag"; });
      copy.tag.reset();
      compared = &copy;
    }
    ASSIGN_OR_RETURN(EntityPlan planned, PlanEntity(migration, *compared));
    VerifyPlan plan;
    plan.entity = compared;
    plan.chunked = planned.chunked;
    plan.mapper = std::move(planned.mapper);
    const auto& tables = plan.mapper->tables();
    if (catalog == nullptr) {
      ASSIGN_OR_RETURN(catalog, pg_store::PgConnection::ConnectWithRetry(target_url));
    }
    for (PlannedTable& table : planned.tables) {
      plan.shapes.push_back(std::move(table.shape));
      RETURN_IF_ERROR(catalog::ReadNumericScales(catalog.get(), &plan.shapes.back()));
      plan.hashers.emplace_back(plan.shapes.back());
    }
    for (const auto& k : plan.shapes[0].keep_last_by) {
      plan.keep_last_by.push_back(plan.shapes[0].IndexOf(k));
    }
    plan.diff_buckets.resize(tables.size());
    verify::PlanDedupStream(entity, &plan);

    std::vector<SideTable> src(tables.size()), dst(tables.size());
    RETURN_IF_ERROR(
        ReadBoth(migration, target_url, jobs, &plan, false, &src, &dst, &dimension_names));
    // Pass 2 holds the rows of differing buckets in memory. When most buckets
    // differ (a source full of duplicates that the load resolved, say), that
    // is most of the table, so the differing buckets are split into rounds of
    // about kRowsPerRound rows (counted in pass 1), each one a re-read of both
    // stores: memory stays bounded, at the cost of one read per round.
    std::vector<std::vector<size_t>> differing(tables.size());
    int64_t differing_rows = 0;
    for (size_t t = 0; t < tables.size(); ++t) {
      for (size_t b = 0; b < kBuckets; ++b) {
        if (src[t].buckets[b] == dst[t].buckets[b]) continue;
        differing[t].push_back(b);
        differing_rows += src[t].buckets[b].count + dst[t].buckets[b].count;
      }
    }
    std::vector<TableVerdict> verdicts(tables.size());
    if (differing_rows > 0) {
      const int64_t rounds = (differing_rows + kRowsPerRound - 1) / kRowsPerRound;
      size_t buckets = 0;
      for (const auto& d : differing) buckets += d.size();
      spdlog::info("{}: {} buckets differ ({} rows); comparing their rows in {} round(s)",
                   entity.name, buckets, differing_rows, rounds);
      for (int64_t round = 0; round < rounds; ++round) {
        for (size_t t = 0; t < tables.size(); ++t) {
          plan.diff_buckets[t].clear();
          for (size_t b : differing[t]) {
            if (static_cast<int64_t>(b % rounds) == round) plan.diff_buckets[t].insert(b);
          }
          src[t].rows_in_diff.clear();
          dst[t].rows_in_diff.clear();
        }
        RETURN_IF_ERROR(
            ReadBoth(migration, target_url, jobs, &plan, true, &src, &dst, &dimension_names));
        ASSIGN_OR_RETURN(
            const int64_t expired,
            DropExpiredExtras(target_url, plan, std::chrono::system_clock::now(), src, &dst));
        if (expired > 0) {
          spdlog::info(
              "{}: {} rows only PostgreSQL holds belong to keys that expired in Redis (their "
              "expires_at has passed): not differences",
              entity.name, expired);
        }
        for (size_t t = 0; t < tables.size(); ++t) {
          verify::CompareRows(plan.shapes[t], src[t], dst[t], compare, &verdicts[t]);
        }
      }
    }
    for (size_t t = 0; t < tables.size(); ++t) {
      TableVerdict& v = verdicts[t];
      v.entity = tables[t]->name;
      v.table = plan.shapes[t].schema + "." + plan.shapes[t].table;
      v.target_rows = dst[t].rows;
      v.unmappable = src[t].unmappable;
      if (t == 0 && plan.dedup_stream) v.source_duplicates = plan.superseded_rows;
      v.source_rows = src[t].rows - (plan.dedup_stream ? 0 : v.source_duplicates);
      v.matched = v.source_rows - v.missing - v.changed;
      if (t == 0) {
        ASSIGN_OR_RETURN(v.set_aside, SetAsideDefinitions(target_url, migration.name, entity.name));
      }
      report.tables.push_back(std::move(v));
    }
  }
  for (const auto* dimension : dimensions) {
    ASSIGN_OR_RETURN(auto verdict, verify::VerifyDimension(migration, target_url, *dimension,
                                                           dimension_names, compare));
    if (verdict) report.tables.push_back(std::move(*verdict));
  }
  if (!to_report.empty()) {
    std::erase_if(report.tables,
                  [&](const TableVerdict& v) { return !to_report.contains(v.entity); });
  }
  // Rows whose `references:` parent is missing (in PostgreSQL).
  for (TableVerdict& v : report.tables) {
    const spec::EntitySpec* entity = migration.FindEntity(v.entity);
    if (entity == nullptr) continue;
    if (catalog == nullptr) {
      ASSIGN_OR_RETURN(catalog, pg_store::PgConnection::ConnectWithRetry(target_url));
    }
    RETURN_IF_ERROR(
        verify::CheckReferences(catalog.get(), migration, *entity, request.max_listed_keys, &v));
    // Rollups against a fresh GROUP BY of the table (which the rows above
    // showed equal to the source).
    for (const spec::RollupSpec& rollup : entity->rollups) {
      ASSIGN_OR_RETURN(const catalog::RollupComparison cmp,
                       catalog::CompareRollup(catalog.get(), pg_store::ShapeOf(*entity, nullptr),
                                              rollup, request.max_listed_keys));
      v.rollups.push_back({.table = entity->schema + "." + rollup.table,
                           .exists = cmp.exists,
                           .buckets = cmp.buckets,
                           .missing = cmp.missing,
                           .extra = cmp.extra,
                           .changed = cmp.changed,
                           .listed = cmp.listed});
    }
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (request.record) RETURN_IF_ERROR(RecordVerdicts(target_url, migration.name, report.tables));
  return report;
}

}  // namespace cutover::engine
