// Write-back: rows backfilled from one Redis, turned back into keys and
// written into an empty Redis, equal the original keys, TTLs included.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/core/entity_plan.h"
#include "map/record_builder.h"
#include "spec/spec_loader.h"
#include "stores/registry.h"
#include "support/pg_harness.h"
#include "support/redis_harness.h"

namespace cutover::testing {
namespace {

constexpr std::string_view kSpec = R"(
migration: back
target: { url: "${DATABASE_URL}" }
sources:
  cache: { type: redis, url: "${REDIS_URL}" }
entities:
  users:
    source: { from: cache, pattern: "u:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email:      { type: text }
      id:         { from: user_id, type: bigint }
      name:       { type: text }
      balance:    { type: numeric }
      expires_at: { from: $expires_at, type: timestamptz }
  usage:
    source: { from: cache, pattern: "n:{ip}:{day}", value: counter }
    key: [ip, day]
    write_back: true
    columns:
      ip:         { type: text }
      day:        { type: date }
      count:      { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
  profiles:
    source: { from: cache, pattern: "p:{id}", value: json }
    key: [id]
    write_back: true
    columns:
      id:         { type: text }
      doc:        { from: $value, type: jsonb }
      expires_at: { from: $expires_at, type: timestamptz }
)";

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(RedisWriteBack, RowsTurnBackIntoTheSameKeysValuesAndExpiries) {
  auto from = RedisServer::Start();
  auto into = RedisServer::Start();
  ASSERT_NE(from, nullptr);
  ASSERT_NE(into, nullptr);
  for (int i = 0; i < 40; ++i) {
    const std::string n = std::to_string(i);
    from->Command({"HSET", "u:user" + n + "@x.org", "user_id", n, "name", "Name " + n, "balance",
                   std::to_string(i) + ".50"});
    if (i % 3 == 0) from->Command({"PEXPIRE", "u:user" + n + "@x.org", "86400123"});
    from->Command({"SET", "n:10.0.0." + n + ":2026-11-30", std::to_string(i * 7)});
    if (i % 2 == 0) from->Command({"EXPIRE", "n:10.0.0." + n + ":2026-11-30", "172800"});
    from->Command({"SET", "p:" + n, R"({"name":"p)" + n + R"(","tags":["a","b"],"n":)" + n + "}"});
  }
  const std::string url = FreshDatabase();
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", kSpec);
  const std::vector<std::pair<std::string, std::string>> env = {{"DATABASE_URL", url},
                                                                {"REDIS_URL", from->Url()}};
  const CommandResult backfill =
      RunCommand({CutoverBinary(), "backfill", "cutover.yaml", "--create-tables"}, env, dir);
  ASSERT_EQ(backfill.exit_code, 0) << backfill.out << backfill.err;

  setenv("DATABASE_URL", url.c_str(), 1);
  setenv("REDIS_URL", into->Url().c_str(), 1);
  auto migration = spec::LoadSpec(dir + "/cutover.yaml");
  ASSERT_TRUE(migration.ok()) << migration.status().message();
  for (const auto& entity : migration->entities) {
    auto builder = map::RecordBuilder::Create(entity);
    ASSERT_TRUE(builder.ok()) << builder.status().message();
    stores::StoreOptions options;
    options.entity = &entity;
    auto target = stores::OpenStore(*migration->FindSource(entity.source), "", options);
    ASSERT_TRUE(target.ok()) << target.status().message();
    store::Writer* writer = (*target)->writer();
    ASSERT_NE(writer, nullptr);
    const auto tables = engine::PlanTables(*migration, entity);
    auto table = stores::OpenTableStore(url, tables[0].shape);
    ASSERT_TRUE(table.ok()) << table.status().message();
    auto partitions = (*table)->snapshot().Plan();
    ASSERT_TRUE(partitions.ok());
    auto reader = (*table)->snapshot().Open((*partitions)[0], store::Cursor{});
    ASSERT_TRUE(reader.ok()) << reader.status().message();
    store::StoreBatch batch;
    while (true) {
      auto more = (*reader)->Next(100, &batch);
      ASSERT_TRUE(more.ok()) << more.status().message();
      for (size_t r = 0; r < batch.rows.num_rows(); ++r) {
        auto key = (*builder)->Key(batch.rows, r);
        auto doc = (*builder)->Build(batch.rows, r);
        ASSERT_TRUE(key.ok() && doc.ok()) << entity.name;
        RowBatch one;
        one.AddColumn("$doc", ValueType::kJsonb);
        one.columns[0].AppendBytes(*doc);
        ASSERT_TRUE(writer->Upsert({*key}, one, 0).ok());
      }
      if (!*more) break;
    }
    const Status flushed = writer->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.message();
  }

  // The harness reads both servers: the same keys, values and expiries.
  const auto keys = Sorted(from->Command({"KEYS", "*"}));
  ASSERT_EQ(keys.size(), 120u);
  EXPECT_EQ(Sorted(into->Command({"KEYS", "*"})), keys);
  for (const auto& k : keys) {
    const std::string type = from->One({"TYPE", k});
    EXPECT_EQ(into->One({"TYPE", k}), type) << k;
    if (type == "hash") {
      EXPECT_EQ(Sorted(into->Command({"HGETALL", k})), Sorted(from->Command({"HGETALL", k}))) << k;
    } else if (k.starts_with("n:")) {
      EXPECT_EQ(into->One({"GET", k}), from->One({"GET", k})) << k;
    }
    EXPECT_EQ(into->One({"PEXPIRETIME", k}), from->One({"PEXPIRETIME", k})) << k;
  }
  // A JSON value comes back as the same JSON (jsonb keeps no whitespace and
  // sorts members; compare by content).
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM profiles WHERE doc ->> 'name' = 'p7'"), "1");
  const std::string back = into->One({"GET", "p:7"});
  EXPECT_NE(back.find(R"("name":"p7")"), std::string::npos) << back;
  EXPECT_NE(back.find(R"("tags":["a","b"])"), std::string::npos) << back;
}

TEST(RedisWriteBack, AMappingThatCannotBeInvertedIsRefusedWhereTheSpecSaysSo) {
  const std::string dir = TempDir();
  WriteFile(dir + "/cutover.yaml", R"(migration: bad
sources:
  cache: { type: redis, url: "redis://127.0.0.1:1/0" }
entities:
  usage:
    source: { from: cache, pattern: "n:{ip}:{day}", value: counter }
    key: [ip]
    write_back: true
    columns:
      ip:    { type: text }
      count: { from: $value, type: bigint }
      expires_at: { from: $expires_at, type: timestamptz }
)");
  auto migration = spec::LoadSpec(dir + "/cutover.yaml");
  ASSERT_FALSE(migration.ok());
  EXPECT_EQ(migration.status().message(),
            dir +
                "/cutover.yaml:8:17: entity 'usage' declares write_back, but no column holds "
                "the key's capture 'day', so the key cannot be rebuilt");
}

TEST(RedisWriteBack, ACaptureHoldingTheSeparatorIsAnErrorNotAnotherKey) {
  spec::EntitySpec entity;
  entity.name = "pairs";
  spec::RedisKeySpec redis;
  redis.pattern = *spec::KeyPattern::Parse("k:{a}:{b}");
  entity.redis = redis;
  entity.write_back = true;
  for (const char* c : {"a", "b"}) {
    spec::ColumnSpec column;
    column.name = c;
    column.from = c;
    entity.columns.push_back(column);
  }
  auto builder = map::RecordBuilder::Create(entity);
  ASSERT_TRUE(builder.ok());
  RowBatch row;
  row.AddColumn("a", ValueType::kText);
  row.AddColumn("b", ValueType::kText);
  row.columns[0].AppendBytes("x:y");  // would read back as a = "x", b = "y:z"
  row.columns[1].AppendBytes("z");
  auto key = (*builder)->Key(row, 0);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("splits differently"), std::string::npos)
      << key.status().message();
}

}  // namespace
}  // namespace cutover::testing
