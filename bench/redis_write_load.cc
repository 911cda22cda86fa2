// The steady writer of bench/backfill_redis.sh's sync lag run: RATE writes a
// second to threadr's keys for SECONDS, paced every millisecond, via hiredis.
//
// Each millisecond tick sends RATE/1000 writes as one pipeline: HSET of a
// user hash (threadr:email:*), INCRBY of a usage counter (threadr:usage:*)
// and SET of a premium JSON with a TTL (threadr:premium:email:*), in turn,
// on keys generate.py --users USERS wrote. Every PROBE_MS one premium SET is a
// probe instead: a new key threadr:premium:email:probeNNNNNN@bench.example
// whose started_at is the wall time of the write (microseconds), so a poller
// of PostgreSQL can measure end-to-end lag. A tick that falls behind sends its
// writes late rather than dropping them. Prints one line on stdout:
// "writes W seconds S probes P late_ticks L".
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>

#include "redis_bench_client.h"

namespace {

std::string Email(long i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "user%06ld@example.com", i);
  return buf;
}

// generate.py's usage-counter address for user i (i even).
std::string UsageKey(long i) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "threadr:usage:10.%ld.%ld.%ld:2026-11-30", i % 250,
                (i / 250) % 250, 1 + i % 200);
  return buf;
}

std::string WallTimeIso() {
  const auto now = std::chrono::system_clock::now();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(us % 1000000));
  return buf;
}

std::string PremiumJson(long user_id, const std::string& started_at, long n) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"user_id\": %ld, \"plan\": \"pro\", \"status\": \"active\", \"amount\": 9.99, "
                "\"stripe_payment_id\": \"pi_bench%08ld\", \"started_at\": \"%s\"}",
                user_id, n, started_at.c_str());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s REDIS_PORT RATE SECONDS USERS PROBE_MS\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const long rate = std::atol(argv[2]);
  const double seconds = std::atof(argv[3]);
  const long users = std::max(10L, std::atol(argv[4]));
  const long probe_ms = std::max(1L, std::atol(argv[5]));
  auto c = cutover::bench::ConnectRedis(port);
  if (!c) {
    std::fprintf(stderr, "cannot connect to redis on port %d\n", port);
    return 3;
  }
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<long> user(0, users - 1);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const long ticks = static_cast<long>(seconds * 1000);
  long writes = 0, probes = 0, late = 0, kind = 0;
  double carry = 0;
  for (long tick = 0; tick < ticks; ++tick) {
    const auto due = start + std::chrono::milliseconds(tick);
    if (Clock::now() > due + std::chrono::milliseconds(1)) {
      ++late;
    } else {
      std::this_thread::sleep_until(due);
    }
    carry += static_cast<double>(rate) / 1000.0;
    const long now_writes = static_cast<long>(carry);
    carry -= static_cast<double>(now_writes);
    const bool probe_tick = tick % probe_ms == 0;
    for (long w = 0; w < now_writes; ++w, ++kind) {
      const long i = user(rng);
      if (probe_tick && w == 0) {
        char email[64];
        std::snprintf(email, sizeof email, "probe%06ld@bench.example", probes);
        cutover::bench::Append(
            c.get(), {"SET", std::string("threadr:premium:email:") + email,
                      PremiumJson(900000000 + probes, WallTimeIso(), writes), "EX", "86400"});
        ++probes;
        continue;
      }
      switch (kind % 3) {
        case 0:
          cutover::bench::Append(c.get(),
                                 {"HSET", "threadr:email:" + Email(i), "name",
                                  "User " + std::to_string(i) + " v" + std::to_string(writes + w)});
          break;
        case 1:
          cutover::bench::Append(c.get(), {"INCRBY", UsageKey(i - i % 2), "1"});
          break;
        default: {
          const long p = i - i % 5;
          cutover::bench::Append(c.get(),
                                 {"SET", "threadr:premium:email:" + Email(p),
                                  PremiumJson(100000 + p, "2026-06-01T00:00:00Z", writes + w), "EX",
                                  std::to_string(86400 * (30 + p % 60))});
        }
      }
    }
    for (long w = 0; w < now_writes; ++w) {
      auto r = cutover::bench::NextReply(c.get());
      if (!r || r->type == REDIS_REPLY_ERROR) {
        std::fprintf(stderr, "write failed: %s\n", r ? r->str : c->errstr);
        return 3;
      }
    }
    writes += now_writes;
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("writes %ld seconds %.3f probes %ld late_ticks %ld\n", writes, took, probes, late);
  return 0;
}
