// JsonKeyIndex: records found by key in every layout, a key's first record
// taken, one build per generation, and a replaced file read anew.
#include "stores/json/json_key_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cutover::json_store {
namespace {

namespace fs = std::filesystem;

std::string Write(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("json_key_index_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// "key=doc" for each record found, in the order asked.
std::vector<std::string> Found(JsonKeyIndex& index, const std::vector<std::string>& keys) {
  store::StoreBatch out;
  EXPECT_TRUE(index.Read(keys, &out).ok());
  std::vector<std::string> found;
  for (size_t i = 0; i < out.size(); ++i) {
    found.push_back(std::string(out.rows.columns[1].BytesAt(i)) + "=" +
                    std::string(out.rows.columns[0].BytesAt(i)));
  }
  EXPECT_EQ(out.versions.size(), out.size());
  return found;
}

TEST(JsonKeyIndex, FindsRecordsByKeyInAnArrayAndTakesAKeysFirstRecord) {
  const std::string path =
      Write("array.json",
            "[\n  {\"id\": 1, \"n\": \"a\"},\n  {\"id\": \"x\", \"n\": \"b\"},\n"
            "  {\"id\": 1, \"n\": \"later\"},\n  {\"n\": \"no key\"}\n]\n");
  JsonKeyIndex index(path, spec::JsonLayout::kAuto, "id");
  EXPECT_EQ(
      Found(index, {"x", "1", "missing"}),
      (std::vector<std::string>{"x={\"id\": \"x\", \"n\": \"b\"}", "1={\"id\": 1, \"n\": \"a\"}"}));
  EXPECT_EQ(Found(index, {"1"}).size(), 1u);
  EXPECT_EQ(index.builds(), 1) << "reads of one generation share one build";
}

TEST(JsonKeyIndex, FindsMembersOfAKeyedObjectAndJsonLines) {
  JsonKeyIndex keyed(Write("keyed.json", "{\"a\": {\"v\": 1}, \"b\": {\"v\": 2}}"),
                     spec::JsonLayout::kObject, "");
  EXPECT_EQ(Found(keyed, {"b"}), (std::vector<std::string>{"b={\"v\": 2}"}));
  JsonKeyIndex lines(Write("lines.jsonl", "{\"meta\": {\"id\": 7}}\n\n{\"meta\": {\"id\": 8}}\n"),
                     spec::JsonLayout::kLines, "meta.id");
  EXPECT_EQ(Found(lines, {"8"}), (std::vector<std::string>{"8={\"meta\": {\"id\": 8}}"}));
}

TEST(JsonKeyIndex, AReplacedFileIsIndexedAgainAndAMissingOneHoldsNothing) {
  const std::string path = Write("replaced.json", "[{\"id\": 1, \"n\": \"old\"}]");
  JsonKeyIndex index(path, spec::JsonLayout::kAuto, "id");
  EXPECT_EQ(Found(index, {"1"}), (std::vector<std::string>{"1={\"id\": 1, \"n\": \"old\"}"}));
  // Replaced as the writer does: a new file renamed over the old one.
  const std::string next = Write("replaced.json.tmp", "[{\"id\": 2}, {\"id\": 1, \"n\": \"new\"}]");
  fs::rename(next, path);
  EXPECT_EQ(Found(index, {"1"}), (std::vector<std::string>{"1={\"id\": 1, \"n\": \"new\"}"}));
  EXPECT_EQ(index.builds(), 2);
  fs::remove(path);
  store::StoreBatch out;
  ASSERT_TRUE(index.Read({"1"}, &out).ok());
  EXPECT_EQ(out.size(), 0u);
  EXPECT_GT(out.versions_floor, 0);
}

TEST(JsonKeyIndex, AFileRewrittenInPlaceUnderTheSameTimeAndSizeIsReadAnew) {
  const std::string path =
      Write("in_place.json", "[{\"id\": \"a\", \"n\": 1}, {\"id\": \"b\", \"n\": 2}]");
  const auto when = fs::last_write_time(path);
  JsonKeyIndex index(path, spec::JsonLayout::kAuto, "id");
  EXPECT_EQ(Found(index, {"a"}), (std::vector<std::string>{"a={\"id\": \"a\", \"n\": 1}"}));
  // The same bytes' length, the records swapped, the old time put back.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f << "[{\"id\": \"b\", \"n\": 2}, {\"id\": \"a\", \"n\": 1}]";
  }
  fs::last_write_time(path, when);
  EXPECT_EQ(Found(index, {"a"}), (std::vector<std::string>{"a={\"id\": \"a\", \"n\": 1}"}));
  EXPECT_EQ(index.builds(), 2);
}

TEST(JsonKeyIndex, AFileBrokenPartWayStillGivesTheRecordsBeforeTheBreak) {
  JsonKeyIndex index(Write("broken.json", "[{\"id\": 1}, {\"id\": 2} {\"id\": 3}]"),
                     spec::JsonLayout::kAuto, "id");
  EXPECT_EQ(Found(index, {"1"}), (std::vector<std::string>{"1={\"id\": 1}"}));
  store::StoreBatch out;
  const Status past = index.Read({"3"}, &out);
  EXPECT_EQ(past.code(), StatusCode::kDataError) << past.message();
}

TEST(JsonKeyIndex, ReadersOfOneFileShareOneIndex) {
  const std::string path = Write("shared.json", "[{\"id\": 1}]");
  auto a = JsonKeyIndex::For(path, spec::JsonLayout::kAuto, "id");
  auto b = JsonKeyIndex::For(path, spec::JsonLayout::kAuto, "id");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(JsonKeyIndex::For(path, spec::JsonLayout::kAuto, "other").get(), a.get());
}

}  // namespace
}  // namespace cutover::json_store
