// ScratchStores: the scratch PostgreSQL and redis-server a Redis benchmark
// measures against, in a temporary directory removed with them.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "process_meter.h"
#include "redis_bench_client.h"
#include "stores/postgres/scratch_cluster.h"

namespace cutover::bench {

struct ScratchStores {
  std::string dir;  // the benchmark's scratch files; removed last
  std::unique_ptr<RemoveOnExit> remove_dir;
  std::unique_ptr<pg_store::ScratchCluster> pg;
  std::unique_ptr<ScratchRedis> redis;
  std::string url;  // PostgreSQL's

  // Null (with the reason on stderr) when either server does not start.
  static std::unique_ptr<ScratchStores> Start(const std::string& prefix) {
    auto s = std::make_unique<ScratchStores>();
    auto dir = pg_store::MakeTempDir(prefix);
    if (!dir.ok()) return nullptr;
    s->dir = *dir;
    s->remove_dir = std::make_unique<RemoveOnExit>(s->dir);
    auto pg_dir = pg_store::MakeTempDir("cutover-bench-pg-");
    if (!pg_dir.ok()) return nullptr;
    auto cluster = pg_store::ScratchCluster::Start({*pg_dir, /*ephemeral=*/true, "bench"});
    if (!cluster.ok()) {
      fmt::print(stderr, "cannot start PostgreSQL: {}\n", cluster.status().message());
      return nullptr;
    }
    s->pg = std::move(*cluster);
    s->url = s->pg->url();
    std::filesystem::create_directories(s->dir + "/redis");
    s->redis = ScratchRedis::Start(s->dir + "/redis");
    if (!s->redis) {
      fmt::print(stderr, "cannot start redis-server in {}/redis\n", s->dir);
      return nullptr;
    }
    return s;
  }
};

}  // namespace cutover::bench
