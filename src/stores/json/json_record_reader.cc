// Splits a JSON document file (array, keyed object or JSON lines) into raw
// record texts without building a DOM; the mapper parses each record later.
#include "stores/json/json_record_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// JsonRecordReader design
//
// Records are found by a scanner that knows only three things: whitespace,
// strings (skipped to the closing quote, honouring backslashes) and bracket
// depth. It does not validate a record's inside; the mapper parses every
// record and rejects a broken one with its position, so nothing is lost.
//
// The container around the records is checked strictly, as it is scanned:
// the opening `[` or `{`, one `,` between records, a quoted key and a `:` in
// front of each value of a keyed object, the closing bracket, and nothing but
// whitespace after it. A break there (`[1,,2]`, `[1 2]`, `]]`, a second
// document, a missing colon, a file that ends before its closing bracket) is
// a DataError naming the file, byte offset and line: such a file may have
// lost or merged records, and cutover cannot tell which, so it neither loads
// around the break nor rejects a record that is not one.
//
// Resuming needs nothing but a byte offset: offset 0 is the start of the
// file; any other offset a batch ended at lies just after a record whose
// following separator was already checked, or at the end of the file once
// the closing bracket and the trailing whitespace were checked. A record is
// handed out only after the byte that follows it was seen to be `,` or the
// closer, so the end of the file is never a resume point of a truncated file.
//
// Line numbers come from a separate newline count over each span between the
// last counted offset and the next record start, so each byte is counted once.
//
// Speed: inside strings (the bulk of most documents) and between brackets the
// scanner jumps 16 bytes at a time with SSE2 compares; the fallback is a byte
// loop. Each record costs one append to the batch column.

namespace cutover::json_store {
namespace {

using spec::JsonLayout;

// Consumed pages are returned to the kernel in chunks of this size, so that
// a multi-GB file does not stay resident after it has been read.
constexpr size_t kReleaseChunk = size_t{64} << 20;
// How far DetectLayout looks for the end of the first line.
constexpr size_t kProbeWindow = size_t{4} << 20;

inline bool IsWs(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline const char* SkipWs(const char* p, const char* end) {
  while (p < end && IsWs(*p)) ++p;
  return p;
}

inline const char* TrimTrailingWs(const char* begin, const char* end) {
  while (end > begin && IsWs(end[-1])) --end;
  return end;
}

// Bytes that end a bare token (number, literal, or garbage) at record level.
struct ScalarStopTable {
  bool stop[256] = {};
  constexpr ScalarStopTable() {
    for (unsigned char c : {' ', '\n', '\r', '\t', ',', '"', '[', ']', '{', '}'}) stop[c] = true;
  }
};
constexpr ScalarStopTable kScalarStop;

// First `"` or `\` in [p, end), or end.
inline const char* FindQuoteOrBackslash(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

// First `"`, `{`, `}`, `[` or `]` in [p, end), or end.
inline const char* FindStructural(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i lbrace = _mm_set1_epi8('{');
  const __m128i rbrace = _mm_set1_epi8('}');
  const __m128i lbracket = _mm_set1_epi8('[');
  const __m128i rbracket = _mm_set1_epi8(']');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, lbrace)),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, rbrace), _mm_cmpeq_epi8(v, lbracket)),
                     _mm_cmpeq_epi8(v, rbracket)));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '{' && *p != '}' && *p != '[' && *p != ']') ++p;
  return p;
}

size_t CountNewlines(const char* p, const char* end) {
  size_t n = 0;
#if defined(__SSE2__)
  const __m128i newline = _mm_set1_epi8('\n');
  const __m128i zero = _mm_setzero_si128();
  while (end - p >= 16) {
    // Byte counters overflow after 255 blocks; fold them into 64-bit sums.
    size_t blocks = std::min<size_t>(static_cast<size_t>(end - p) / 16, 255);
    __m128i acc = _mm_setzero_si128();
    for (size_t i = 0; i < blocks; ++i, p += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, newline));
    }
    __m128i sums = _mm_sad_epu8(acc, zero);
    n += static_cast<size_t>(_mm_cvtsi128_si64(sums)) +
         static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  }
#endif
  for (; p < end; ++p) n += *p == '\n';
  return n;
}

// `p` is just after an opening quote. Returns the closing quote, or end when
// the string is unterminated.
inline const char* FindStringEnd(const char* p, const char* end) {
  for (;;) {
    p = FindQuoteOrBackslash(p, end);
    if (p == end || *p == '"') return p;
    p += 2;  // the escaped byte can be anything, including a quote
    if (p >= end) return end;
  }
}

// `p` is at `{` or `[`. Returns the byte after the matching closer; brackets
// of either kind count the same, so mismatched ones still end somewhere.
const char* ScanContainer(const char* p, const char* end, bool* closed) {
  int64_t depth = 0;
  while (p < end) {
    p = FindStructural(p, end);
    if (p == end) break;
    char c = *p;
    if (c == '"') {
      p = FindStringEnd(p + 1, end);
      if (p == end) break;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (--depth == 0) {
      *closed = true;
      return p + 1;
    }
    ++p;
  }
  *closed = false;
  return end;
}

// `p` is at the first byte of a value (not whitespace). Returns its end; at
// least one byte is always consumed so that garbage cannot stall the scan.
const char* ScanValue(const char* p, const char* end) {
  char c = *p;
  if (c == '{' || c == '[') {
    bool closed;
    return ScanContainer(p, end, &closed);
  }
  if (c == '"') {
    const char* q = FindStringEnd(p + 1, end);
    return q == end ? end : q + 1;
  }
  ++p;
  while (p < end && !kScalarStop.stop[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// Reads the 4 hex digits at p (p + 4 <= end checked by the caller).
bool ParseHex4(const char* p, uint32_t* out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
  }
  *out = v;
  return true;
}

// Decodes the body of a JSON string. Returns "" when it is valid JSON, else
// what is wrong: a malformed escape, a lone surrogate or a raw control
// character, none of which PostgreSQL's jsonb accepts either. (The decoded
// text then keeps a malformed escape verbatim and a lone surrogate as U+FFFD.)
std::string DecodeJsonString(const char* p, const char* end, std::string* out) {
  out->clear();
  std::string problem;
  for (const char* q = p; q < end; ++q) {
    if (static_cast<unsigned char>(*q) < 0x20) {
      problem = fmt::format("raw control character 0x{:02x}", static_cast<int>(*q));
      break;
    }
  }
  while (p < end) {
    const char* q = static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p)));
    if (q == nullptr) {
      out->append(p, end);
      return problem;
    }
    out->append(p, q);
    if (q + 1 == end) {
      out->push_back('\\');
      return "a backslash at the end";
    }
    char c = q[1];
    p = q + 2;
    switch (c) {
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        uint32_t cp;
        if (end - p < 4 || !ParseHex4(p, &cp)) {
          out->append("\\u");
          if (problem.empty()) problem = "\\u without four hex digits";
          break;
        }
        p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && ParseHex4(p + 2, &low) &&
              low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
          } else {
            cp = 0xFFFD;
            if (problem.empty()) problem = "a high surrogate without its low half";
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
          if (problem.empty()) problem = "a low surrogate without its high half";
        }
        AppendUtf8(cp, out);
        break;
      }
      case '"':
      case '\\':
      case '/':
        out->push_back(c);
        break;
      default:
        out->push_back(c);
        if (problem.empty()) problem = fmt::format("the invalid escape '\\{}'", c);
        break;
    }
  }
  return problem;
}

const char* SkipBom(const char* p, const char* end) {
  if (end - p >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) return p + 3;
  return p;
}

size_t PageSize() {
  static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return kPage;
}

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string message =
      std::string(what) + " " + path + ": " + std::generic_category().message(err);
  return err == ENOENT ? NotFound(std::move(message)) : IoError(std::move(message));
}

}  // namespace

JsonRecordReader::JsonRecordReader(std::string path, spec::JsonLayout layout)
    : path_(std::move(path)), requested_(layout) {}

JsonRecordReader::~JsonRecordReader() {
  Unmap();
}

void JsonRecordReader::Unmap() {
  if (data_ != nullptr) munmap(const_cast<char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  open_ = false;
}

int64_t JsonRecordReader::SizeHint() const {
  if (open_) return static_cast<int64_t>(size_);
  std::error_code ec;
  auto size = std::filesystem::file_size(path_, ec);
  return ec ? -1 : static_cast<int64_t>(size);
}

Status JsonRecordReader::Open(const JsonPosition& from) {
  Unmap();
  if (from.byte_offset < 0) {
    return InvalidArgument("cannot resume " + path_ + " at negative offset " +
                           std::to_string(from.byte_offset));
  }
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", path_, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat", path_, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return ErrnoStatus("cannot read", path_, S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size > 0) {  // mmap rejects a zero length
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot mmap", path_, err);
    }
    madvise(map, size, MADV_SEQUENTIAL);  // advisory; failure costs only speed
    data_ = static_cast<const char*>(map);
    size_ = size;
  }
  ::close(fd);  // the mapping keeps the file referenced
  open_ = true;

  resolved_ = requested_ == JsonLayout::kAuto ? DetectLayout() : requested_;
  error_ = Status::Ok();
  if (from.byte_offset == 0) {
    // The opening bracket is checked by the first NextElement, so that a
    // broken start is reported like any other break, with its position.
    pos_ = static_cast<size_t>(SkipBom(data_, data_ + size_) - data_);
    at_start_ = true;
    record_index_ = 0;
    line_offset_ = 0;
    line_ = 1;
  } else {
    pos_ = std::min(static_cast<size_t>(from.byte_offset), size_);
    at_start_ = false;
    record_index_ = from.record_index;
    line_offset_ = pos_;
    line_ = from.line;
  }
  released_ = pos_ & ~(PageSize() - 1);
  position_ = {static_cast<int64_t>(pos_), record_index_, line_};
  return Status::Ok();
}

JsonLayout JsonRecordReader::DetectLayout() const {
  std::string ext = std::filesystem::path(path_).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".jsonl" || ext == ".ndjson") return JsonLayout::kLines;

  const char* end = data_ + size_;
  const char* p = SkipWs(SkipBom(data_, end), end);
  if (p == end || *p != '{') return JsonLayout::kArray;
  // A `.json` file that is really JSON lines starts with an object that
  // closes on its first line and is followed by more data; a keyed object
  // never closes before its last line unless it is the whole file.
  size_t window = std::min(static_cast<size_t>(end - p), kProbeWindow);
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', window));
  if (nl == nullptr) return JsonLayout::kObject;
  bool closed;
  const char* q = ScanContainer(p, nl, &closed);
  if (closed && SkipWs(q, end) != end) return JsonLayout::kLines;
  return JsonLayout::kObject;
}

int64_t JsonRecordReader::LineAt(size_t offset) {
  if (offset > line_offset_) {
    line_ += static_cast<int64_t>(CountNewlines(data_ + line_offset_, data_ + offset));
    line_offset_ = offset;
  }
  return line_;
}

void JsonRecordReader::ReleaseConsumed(size_t offset, bool force) {
  if (data_ == nullptr) return;
  // The line counter may still have to read bytes between line_offset_ and
  // offset; releasing them would only make the kernel read them again.
  size_t target = std::min(offset, line_offset_) & ~(PageSize() - 1);
  if (target <= released_) return;
  if (!force && target - released_ < kReleaseChunk) return;
  madvise(const_cast<char*>(data_) + released_, target - released_, MADV_DONTNEED);
  released_ = target;
}

bool JsonRecordReader::NextLine(store::StoreBatch* out) {
  const char* end = data_ + size_;
  while (pos_ < size_) {
    const char* p = data_ + pos_;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl != nullptr ? nl : end;
    const char* begin = SkipWs(p, line_end);
    const char* rec_end = TrimTrailingWs(begin, line_end);  // also drops a CR
    int64_t line = LineAt(pos_);
    pos_ = static_cast<size_t>((nl != nullptr ? nl + 1 : end) - data_);
    // Lines are counted here directly instead of by LineAt.
    line_offset_ = pos_;
    line_ = line + (nl != nullptr ? 1 : 0);
    if (begin == rec_end) continue;  // blank line
    out->rows.columns[0].AppendBytes(std::string_view(begin, static_cast<size_t>(rec_end - begin)));
    out->positions.push_back({begin - data_, line, record_index_++});
    return true;
  }
  return false;
}

bool JsonRecordReader::Broken(const char* at, std::string_view what) {
  const size_t offset = static_cast<size_t>(at - data_);
  error_ = DataError(fmt::format(
      "{}: byte {} (line {}): {}; the file's {} is broken there, so cutover loads none of it "
      "past this point",
      path_, offset, LineAt(offset), what,
      resolved_ == JsonLayout::kObject ? "top-level object" : "top-level array"));
  return false;
}

namespace {

// The byte at `p` for a message: 'x', or "the end of the file".
std::string Found(const char* p, const char* end) {
  if (p == end) return "the end of the file";
  const auto c = static_cast<unsigned char>(*p);
  if (c >= 0x20 && c < 0x7F) return fmt::format("'{}'", static_cast<char>(c));
  return fmt::format("byte 0x{:02x}", c);
}

}  // namespace

bool JsonRecordReader::NextElement(store::StoreBatch* out) {
  const bool keyed = resolved_ == JsonLayout::kObject;
  const char opener = keyed ? '{' : '[';
  const char closer = keyed ? '}' : ']';
  const std::string_view unit = keyed ? "member" : "record";
  const char* end = data_ + size_;
  const char* p = SkipWs(data_ + pos_, end);

  if (at_start_) {
    if (p == end) {
      return Broken(p, fmt::format("the file holds no JSON: expected '{}' to open the {} layout",
                                   opener, keyed ? "object" : "array"));
    }
    if (*p != opener) {
      return Broken(p, fmt::format("expected '{}' to open the {} layout, found {}", opener,
                                   keyed ? "object" : "array", Found(p, end)));
    }
    at_start_ = false;
    p = SkipWs(p + 1, end);
    if (p < end && *p == closer) return Close(p);
    if (p < end && *p == ',') {
      return Broken(
          p, fmt::format("expected a {} or '{}' after '{}', found ','", unit, closer, opener));
    }
  } else {
    // Just after a record: the separator was checked when it was read, but a
    // resumed reader starts here too and checks it again.
    if (pos_ == size_) return false;  // the closer and what follows were checked
    if (p < end && *p == closer) return Close(p);
    if (p == end || *p != ',') {
      return Broken(p, fmt::format("expected ',' or '{}' after {} {}, found {}", closer, unit,
                                   record_index_ - 1, Found(p, end)));
    }
    p = SkipWs(p + 1, end);
    if (p < end && (*p == ',' || *p == closer)) {
      return Broken(p, fmt::format("expected a {} after ',', found {}", unit, Found(p, end)));
    }
  }
  if (p == end) {
    return Broken(p, fmt::format("the file ends before the closing '{}' (truncated?)", closer));
  }

  const char* rec_begin = p;
  const char* rec_end;
  bool has_key = false;
  if (keyed) {
    if (*p != '"') {
      return Broken(p, fmt::format("expected a quoted key, found {}", Found(p, end)));
    }
    const char* key_end = FindStringEnd(p + 1, end);
    if (key_end == end) {
      return Broken(p, fmt::format("the key never ends and the file ends before the closing '{}' "
                                   "(truncated?)",
                                   closer));
    }
    const std::string problem = DecodeJsonString(p + 1, key_end, &key_);
    if (!problem.empty()) {
      // The key names the record (`from: $key`); a repaired key would be a
      // silently different row, and PostgreSQL's jsonb refuses it too.
      return Broken(p, fmt::format("the key is not a valid JSON string: {}", problem));
    }
    has_key = true;
    const char* r = SkipWs(key_end + 1, end);
    if (r == end || *r != ':') {
      return Broken(
          r, fmt::format("expected ':' after the key \"{}\", found {}", key_, Found(r, end)));
    }
    r = SkipWs(r + 1, end);
    if (r == end || *r == ',' || *r == '}') {
      // A key without a value: emit the raw member so that the mapper
      // rejects it with its key and position instead of it vanishing.
      rec_end = r;
    } else {
      rec_begin = r;
      rec_end = ScanValue(r, end);
    }
  } else {
    rec_end = ScanValue(p, end);
  }
  // Hand the record out only when a separator or the closer follows it.
  const char* after = SkipWs(rec_end, end);
  if (after == end) {
    return Broken(after, fmt::format("the file ends inside {} {} or before the closing '{}' "
                                     "(truncated?)",
                                     unit, record_index_, closer));
  }
  if (*after != ',' && *after != closer) {
    return Broken(after, fmt::format("expected ',' or '{}' after {} {}, found {}", closer, unit,
                                     record_index_, Found(after, end)));
  }
  pos_ = static_cast<size_t>(rec_end - data_);
  rec_end = TrimTrailingWs(rec_begin, rec_end);

  out->rows.columns[0].AppendBytes(
      std::string_view(rec_begin, static_cast<size_t>(rec_end - rec_begin)));
  if (keyed) {
    if (has_key) {
      out->rows.columns[1].AppendBytes(key_);
    } else {
      out->rows.columns[1].AppendNull();
    }
  }
  size_t offset = static_cast<size_t>(rec_begin - data_);
  out->positions.push_back({static_cast<int64_t>(offset), LineAt(offset), record_index_++});
  return true;
}

bool JsonRecordReader::Close(const char* closer) {
  const char* rest = SkipWs(closer + 1, data_ + size_);
  if (rest != data_ + size_) {
    return Broken(rest, fmt::format("found {} after the closing '{}': a second document or a "
                                    "stray byte",
                                    Found(rest, data_ + size_), *closer));
  }
  pos_ = size_;
  return false;
}

Result<bool> JsonRecordReader::Next(size_t max_records, store::StoreBatch* out) {
  if (!open_) return FailedPrecondition("JsonRecordReader::Next on " + path_ + " before Open");
  if (max_records == 0) max_records = 1;  // 0 would read as "no records remain"

  out->origin = path_;
  out->positions.clear();
  const bool keyed = resolved_ == JsonLayout::kObject;
  RowBatch& rows = out->rows;
  const bool shape_ok =
      rows.names.size() == (keyed ? 2u : 1u) && rows.names[0] == "$doc" &&
      rows.columns[0].type() == ValueType::kJsonb &&
      (!keyed || (rows.names[1] == "$key" && rows.columns[1].type() == ValueType::kText));
  if (shape_ok) {
    rows.Clear();
  } else {
    rows = RowBatch();
    rows.AddColumn("$doc", ValueType::kJsonb);
    if (keyed) rows.AddColumn("$key", ValueType::kText);
  }

  const bool lines = resolved_ == JsonLayout::kLines;
  while (error_.ok() && out->positions.size() < max_records) {
    if (!(lines ? NextLine(out) : NextElement(out))) break;
    ReleaseConsumed(pos_, /*force=*/false);
  }
  if (!error_.ok()) return error_;  // sticky: the records after a break are never read
  position_ = {static_cast<int64_t>(pos_), record_index_, LineAt(pos_)};
  if (pos_ == size_) ReleaseConsumed(pos_, /*force=*/true);
  return !out->positions.empty();
}

}  // namespace cutover::json_store
