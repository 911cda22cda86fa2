// The gateway journal: group-committed appends, landed marks, recovery that
// cuts a torn tail and refuses damage in the middle ("GatewayJournal design").
#include "gateway/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include "common/atomic_file.h"

namespace cutover::gateway {
namespace fs = std::filesystem;
namespace {

// How long a landed mark (or a write nobody waits for) may sit queued before
// the background thread writes it; writers normally take them sooner.
constexpr std::chrono::milliseconds kIdleFlush{20};

Status Errno(const std::string& doing) {
  return IoError(fmt::format("journal: {}: {}", doing, std::strerror(errno)));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing " + path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("opening " + path);
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Errno("reading " + path);
    }
    if (n == 0) break;
    bytes.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return bytes;
}

// Whether a frame whose checksum holds starts anywhere in `bytes`.
bool HasGoodFrame(std::string_view bytes) {
  for (size_t at = 0; at + kFrameHeaderBytes <= bytes.size(); ++at) {
    uint32_t magic = 0;
    std::memcpy(&magic, bytes.data() + at, 4);
    if (magic == kFrameMagic && DecodeFrame(bytes.substr(at)).frame) return true;
  }
  return false;
}

uint64_t KeyHash(std::string_view entity, std::string_view key) {
  return XXH3_64bits_withSeed(key.data(), key.size(), XXH3_64bits(entity.data(), entity.size()));
}

// segment-<n>.log -> n, or 0 for any other name.
uint64_t SegmentNumber(const std::string& name) {
  if (!name.starts_with("segment-") || !name.ends_with(".log")) return 0;
  const std::string digits = name.substr(8, name.size() - 12);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return 0;
  return std::stoull(digits);
}

}  // namespace

Journal::Journal(JournalOptions options) : options_(std::move(options)) {}

std::string Journal::SegmentPath(uint64_t number) const {
  return options_.dir + "/segment-" + std::to_string(number) + ".log";
}

Result<std::unique_ptr<Journal>> Journal::Open(const JournalOptions& options,
                                               JournalRecovery* recovery) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return IoError("journal: creating " + options.dir + ": " + ec.message());
  std::unique_ptr<Journal> j(new Journal(options));
  const std::string lock = options.dir + "/LOCK";
  j->lock_fd_ = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (j->lock_fd_ < 0) return Errno("opening " + lock);
  if (flock(j->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return FailedPrecondition("journal: " + options.dir +
                              " is in use by another cutover process (one gateway per journal "
                              "directory)");
  }
  JournalRecovery local;
  RETURN_IF_ERROR(j->Recover(recovery != nullptr ? recovery : &local));
  j->flusher_ = std::thread([p = j.get()] { p->FlushLoop(); });
  return j;
}

Status Journal::Recover(JournalRecovery* recovery) {
  std::vector<uint64_t> numbers;
  for (const auto& e : fs::directory_iterator(options_.dir)) {
    if (const uint64_t n = SegmentNumber(e.path().filename().string()); n > 0) {
      numbers.push_back(n);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  recovery->segments = static_cast<int64_t>(numbers.size());
  std::map<uint64_t, Location> owed;
  std::map<uint64_t, uint64_t> owed_per_segment;
  for (size_t i = 0; i < numbers.size(); ++i) {
    const std::string path = SegmentPath(numbers[i]);
    ASSIGN_OR_RETURN(const std::string bytes, ReadFile(path));
    const std::string_view all(bytes);
    size_t at = 0;
    while (at < all.size()) {
      const FrameResult r = DecodeFrame(all.substr(at));
      if (!r.frame) {
        // Damage or a torn tail: which, depends on what follows it.
        bool good_after = HasGoodFrame(all.substr(at + 1));
        for (size_t later = i + 1; later < numbers.size() && !good_after; ++later) {
          ASSIGN_OR_RETURN(const std::string rest, ReadFile(SegmentPath(numbers[later])));
          good_after = HasGoodFrame(rest);
        }
        const std::string where = fmt::format("segment-{}.log at byte {}: {}", numbers[i], at,
                                              FrameProblemText(r.problem));
        if (good_after) {
          return DataLoss(
              "journal " + options_.dir + " is damaged in " + where +
              ", and records that may have been acknowledged follow it; the gateway does not "
              "start on it. Copy the directory aside and find the damage before moving it away");
        }
        recovery->torn_bytes += static_cast<int64_t>(all.size() - at);
        recovery->torn_at = where;
        spdlog::warn("journal: cutting a torn tail of {} bytes in {} (never acknowledged)",
                     all.size() - at, where);
        if (truncate(path.c_str(), static_cast<off_t>(at)) != 0) return Errno("truncating " + path);
        // Later segments hold nothing good: they go with the tail.
        for (size_t later = i + 1; later < numbers.size(); ++later) {
          std::error_code ec;
          recovery->torn_bytes +=
              static_cast<int64_t>(fs::file_size(SegmentPath(numbers[later]), ec));
          fs::remove(SegmentPath(numbers[later]), ec);
          if (ec)
            return IoError("journal: removing " + SegmentPath(numbers[later]) + ": " +
                           ec.message());
        }
        numbers.resize(i + 1);
        RETURN_IF_ERROR(SyncDirectory(options_.dir).WithContext("journal"));
        break;
      }
      const JournalEntry& e = r.frame->entry;
      next_seq_ = std::max(next_seq_, e.record.seq);
      if (e.kind == JournalEntry::Kind::kWrite) {
        ++recovery->writes;
        owed[e.record.seq] = {numbers[i], at, static_cast<uint32_t>(r.frame->size),
                              KeyHash(e.record.entity, e.record.key), e.record.written_at_us};
        ++owed_per_segment[numbers[i]];
      } else if (auto it = owed.find(e.record.seq); it != owed.end()) {
        --owed_per_segment[it->second.segment];
        owed.erase(it);
      }
      at += r.frame->size;
    }
  }
  recovery->owed = static_cast<int64_t>(owed.size());
  durable_seq_ = next_seq_;
  std::lock_guard<std::mutex> lock(mu_);
  owed_ = std::move(owed);
  for (const auto& [seq, loc] : owed_) ++owed_keys_[loc.key_hash];
  stats_.owed = owed_.size();
  for (const uint64_t n : numbers) {
    const std::string path = SegmentPath(n);
    const int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) return Errno("opening " + path);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      close(fd);
      return Errno("reading the size of " + path);
    }
    segments_[n] = {fd, static_cast<uint64_t>(st.st_size), owed_per_segment[n]};
  }
  if (segments_.empty()) RETURN_IF_ERROR(OpenForAppend(1));
  DropLandedSegments();
  stats_.segments = segments_.size();
  return Status::Ok();
}

// Creates segment `number` and makes its name durable. REQUIRES: mu_ held.
Status Journal::OpenForAppend(uint64_t number) {
  const std::string path = SegmentPath(number);
  const int fd = open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating " + path);
  segments_[number] = {fd, 0, 0};
  stats_.segments = segments_.size();
  return SyncDirectory(options_.dir).WithContext("journal");
}

Journal::~Journal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  for (auto& [n, segment] : segments_) close(segment.fd);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
}

Result<uint64_t> Journal::Append(JournalRecord record) {
  ASSIGN_OR_RETURN(const uint64_t seq, Enqueue(std::move(record)));
  RETURN_IF_ERROR(WaitDurable(seq));
  return seq;
}

Result<uint64_t> Journal::Enqueue(JournalRecord record) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(error_);
  if (stopping_) return FailedPrecondition("journal: closing");
  record.seq = ++next_seq_;
  const uint64_t seq = record.seq;
  // No wake-up: the writer that waits for it writes it (WaitDurable).
  queued_.push_back({JournalEntry::Kind::kWrite, std::move(record)});
  return seq;
}

Status Journal::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (durable_seq_ >= seq || !error_.ok()) return error_;
    if (!flushing_ && !queued_.empty()) {
      FlushQueued(lock);  // lead: this thread writes and syncs for all
      continue;
    }
    durable_.wait(lock);
  }
}

void Journal::MarkLanded(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = owed_.find(seq);
  if (it == owed_.end()) return;  // landed already (a replay after a lost mark)
  if (auto s = segments_.find(it->second.segment); s != segments_.end()) --s->second.owed;
  if (auto k = owed_keys_.find(it->second.key_hash); k != owed_keys_.end() && --k->second == 0) {
    owed_keys_.erase(k);
  }
  owed_.erase(it);
  ++stats_.landed;
  stats_.owed = owed_.size();
  JournalEntry mark;
  mark.kind = JournalEntry::Kind::kLanded;
  mark.record.seq = seq;
  queued_.push_back(std::move(mark));
  DropLandedSegments();
}

void Journal::DropLandedSegments() {
  while (segments_.size() > 1 && segments_.begin()->second.owed == 0) {
    const uint64_t n = segments_.begin()->first;
    close(segments_.begin()->second.fd);
    segments_.erase(segments_.begin());
    // A segment left behind by a failed unlink is read again at the next
    // start and its writes replayed once more: harmless, so not an error.
    if (unlink(SegmentPath(n).c_str()) != 0) {
      spdlog::warn("journal: cannot remove landed {}: {}", SegmentPath(n), std::strerror(errno));
    }
  }
  stats_.segments = segments_.size();
}

Result<std::vector<JournalRecord>> Journal::Owed(size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JournalRecord> out;
  for (auto it = owed_.begin(); it != owed_.end() && out.size() < limit; ++it) {
    const Location& loc = it->second;
    auto s = segments_.find(loc.segment);
    if (s == segments_.end()) return Internal("journal: an owed write's segment is gone");
    std::string bytes(loc.size, '\0');
    const ssize_t n = pread(s->second.fd, bytes.data(), loc.size, static_cast<off_t>(loc.offset));
    if (n != static_cast<ssize_t>(loc.size)) return Errno("reading " + SegmentPath(loc.segment));
    FrameResult r = DecodeFrame(bytes);
    if (!r.frame) {
      return DataLoss(fmt::format("journal: segment-{}.log at byte {} changed on disk: {}",
                                  loc.segment, loc.offset, FrameProblemText(r.problem)));
    }
    out.push_back(std::move(r.frame->entry.record));
  }
  return out;
}

void Journal::AddOwed(uint64_t seq, const Location& loc) {
  owed_[seq] = loc;
  ++segments_[loc.segment].owed;
  ++owed_keys_[loc.key_hash];
}

bool Journal::Owes(std::string_view entity, std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return owed_keys_.contains(KeyHash(entity, key));
}

JournalStats Journal::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  JournalStats out = stats_;
  out.last_seq = durable_seq_;
  if (!owed_.empty()) {
    out.first_owed_seq = owed_.begin()->first;
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t written = owed_.begin()->second.written_at_us;
    if (written > 0) out.oldest_owed_seconds = std::max<double>(0, (now_us - written) / 1e6);
  }
  return out;
}

void Journal::FlushLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // Marks (and a write queued but never waited for) go out with the
    // next group commit; this only picks up what no writer came for.
    flusher_wake_.wait_for(lock, kIdleFlush, [&] { return stopping_; });
    if (!error_.ok()) return;
    while (flushing_) durable_.wait(lock);
    if (!queued_.empty()) FlushQueued(lock);
    if (stopping_ && queued_.empty()) return;
  }
}

void Journal::FlushQueued(std::unique_lock<std::mutex>& lock) {
  flushing_ = true;
  std::vector<JournalEntry> batch;
  batch.swap(queued_);
  lock.unlock();
  std::vector<std::pair<uint64_t, Location>> written;
  const Status st = WriteBatch(batch, &written);
  lock.lock();
  flushing_ = false;
  if (!st.ok()) {
    if (error_.ok()) {
      error_ = st;
      spdlog::error("{}; every later write through this gateway fails", st.message());
    }
    durable_.notify_all();
    return;
  }
  uint64_t top = durable_seq_;
  for (const auto& [seq, loc] : written) {
    AddOwed(seq, loc);
    top = std::max(top, seq);
    ++stats_.appended;
  }
  durable_seq_ = top;
  stats_.owed = owed_.size();
  // Wakes the writers this covered, and a writer whose record came after
  // the batch was taken: it leads the next one.
  durable_.notify_all();
}

Status Journal::WriteBatch(const std::vector<JournalEntry>& batch,
                           std::vector<std::pair<uint64_t, Location>>* written) {
  uint64_t number = 0;
  int fd = -1;
  uint64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto active = std::prev(segments_.end());
    if (active->second.bytes >= options_.segment_bytes) {
      RETURN_IF_ERROR(OpenForAppend(active->first + 1));
      active = std::prev(segments_.end());
    }
    number = active->first;
    fd = active->second.fd;
    offset = active->second.bytes;
  }
  std::string bytes;
  for (const JournalEntry& e : batch) {
    const size_t at = bytes.size();
    EncodeFrame(e, &bytes);
    if (e.kind == JournalEntry::Kind::kWrite) {
      written->push_back({e.record.seq,
                          {number, offset + at, static_cast<uint32_t>(bytes.size() - at),
                           KeyHash(e.record.entity, e.record.key), e.record.written_at_us}});
    }
  }
  const std::string path = SegmentPath(number);
  RETURN_IF_ERROR(WriteAll(fd, bytes, path));
  // Only writes are waited for; a batch of landed marks alone goes to the
  // page cache and reaches the disk with the next sync (or is lost in a
  // crash, which replays those writes once more: harmless).
  if (!written->empty()) {
    if (fdatasync(fd) != 0) return Errno("syncing " + path);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.group_commits;
  }
  std::lock_guard<std::mutex> lock(mu_);
  segments_[number].bytes += bytes.size();
  return Status::Ok();
}

}  // namespace cutover::gateway
