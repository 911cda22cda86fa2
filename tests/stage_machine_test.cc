// Walks a rehearsal migration through every stage and back with `cutover
// phase`: each guard refuses until its condition holds, --force overrides and
// is recorded, and cutover.stage_audit records all of it.
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

// The account this test runs as, by `id -un`: the oracle for "who" (the
// commands run with USER=tester, which must play no part).
std::string OsAccount() {
  const CommandResult r = RunCommand({"id", "-un"});
  std::string name = r.out;
  while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
  return name;
}

// Three-second windows so the walk takes seconds, not days, with room for a
// slow (sanitizer, loaded) machine between writing evidence and judging it.
Workspace Rehearsal() {
  Workspace ws{TempDir(), FreshDatabase(), {{"USER", "tester"}}};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: walk
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
stages: { window: 3s, fallback_window: 3s, shadow_min_reads: 10, shadow_mismatch_rate: 0.01 }
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

void Reads(const Workspace& ws, int shadow, int mismatches, int fallbacks) {
  Exec(ws.url,
       "INSERT INTO cutover.read_stats (migration, entity, origin, at, shadow_reads, "
       "shadow_mismatches, postgres_reads, fallbacks) VALUES ('walk', 'users', 'test', "
       "clock_timestamp(), " +
           std::to_string(shadow) + ", " + std::to_string(mismatches) + ", 100, " +
           std::to_string(fallbacks) + ")");
}

// `set` must be refused with exit 1, naming `guard` as the unmet one.
void ExpectRefused(const Workspace& ws, std::vector<std::string> args, const std::string& guard) {
  std::vector<std::string> argv = {"phase", "cutover.yaml", "set"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = Cutover(ws, argv);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_NE(r.err.find("guard " + guard + " is unmet"), std::string::npos) << Describe(r);
}

void ExpectApplied(const Workspace& ws, std::vector<std::string> args) {
  std::vector<std::string> argv = {"phase", "cutover.yaml", "set"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = Cutover(ws, argv);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

// Retries `set` until it is refused by `guard` (an earlier guard, e.g. a
// window, stops blocking), for at most `limit`.
void WaitUntilRefusedBy(const Workspace& ws, std::vector<std::string> args,
                        const std::string& guard, const std::function<void()>& before_each = {},
                        std::chrono::seconds limit = std::chrono::seconds(10)) {
  std::vector<std::string> argv = {"phase", "cutover.yaml", "set"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto deadline = std::chrono::steady_clock::now() + limit;
  CommandResult r;
  while (std::chrono::steady_clock::now() < deadline) {
    if (before_each) before_each();
    r = Cutover(ws, argv);
    ASSERT_NE(r.exit_code, 0) << "applied while waiting for " << guard << "\n" << Describe(r);
    if (r.err.find("guard " + guard + " is unmet") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL() << "never refused by " << guard << "\n" << Describe(r);
}

TEST(StageMachineTest, WalksEveryStageAndBackWithGuardsAndForce) {
  const Workspace ws = Rehearsal();

  CommandResult status = Cutover(ws, {"phase", "cutover.yaml", "status"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_NE(status.out.find("walk: legacy"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("next: dual_write (ready)"), std::string::npos) << status.out;

  // Forward moves go one stage at a time: a usage error, not a guard.
  CommandResult skip = Cutover(ws, {"phase", "cutover.yaml", "set", "shadow"});
  EXPECT_EQ(skip.exit_code, 2) << Describe(skip);
  EXPECT_NE(skip.err.find("one stage at a time"), std::string::npos) << skip.err;
  // ... and still an attempt, so it is in the audit trail.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT to_stage || ' ' || outcome || ' ' || applied FROM "
                       "cutover.stage_audit ORDER BY id DESC LIMIT 1"),
            "shadow illegal false");

  ExpectApplied(ws, {"dual_write"});

  // shadow: backfill, then verify.
  ExpectRefused(ws, {"shadow"}, "backfill_done");
  CommandResult backfill = Cutover(ws, {"backfill", "cutover.yaml", "--create-tables"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  ExpectRefused(ws, {"shadow"}, "verify_clean");
  CommandResult verify = Cutover(ws, {"verify", "cutover.yaml"});
  ASSERT_EQ(verify.exit_code, 0) << Describe(verify);
  ExpectApplied(ws, {"shadow"});

  // rollout: first the window, then the mismatch rate, then it passes.
  ExpectRefused(ws, {"rollout", "--percent", "10"}, "shadow_window");
  WaitUntilRefusedBy(ws, {"rollout", "--percent", "10"}, "shadow_mismatch_rate",
                     [&] { Reads(ws, 100, 50, 0); });
  // Clean reads dilute nothing while bad ones are in the window. The bad ones
  // are written again right before the check: the refused run above may itself
  // have taken most of the window on a loaded machine.
  Reads(ws, 100, 50, 0);
  Reads(ws, 100, 0, 0);
  ExpectRefused(ws, {"rollout", "--percent", "10"}, "shadow_mismatch_rate");
  // Once the bad reads age out of the 3s window, clean ones let it through.
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    CommandResult r;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      Reads(ws, 1000, 0, 0);
      r = Cutover(ws, {"phase", "cutover.yaml", "set", "rollout", "--percent", "10"});
    } while (r.exit_code != 0 && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  // Raising the percent is guarded the same way; lowering is not.
  Reads(ws, 1000, 0, 0);
  ExpectApplied(ws, {"rollout", "--percent", "50"});
  ExpectApplied(ws, {"rollout", "--percent", "40"});

  // primary: 100% first, held for the window, with no fallback in it.
  ExpectRefused(ws, {"primary"}, "rollout_full");
  Reads(ws, 1000, 0, 0);
  ExpectApplied(ws, {"rollout", "--percent", "100"});
  ExpectRefused(ws, {"primary"}, "fallback_window");
  WaitUntilRefusedBy(ws, {"primary"}, "no_fallbacks", [&] { Reads(ws, 0, 0, 1); });
  {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    CommandResult r;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      Reads(ws, 0, 0, 0);  // reads served by PostgreSQL, none fell back: the evidence
      r = Cutover(ws, {"phase", "cutover.yaml", "set", "primary"});
    } while (r.exit_code != 0 && std::chrono::steady_clock::now() < deadline);
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }

  // complete: no journal at all cannot be judged; then an unreplayed journal
  // entry; then a verify that found a change.
  ExpectRefused(ws, {"complete"}, "journal_empty");
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT g->>'detail' FROM cutover.stage_audit, jsonb_array_elements(guards) "
                       "g WHERE g->>'name' = 'journal_empty' ORDER BY id DESC LIMIT 1")
                .rfind("cannot be evaluated", 0),
            0u);
  Exec(ws.url, "CREATE TABLE cutover.journal (id bigserial PRIMARY KEY, entry jsonb)");
  Exec(ws.url, "INSERT INTO cutover.journal (entry) VALUES ('{}')");
  ExpectRefused(ws, {"complete"}, "journal_empty");
  Exec(ws.url, "DELETE FROM cutover.journal");
  Exec(ws.url, "UPDATE public.users SET email = 'changed' WHERE id = 2");
  CommandResult dirty = Cutover(ws, {"verify", "cutover.yaml"});
  ASSERT_EQ(dirty.exit_code, 1) << Describe(dirty);
  ExpectRefused(ws, {"complete"}, "verify_clean");
  CommandResult no_reason = Cutover(ws, {"phase", "cutover.yaml", "set", "complete", "--force"});
  EXPECT_EQ(no_reason.exit_code, 2) << Describe(no_reason);
  ExpectApplied(ws, {"complete", "--force", "--reason", "users.2 fixed by hand upstream"});

  // Backward: always allowed, any distance, no guards.
  ExpectApplied(ws, {"legacy", "--reason", "rehearsal over"});

  // The audit trail, in order: what was applied, what was refused, what forced.
  const auto applied =
      Query(ws.url,
            "SELECT from_stage, to_stage, to_percent, forced, who, why FROM "
            "cutover.stage_audit WHERE migration = 'walk' AND applied ORDER BY id");
  const std::vector<std::vector<std::string>> want = {
      {"legacy", "dual_write", "0", "f"}, {"dual_write", "shadow", "0", "f"},
      {"shadow", "rollout", "10", "f"},   {"rollout", "rollout", "50", "f"},
      {"rollout", "rollout", "40", "f"},  {"rollout", "rollout", "100", "f"},
      {"rollout", "primary", "100", "f"}, {"primary", "complete", "100", "t"},
      {"complete", "legacy", "0", "f"},
  };
  ASSERT_EQ(applied.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    for (size_t c = 0; c < 4; ++c) EXPECT_EQ(applied[i][c], want[i][c]) << "row " << i;
    EXPECT_EQ(applied[i][4].rfind(OsAccount() + "@", 0), 0u) << applied[i][4];
  }
  EXPECT_EQ(applied[7][5], "users.2 fixed by hand upstream");
  // The forced row keeps the guard that was overridden.
  EXPECT_EQ(
      QueryValue(ws.url,
                 "SELECT g->>'detail' FROM cutover.stage_audit, jsonb_array_elements(guards) "
                 "g WHERE forced AND g->>'name' = 'verify_clean' AND NOT (g->>'passed')::bool"),
      "last verify not clean: users differs (0 missing, 0 extra, 1 changed); run `cutover "
      "verify`");
  // Every refusal is recorded with the guard that refused it.
  EXPECT_EQ(
      QueryValue(ws.url, "SELECT count(*) FROM cutover.stage_audit WHERE who LIKE '%tester%'"),
      "0");
  for (const char* guard :
       {"backfill_done", "verify_clean", "shadow_window", "shadow_mismatch_rate", "rollout_full",
        "fallback_window", "no_fallbacks", "journal_empty"}) {
    EXPECT_NE(QueryValue(ws.url, std::string("SELECT count(*) FROM cutover.stage_audit, "
                                             "jsonb_array_elements(guards) g WHERE NOT applied "
                                             "AND g->>'name' = '") +
                                     guard + "' AND NOT (g->>'passed')::bool"),
              "0")
        << guard;
  }
  // The current state matches the last applied row.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT stage || ' ' || percent || ' ' || version FROM "
                       "cutover.stage WHERE migration = 'walk'"),
            "legacy 0 9");
  // Nine applied rows, and every refused one says so.
  EXPECT_EQ(QueryValue(ws.url,
                       "SELECT count(*) FROM cutover.stage_audit WHERE applied <> (outcome IN "
                       "('applied', 'forced'))"),
            "0");

  CommandResult json = Cutover(ws, {"phase", "cutover.yaml", "status", "--json"});
  ASSERT_EQ(json.exit_code, 0) << Describe(json);
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["stage"], "legacy");
  EXPECT_EQ(j["version"], 9);
  EXPECT_EQ(j["next"][0]["stage"], "dual_write");
  EXPECT_EQ(j["recent"][0]["why"], "rehearsal over");
}

// A guard with nothing to judge never passes: no shadow reads at all is not a
// clean mismatch rate even when shadow_min_reads is 0, and no reads served by
// PostgreSQL in the window is not "no fallbacks".
TEST(StageMachineTest, GuardsWithoutEvidenceDoNotPass) {
  Workspace ws{TempDir(), FreshDatabase(), {{"USER", "tester"}}};
  WriteFile(ws.dir + "/cutover.yaml", R"(migration: walk
target: { url: "${DATABASE_URL}" }
sources:
  files: { type: json, path: data/ }
stages: { window: 1s, fallback_window: 1s, shadow_min_reads: 0 }
entities:
  users:
    source: { from: files, file: users.json }
    key: [id]
    columns: { id: { type: bigint } }
)");
  WriteFile(ws.dir + "/data/users.json", "[]");
  ExpectApplied(ws, {"dual_write"});
  ExpectApplied(ws, {"shadow", "--force", "--reason", "test"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ExpectRefused(ws, {"rollout", "--percent", "100"}, "shadow_mismatch_rate");
  ExpectApplied(ws, {"rollout", "--percent", "100", "--force", "--reason", "test"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ExpectRefused(ws, {"primary"}, "no_fallbacks");
  // --reason may not carry control characters into the audit trail.
  CommandResult bad =
      Cutover(ws, {"phase", "cutover.yaml", "set", "primary", "--force", "--reason", "two\nlines"});
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
  EXPECT_NE(bad.err.find("reason"), std::string::npos) << Describe(bad);
}

}  // namespace
}  // namespace cutover::testing
