// The partition backfill's ledger under sharing and upgrade: two processes loading one JSON file
// at once, and a ledger an older cutover left without partitions, each counted exactly once.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

constexpr int kRecords = 6000;
// 1 + 2 + ... + kRecords, worked out by hand: 6000 * 6001 / 2.
constexpr char kIdSum[] = "18003000";

// A JSON lines file of kRecords people, loaded 200 records a batch: 30 checkpoints.
Workspace PeopleWorkspace(const std::string& name) {
  Workspace ws{TempDir() + "/" + name, FreshDatabase(), {}};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: shared
target: { url: "${DATABASE_URL:-}" }
backfill: { batch_size: 200 }
sources:
  files: { type: json, path: data/ }
entities:
  people:
    source: { from: files, file: people.jsonl }
    key: [id]
    columns:
      id: { type: integer }
      name: { type: text }
)");
  std::string lines;
  for (int i = 1; i <= kRecords; ++i) {
    lines += R"({"id": )" + std::to_string(i) + R"(, "name": "p)" + std::to_string(i) + "\"}\n";
  }
  WriteFile(ws.dir + "/data/people.jsonl", lines);
  return ws;
}

void ExpectEachRecordOnce(const Workspace& ws) {
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || sum(id) "
                       "FROM public.people WHERE name = 'p' || id"),
            std::to_string(kRecords) + " " + std::to_string(kRecords) + " " + kIdSum);
  // The counts add up to the file once, not once per process or per attempt.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT records_read || '/' || rows_merged || '/' || records_rejected || "
                       "'/' || done FROM cutover.backfill_ledger WHERE entity = 'people'"),
            std::to_string(kRecords) + "/" + std::to_string(kRecords) + "/0/true");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) || ' ' || sum(rows_read) || ' ' || "
                       "bool_and(state = 'done') FROM cutover.backfill_partitions "
                       "WHERE entity = 'people'"),
            "1 " + std::to_string(kRecords) + " true");
}

// Between two checkpoints a partition is free: the other process may claim it, and then
// resumes at the committed cursor. Both processes end only when the file is loaded.
TEST(PartitionBackfillTest, TwoProcessesLoadingOneJsonFileWriteEachRecordOnce) {
  const Workspace ws = PeopleWorkspace("two-processes");
  ASSERT_EQ(Cutover(ws, {"phase", "cutover.yaml", "status"}).exit_code, 0);
  // Each commit is followed by a pause, outside the transaction, so the two interleave.
  const std::vector<std::pair<std::string, std::string>> env = {
      {"DATABASE_URL", ws.url}, {"CUTOVER_FAILPOINTS", "backfill.after_commit=pause:30"}};
  std::vector<CommandResult> results(2);
  std::vector<std::thread> runs;
  for (int i = 0; i < 2; ++i) {
    runs.emplace_back([&, i] {
      results[i] = RunCommand(
          {CutoverBinary(), "backfill", ws.dir + "/cutover.yaml", "--create-tables"}, env, ws.dir);
    });
  }
  for (auto& t : runs) t.join();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << Describe(r);
  ExpectEachRecordOnce(ws);
}

// A ledger that an interrupted run of an older cutover left (a position, no partitions) cannot
// be resumed from: the entity is read again from the start, and its counts start over with it.
TEST(PartitionBackfillTest, AnInterruptedRunWithoutPartitionsStartsOverWithoutDoublingCounts) {
  const Workspace ws = PeopleWorkspace("no-partitions");
  CommandResult first = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(first.exit_code, 0) << Describe(first);
  Exec(ws.url,
       "DELETE FROM cutover.backfill_partitions;"
       "UPDATE cutover.backfill_ledger SET done = false, records_read = 2000, "
       "rows_merged = 2000, record_index = 2000, byte_offset = 48000, line = 2001;"
       "DELETE FROM public.people WHERE id > 1000");
  CommandResult again = Cutover(ws, {"backfill", "cutover.yaml"});
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  ExpectEachRecordOnce(ws);
}

}  // namespace
}  // namespace cutover::testing
