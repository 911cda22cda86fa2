// The versioned catalog: a schema as cutover made it before versioning
// (tests/fixtures/catalog_v1.sql) is upgraded in place with every row kept,
// a newer schema is refused, concurrent upgrades both succeed, and the
// journal replays in order per key.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/journal.h"
#include "catalog/key_versions.h"
#include "catalog/schema.h"
#include "stores/postgres/pg_connection.h"
#include "support/pg_harness.h"

namespace cutover::testing {
namespace {

struct Workspace {
  std::string dir;
  std::string url;
};

std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

CommandResult Cutover(const Workspace& ws, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CutoverBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"DATABASE_URL", ws.url}, {"USER", "tester"}}, ws.dir);
}

std::string ReadFixture(const std::string& name) {
  std::ifstream in(SourceDir() + "/tests/fixtures/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A small migration of three users from a JSON file.
Workspace Example(const std::string& url) {
  Workspace ws{TempDir(), url};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: walk
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
entities:
  users:
    source: { from: files, file: users.json }
    key: [id]
    columns:
      id:    { type: bigint }
      email: { type: text }
)");
  WriteFile(ws.dir + "/data/users.json",
            R"([{"id": 1, "email": "a@x"}, {"id": 2, "email": "b@x"}, {"id": 3, "email": "c@x"}])");
  return ws;
}

// Rows an older run left, under a migration of its own ("old_run").
constexpr char kOldRows[] = R"sql(
INSERT INTO cutover.backfill_ledger (migration, entity, source, byte_offset, record_index, line,
  records_read, rows_merged, records_rejected, done, records_repeated_keys)
  VALUES ('old_run', 'orders', 'data/orders.json', 4096, 120, 121, 120, 118, 2, true, 1),
         ('old_run', 'items', 'data/orders.json', 2048, 60, 61, 60, 60, 0, false, 0);
INSERT INTO cutover.rejects (migration, entity, source, byte_offset, line, record_index, item,
  field, reason, record)
  VALUES ('old_run', 'orders', 'data/orders.json', 512, 7, 6, '', 'total', 'not a number',
          '\x7b7d'::bytea);
INSERT INTO cutover.stage (migration, stage, percent, version, changed_by, reason, forced)
  VALUES ('old_run', 'shadow', 0, 2, 'alice', 'verified clean', false);
INSERT INTO cutover.stage_audit (migration, from_stage, from_percent, to_stage, to_percent, who,
  why, forced, applied, guards, outcome, detail)
  VALUES ('old_run', 'legacy', 0, 'dual_write', 0, 'alice', '', false, true, '[]', 'applied', ''),
         ('old_run', 'dual_write', 0, 'shadow', 0, 'alice', 'verified clean', false, true,
          '[{"name": "verify_clean", "passed": true}]', 'applied', '');
INSERT INTO cutover.verify_runs (migration, entity, source_rows, target_rows, missing, extra,
  changed, clean) VALUES ('old_run', 'orders', 118, 118, 0, 0, 0, true);
INSERT INTO cutover.backfill_chunks (migration, entity, chunk_id, seq, file, first_row, row_count,
  state, rows_read, rows_merged, rows_rejected)
  VALUES ('old_run', 'sales', 'data/sales.parquet#0+500', 0, 'data/sales.parquet', 0, 500,
          'done', 500, 498, 2),
         ('old_run', 'sales', 'data/sales.parquet#500+300', 1, 'data/sales.parquet', 500, 300,
          'pending', 0, 0, 0);
)sql";

// The chunk ledger's rows as version 3's partition ledger holds them.
constexpr char kPartitionsSnapshot[] = R"sql(
SELECT string_agg(concat_ws(' ', partition_id, seq, origin, records, state, rows_read,
                            rows_merged, rows_rejected, '[' || encode(cursor, 'escape') || ']'),
                  E'\n' ORDER BY seq)
  FROM cutover.backfill_partitions WHERE migration = 'old_run'
)sql";

// Every row of every old table, as JSON text in a fixed order: compared
// before and after the upgrade.
constexpr char kOldRowsSnapshot[] = R"sql(
SELECT string_agg(j, E'\n' ORDER BY j) FROM (
  SELECT 'ledger ' || row_to_json(t)::text AS j FROM cutover.backfill_ledger t
    WHERE migration = 'old_run'
  UNION ALL SELECT 'rejects ' || row_to_json(t)::text FROM cutover.rejects t
    WHERE migration = 'old_run'
  UNION ALL SELECT 'stage ' || row_to_json(t)::text FROM cutover.stage t
    WHERE migration = 'old_run'
  UNION ALL SELECT 'audit ' || row_to_json(t)::text FROM cutover.stage_audit t
    WHERE migration = 'old_run'
  UNION ALL SELECT 'verify ' || row_to_json(t)::text FROM cutover.verify_runs t
    WHERE migration = 'old_run') x
)sql";

TEST(CatalogUpgrade, VersionOneIsUpgradedInPlaceKeepingEveryRow) {
  const std::string url = FreshDatabase();
  Exec(url, ReadFixture("catalog_v1.sql"));
  Exec(url, kOldRows);
  ASSERT_EQ(QueryValue(url, "SELECT to_regclass('cutover.schema_version') IS NULL"), "t");
  const std::string before = QueryValue(url, kOldRowsSnapshot);
  ASSERT_EQ(std::count(before.begin(), before.end(), '\n'), 6) << before;  // 7 rows

  Workspace ws = Example(url);
  CommandResult status = Cutover(ws, {"phase", "cutover.yaml", "status"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_EQ(QueryValue(url, "SELECT version FROM cutover.schema_version"), "9");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.schema_version"), "1");
  // What version 2 adds to version 1.
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.verify_runs_latest_idx') IS NOT NULL"),
            "t");
  // What version 3 adds: the chunk ledger became the partition ledger, every chunk a partition
  // of the same id and state, at its start (a chunk was loaded whole or not at all).
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.backfill_chunks') IS NULL"), "t");
  EXPECT_EQ(QueryValue(url, kPartitionsSnapshot),
            "data/sales.parquet#0+500 0 data/sales.parquet 500 done 500 498 2 []\n"
            "data/sales.parquet#500+300 1 data/sales.parquet 300 pending 0 0 0 []");
  // What version 4 adds: per-key versions of versioned sources, and sync state.
  EXPECT_EQ(QueryValue(url,
                       "SELECT to_regclass('cutover.key_versions') IS NOT NULL AND "
                       "to_regclass('cutover.sync_state') IS NOT NULL"),
            "t");
  // What version 5 adds: what each gateway's journal still owes.
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.gateway_journals') IS NOT NULL"), "t");
  // What version 6 adds: the audit trail takes rollbacks; old outcomes stay allowed.
  EXPECT_EQ(QueryValue(url,
                       "SELECT pg_get_constraintdef(oid) LIKE '%rollback%' AND "
                       "pg_get_constraintdef(oid) LIKE '%invalid%' FROM pg_constraint "
                       "WHERE conname = 'stage_audit_outcome_check'"),
            "t");
  // What version 7 adds: the way back's slots and what they applied.
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.way_back') IS NOT NULL"), "t");
  // What version 8 adds: what the file sync loaded, by file and by key, and its runs.
  EXPECT_EQ(QueryValue(url,
                       "SELECT to_regclass('cutover.file_sync_files') IS NOT NULL AND "
                       "to_regclass('cutover.file_sync_keys') IS NOT NULL AND "
                       "to_regclass('cutover.file_sync_runs') IS NOT NULL"),
            "t");
  // What version 9 adds: key versions keyed by a scope number per (migration, entity).
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i, "
                       "unnest(i.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a "
                       "WHERE i.indrelid = 'cutover.key_versions'::regclass AND i.indisprimary "
                       "AND a.attrelid = i.indrelid AND a.attnum = k.attnum"),
            "scope,key");

  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(id || ':' || email, ',' ORDER BY id) "
                       "FROM public.users"),
            "1:a@x,2:b@x,3:c@x");
  EXPECT_EQ(QueryValue(url, "SELECT done FROM cutover.backfill_ledger WHERE migration = 'walk'"),
            "t");

  // Every old row is still there, unchanged, and reads as written.
  EXPECT_EQ(QueryValue(url, kOldRowsSnapshot), before);
  EXPECT_EQ(QueryValue(url,
                       "SELECT records_read || '/' || rows_merged || '/' || "
                       "records_repeated_keys FROM cutover.backfill_ledger "
                       "WHERE migration = 'old_run' AND entity = 'orders'"),
            "120/118/1");
  EXPECT_EQ(QueryValue(url,
                       "SELECT encode(record, 'hex') || ' ' || reason FROM cutover.rejects "
                       "WHERE migration = 'old_run'"),
            "7b7d not a number");
  EXPECT_EQ(QueryValue(url,
                       "SELECT stage || ' ' || version FROM cutover.stage "
                       "WHERE migration = 'old_run'"),
            "shadow 2");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(to_stage, ',' ORDER BY id) FROM cutover.stage_audit "
                       "WHERE migration = 'old_run'"),
            "dual_write,shadow");
  EXPECT_EQ(QueryValue(url, "SELECT version FROM cutover.schema_version"), "9");
}

// Version 8's key_versions, keyed by the two names, as that version made it.
constexpr char kVersion8KeyVersions[] = R"sql(
DROP TABLE cutover.key_versions;
DROP TABLE cutover.key_scopes;
CREATE TABLE cutover.key_versions (
  migration text NOT NULL,
  entity    text NOT NULL,
  key       bytea NOT NULL,
  version   bigint NOT NULL,
  deleted   boolean NOT NULL,
  PRIMARY KEY (migration, entity, key)
);
INSERT INTO cutover.key_versions VALUES
  ('m1', 'users', '\x61', 10, false),
  ('m1', 'users', '\x00ff', 11, true),
  ('m1', 'threads', '\x61', 12, false),
  ('m2', 'users', '\x62', 13, false);
UPDATE cutover.schema_version SET version = 8;
)sql";

// Every claim of version 8 moves to version 9's table under its pair's
// scope, and the claims made afterwards see them.
TEST(CatalogUpgrade, VersionEightKeyVersionsMoveToScopesKeepingEveryClaim) {
  const std::string url = FreshDatabase();
  Workspace ws = Example(url);
  CommandResult first = Cutover(ws, {"phase", "cutover.yaml", "status"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  Exec(url, kVersion8KeyVersions);

  CommandResult again = Cutover(ws, {"phase", "cutover.yaml", "status"});
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_EQ(QueryValue(url, "SELECT version FROM cutover.schema_version"), "9");
  EXPECT_EQ(QueryValue(url,
                       "SELECT string_agg(t, ' ' ORDER BY t) FROM (SELECT s.migration || '/' "
                       "|| s.entity || '/' || encode(k.key, 'hex') || '=' || k.version || "
                       "(CASE WHEN k.deleted THEN 'x' ELSE '' END) AS t FROM cutover.key_versions "
                       "k JOIN cutover.key_scopes s USING (scope)) x"),
            "m1/threads/61=12 m1/users/00ff=11x m1/users/61=10 m2/users/62=13");
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.key_versions_v8') IS NULL"), "t");

  // A claim older than a moved one loses; a newer one wins.
  auto conn = pg_store::PgConnection::Connect(url);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Exec("BEGIN").ok());
  auto won = catalog::ClaimKeyVersions(conn->get(), "m1", "users",
                                       {{"a", 9, false}, {std::string("\0\xff", 2), 12, false}});
  ASSERT_TRUE(won.ok()) << won.status().ToString();
  ASSERT_TRUE((*conn)->Exec("COMMIT").ok());
  EXPECT_EQ(*won, (std::vector<bool>{false, true}));
  EXPECT_EQ(QueryValue(url,
                       "SELECT count(*) FROM cutover.key_versions k JOIN cutover.key_scopes s "
                       "USING (scope) WHERE s.migration = 'm1' AND s.entity = 'users' "
                       "AND k.version = 12 AND NOT k.deleted"),
            "1");
}

TEST(CatalogUpgrade, NewerCatalogIsRefusedWithBothVersionsAndExit3) {
  const std::string url = FreshDatabase();
  Workspace ws = Example(url);
  CommandResult first = Cutover(ws, {"phase", "cutover.yaml", "status"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  ASSERT_EQ(QueryValue(url, "SELECT version FROM cutover.schema_version"), "9");
  Exec(url, "UPDATE cutover.schema_version SET version = 10");

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"phase", "cutover.yaml", "status"},
        std::vector<std::string>{"phase", "cutover.yaml", "set", "dual_write"},
        std::vector<std::string>{"backfill", "cutover.yaml", "--create-tables"},
        std::vector<std::string>{"verify", "cutover.yaml"},
        std::vector<std::string>{"serve", "cutover.yaml", "--port", "0"}}) {
    // serve, if it failed to refuse, would run until stopped: `timeout`
    // turns that into exit 124 instead of a hung test.
    std::vector<std::string> argv = {"timeout", "60", CutoverBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = RunCommand(argv, {{"DATABASE_URL", ws.url}, {"USER", "tester"}}, ws.dir);
    EXPECT_EQ(r.exit_code, 3) << args[0] << " " << Describe(r);
    EXPECT_NE(r.err.find("catalog version 10"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("catalog versions up to 9"), std::string::npos) << Describe(r);
    EXPECT_NE(r.err.find("Run this migration with that newer cutover"), std::string::npos)
        << Describe(r);
  }
  // Refused means untouched: no downgrade, no stage row, no ledger, no table.
  EXPECT_EQ(QueryValue(url, "SELECT version FROM cutover.schema_version"), "10");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.stage"), "0");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.stage_audit"), "0");
  EXPECT_EQ(QueryValue(url, "SELECT count(*) FROM cutover.backfill_ledger"), "0");
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('public.users') IS NULL"), "t");
}

// Several processes meet one old (or empty) schema at once; the advisory
// lock serializes them and every one of them succeeds.
TEST(CatalogUpgrade, ConcurrentUpgradesAllSucceed) {
  for (const bool from_v1 : {true, false}) {
    const std::string url = FreshDatabase();
    if (from_v1) {
      Exec(url, ReadFixture("catalog_v1.sql"));
      Exec(url, kOldRows);
    }
    const std::string before = from_v1 ? QueryValue(url, kOldRowsSnapshot) : "";
    Workspace ws = Example(url);
    constexpr int kProcesses = 4;
    std::vector<CommandResult> results(kProcesses);
    std::vector<std::thread> threads;
    for (int i = 0; i < kProcesses; ++i) {
      threads.emplace_back([&, i] {
        results[i] = Cutover(ws, {"phase", "cutover.yaml", "status", "--json"});
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(QueryValue(url,
                         "SELECT version || ' ' || count(*) OVER () "
                         "FROM cutover.schema_version"),
              "9 1");
    if (from_v1) {
      EXPECT_EQ(QueryValue(url, kOldRowsSnapshot), before);
    }
  }
}

// The journal (catalog/journal.h): made only on request, it hands out the
// oldest entry of each key, and the journal_empty guard counts what is left.
TEST(CatalogJournal, ReplaysInOrderPerKeyAndFeedsTheGuard) {
  const std::string url = FreshDatabase();
  auto conn = pg_store::PgConnection::Connect(url);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  pg_store::PgConnection* c = conn->get();
  ASSERT_TRUE(catalog::EnsureControlSchema(c).ok());
  EXPECT_EQ(QueryValue(url, "SELECT to_regclass('cutover.journal') IS NULL"), "t");
  ASSERT_TRUE(catalog::EnsureJournalSchema(c).ok());
  ASSERT_TRUE(catalog::EnsureJournalSchema(c).ok());  // idempotent

  auto append = [&](const std::string& key, const std::string& op, const std::string& state) {
    catalog::JournalEntry e;
    e.migration = "walk";
    e.entity = "users";
    e.key = key;
    e.operation = op;
    e.state = state;
    e.owed_to = "postgres";
    auto id = catalog::AppendJournal(c, e);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  };
  const int64_t k1_first = append("1", "upsert", R"({"id": 1, "email": "a@x"})");
  const int64_t k2 = append("2", "upsert", R"({"id": 2, "email": "b@x"})");
  const int64_t k1_second = append("1", "delete", "");
  auto count = catalog::CountUnreplayed(c);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->value_or(-1), 3);

  // Key 1's delete waits for its upsert; key 2 is free.
  ASSERT_TRUE(c->Exec("BEGIN").ok());
  auto claimed = catalog::ClaimJournalEntries(c, "walk", 10);
  ASSERT_TRUE(claimed.ok()) << claimed.status().message();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].id, k1_first);
  EXPECT_EQ((*claimed)[0].state, R"({"id": 1, "email": "a@x"})");
  EXPECT_EQ((*claimed)[1].id, k2);
  ASSERT_TRUE(catalog::ForgetJournalEntry(c, k1_first).ok());
  ASSERT_TRUE(catalog::RecordReplayFailure(c, k2, "legacy store down", std::chrono::hours(1)).ok());
  ASSERT_TRUE(c->Exec("COMMIT").ok());
  EXPECT_EQ(QueryValue(url,
                       "SELECT attempts || ' ' || last_error FROM cutover.journal "
                       "WHERE id = " +
                           std::to_string(k2)),
            "1 legacy store down");

  // Now key 1's delete is next; key 2 is backing off for an hour.
  ASSERT_TRUE(c->Exec("BEGIN").ok());
  claimed = catalog::ClaimJournalEntries(c, "walk", 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].id, k1_second);
  EXPECT_EQ((*claimed)[0].operation, "delete");
  EXPECT_EQ((*claimed)[0].state, "");
  ASSERT_TRUE(c->Exec("COMMIT").ok());

  // The guard into complete counts the two writes still owed.
  Workspace ws = Example(url);
  CommandResult status = Cutover(ws, {"phase", "cutover.yaml", "status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_NE(status.out.find("2 journaled writes still to replay"), std::string::npos)
      << Describe(status);
}

}  // namespace
}  // namespace cutover::testing
