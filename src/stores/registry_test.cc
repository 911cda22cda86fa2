// The registry: every store type opens through stores::OpenStore, an unknown
// one is refused with the known ones named, and each store reads through the
// protocol and resumes at any cursor it returned with exactly the rest.
#include "stores/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cutover::stores {
namespace {

namespace fs = std::filesystem;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("cutover_registry_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return (dir_ / name).string();
  }
  static spec::SourceSpec Source(const std::string& type) {
    spec::SourceSpec s;
    s.name = "src";
    s.type = type;
    return s;
  }

  fs::path dir_;
};

// Every record of `reader`, one string per record: column `column` as text
// (an int column in decimal), batches of `batch`; `end` gets the last cursor.
std::vector<std::string> ReadAll(store::BatchReader* reader, const std::string& column,
                                 size_t batch, store::Cursor* end = nullptr) {
  std::vector<std::string> out;
  store::StoreBatch b;
  for (;;) {
    auto more = reader->Next(batch, &b);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    const int c = b.rows.IndexOf(column);
    EXPECT_GE(c, 0);
    if (c < 0) break;
    for (size_t r = 0; r < b.size(); ++r) {
      const Column& col = b.rows.columns[c];
      out.push_back(col.IsNull(r)              ? "NULL"
                    : IsFixedWidth(col.type()) ? std::to_string(col.IntAt(r))
                                               : std::string(col.BytesAt(r)));
    }
    if (end != nullptr) *end = b.end;
  }
  return out;
}

TEST_F(RegistryTest, RefusesAnUnknownStoreTypeNamingTheKnownOnes) {
  auto store = OpenStore(Source("mongodb"), "localhost:27017");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.status().message(),
            "source 'src': unknown store type 'mongodb'; known types: csv, iotdb, json, parquet, "
            "redis");
  EXPECT_EQ(KnownStoreTypes(),
            (std::vector<std::string>{"csv", "iotdb", "json", "parquet", "redis"}));
}

TEST_F(RegistryTest, JsonFilesArePartitionsAndAReadResumesAtAnyCursor) {
  const std::string users = Write(
      "users.json", "[{\"id\": 1},\n {\"id\": 2},\n {\"id\": 3},\n {\"id\": 4},\n {\"id\": 5}]");
  const std::string events = Write("events.jsonl", "{\"e\": 1}\n{\"e\": 2}\n");
  Write("notes.txt", "not a json file");
  auto store = OpenStore(Source("json"), dir_.string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->Ping().ok());
  EXPECT_EQ((*store)->writer(), nullptr);  // a directory is no one file to write
  EXPECT_EQ((*store)->changes(), nullptr);
  store::SnapshotReader& snapshot = (*store)->snapshot();
  EXPECT_EQ(snapshot.shape(), store::RecordShape::kDocuments);
  auto partitions = snapshot.Plan();
  ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
  ASSERT_EQ(partitions->size(), 2u);
  EXPECT_EQ((*partitions)[0].id, events);
  EXPECT_EQ((*partitions)[1].id, users);

  const std::vector<std::string> all = {"{\"id\": 1}", "{\"id\": 2}", "{\"id\": 3}", "{\"id\": 4}",
                                        "{\"id\": 5}"};
  auto reader = snapshot.Open((*partitions)[1], {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(ReadAll(reader->get(), "$doc", 2), all);

  // From the cursor after each batch, a new reader yields exactly the rest.
  for (size_t read = 1; read < all.size(); ++read) {
    auto first = snapshot.Open((*partitions)[1], {});
    ASSERT_TRUE(first.ok());
    store::StoreBatch b;
    ASSERT_TRUE((*first)->Next(read, &b).ok());
    ASSERT_EQ(b.size(), read);
    auto rest = snapshot.Open((*partitions)[1], b.end);
    ASSERT_TRUE(rest.ok()) << rest.status().ToString();
    EXPECT_EQ(ReadAll(rest->get(), "$doc", 10),
              std::vector<std::string>(all.begin() + static_cast<long>(read), all.end()))
        << "after " << read << " records, cursor " << b.end.token;
  }
  EXPECT_EQ(snapshot.Open((*partitions)[1], {"page=2"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(snapshot.Open({"elsewhere.json", "", -1, -1}, {}).status().code(),
            StatusCode::kInvalidArgument);

  // One file: it can be written.
  auto file_store = OpenStore(Source("json"), users, {.key_field = "id"});
  ASSERT_TRUE(file_store.ok());
  EXPECT_NE((*file_store)->writer(), nullptr);
}

TEST_F(RegistryTest, CsvRowsReadThroughTheProtocolAndResumeAtARowCursor) {
  const std::string path = Write("people.csv", "id,name\n1,ann\n2,bob\n3,cy\n4,di\n");
  auto store = OpenStore(Source("csv"), (dir_ / "*.csv").string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE((*store)->Ping().ok());
  EXPECT_NE((*store)->dedup(), nullptr);
  EXPECT_NE((*store)->profiler(), nullptr);
  EXPECT_EQ((*store)->writer(), nullptr);
  store::SnapshotReader& snapshot = (*store)->snapshot();
  EXPECT_EQ(snapshot.shape(), store::RecordShape::kColumns);
  auto partitions = snapshot.Plan();
  ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
  ASSERT_EQ(partitions->size(), 1u);
  EXPECT_EQ((*partitions)[0].origin, path);
  EXPECT_EQ((*partitions)[0].records, 4);

  auto reader = snapshot.Open((*partitions)[0], {});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  store::StoreBatch b;
  ASSERT_TRUE((*reader)->Next(3, &b).ok());
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.end.token, "row=3");
  auto rest = snapshot.Open((*partitions)[0], b.end);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(ReadAll(rest->get(), "name", 10), std::vector<std::string>{"di"});
  EXPECT_EQ(snapshot.Open((*partitions)[0], {"row=9"}).status().code(),
            StatusCode::kInvalidArgument);

  // A glob that matches nothing is unreachable, and says so.
  auto none = OpenStore(Source("csv"), (dir_ / "*.tsv").string());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->Ping().message(),
            "source 'src': glob '" + (dir_ / "*.tsv").string() + "' matches no file");
}

}  // namespace
}  // namespace cutover::stores
