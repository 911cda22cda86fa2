// Passes over the journal's owed writes ("Replayer design").
#include "gateway/replayer.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/failpoint.h"

namespace cutover::gateway {

Replayer::Replayer(Journal* journal, std::map<OwedTo, SecondaryStore*> stores,
                   ReplayOptions options)
    : journal_(journal), stores_(std::move(stores)), options_(options) {}

Replayer::~Replayer() {
  Stop();
}

void Replayer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  woken_ = true;  // writes recovered from the journal land at once
  thread_ = std::thread([this] { Loop(); });
}

void Replayer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Replayer::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  wake_.notify_all();
}

ReplayStats Replayer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Result<ReplayPass> Replayer::RunOnce() {
  std::lock_guard<std::mutex> one_pass(pass_mu_);
  ReplayPass pass;
  ASSIGN_OR_RETURN(std::vector<JournalRecord> owed, journal_->Owed(options_.batch));
  pass.owed_seen = owed.size();
  // Per key, its owed writes in journal order; keys in the order of their
  // oldest owed write, so the longest-owed land first.
  using KeyId = std::tuple<OwedTo, std::string, std::string>;
  std::map<KeyId, std::vector<size_t>> by_key;
  std::vector<KeyId> order;
  for (size_t i = 0; i < owed.size(); ++i) {
    KeyId id{owed[i].owed_to, owed[i].entity, owed[i].key};
    auto [it, inserted] = by_key.try_emplace(id);
    if (inserted) order.push_back(id);
    it->second.push_back(i);
  }
  uint64_t failures = 0;
  std::string last_error;
  auto land = [&](const KeyId& id) {
    for (size_t i : by_key[id]) journal_->MarkLanded(owed[i].seq);
    ++pass.applied;
    pass.landed += by_key[id].size();
  };
  auto fail = [&](const JournalRecord& r, const Status& st) {
    ++pass.failed;
    ++failures;
    last_error =
        fmt::format("{} key {} (journal write {}): {}", r.entity, r.key, r.seq, st.message());
  };
  bool down = false;
  for (size_t from = 0; from < order.size() && !down;) {
    // A run of keys owed to one store, at most apply_batch of them.
    const OwedTo to = std::get<0>(order[from]);
    size_t until = from;
    std::vector<const JournalRecord*> batch;
    while (until < order.size() && std::get<0>(order[until]) == to &&
           batch.size() < options_.apply_batch) {
      batch.push_back(&owed[by_key[order[until]].back()]);
      ++until;
    }
    auto store = stores_.find(to);
    if (store == stores_.end()) {
      for (const JournalRecord* r : batch) {
        fail(*r, FailedPrecondition("no secondary store is open for these writes"));
      }
      from = until;
      continue;
    }
    FailPoint("gateway.replay_before_secondary");
    Status st = store->second->ApplyBatch(batch);
    if (st.ok()) {
      FailPoint("gateway.replay_after_secondary");
      for (size_t k = from; k < until; ++k) land(order[k]);
    } else if (st.code() == StatusCode::kUnavailable) {
      fail(*batch.front(), st);
      down = true;  // the store is down: back off
    } else {
      // One state the store refuses fails the batch: key by key, the
      // others land and the refused one stays owed.
      for (size_t k = from; k < until && !down; ++k) {
        const JournalRecord& r = owed[by_key[order[k]].back()];
        Status one = store->second->Apply(r);
        if (one.ok()) {
          land(order[k]);
          continue;
        }
        fail(r, one);
        if (one.code() == StatusCode::kUnavailable) {
          down = true;
        } else {
          spdlog::error("replay: {}; it stays in the journal", last_error);
        }
      }
    }
    from = until;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.passes;
  stats_.applied += pass.applied;
  stats_.landed += pass.landed;
  stats_.failures += failures;
  if (!last_error.empty()) stats_.last_error = last_error;
  return pass;
}

void Replayer::Loop() {
  std::chrono::milliseconds backoff{0};
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      if (backoff.count() > 0) {
        // Backing off: only Stop ends the wait early.
        wake_.wait_for(lock, backoff, [&] { return stopping_; });
      } else {
        wake_.wait_for(lock, options_.max_backoff, [&] { return stopping_ || woken_; });
      }
      if (stopping_) return;
      if (backoff.count() == 0 && options_.gather.count() > 0) {
        wake_.wait_for(lock, options_.gather, [&] { return stopping_; });
        if (stopping_) return;
      }
      woken_ = false;
    }
    Result<ReplayPass> pass = RunOnce();
    if (!pass.ok()) {
      // The journal itself failed to read: nothing can be replayed.
      spdlog::error("replay: {}", pass.status().message());
      backoff = options_.max_backoff;
      continue;
    }
    if (pass->failed > 0) {
      backoff = backoff.count() == 0 ? options_.first_backoff
                                     : std::min(options_.max_backoff, backoff * 2);
    } else {
      backoff = std::chrono::milliseconds(0);
      // A full batch may have more behind it.
      if (pass->owed_seen == options_.batch) Wake();
    }
  }
}

}  // namespace cutover::gateway
