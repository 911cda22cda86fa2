// The replayer against a secondary store kept in memory (the interface is
// ours; the journal under it is the real one, on disk): newest state per
// key, order kept across failures, a refused state kept and reported.
#include "gateway/replayer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

namespace cutover::gateway {
namespace {

namespace fs = std::filesystem;

std::string TempDirectory() {
  std::string pattern = (fs::temp_directory_path() / "cutover-replay-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// Keeps what was applied, in order; fails as told.
class MemoryStore : public SecondaryStore {
 public:
  Status Apply(const JournalRecord& r) override {
    std::lock_guard<std::mutex> lock(mu);
    if (down) return Unavailable("store down");
    if (r.state == "refuse") return DataError("value out of range");
    applied.push_back(r.key + "=" + (r.deleted ? "<deleted>" : r.state));
    if (r.deleted) {
      values.erase(r.key);
    } else {
      values[r.key] = r.state;
    }
    return Status::Ok();
  }
  std::mutex mu;
  bool down = false;
  std::vector<std::string> applied;
  std::map<std::string, std::string> values;
};

struct Fixture {
  Fixture() {
    auto j = Journal::Open({.dir = TempDirectory()}, nullptr);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    journal = std::move(*j);
  }
  uint64_t Write(const std::string& key, const std::string& state) {
    JournalRecord r;
    r.entity = "users";
    r.key = key;
    r.state = state;
    r.deleted = state.empty();
    auto seq = journal->Append(r);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : 0;
  }
  std::unique_ptr<Journal> journal;
  MemoryStore store;
};

TEST(ReplayerTest, EachKeyLandsItsNewestStateOnceAndEveryWriteOfItIsLanded) {
  Fixture f;
  f.Write("k1", "v1");
  f.Write("k2", "v1");
  f.Write("k1", "v2");
  f.Write("k1", "");  // deleted last
  f.Write("k2", "v2");
  Replayer replayer(f.journal.get(), {{OwedTo::kPostgres, &f.store}});
  auto pass = replayer.RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(pass->owed_seen, 5u);
  EXPECT_EQ(pass->applied, 2u);
  EXPECT_EQ(pass->landed, 5u);
  // k1's oldest write is older than k2's: k1 first.
  EXPECT_EQ(f.store.applied, (std::vector<std::string>{"k1=<deleted>", "k2=v2"}));
  EXPECT_EQ(f.journal->stats().owed, 0u);
  EXPECT_FALSE(f.journal->Owes("users", "k1"));
}

TEST(ReplayerTest, WhileTheStoreIsDownNothingLandsAndNewerWritesWaitBehindOlderOnes) {
  Fixture f;
  f.Write("k1", "v1");
  f.Write("k2", "v1");
  Replayer replayer(f.journal.get(), {{OwedTo::kPostgres, &f.store}});
  f.store.down = true;
  auto down = replayer.RunOnce();
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->failed, 1u);  // the first failure ends the pass
  EXPECT_EQ(down->landed, 0u);
  EXPECT_EQ(f.journal->stats().owed, 2u);
  EXPECT_TRUE(f.journal->Owes("users", "k1"));
  EXPECT_NE(replayer.stats().last_error.find("users key k1 (journal write 1): store down"),
            std::string::npos)
      << replayer.stats().last_error;
  f.Write("k1", "v2");  // written while down: lands with k1, not before
  f.store.down = false;
  auto up = replayer.RunOnce();
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(f.store.applied, (std::vector<std::string>{"k1=v2", "k2=v1"}));
  EXPECT_EQ(up->landed, 3u);
  EXPECT_EQ(f.journal->stats().owed, 0u);
}

TEST(ReplayerTest, ARefusedStateStaysOwedAndOtherKeysGoOn) {
  Fixture f;
  f.Write("bad", "refuse");
  f.Write("good", "v1");
  Replayer replayer(f.journal.get(), {{OwedTo::kPostgres, &f.store}});
  auto pass = replayer.RunOnce();
  ASSERT_TRUE(pass.ok());
  EXPECT_EQ(pass->failed, 1u);
  EXPECT_EQ(pass->applied, 1u);
  EXPECT_EQ(f.store.values, (std::map<std::string, std::string>{{"good", "v1"}}));
  EXPECT_TRUE(f.journal->Owes("users", "bad"));
  EXPECT_EQ(f.journal->stats().owed, 1u);
  EXPECT_NE(replayer.stats().last_error.find("value out of range"), std::string::npos);
}

TEST(ReplayerTest, TheBackgroundThreadDrainsWritesAppendedFromManyThreads) {
  Fixture f;
  Replayer replayer(f.journal.get(), {{OwedTo::kPostgres, &f.store}},
                    {.batch = 64, .first_backoff = std::chrono::milliseconds(1)});
  replayer.Start();
  // Per key, the state of its highest journal number: what must remain.
  std::mutex mu;
  std::map<std::string, std::pair<uint64_t, std::string>> newest;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 250; ++i) {
        const std::string key = "k" + std::to_string(i % 50);
        const std::string state = std::to_string(t) + ":" + std::to_string(i);
        const uint64_t seq = f.Write(key, state);
        {
          std::lock_guard<std::mutex> lock(mu);
          auto& n = newest[key];
          if (seq > n.first) n = {seq, state};
        }
        replayer.Wake();
      }
    });
  }
  for (auto& w : writers) w.join();
  for (int i = 0; i < 400 && f.journal->stats().owed > 0; ++i) {
    replayer.Wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  replayer.Stop();
  EXPECT_EQ(f.journal->stats().owed, 0u);
  // Each key ends at the state of its last journal write.
  ASSERT_EQ(f.store.values.size(), 50u);
  for (const auto& [key, n] : newest) EXPECT_EQ(f.store.values[key], n.second) << key;
  EXPECT_EQ(replayer.stats().landed, 1000u);
}

}  // namespace
}  // namespace cutover::gateway
