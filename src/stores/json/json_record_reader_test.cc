// JsonRecordReader: files in every layout, with positions worked out by hand,
// read in one pass and resumed from every batch end.
#include "stores/json/json_record_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace cutover::json_store {
namespace {

using spec::JsonLayout;

struct Rec {
  std::string doc;
  std::optional<std::string> key;  // compared only for keyed objects
  int64_t offset;
  int64_t line;
  int64_t index;

  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  os << "{doc=" << testing::PrintToString(r.doc);
  if (r.key) os << " key=" << testing::PrintToString(*r.key);
  return os << " offset=" << r.offset << " line=" << r.line << " index=" << r.index << "}";
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("cutover_json_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

void AppendBatch(const store::StoreBatch& batch, std::vector<Rec>* out) {
  int key_col = batch.rows.IndexOf("$key");
  int doc_col = batch.rows.IndexOf("$doc");
  ASSERT_EQ(doc_col, 0);
  ASSERT_EQ(batch.rows.num_rows(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Rec r;
    r.doc = std::string(batch.rows.columns[doc_col].BytesAt(i));
    if (key_col >= 0 && !batch.rows.columns[key_col].IsNull(i)) {
      r.key = std::string(batch.rows.columns[key_col].BytesAt(i));
    }
    r.offset = batch.positions[i].byte_offset;
    r.line = batch.positions[i].line;
    r.index = batch.positions[i].record_index;
    out->push_back(std::move(r));
  }
}

// Reads everything with one reader.
std::vector<Rec> ReadOnePass(const std::string& path, JsonLayout layout, size_t batch_size) {
  std::vector<Rec> recs;
  JsonRecordReader reader(path, layout);
  Status st = reader.Open({});
  EXPECT_TRUE(st.ok()) << st.ToString();
  store::StoreBatch batch;
  for (int guard = 0; guard < 100000; ++guard) {
    auto more = reader.Next(batch_size, &batch);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    EXPECT_LE(batch.size(), batch_size);
    EXPECT_EQ(batch.origin, path);
    AppendBatch(batch, &recs);
  }
  EXPECT_EQ(batch.size(), 0u);
  return recs;
}

// Reads one batch per fresh reader, each opened at the previous batch's end,
// as a restarted backfill would.
std::vector<Rec> ReadResuming(const std::string& path, JsonLayout layout, size_t batch_size) {
  std::vector<Rec> recs;
  JsonPosition at;
  for (int guard = 0; guard < 100000; ++guard) {
    JsonRecordReader reader(path, layout);
    Status st = reader.Open(at);
    EXPECT_TRUE(st.ok()) << st.ToString();
    store::StoreBatch batch;
    auto more = reader.Next(batch_size, &batch);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    AppendBatch(batch, &recs);
    // The end is just after the last record and points at the next ordinal.
    EXPECT_EQ(reader.position().record_index, recs.back().index + 1);
    EXPECT_GE(reader.position().byte_offset,
              recs.back().offset + static_cast<int64_t>(recs.back().doc.size()));
    at = reader.position();
  }
  return recs;
}

struct Case {
  const char* name;
  const char* file;  // the extension matters for kAuto
  std::string content;
  JsonLayout layout;
  std::vector<Rec> want;
};

std::vector<Case> Cases() {
  using L = JsonLayout;
  const std::optional<std::string> none;
  return {
      {"array_basic",
       "a.json",
       "[{\"a\":1},\n {\"b\":[2,3]}]",
       L::kArray,
       {{R"({"a":1})", none, 1, 1, 0}, {R"({"b":[2,3]})", none, 11, 2, 1}}},
      {"array_auto",
       "a.json",
       "[{\"a\":1},\n {\"b\":[2,3]}]",
       L::kAuto,
       {{R"({"a":1})", none, 1, 1, 0}, {R"({"b":[2,3]})", none, 11, 2, 1}}},
      {"array_strings_with_brackets_commas_escaped_quotes",
       "a.json",
       R"([{"s":"a]b,c}\"d"},{"t":"\\"}])",
       L::kArray,
       {{R"({"s":"a]b,c}\"d"})", none, 1, 1, 0}, {R"({"t":"\\"})", none, 19, 1, 1}}},
      {"array_nested",
       "a.json",
       R"([[1,[2,{"a":[3]}]],[]])",
       L::kArray,
       {{R"([1,[2,{"a":[3]}]])", none, 1, 1, 0}, {"[]", none, 19, 1, 1}}},
      {"array_scalars",
       "a.json",
       "[ 1 , true ,null,\"x\" ]",
       L::kArray,
       {{"1", none, 2, 1, 0},
        {"true", none, 6, 1, 1},
        {"null", none, 12, 1, 2},
        {"\"x\"", none, 17, 1, 3}}},
      // A raw newline inside a string is invalid JSON but stays in one record
      // in an array; in JSON lines the line break wins.
      {"array_newline_in_string",
       "a.json",
       "[\"a\nb\", 1]",
       L::kArray,
       {{"\"a\nb\"", none, 1, 1, 0}, {"1", none, 8, 2, 1}}},
      {"lines_newline_in_string",
       "a.jsonl",
       "{\"s\":\"a\nb\"}\n",
       L::kLines,
       {{"{\"s\":\"a", none, 0, 1, 0}, {"b\"}", none, 8, 2, 1}}},
      {"lines_escaped_newline_and_brackets",
       "a.jsonl",
       "{\"s\":\"a\\nb]\"}\n[1,\n",
       L::kAuto,
       {{"{\"s\":\"a\\nb]\"}", none, 0, 1, 0}, {"[1,", none, 14, 2, 1}}},
      {"lines_blank_and_crlf",
       "a.jsonl",
       "{\"a\":1}\r\n\n  \n{\"b\":2}  \n{\"c\":3}",
       L::kLines,
       {{R"({"a":1})", none, 0, 1, 0},
        {R"({"b":2})", none, 13, 4, 1},
        {R"({"c":3})", none, 23, 5, 2}}},
      {"lines_auto_by_extension",
       "a.ndjson",
       "[1]\n[2]\n",
       L::kAuto,
       {{"[1]", none, 0, 1, 0}, {"[2]", none, 4, 2, 1}}},
      {"lines_auto_by_content",
       "a.json",
       "{\"a\":1}\n{\"a\":2}\n",
       L::kAuto,
       {{R"({"a":1})", none, 0, 1, 0}, {R"({"a":2})", none, 8, 2, 1}}},
      {"object_escaped_keys",
       "o.json",
       "{\"u1\": {\"n\":1},\n \"u\\\"2\\\\\": [1],\n \"\\u00e9\\ud83d\\ude00\": \"x\"}",
       L::kAuto,
       {{R"({"n":1})", "u1", 7, 1, 0},
        {"[1]", "u\"2\\", 27, 2, 1},
        {"\"x\"", "\xC3\xA9\xF0\x9F\x98\x80", 55, 3, 2}}},
      {"object_key_without_value",
       "o.json",
       R"({"a":1,"b":})",
       L::kObject,
       {{"1", "a", 5, 1, 0}, {"\"b\":", "b", 7, 1, 1}}},
      {"object_pretty",
       "o.json",
       "{\n  \"a\": {\n    \"x\": [1, {\"y\": \"}\"}]\n  }\n}\n",
       L::kObject,
       {{"{\n    \"x\": [1, {\"y\": \"}\"}]\n  }", "a", 9, 2, 0}}},
      {"unterminated_last_line",
       "a.jsonl",
       "{\"a\":1}\n{\"b\"",
       L::kLines,
       {{R"({"a":1})", none, 0, 1, 0}, {"{\"b\"", none, 8, 2, 1}}},
      {"empty_file_lines", "e.jsonl", "", L::kLines, {}},
      {"empty_array", "e.json", "[ ]\n", L::kAuto, {}},
      {"empty_object", "e.json", "{}", L::kAuto, {}},
      {"bom_array",
       "b.json",
       "\xEF\xBB\xBF[1,2]",
       L::kAuto,
       {{"1", none, 4, 1, 0}, {"2", none, 6, 1, 1}}},
      {"bom_object", "b.json", "\xEF\xBB\xBF{\"k\":[]}", L::kAuto, {{"[]", "k", 8, 1, 0}}},
      {"bom_lines",
       "b.jsonl",
       "\xEF\xBB\xBF{\"a\":1}\n",
       L::kLines,
       {{R"({"a":1})", none, 3, 1, 0}}},
      {"invalid_utf8_in_string",
       "a.json",
       "[{\"s\":\"\xFF\xFE]\"},{\"t\":1}]",
       L::kArray,
       {{"{\"s\":\"\xFF\xFE]\"}", none, 1, 1, 0}, {R"({"t":1})", none, 13, 1, 1}}},
  };
}

TEST(JsonRecordReader, SplitsEveryLayoutWithExactPositions) {
  TempDir dir;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    std::string path = dir.Write(std::string(c.name) + "_" + c.file, c.content);
    for (size_t batch_size : {1, 2, 3, 1000}) {
      SCOPED_TRACE("batch size " + std::to_string(batch_size));
      EXPECT_EQ(ReadOnePass(path, c.layout, batch_size), c.want);
      EXPECT_EQ(ReadResuming(path, c.layout, batch_size), c.want);
    }
  }
}

// A container whose grammar breaks: the records before the break, as batch
// size 1 hands them out, and the error's position and reason. Offsets are
// counted by hand from the content.
struct BrokenCase {
  const char* name;
  const char* file;
  std::string content;
  std::vector<JsonLayout> layouts;
  std::vector<std::string> docs_before;
  std::string error;  // "byte N (line L): reason" after the path
};

std::vector<BrokenCase> BrokenCases() {
  using L = JsonLayout;
  return {
      {"array_unclosed",
       "a.json",
       R"([{"a":1},{"b":2})",
       {L::kArray, L::kAuto},
       {R"({"a":1})"},
       "byte 16 (line 1): the file ends inside record 1 or before the closing ']' (truncated?)"},
      {"array_unclosed_inside_record",
       "a.json",
       "[{\"a\":1},{\"b\":[1,2\n",
       {L::kArray},
       {R"({"a":1})"},
       "byte 19 (line 2): the file ends inside record 1 or before the closing ']'"},
      {"array_unterminated_string",
       "a.json",
       "[{\"a\":\"xyz]}",
       {L::kArray},
       {},
       "byte 12 (line 1): the file ends inside record 0"},
      {"array_just_opener",
       "a.json",
       "[",
       {L::kArray, L::kAuto},
       {},
       "byte 1 (line 1): the file ends before the closing ']' (truncated?)"},
      {"array_doubled_comma",
       "a.json",
       "[1,,2]",
       {L::kArray},
       {"1"},
       "byte 3 (line 1): expected a record after ',', found ','"},
      {"array_leading_comma",
       "a.json",
       "[,1]",
       {L::kArray},
       {},
       "byte 1 (line 1): expected a record or ']' after '[', found ','"},
      {"array_trailing_comma",
       "a.json",
       "[1,\n2,\n]",
       {L::kArray},
       {"1", "2"},
       "byte 7 (line 3): expected a record after ',', found ']'"},
      {"array_missing_comma_between_objects",
       "a.json",
       R"([{"a":1} {"b":2}])",
       {L::kArray},
       {},
       "byte 9 (line 1): expected ',' or ']' after record 0, found '{'"},
      {"array_missing_comma_between_scalars",
       "a.json",
       "[1 2]",
       {L::kArray},
       {},
       "byte 3 (line 1): expected ',' or ']' after record 0, found '2'"},
      {"array_closed_twice",
       "a.json",
       "[1,2]]",
       {L::kArray, L::kAuto},
       {"1", "2"},
       "byte 5 (line 1): found ']' after the closing ']': a second document or a stray byte"},
      {"array_second_document",
       "a.json",
       "[1]\n[2]\n",
       {L::kArray, L::kAuto},
       {"1"},
       "byte 4 (line 2): found '[' after the closing ']'"},
      {"array_garbage_after",
       "a.json",
       "[1]\nx",
       {L::kArray},
       {"1"},
       "byte 4 (line 2): found 'x' after the closing ']'"},
      {"array_stray_brace",
       "a.json",
       R"([{"a":1}},2])",
       {L::kArray},
       {},
       "byte 8 (line 1): expected ',' or ']' after record 0, found '}'"},
      {"array_layout_on_an_object",
       "a.json",
       "{\"a\":1}\n",
       {L::kArray},
       {},
       "byte 0 (line 1): expected '[' to open the array layout, found '{'"},
      {"array_empty_file",
       "e.json",
       "",
       {L::kArray, L::kAuto},
       {},
       "byte 0 (line 1): the file holds no JSON: expected '[' to open the array layout"},
      {"array_whitespace_only",
       "e.json",
       " \n\t\n",
       {L::kArray, L::kAuto},
       {},
       "byte 4 (line 3): the file holds no JSON"},
      {"object_just_opener",
       "o.json",
       "{",
       {L::kObject, L::kAuto},
       {},
       "byte 1 (line 1): the file ends before the closing '}' (truncated?)"},
      {"object_unclosed",
       "o.json",
       R"({"a":{"x":1})",
       {L::kObject, L::kAuto},
       {},
       "byte 12 (line 1): the file ends inside member 0 or before the closing '}'"},
      {"object_missing_colon",
       "o.json",
       R"({"a" {"x":1}})",
       {L::kObject, L::kAuto},
       {},
       "byte 5 (line 1): expected ':' after the key \"a\", found '{'"},
      {"object_doubled_comma",
       "o.json",
       R"({"a":1,,"b":2})",
       {L::kObject},
       {"1"},
       "byte 7 (line 1): expected a member after ',', found ','"},
      {"object_missing_comma",
       "o.json",
       R"({"a":1 "b":2})",
       {L::kObject},
       {},
       "byte 7 (line 1): expected ',' or '}' after member 0, found '\"'"},
      {"object_closed_twice",
       "o.json",
       R"({"a":1}})",
       {L::kObject, L::kAuto},
       {"1"},
       "byte 7 (line 1): found '}' after the closing '}'"},
      {"object_second_document",
       "o.json",
       R"({"a":1}{"b":2})",
       {L::kObject, L::kAuto},
       {"1"},
       "byte 7 (line 1): found '{' after the closing '}'"},
      {"object_unquoted_key",
       "o.json",
       "{1:2}",
       {L::kObject},
       {},
       "byte 1 (line 1): expected a quoted key, found '1'"},
      {"object_unterminated_key",
       "o.json",
       "{\"a\":1, \"b",
       {L::kObject},
       {"1"},
       "byte 8 (line 1): the key never ends"},
      // A key names its record (`from: $key`): repairing it would store a
      // different row, and PostgreSQL's jsonb refuses such a string too.
      {"object_key_lone_surrogate",
       "o.json",
       R"({"\ud800x":1,"b":2})",
       {L::kObject},
       {},
       "byte 1 (line 1): the key is not a valid JSON string: a high surrogate without its low "
       "half"},
      {"object_key_bad_escape",
       "o.json",
       R"({"a":1,"\q":2})",
       {L::kObject},
       {"1"},
       "byte 7 (line 1): the key is not a valid JSON string: the invalid escape '\\q'"},
      {"object_key_short_unicode_escape",
       "o.json",
       R"({"\u12":2})",
       {L::kObject},
       {},
       "byte 1 (line 1): the key is not a valid JSON string: \\u without four hex digits"},
      {"object_empty_file",
       "e.json",
       "",
       {L::kObject},
       {},
       "byte 0 (line 1): the file holds no JSON: expected '{' to open the object layout"},
  };
}

// Reads until the reader fails, with one reader or resuming a fresh reader at
// each batch end; returns the records handed out and the error.
std::pair<std::vector<std::string>, std::string> ReadUntilBroken(const std::string& path,
                                                                 JsonLayout layout,
                                                                 size_t batch_size, bool resume) {
  std::vector<std::string> docs;
  JsonPosition at;
  std::unique_ptr<JsonRecordReader> reader;
  store::StoreBatch batch;
  for (int guard = 0; guard < 1000; ++guard) {
    if (reader == nullptr || resume) {
      reader = std::make_unique<JsonRecordReader>(path, layout);
      Status st = reader->Open(at);
      if (!st.ok()) return {docs, "Open: " + st.ToString()};
    }
    auto more = reader->Next(batch_size, &batch);
    if (!more.ok()) {
      // Sticky: asking again gives the same error, never the records after it.
      auto again = reader->Next(batch_size, &batch);
      EXPECT_FALSE(again.ok());
      if (!again.ok()) {
        EXPECT_EQ(again.status().ToString(), more.status().ToString());
      }
      EXPECT_EQ(more.status().code(), StatusCode::kDataError);
      return {docs, more.status().ToString()};
    }
    if (!*more) return {docs, "no error"};
    for (size_t i = 0; i < batch.size(); ++i) {
      docs.emplace_back(batch.rows.columns[0].BytesAt(i));
    }
    at = reader->position();
  }
  return {docs, "no end"};
}

TEST(JsonRecordReader, BrokenContainerIsAnErrorWithFileAndOffset) {
  TempDir dir;
  for (const BrokenCase& c : BrokenCases()) {
    SCOPED_TRACE(c.name);
    std::string path = dir.Write(std::string(c.name) + "_" + c.file, c.content);
    for (JsonLayout layout : c.layouts) {
      SCOPED_TRACE("layout " + std::to_string(static_cast<int>(layout)));
      for (size_t batch_size : {1, 2, 1000}) {
        for (bool resume : {false, true}) {
          SCOPED_TRACE("batch size " + std::to_string(batch_size) + (resume ? " resuming" : ""));
          auto [docs, error] = ReadUntilBroken(path, layout, batch_size, resume);
          EXPECT_NE(error.find(path + ": " + c.error), std::string::npos) << error;
          if (batch_size == 1) {
            EXPECT_EQ(docs, c.docs_before);
          } else {
            // A batch that meets the break is not handed out.
            EXPECT_LE(docs.size(), c.docs_before.size());
            EXPECT_TRUE(docs.size() <= c.docs_before.size() &&
                        std::equal(docs.begin(), docs.end(), c.docs_before.begin()));
          }
        }
      }
    }
  }
}

TEST(JsonRecordReader, ResolvesAutoLayout) {
  TempDir dir;
  struct {
    const char* name;
    std::string content;
    JsonLayout want;
  } cases[] = {
      {"a.json", " [1]", JsonLayout::kArray},
      {"o.json", "{\n\"a\": 1\n}\n", JsonLayout::kObject},
      {"o1.json", "{\"a\": 1}\n", JsonLayout::kObject},
      {"l.json", "{\"a\": 1}\n{\"a\": 2}", JsonLayout::kLines},
      {"l.JSONL", "[1]", JsonLayout::kLines},
      {"l.ndjson", "{}", JsonLayout::kLines},
  };
  for (const auto& c : cases) {
    JsonRecordReader reader(dir.Write(c.name, c.content), JsonLayout::kAuto);
    ASSERT_TRUE(reader.Open({}).ok());
    EXPECT_EQ(reader.layout(), c.want) << c.name;
  }
}

// Long strings with escapes at every alignment exercise the 16-byte scans;
// the generator records where it put each record, independent of the reader.
TEST(JsonRecordReader, GeneratedFileMatchesGeneratorPositions) {
  TempDir dir;
  std::mt19937 rng(42);
  const std::string alphabet = "abc{}[],:\" \\\n\xC3\xA9";
  for (JsonLayout layout : {JsonLayout::kArray, JsonLayout::kObject, JsonLayout::kLines}) {
    std::string content = layout == JsonLayout::kLines    ? ""
                          : layout == JsonLayout::kObject ? "{\n"
                                                          : "[\n";
    int64_t line = layout == JsonLayout::kLines ? 1 : 2;
    std::vector<Rec> want;
    for (int i = 0; i < 2000; ++i) {
      std::string value;
      size_t len = rng() % 80;
      for (size_t j = 0; j < len; ++j) {
        char c = alphabet[rng() % alphabet.size()];
        if (c == '"' || c == '\\') {
          value += '\\';
          value += c;
        } else if (c == '\n') {
          value += "\\n";  // a raw newline would split a JSON line
        } else {
          value += c;
        }
      }
      std::string doc = "{\"id\":" + std::to_string(i) + ",\"v\":\"" + value + "\",\"n\":[[" +
                        std::to_string(i % 7) + "],{}]}";
      std::optional<std::string> key;
      if (i > 0 && layout != JsonLayout::kLines) content += ",\n";
      if (i > 0 && layout != JsonLayout::kLines) ++line;
      if (layout == JsonLayout::kObject) {
        key = "k" + std::to_string(i);
        content += "  \"" + *key + "\": ";
      }
      want.push_back({doc, key, static_cast<int64_t>(content.size()), line, i});
      content += doc;
      if (layout == JsonLayout::kLines) {
        content += "\n";
        ++line;
      }
    }
    content += layout == JsonLayout::kLines ? "" : "\n]";
    if (layout == JsonLayout::kObject) content.back() = '}';
    std::string path = dir.Write("gen.json", content);
    EXPECT_EQ(ReadOnePass(path, layout, 1000), want);
    EXPECT_EQ(ReadResuming(path, layout, 333), want);
  }
}

TEST(JsonRecordReader, MissingFileNamesThePath) {
  TempDir dir;
  std::string path = dir.Path("users.json");
  JsonRecordReader reader(path, JsonLayout::kAuto);
  Status st = reader.Open({});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "cannot open " + path + ": No such file or directory");
  EXPECT_EQ(reader.SizeHint(), -1);
}

TEST(JsonRecordReader, DirectoryIsAnError) {
  TempDir dir;
  JsonRecordReader reader(dir.Path(""), JsonLayout::kAuto);
  Status st = reader.Open({});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(dir.Path("")), std::string::npos) << st.message();
}

TEST(JsonRecordReader, NextBeforeOpenFails) {
  TempDir dir;
  JsonRecordReader reader(dir.Write("a.json", "[1]"), JsonLayout::kAuto);
  store::StoreBatch batch;
  EXPECT_FALSE(reader.Next(10, &batch).ok());
}

TEST(JsonRecordReader, SizeHintIsTheFileSize) {
  TempDir dir;
  JsonRecordReader reader(dir.Write("a.json", "[1, 2]"), JsonLayout::kAuto);
  EXPECT_EQ(reader.SizeHint(), 6);
  ASSERT_TRUE(reader.Open({}).ok());
  EXPECT_EQ(reader.SizeHint(), 6);
}

TEST(JsonRecordReader, EndOfDataLeavesBatchEmptyAndReusable) {
  TempDir dir;
  JsonRecordReader reader(dir.Write("o.json", R"({"a":1,"b":2})"), JsonLayout::kObject);
  ASSERT_TRUE(reader.Open({}).ok());
  store::StoreBatch batch;
  auto more = reader.Next(1, &batch);
  ASSERT_TRUE(more.ok() && *more);
  more = reader.Next(1, &batch);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(batch.rows.num_rows(), 1u);
  EXPECT_EQ(batch.rows.columns[1].BytesAt(0), "b");
  more = reader.Next(1, &batch);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_EQ(batch.rows.num_rows(), 0u);
  EXPECT_EQ(reader.position().record_index, 2);
}

}  // namespace
}  // namespace cutover::json_store
