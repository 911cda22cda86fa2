// PacedLoad: a client load from several threads, each paced at a rate (or
// flat out), every operation timed from when it was due.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cutover::bench {

struct Latencies {
  std::vector<double> ms;
  long errors = 0;
  double seconds = 0;
  // Nearest rank: the value below which a share q of the samples lie.
  double Quantile(double q) const {
    if (ms.empty()) return 0;
    std::vector<double> v = ms;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return v[i];
  }
};

// Runs `write(n)` (made per thread by make_writer(thread)) from `threads`
// threads, each paced at `per_thread` operations/s (0: as fast as it goes)
// for `seconds`. A paced operation's latency counts from when it was due,
// so a client that falls behind counts its waiting too (no coordinated
// omission).
inline Latencies Drive(int threads, double per_thread, double seconds,
                       const std::function<std::function<bool(long)>(int)>& make_writer) {
  using Clock = std::chrono::steady_clock;
  Latencies all;
  std::mutex mu;
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto write = make_writer(t);
      std::vector<double> mine;
      long errors = 0;
      for (long n = 0;; ++n) {
        auto due = start;
        if (per_thread > 0) {
          due += std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(static_cast<double>(n) / per_thread));
          std::this_thread::sleep_until(due);
        }
        const auto t0 = Clock::now();
        if (t0 >= end) break;
        const auto from = per_thread > 0 ? std::max(due, start) : t0;
        if (!write(n)) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - from).count());
      }
      std::lock_guard<std::mutex> lock(mu);
      all.ms.insert(all.ms.end(), mine.begin(), mine.end());
      all.errors += errors;
    });
  }
  for (auto& p : pool) p.join();
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return all;
}

}  // namespace cutover::bench
