// The gateway journal on a real filesystem: durable appends under many
// threads, landed marks, a torn tail cut, damage in the middle refused.
#include "gateway/journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

namespace cutover::gateway {
namespace {

namespace fs = std::filesystem;

std::string TempDirectory() {
  std::string pattern = (fs::temp_directory_path() / "cutover-journal-XXXXXX").string();
  const char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

JournalRecord Record(const std::string& key, const std::string& state) {
  JournalRecord r;
  r.entity = "users";
  r.key = key;
  r.state = state;
  r.deleted = state.empty();
  r.owed_to = OwedTo::kPostgres;
  r.written_at_us = 1764547200000000;
  r.version = 1764547200123456;
  return r;
}

// A write frame's size worked out from the layout in journal_frame.h:
// 16 bytes of header; kind, seq, owed_to, deleted, version, written_at
// (1 + 8 + 1 + 1 + 8 + 8 = 27 bytes); entity, key and state each with a
// 4-byte length.
size_t FrameSize(const JournalRecord& r) {
  return 16 + 27 + (4 + r.entity.size()) + (4 + r.key.size()) + (4 + r.state.size());
}

std::unique_ptr<Journal> OpenOk(const std::string& dir, JournalRecovery* recovery = nullptr,
                                uint64_t segment_bytes = 64ull << 20) {
  auto j = Journal::Open({.dir = dir, .segment_bytes = segment_bytes}, recovery);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? std::move(*j) : nullptr;
}

void AppendBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

void FlipByte(const std::string& path, size_t offset) {
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c = 0;
  ASSERT_EQ(pread(fd, &c, 1, static_cast<off_t>(offset)), 1);
  c = static_cast<char>(c ^ 0x40);
  ASSERT_EQ(pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
  close(fd);
}

TEST(JournalTest, WritesSurviveAReopenAndLandedOnesAreNoLongerOwed) {
  const std::string dir = TempDirectory();
  {
    auto j = OpenOk(dir);
    ASSERT_NE(j, nullptr);
    for (int i = 1; i <= 5; ++i) {
      auto seq = j->Append(
          Record("k" + std::to_string(i), i == 3 ? "" : R"({"n":)" + std::to_string(i) + "}"));
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      EXPECT_EQ(*seq, static_cast<uint64_t>(i));
    }
    j->MarkLanded(2);
    j->MarkLanded(4);
    j->MarkLanded(4);  // a replay after a lost mark: no effect
    EXPECT_EQ(j->stats().owed, 3u);
  }
  JournalRecovery recovery;
  auto j = OpenOk(dir, &recovery);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(recovery.writes, 5);
  EXPECT_EQ(recovery.owed, 3);
  EXPECT_EQ(recovery.torn_bytes, 0);
  EXPECT_TRUE(j->Owes("users", "k1"));
  EXPECT_FALSE(j->Owes("users", "k2"));     // landed
  EXPECT_FALSE(j->Owes("accounts", "k1"));  // another entity's key
  auto owed = j->Owed(10);
  ASSERT_TRUE(owed.ok()) << owed.status().ToString();
  ASSERT_EQ(owed->size(), 3u);
  EXPECT_EQ((*owed)[0].seq, 1u);
  EXPECT_EQ((*owed)[0].key, "k1");
  EXPECT_EQ((*owed)[0].state, R"({"n":1})");
  EXPECT_EQ((*owed)[1].seq, 3u);
  EXPECT_TRUE((*owed)[1].deleted);
  EXPECT_EQ((*owed)[1].state, "");
  EXPECT_EQ((*owed)[2].seq, 5u);
  EXPECT_EQ((*owed)[2].written_at_us, 1764547200000000);
  EXPECT_EQ((*owed)[2].version, 1764547200123456);
  EXPECT_EQ((*owed)[2].owed_to, OwedTo::kPostgres);
  auto next = j->Append(Record("k6", "{}"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 6u);  // numbering goes on after a restart
}

TEST(JournalTest, ManyWritersGetDistinctDurableSequenceNumbers) {
  const std::string dir = TempDirectory();
  constexpr int kThreads = 16, kEach = 200;
  {
    auto j = OpenOk(dir);
    ASSERT_NE(j, nullptr);
    std::vector<std::vector<uint64_t>> seqs(kThreads);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          auto seq = j->Append(Record(std::to_string(t) + ":" + std::to_string(i), "{}"));
          if (seq.ok()) seqs[t].push_back(*seq);
        }
      });
    }
    for (auto& w : writers) w.join();
    std::set<uint64_t> all;
    for (const auto& s : seqs) all.insert(s.begin(), s.end());
    EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
    EXPECT_EQ(*all.begin(), 1u);
    EXPECT_EQ(*all.rbegin(), static_cast<uint64_t>(kThreads * kEach));
    const JournalStats stats = j->stats();
    EXPECT_EQ(stats.appended, static_cast<uint64_t>(kThreads * kEach));
    EXPECT_LE(stats.group_commits, stats.appended);
  }
  JournalRecovery recovery;
  auto j = OpenOk(dir, &recovery);
  EXPECT_EQ(recovery.writes, kThreads * kEach);
  EXPECT_EQ(recovery.owed, kThreads * kEach);
}

// What a crash can leave after the last synced byte, none of it acknowledged.
TEST(JournalTest, ATornTailIsCutAndReported) {
  const JournalRecord first = Record("a", R"({"v":1})"), second = Record("b", R"({"v":2})");
  struct Case {
    const char* name;
    std::string tail;
    const char* says;
  };
  const Case cases[] = {
      {"a frame cut short", std::string("\x11\x7a\x7e\xc0\x30\x00\x00\x00\x01\x02", 10),
       "a frame cut short"},
      {"zeros", std::string(4096, '\0'), "bytes that are not a frame"},
  };
  for (const Case& c : cases) {
    const std::string dir = TempDirectory();
    {
      auto j = OpenOk(dir);
      ASSERT_NE(j, nullptr);
      ASSERT_TRUE(j->Append(first).ok());
      ASSERT_TRUE(j->Append(second).ok());
    }
    const std::string segment = dir + "/segment-1.log";
    const size_t good = FrameSize(first) + FrameSize(second);
    ASSERT_EQ(fs::file_size(segment), good) << c.name;
    AppendBytes(segment, c.tail);
    JournalRecovery recovery;
    auto j = OpenOk(dir, &recovery);
    ASSERT_NE(j, nullptr) << c.name;
    EXPECT_EQ(recovery.owed, 2) << c.name;
    EXPECT_EQ(recovery.torn_bytes, static_cast<int64_t>(c.tail.size())) << c.name;
    EXPECT_EQ(recovery.torn_at, "segment-1.log at byte " + std::to_string(good) + ": " + c.says)
        << c.name;
    EXPECT_EQ(fs::file_size(segment), good) << c.name;
  }

  // The last frame whole but its bytes not all written: its checksum fails
  // and nothing good follows, so it is a torn tail too.
  const std::string dir = TempDirectory();
  {
    auto j = OpenOk(dir);
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->Append(first).ok());
    ASSERT_TRUE(j->Append(second).ok());
  }
  FlipByte(dir + "/segment-1.log", FrameSize(first) + FrameSize(second) - 2);
  JournalRecovery recovery;
  auto j = OpenOk(dir, &recovery);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(recovery.owed, 1);
  EXPECT_EQ(recovery.torn_bytes, static_cast<int64_t>(FrameSize(second)));
  EXPECT_EQ(recovery.torn_at, "segment-1.log at byte " + std::to_string(FrameSize(first)) +
                                  ": a frame whose checksum does not match");
}

TEST(JournalTest, DamageFollowedByGoodFramesRefusesToStart) {
  const std::string dir = TempDirectory();
  const JournalRecord a = Record("a", R"({"v":1})"), b = Record("b", R"({"v":2})"),
                      c = Record("c", R"({"v":3})");
  {
    auto j = OpenOk(dir);
    ASSERT_NE(j, nullptr);
    for (const auto& r : {a, b, c}) ASSERT_TRUE(j->Append(r).ok());
  }
  const size_t b_at = FrameSize(a);
  FlipByte(dir + "/segment-1.log", b_at + FrameSize(b) - 3);  // inside b's state
  auto j = Journal::Open({.dir = dir}, nullptr);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(j.status().message().find("segment-1.log at byte " + std::to_string(b_at) +
                                      ": a frame whose checksum does not match"),
            std::string::npos)
      << j.status().message();
  // Nothing was cut: the file is as the damage left it.
  EXPECT_EQ(fs::file_size(dir + "/segment-1.log"), FrameSize(a) + FrameSize(b) + FrameSize(c));
}

TEST(JournalTest, SegmentsRotateAndOnesWhollyLandedAreDeleted) {
  const std::string dir = TempDirectory();
  const JournalRecord r = Record("key", R"({"value":"0123456789"})");
  // Two frames per segment: a segment is full once it holds at least 2 frames' bytes.
  const uint64_t segment_bytes = 2 * FrameSize(r);
  {
    auto j = OpenOk(dir, nullptr, segment_bytes);
    ASSERT_NE(j, nullptr);
    // One at a time, so each write is its own group commit.
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(j->Append(r).ok());
    EXPECT_EQ(j->stats().segments, 3u);
    for (uint64_t seq = 1; seq <= 4; ++seq) j->MarkLanded(seq);
    // segment-1 (1, 2) and segment-2 (3, 4) landed; segment-3 holds 5 and 6.
    EXPECT_FALSE(fs::exists(dir + "/segment-1.log"));
    EXPECT_FALSE(fs::exists(dir + "/segment-2.log"));
    EXPECT_TRUE(fs::exists(dir + "/segment-3.log"));
  }
  JournalRecovery recovery;
  auto j = OpenOk(dir, &recovery, segment_bytes);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(recovery.owed, 2);
  auto owed = j->Owed(10);
  ASSERT_TRUE(owed.ok());
  ASSERT_EQ(owed->size(), 2u);
  EXPECT_EQ((*owed)[0].seq, 5u);
  EXPECT_EQ((*owed)[1].seq, 6u);
}

TEST(JournalTest, OneProcessPerDirectory) {
  const std::string dir = TempDirectory();
  auto first = OpenOk(dir);
  ASSERT_NE(first, nullptr);
  auto second = Journal::Open({.dir = dir}, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use by another cutover process"), std::string::npos);
}

}  // namespace
}  // namespace cutover::gateway
