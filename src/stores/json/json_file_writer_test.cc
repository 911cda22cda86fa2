// JsonFileWriter: each layout written and read back by Python's json module,
// replay gives the same bytes, and a writer SIGKILLed at every step of a
// Flush leaves the old file or the new one, byte for byte, never a torn one.
#include "stores/json/json_file_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "stores/json/json_store.h"

namespace cutover::json_store {
namespace {

namespace fs = std::filesystem;
using spec::JsonLayout;

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("cutover_writer_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return (dir_ / name).string();
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What Python's json module reads in `path`, as json.dumps(sort_keys=True)
// prints it; for "lines", one dump per line. The independent oracle.
std::string PythonReads(const std::string& path, const std::string& layout) {
  const std::string script =
      layout == "lines"
          ? "import json,sys\n"
            "for line in open(sys.argv[1], encoding='utf-8'):\n"
            "    print(json.dumps(json.loads(line), sort_keys=True))\n"
          : "import json,sys\n"
            "print(json.dumps(json.load(open(sys.argv[1], encoding='utf-8')), sort_keys=True))\n";
  const std::string script_path = path + ".check.py";
  std::ofstream(script_path) << script;
  const std::string command = "/usr/bin/python3 '" + script_path + "' '" + path + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer;
  while (pipe != nullptr && fgets(buffer.data(), buffer.size(), pipe) != nullptr) {
    out += buffer.data();
  }
  if (pipe != nullptr) pclose(pipe);
  fs::remove(script_path);
  return out;
}

TEST(JsonFileWriterTest, ArrayRecordsKeepTheirPlaceNewOnesGoLastAndDeletesVanish) {
  ScratchDir dir;
  const std::string path = dir.Write("users.json",
                                     "[\n  {\"id\": 1, \"name\": \"a\"},\n"
                                     "  {\"id\": 2, \"name\": \"b\"},\n"
                                     "  {\"id\": 3, \"name\": \"c\"}\n]\n");
  JsonFileWriter writer(path, JsonLayout::kAuto, "id");
  ASSERT_TRUE(writer.Upsert("2", R"({"id": 2, "name": "B"})").ok());
  ASSERT_TRUE(writer.Delete("3").ok());
  ASSERT_TRUE(writer.Upsert("4", R"({"id": 4, "name": "d"})").ok());
  ASSERT_TRUE(writer.Upsert("1", R"({"id": 1, "name": "first"})").ok());
  ASSERT_TRUE(writer.Upsert("1", R"({"id": 1, "name": "A"})").ok());  // the last one counts
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.staged(), 0u);
  EXPECT_EQ(PythonReads(path, "array"),
            "[{\"id\": 1, \"name\": \"A\"}, {\"id\": 2, \"name\": \"B\"}, "
            "{\"id\": 4, \"name\": \"d\"}]\n");
  EXPECT_EQ(ReadAll(path),
            "[\n{\"id\": 1, \"name\": \"A\"},\n{\"id\": 2, \"name\": \"B\"},\n"
            "{\"id\": 4, \"name\": \"d\"}\n]\n");
}

TEST(JsonFileWriterTest, ObjectKeyedByIdTakesTheKeyAsTheMemberName) {
  ScratchDir dir;
  const std::string path =
      dir.Write("users.json", R"({"u1": {"n": 1}, "u2": {"n": 2}, "u3": {"n": 3}})");
  JsonFileWriter writer(path, JsonLayout::kObject, "");
  ASSERT_TRUE(writer.Upsert("u2", R"({"n": 20})").ok());
  ASSERT_TRUE(writer.Upsert("new \"quoted\" \xc3\xa9\t", R"({"n": 4})").ok());
  ASSERT_TRUE(writer.Delete("u1").ok());
  ASSERT_TRUE(writer.Delete("never-there").ok());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(PythonReads(path, "object"),
            "{\"new \\\"quoted\\\" \\u00e9\\t\": {\"n\": 4}, \"u2\": {\"n\": 20}, "
            "\"u3\": {\"n\": 3}}\n");
}

TEST(JsonFileWriterTest, LinesStayOneRecordPerLineEvenForAPrettyPrintedDocument) {
  ScratchDir dir;
  const std::string path =
      dir.Write("events.jsonl", "{\"id\": \"e1\", \"v\": 1}\n{\"id\": \"e2\", \"v\": 2}\n");
  JsonFileWriter writer(path, JsonLayout::kAuto, "id");
  ASSERT_TRUE(writer.Upsert("e2", "{\n  \"id\": \"e2\",\n  \"v\": [1,\n 2]\n}").ok());
  ASSERT_TRUE(writer.Upsert("e3", R"({"id": "e3", "v": "x\ny"})").ok());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(PythonReads(path, "lines"),
            "{\"id\": \"e1\", \"v\": 1}\n{\"id\": \"e2\", \"v\": [1, 2]}\n"
            "{\"id\": \"e3\", \"v\": \"x\\ny\"}\n");
}

TEST(JsonFileWriterTest, AMissingFileIsCreatedInItsExtensionsLayout) {
  ScratchDir dir;
  const std::string path = dir.Path("new.jsonl");
  JsonFileWriter writer(path, JsonLayout::kAuto, "meta.id");
  ASSERT_TRUE(writer.Upsert("7", R"({"meta": {"id": 7}, "x": true})").ok());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(PythonReads(path, "lines"), "{\"meta\": {\"id\": 7}, \"x\": true}\n");
  const std::string array_path = dir.Path("new.json");
  JsonFileWriter array_writer(array_path, JsonLayout::kAuto, "id");
  ASSERT_TRUE(array_writer.Delete("1").ok());
  ASSERT_TRUE(array_writer.Flush().ok());
  EXPECT_EQ(PythonReads(array_path, "array"), "[]\n");
}

TEST(JsonFileWriterTest, ReplayingTheSameWritesGivesTheSameBytes) {
  ScratchDir dir;
  const std::string path = dir.Write("users.json", R"([{"id": 1}, {"id": 1, "v": 2}, {"id": 5}])");
  auto apply = [&]() {
    JsonFileWriter writer(path, JsonLayout::kArray, "id");
    ASSERT_TRUE(writer.Upsert("1", R"({"id": 1, "v": 3})").ok());
    ASSERT_TRUE(writer.Upsert("9", R"({"id": 9})").ok());
    ASSERT_TRUE(writer.Delete("5").ok());
    ASSERT_TRUE(writer.Flush().ok());
  };
  apply();
  const std::string once = ReadAll(path);
  // A key repeated in the file is written once, in its first place.
  EXPECT_EQ(PythonReads(path, "array"), "[{\"id\": 1, \"v\": 3}, {\"id\": 9}]\n");
  apply();
  EXPECT_EQ(ReadAll(path), once);
}

TEST(JsonFileWriterTest, RefusesADocumentThatIsNotJsonOrCarriesAnotherKey) {
  ScratchDir dir;
  const std::string path = dir.Write("users.json", "[]");
  JsonFileWriter writer(path, JsonLayout::kArray, "id");
  const Status torn = writer.Upsert("1", R"({"id": 1)");
  EXPECT_EQ(torn.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(torn.message().find("not one valid JSON value"), std::string::npos) << torn.message();
  const Status other = writer.Upsert("1", R"({"id": 2})");
  EXPECT_EQ(other.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.message().find("'2' at id"), std::string::npos) << other.message();
  EXPECT_EQ(writer.staged(), 0u);
  // A file whose container is broken is refused whole, and left as it was.
  const std::string broken = dir.Write("broken.json", R"([{"id": 1} {"id": 2}])");
  JsonFileWriter broken_writer(broken, JsonLayout::kArray, "id");
  ASSERT_TRUE(broken_writer.Upsert("3", R"({"id": 3})").ok());
  const Status st = broken_writer.Flush();
  EXPECT_EQ(st.code(), StatusCode::kDataError) << st.ToString();
  EXPECT_EQ(ReadAll(broken), R"([{"id": 1} {"id": 2}])");
  EXPECT_EQ(broken_writer.staged(), 1u);
}

// ---------------------------------------------------------------------------
// Kill -9 at every step. The child is this test binary re-executed with a
// filter that runs only JsonFileWriterChild (a fresh process, so that
// CUTOVER_FAILPOINTS is read by its first FailPoint call).

constexpr char kChildEnv[] = "CUTOVER_JSON_WRITER_CHILD";
constexpr char kOldFile[] =
    "[\n  {\"id\": 1, \"v\": \"old\"},\n  {\"id\": 2, \"v\": \"old\"},\n  {\"id\": 3, \"v\": "
    "\"old\"}\n]\n";

// The writes every child applies to `path`.
Status ApplyChildWrites(const std::string& path) {
  JsonFileWriter writer(path, JsonLayout::kArray, "id");
  RETURN_IF_ERROR(writer.Upsert("2", R"({"id": 2, "v": "new"})"));
  RETURN_IF_ERROR(writer.Delete("3"));
  RETURN_IF_ERROR(writer.Upsert("4", R"({"id": 4, "v": "new"})"));
  return writer.Flush();
}

TEST(JsonFileWriterChild, AppliesTheWritesWhenRunAsAKillTestsChild) {
  const char* path = std::getenv(kChildEnv);
  if (path == nullptr) GTEST_SKIP() << "runs only as the child process of JsonFileWriterKillTest";
  const Status st = ApplyChildWrites(path);
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// Runs the child on `path` with CUTOVER_FAILPOINTS=`failpoints`; returns its
// wait status.
int RunChild(const std::string& path, const std::string& failpoints) {
  const pid_t pid = fork();
  if (pid == 0) {
    setenv(kChildEnv, path.c_str(), 1);
    if (failpoints.empty()) {
      unsetenv("CUTOVER_FAILPOINTS");
    } else {
      setenv("CUTOVER_FAILPOINTS", failpoints.c_str(), 1);
    }
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    execl("/proc/self/exe", "json_store_unit_test",
          "--gtest_filter=JsonFileWriterChild.AppliesTheWritesWhenRunAsAKillTestsChild",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(JsonFileWriterKillTest, AKilledFlushLeavesTheOldFileOrTheNewOneNeverATornOne) {
  ScratchDir dir;
  // The new file, from a child that was not killed.
  const std::string reference = dir.Write("reference.json", kOldFile);
  const int clean = RunChild(reference, "");
  ASSERT_TRUE(WIFEXITED(clean) && WEXITSTATUS(clean) == 0) << "status " << clean;
  const std::string new_file = ReadAll(reference);
  ASSERT_EQ(PythonReads(reference, "array"),
            "[{\"id\": 1, \"v\": \"old\"}, {\"id\": 2, \"v\": \"new\"}, "
            "{\"id\": 4, \"v\": \"new\"}]\n");

  struct Step {
    const char* failpoint;
    int hits;      // passes of the failpoint in one Flush
    bool renamed;  // killed after the rename: the new file is in place
  };
  const Step steps[] = {
      {"json_writer.temp_created", 1, false}, {"json_writer.record_written", 3, false},
      {"json_writer.written", 1, false},      {"atomic_file.synced", 1, false},
      {"atomic_file.renamed", 1, true},       {"json_writer.dir_synced", 1, true},
  };
  int kills = 0;
  for (const Step& step : steps) {
    for (int hit = 1; hit <= step.hits; ++hit) {
      const std::string failpoint = std::string(step.failpoint) + "=" + std::to_string(hit);
      SCOPED_TRACE(failpoint);
      ScratchDir run;
      const std::string path = run.Write("users.json", kOldFile);
      const int status = RunChild(path, failpoint);
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
      ++kills;
      const std::string now = ReadAll(path);
      EXPECT_EQ(now, step.renamed ? new_file : std::string(kOldFile));
      auto count_entries = [&]() {
        size_t entries = 0;
        for (const auto& entry : fs::directory_iterator(run.dir())) {
          (void)entry;
          ++entries;
        }
        return entries;
      };
      // Killed before the rename, the temporary file is still there.
      EXPECT_EQ(count_entries(), step.renamed ? 1u : 2u);
      // Whatever a kill left beside the file is no data: a directory
      // source, as every reader plans it, holds the one file.
      auto store = OpenJsonStore(
          [] {
            spec::SourceSpec s;
            s.name = "files";
            s.type = "json";
            return s;
          }(),
          run.dir().string(), {});
      ASSERT_TRUE(store.ok());
      auto partitions = (*store)->snapshot().Plan();
      ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
      ASSERT_EQ(partitions->size(), 1u);
      EXPECT_EQ((*partitions)[0].id, path);
      // The next Flush completes the change and clears what the kill left.
      ASSERT_TRUE(ApplyChildWrites(path).ok());
      EXPECT_EQ(ReadAll(path), new_file);
      EXPECT_EQ(count_entries(), 1u);
    }
  }
  EXPECT_EQ(kills, 8);
  // One more pass of record_written than a Flush makes: the child is not killed.
  ScratchDir run;
  const std::string path = run.Write("users.json", kOldFile);
  const int status = RunChild(path, "json_writer.record_written=4");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(ReadAll(path), new_file);
}

}  // namespace
}  // namespace cutover::json_store
