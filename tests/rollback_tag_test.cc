// `cutover rollback --tag`: Redis keys backfilled under three tags, rows of
// other origins added by hand, and every count checked by SQL written here.
#include <csignal>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/pg_harness.h"
#include "support/redis_harness.h"
#include "support/workspace.h"

namespace cutover::testing {
namespace {

using nlohmann::json;

// Subscriptions tag a jsonb column; users keep the default tag (their
// name, in source_tag); threads name theirs, and their tweets go with them.
constexpr char kSpec[] = R"(migration: tagged
target: { url: "${DATABASE_URL:-}" }
sources:
  cache: { type: redis, url: "${REDIS_URL:-}" }
backfill: { batch_size: 7 }
entities:
  subscriptions:
    source: { from: cache, pattern: "t:premium:{email}", value: json }
    tag: { value: premium_wave1, column: metadata, as: jsonb }
    key: [email]
    columns:
      email:   { type: text }
      user_id: { type: bigint }
  users:
    source: { from: cache, pattern: "t:user:{email}", value: hash }
    key: [email]
    columns:
      email: { type: text }
      name:  { type: text }
  threads:
    source: { from: cache, pattern: "t:thread:{thread_id}", value: json }
    tag: threads_wave1
    key: [thread_id]
    columns:
      thread_id: { type: text }
      topic:     { type: text }
    children:
      thread_tweets:
        path: $value.tweets
        key: [thread_id, n]
        parent: { thread_id: thread_id }
        columns:
          thread_id: { type: text }
          n:         { type: integer }
          text:      { type: text }
)";

// 30 subscriptions, 20 users, and 12 threads: 10 with 3 tweets, 2 with none.
void Fill(const RedisServer& redis) {
  for (int i = 0; i < 30; ++i) {
    redis.Command({"SET", "t:premium:p" + std::to_string(i) + "@x",
                   R"({"user_id":)" + std::to_string(1000 + i) + "}"});
  }
  for (int i = 0; i < 20; ++i) {
    redis.Command({"HSET", "t:user:u" + std::to_string(i) + "@x", "name", "U" + std::to_string(i)});
  }
  for (int i = 0; i < 12; ++i) {
    std::string tweets = "[";
    for (int n = 0; i < 10 && n < 3; ++n) {
      if (n > 0) tweets += ",";
      tweets += R"({"n":)" + std::to_string(n) + R"(,"text":"part )" + std::to_string(n) + "\"}";
    }
    tweets += "]";
    redis.Command({"SET", "t:thread:" + std::to_string(100 + i),
                   R"({"topic":"topic )" + std::to_string(i) + R"(","tweets":)" + tweets + "}"});
  }
}

// Rows no tagged run wrote: two subscriptions of another source, one with no
// metadata at all, and a thread of an earlier wave with two tweets.
constexpr char kOtherRows[] = R"sql(
INSERT INTO public.subscriptions (email, user_id, metadata) VALUES
  ('m1@x', 1, '{"source": "manual"}'), ('m2@x', 2, '{"source": "manual"}'), ('m3@x', 3, NULL);
INSERT INTO public.threads (thread_id, topic, source_tag) VALUES ('900', 'old', 'threads_wave0');
INSERT INTO public.thread_tweets (thread_id, n, text) VALUES ('900', 0, 'a'), ('900', 1, 'b');
)sql";

// "subscriptions threads thread_tweets users" row counts, by SQL.
std::string Counts(const std::string& url) {
  return QueryValue(url,
                    "SELECT (SELECT count(*) FROM public.subscriptions) || ' ' || "
                    "(SELECT count(*) FROM public.threads) || ' ' || "
                    "(SELECT count(*) FROM public.thread_tweets) || ' ' || "
                    "(SELECT count(*) FROM public.users)");
}

class RollbackTagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = RedisServer::Start();
    ASSERT_NE(redis_, nullptr);
    Fill(*redis_);
    ws_ = Workspace{TempDir() + "/rollback_tag", FreshDatabase(), {{"REDIS_URL", redis_->Url()}}};
    WriteFile(ws_.dir + "/cutover.yaml", kSpec);
    CommandResult backfill = Cutover(ws_, {"backfill", "cutover.yaml", "--create-tables"});
    ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
    Exec(ws_.url, kOtherRows);
    // 30 + 3 subscriptions, 12 + 1 threads, 30 + 2 tweets, 20 users.
    ASSERT_EQ(Counts(ws_.url), "33 13 32 20");
  }

  // `cutover rollback cutover.yaml args...`, with CUTOVER_FAILPOINTS set.
  CommandResult Rollback(const std::vector<std::string>& args, const std::string& failpoints = "") {
    Workspace ws = ws_;
    ws.env.emplace_back("CUTOVER_FAILPOINTS", failpoints);
    std::vector<std::string> argv = {"rollback", "cutover.yaml"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Cutover(ws, argv);
  }

  std::unique_ptr<RedisServer> redis_;
  Workspace ws_;
};

TEST_F(RollbackTagTest, DeletesExactlyTheRowsOfOneTagWithTheirChildren) {
  // An unknown tag is an error that names the tags there are.
  CommandResult unknown = Rollback({"--tag", "premium_wave2"});
  EXPECT_EQ(unknown.exit_code, 2) << Describe(unknown);
  EXPECT_NE(unknown.err.find("\"premium_wave1\" (subscriptions)"), std::string::npos)
      << Describe(unknown);
  EXPECT_NE(unknown.err.find("\"users\" (users)"), std::string::npos) << Describe(unknown);
  CommandResult wrong_entity = Rollback({"--tag", "users", "--entity", "threads"});
  EXPECT_EQ(wrong_entity.exit_code, 2) << Describe(wrong_entity);
  EXPECT_NE(wrong_entity.err.find("tagged \"threads_wave1\", not \"users\""), std::string::npos)
      << Describe(wrong_entity);
  CommandResult child = Rollback({"--tag", "threads_wave1", "--entity", "thread_tweets"});
  EXPECT_EQ(child.exit_code, 2) << Describe(child);

  // A dry run counts what SQL counts, and deletes nothing.
  CommandResult dry = Rollback({"--tag", "threads_wave1", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << Describe(dry);
  const json report = json::parse(dry.out);
  EXPECT_EQ(report["rows"], 42);
  ASSERT_EQ(report["entities"].size(), 1u);
  const json& tables = report["entities"][0]["tables"];
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0]["table"], "public.threads");
  EXPECT_EQ(tables[0]["rows"], 12);
  EXPECT_EQ(tables[0]["kept"], 1);
  EXPECT_EQ(tables[1]["table"], "public.thread_tweets");
  EXPECT_EQ(tables[1]["rows"], 30);
  EXPECT_EQ(tables[1]["kept"], 2);
  EXPECT_EQ(Counts(ws_.url), "33 13 32 20");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.stage_audit"), "0");

  // Batches of 5 threads: 3 batches, each with the tweets of its threads.
  CommandResult threads = Rollback({"--tag", "threads_wave1", "--batch-size", "5"});
  ASSERT_EQ(threads.exit_code, 0) << Describe(threads);
  EXPECT_NE(threads.out.find("deleted 42 rows tagged \"threads_wave1\" in all"), std::string::npos)
      << Describe(threads);
  EXPECT_EQ(Counts(ws_.url), "33 1 2 20");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT string_agg(t.thread_id || ':' || w.n, ',' ORDER BY w.n) "
                       "FROM public.threads t JOIN public.thread_tweets w USING (thread_id)"),
            "900:0,900:1");
  // Threads must be backfilled again; users still are.
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT string_agg(entity, ',' ORDER BY entity) FROM "
                       "cutover.backfill_ledger WHERE migration = 'tagged' AND done"),
            "subscriptions,users");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT outcome || ' ' || from_stage || ' ' || to_stage || ' ' || why || "
                       "' / ' || detail FROM cutover.stage_audit"),
            "rollback legacy legacy rollback --tag threads_wave1 / deleting the rows of threads "
            "tagged \"threads_wave1\": public.threads 12, public.thread_tweets 30");

  // A jsonb tag: rows of another source, and one with no metadata, stay.
  CommandResult premium = Rollback({"--tag", "premium_wave1", "--json"});
  ASSERT_EQ(premium.exit_code, 0) << Describe(premium);
  EXPECT_EQ(json::parse(premium.out)["rows"], 30);
  EXPECT_EQ(
      QueryValue(ws_.url, "SELECT string_agg(email, ',' ORDER BY email) FROM public.subscriptions"),
      "m1@x,m2@x,m3@x");
  EXPECT_EQ(Counts(ws_.url), "3 1 2 20");

  // Again: nothing is left to delete, and nothing else is touched.
  CommandResult again = Rollback({"--tag", "premium_wave1"});
  ASSERT_EQ(again.exit_code, 0) << Describe(again);
  EXPECT_NE(again.out.find("deleted 0 rows"), std::string::npos) << Describe(again);
  EXPECT_EQ(Counts(ws_.url), "3 1 2 20");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.stage_audit"), "2");

  // The next backfill copies the rolled-back entities again.
  CommandResult backfill = Cutover(ws_, {"backfill", "cutover.yaml"});
  ASSERT_EQ(backfill.exit_code, 0) << Describe(backfill);
  EXPECT_EQ(Counts(ws_.url), "33 13 32 20");
}

TEST_F(RollbackTagTest, AKilledRollbackResumesAndNeverRunsAheadOfItsAudit) {
  // Killed before the first batch commits: its deletes, the ledger reset and
  // the audit row are one transaction, so none of them happened.
  CommandResult before =
      Rollback({"--tag", "threads_wave1", "--batch-size", "5"}, "rollback.before_commit=1");
  EXPECT_EQ(before.term_signal, SIGKILL) << Describe(before);
  EXPECT_EQ(Counts(ws_.url), "33 13 32 20");
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM cutover.stage_audit"), "0");
  EXPECT_EQ(
      QueryValue(ws_.url, "SELECT done FROM cutover.backfill_ledger WHERE entity = 'threads'"),
      "t");

  // Killed after its second batch: 10 threads gone with exactly their tweets.
  CommandResult after =
      Rollback({"--tag", "threads_wave1", "--batch-size", "5"}, "rollback.after_batch=2");
  EXPECT_EQ(after.term_signal, SIGKILL) << Describe(after);
  EXPECT_EQ(QueryValue(ws_.url, "SELECT count(*) FROM public.threads"), "3");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM public.thread_tweets w WHERE NOT EXISTS "
                       "(SELECT 1 FROM public.threads t WHERE t.thread_id = w.thread_id)"),
            "0");
  EXPECT_EQ(QueryValue(ws_.url,
                       "SELECT count(*) FROM cutover.backfill_ledger "
                       "WHERE entity = 'threads'"),
            "0");

  // The rerun deletes the rest and no more; its audit row counts what was left.
  const std::string tweets_left =
      QueryValue(ws_.url, "SELECT count(*) FROM public.thread_tweets WHERE thread_id <> '900'");
  CommandResult rerun = Rollback({"--tag", "threads_wave1", "--batch-size", "5"});
  ASSERT_EQ(rerun.exit_code, 0) << Describe(rerun);
  EXPECT_EQ(Counts(ws_.url), "33 1 2 20");
  EXPECT_EQ(
      QueryValue(ws_.url, "SELECT string_agg(detail, ' | ' ORDER BY id) FROM cutover.stage_audit"),
      "deleting the rows of threads tagged \"threads_wave1\": public.threads 12, "
      "public.thread_tweets 30 | deleting the rows of threads tagged \"threads_wave1\": "
      "public.threads 2, public.thread_tweets " +
          tweets_left);
}

TEST_F(RollbackTagTest, IsRefusedOncePostgresAnswersReads) {
  for (const std::string stage : {"dual_write", "shadow", "rollout"}) {
    std::vector<std::string> args = {"phase",   "cutover.yaml", "set", stage,
                                     "--force", "--reason",     "test"};
    if (stage == "rollout") args.insert(args.end(), {"--percent", "10"});
    CommandResult moved = Cutover(ws_, args);
    ASSERT_EQ(moved.exit_code, 0) << Describe(moved);
  }
  CommandResult refused = Rollback({"--tag", "users"});
  EXPECT_EQ(refused.exit_code, 2) << Describe(refused);
  EXPECT_NE(refused.err.find("tagged is at stage rollout: PostgreSQL answers reads"),
            std::string::npos)
      << Describe(refused);
  EXPECT_EQ(Counts(ws_.url), "33 13 32 20");
}

}  // namespace
}  // namespace cutover::testing
