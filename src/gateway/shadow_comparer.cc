// Shadow comparisons on one background thread ("ShadowComparer design").
#include "gateway/shadow_comparer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/redact.h"
#include "engine/core/entity_plan.h"

namespace cutover::gateway {
namespace {
// The comparer's thread yields the CPU to the request threads: on a busy
// machine its mapping and comparing would otherwise delay the very reads it
// shadows. Linux applies a nice value to the one thread named by its id.
void LowerThisThreadsPriority() {
  constexpr int kNice = 10;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, kNice) != 0) {
    spdlog::debug("shadow comparer: cannot lower its thread's priority: {}", std::strerror(errno));
  }
}

std::string NowIso() {
  return fmt::format("{:%FT%TZ}",
                     std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}
}  // namespace

Result<std::unique_ptr<ShadowComparer>> ShadowComparer::Create(
    std::shared_ptr<const spec::MigrationSpec> migration, const std::vector<std::string>& entities,
    LegacySessions* legacy, PostgresReader* postgres, const Journal* journal, ReadTally* tally,
    Options options) {
  std::unique_ptr<ShadowComparer> c(new ShadowComparer());
  c->migration_ = std::move(migration);
  c->legacy_ = legacy;
  c->postgres_ = postgres;
  c->journal_ = journal;
  c->tally_ = tally;
  c->options_ = options;
  for (const std::string& name : entities) {
    const spec::EntitySpec* e = c->migration_->FindEntity(name);
    if (e == nullptr) return InvalidArgument("no entity '" + name + "' in the spec");
    ASSIGN_OR_RETURN(c->mappers_[name], engine::CreateMapper(*c->migration_, *e));
  }
  return c;
}

ShadowComparer::~ShadowComparer() {
  Stop();
}

void ShadowComparer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ShadowComparer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ShadowComparer::Submit(const std::string& entity, const std::string& key,
                            store::StoreBatch legacy_read) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= options_.queue_limit) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back({entity, key, std::move(legacy_read)});
  }
  changed_.notify_all();
}

ShadowStats ShadowComparer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool ShadowComparer::WaitIdle(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void ShadowComparer::Run() {
  LowerThisThreadsPriority();
  constexpr size_t kMaxBatch = 256;
  constexpr std::chrono::milliseconds kGather{50};
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock<std::mutex> lock(mu_);
      busy_ = false;
      changed_.notify_all();
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      // A moment for more reads to queue: one PostgreSQL query then serves
      // many comparisons, which matters more than comparing 50 ms sooner.
      changed_.wait_for(lock, kGather, [&] { return stopping_ || queue_.size() >= kMaxBatch; });
      if (stopping_) return;
      while (!queue_.empty() && jobs.size() < kMaxBatch) {
        jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      busy_ = true;
    }
    std::map<std::string, std::vector<Job*>> by_entity;
    for (Job& job : jobs) by_entity[job.entity].push_back(&job);
    for (const auto& [entity, group] : by_entity) {
      const std::vector<Verdict> verdicts = CompareAll(group);
      for (size_t i = 0; i < group.size(); ++i) Record(*group[i], verdicts[i]);
    }
  }
}

void ShadowComparer::Record(const Job& job, Verdict verdict) {
  catalog::ReadCounts counts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    switch (verdict) {
      case Verdict::kMatch:
      case Verdict::kMismatch:
        ++stats_.compared;
        counts.shadow_reads = 1;
        if (verdict == Verdict::kMismatch) {
          ++stats_.mismatched;
          counts.shadow_mismatches = 1;
          stats_.recent.push_back({job.entity, job.key, NowIso()});
          if (stats_.recent.size() > options_.recent_limit) {
            stats_.recent.erase(stats_.recent.begin());
          }
        }
        break;
      case Verdict::kInFlight:
        ++stats_.in_flight;
        break;
      case Verdict::kFailed:
        ++stats_.failed;
        break;
    }
  }
  if (counts.shadow_reads > 0) tally_->Add(job.entity, counts);
  if (verdict == Verdict::kMismatch) {
    spdlog::warn("shadow read of {} key '{}': PostgreSQL's row differs from the legacy record",
                 job.entity, job.key);
  }
}

std::vector<ShadowComparer::Verdict> ShadowComparer::CompareAll(const std::vector<Job*>& jobs) {
  const std::string& entity = jobs.front()->entity;
  std::vector<Verdict> out(jobs.size(), Verdict::kMatch);
  std::vector<std::optional<uint64_t>> ours(jobs.size());
  std::vector<std::string> keys;
  std::vector<bool> pending(jobs.size(), false);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (journal_->Owes(entity, jobs[i]->key)) {
      out[i] = Verdict::kInFlight;
      continue;
    }
    Result<std::optional<uint64_t>> digest = LegacyDigest(entity, jobs[i]->legacy);
    if (!digest.ok()) {
      // A legacy record that does not map is a mismatch a verify will name
      // with its reason; here it only counts as not compared.
      spdlog::debug("shadow read of {} key '{}' not compared: {}", entity, jobs[i]->key,
                    digest.status().message());
      out[i] = Verdict::kFailed;
      continue;
    }
    ours[i] = *digest;
    pending[i] = true;
    keys.push_back(jobs[i]->key);
  }
  if (keys.empty()) return out;
  Result<std::map<std::string, PostgresRow>> theirs = postgres_->ReadMany(entity, keys);
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!pending[i]) continue;
    if (!theirs.ok()) {
      out[i] = Verdict::kFailed;
      continue;
    }
    const PostgresRow& row = (*theirs)[jobs[i]->key];
    const bool same = ours[i].has_value() ? row.found && row.digest == *ours[i] : !row.found;
    out[i] = same ? Verdict::kMatch : SecondLook(*jobs[i]);
  }
  if (!theirs.ok()) {
    spdlog::debug("shadow reads of {} not compared: {}", entity,
                  RedactSecrets(theirs.status().message()));
  }
  return out;
}

ShadowComparer::Verdict ShadowComparer::SecondLook(const Job& job) {
  // Both stores read again now: a write that landed in between made them
  // differ for a moment, not for good.
  store::StoreBatch again;
  {
    const LegacySessions::Lease session = legacy_->Borrow(job.entity);
    if (!session->store->key_reader()->Read({{job.key}}, &again).ok()) return Verdict::kFailed;
  }
  if (journal_->Owes(job.entity, job.key)) return Verdict::kInFlight;
  Result<std::optional<uint64_t>> ours = LegacyDigest(job.entity, again);
  Result<std::map<std::string, PostgresRow>> theirs = postgres_->ReadMany(job.entity, {job.key});
  if (!ours.ok() || !theirs.ok()) return Verdict::kFailed;
  const PostgresRow& row = (*theirs)[job.key];
  const bool same = ours->has_value() ? row.found && row.digest == **ours : !row.found;
  return same ? Verdict::kMatch : Verdict::kMismatch;
}

Result<std::optional<uint64_t>> ShadowComparer::LegacyDigest(const std::string& entity,
                                                             const store::StoreBatch& read) {
  if (read.size() == 0) return std::optional<uint64_t>();
  mappers_.at(entity)->Map(read, &mapped_);
  if (!mapped_.rejects.empty() || mapped_.tables[0].num_rows() != 1) {
    return DataError(mapped_.rejects.empty() ? "the legacy record maps to no row"
                                             : mapped_.rejects.front().reason);
  }
  return std::optional<uint64_t>(postgres_->Digest(entity, mapped_.tables[0], 0));
}

}  // namespace cutover::gateway
