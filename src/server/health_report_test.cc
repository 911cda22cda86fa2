// Tests for the legacy-store half of /health and /readyz: a source is
// reachable when its store answers Ping, whether its path is a file, a
// directory or a glob, and an unreachable one says precisely why.
#include "server/health_report.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace cutover::server {
namespace {

namespace fs = std::filesystem;

class ProbeSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cutover-health-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "data" / "a.parquet") << "not read by a probe";
    std::ofstream(dir_ / "data" / "users.json") << "[]";
  }
  void TearDown() override { fs::remove_all(dir_); }

  spec::SourceSpec Source(const std::string& name, const std::string& type,
                          const std::string& path) const {
    spec::SourceSpec s;
    s.name = name;
    s.type = type;
    s.path = path;
    return s;
  }

  fs::path dir_;
};

TEST_F(ProbeSourcesTest, AGlobThatMatchesFilesIsReachable) {
  spec::MigrationSpec migration;
  migration.sources.push_back(Source("prices", "parquet", (dir_ / "data" / "*.parquet").string()));
  migration.sources.push_back(Source("files", "json", (dir_ / "data").string()));
  migration.sources.push_back(Source("users", "json", (dir_ / "data" / "users.json").string()));
  const auto probes = ProbeSources(migration);
  ASSERT_EQ(probes.size(), 3u);
  for (const auto& p : probes) {
    EXPECT_TRUE(p.reachable) << p.name << ": " << p.reason;
    EXPECT_EQ(p.reason, "");
  }
}

TEST_F(ProbeSourcesTest, AnUnreachableSourceSaysPreciselyWhy) {
  const std::string glob = (dir_ / "data" / "*.csv").string();
  const std::string missing = (dir_ / "nope.json").string();
  spec::MigrationSpec migration;
  migration.sources.push_back(Source("sales", "csv", glob));
  migration.sources.push_back(Source("users", "json", missing));
  migration.sources.push_back(Source("empty", "parquet", (dir_ / "data" / "none").string()));
  fs::create_directories(dir_ / "data" / "none");
  const auto probes = ProbeSources(migration);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_FALSE(probes[0].reachable);
  EXPECT_EQ(probes[0].reason, "source 'sales': glob '" + glob + "' matches no file");
  EXPECT_FALSE(probes[1].reachable);
  EXPECT_EQ(probes[1].reason, "source 'users': file '" + missing + "' does not exist");
  EXPECT_FALSE(probes[2].reachable);
  EXPECT_EQ(probes[2].reason, "source 'empty': directory '" + (dir_ / "data" / "none").string() +
                                  "' holds no *.parquet file");
}

TEST_F(ProbeSourcesTest, AnUnknownStoreTypeIsUnreachableAndNamesTheKnownOnes) {
  spec::MigrationSpec migration;
  migration.sources.push_back(Source("cache", "mongodb", "localhost:27017"));
  const auto probes = ProbeSources(migration);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_FALSE(probes[0].reachable);
  EXPECT_EQ(probes[0].reason,
            "source 'cache': unknown store type 'mongodb'; known types: csv, iotdb, json, parquet, "
            "redis");
}

}  // namespace
}  // namespace cutover::server
