// Benchmark: cutover's Redis backfill of threadr's keys beside the runbook's
// Python loop and the hiredis read ceiling, then sync lag under steady writes.
//
// One scratch PostgreSQL and one scratch redis-server (free loopback port,
// own directory, killed on every way out) serve every measurement, so the
// ratios compare methods on the same machine at the same moment.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "background_process.h"
#include "process_meter.h"
#include "redis_bench_client.h"
#include "scratch_stores.h"
#include "stores/postgres/pg_connection.h"
#include "stores/postgres/scratch_cluster.h"

namespace {

using cutover::bench::Background;
using cutover::bench::CountRows;
using cutover::bench::Exec;
using cutover::bench::Measure;
using cutover::bench::Run;
using cutover::bench::ShowFile;
using cutover::pg_store::PgConnection;

constexpr long kRunbookMaxKeys = 20000;
constexpr double kRunbookMaxSeconds = 60;
constexpr long kWriteRate = 5000;
constexpr double kWriteSeconds = 30;
constexpr long kProbeEveryMs = 50;
constexpr const char* kTables[] = {"subscriptions", "users", "usage_tracking", "threads"};
// Rounds of the read ceiling and the backfill, in turn: one VM's speed drifts
// by a fifth between minutes, so one pair's ratio is luck; the target is
// judged on the median round. The last round's database is the one the write
// floor and sync then use.
constexpr int kRounds = 3;

struct Args {
  std::string cutover, spec, generate, runbook, ceiling, writer;
  long long keys = 0;
};

// Keys generate.py --users n writes: a hash per user, a premium JSON per 5th,
// a cached thread per 3rd, two usage counters per even user; usage addresses
// repeat every 125,000 users, so at most 62,500 distinct addresses.
long long KeysForUsers(long long n) {
  return n + (n + 4) / 5 + (n + 2) / 3 + 2 * std::min((n + 1) / 2, 62500LL);
}

long long UsersForKeys(long long keys) {
  long long lo = 1, hi = keys;
  while (lo < hi) {
    const long long mid = (lo + hi) / 2;
    if (KeysForUsers(mid) >= keys) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The number after `word ` in a tool's one-line report; -1 if absent.
double Field(const std::string& text, const std::string& word) {
  const auto at = text.find(word + " ");
  return at == std::string::npos ? -1 : std::atof(text.c_str() + at + word.size() + 1);
}

long long DbSize(int port) {
  auto c = cutover::bench::ConnectRedis(port);
  if (!c) return -1;
  auto r = cutover::bench::RunCommand(c.get(), {"DBSIZE"});
  return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

// redis-server's own CPU seconds (used_cpu_user + used_cpu_sys of INFO
// cpu); -1 when unreadable.
double RedisCpuSeconds(int port) {
  auto c = cutover::bench::ConnectRedis(port);
  if (!c) return -1;
  auto r = cutover::bench::RunCommand(c.get(), {"INFO", "cpu"});
  if (!r || r->type != REDIS_REPLY_STRING) return -1;
  const std::string info(r->str, r->len);
  double total = 0;
  for (const char* name : {"used_cpu_user:", "used_cpu_sys:"}) {
    const size_t at = info.find(name);
    if (at == std::string::npos) return -1;
    total += std::atof(info.c_str() + at + std::strlen(name));
  }
  return total;
}

// CPU readings taken before a run, and what the run used.
struct CpuMark {
  double redis = -1, machine = -1;
};
struct CpuUse {
  double redis = -1, machine = -1;
};
CpuMark MarkCpu(int port) {
  return {RedisCpuSeconds(port), cutover::bench::MachineBusySeconds()};
}
CpuUse CpuSince(const CpuMark& before, int port) {
  const CpuMark now = MarkCpu(port);
  return {before.redis < 0 || now.redis < 0 ? -1 : now.redis - before.redis,
          before.machine < 0 || now.machine < 0 ? -1 : now.machine - before.machine};
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

// End-to-end lag of the writer's probes: each probe key's started_at is the
// wall time of its SET; this polls PostgreSQL for the next probe's row every
// millisecond and takes (wall time seen - started_at). It measures Redis
// write -> notification -> sync's read -> commit -> visible to a reader, with
// up to ~1 ms of polling added.
class ProbePoller {
 public:
  explicit ProbePoller(std::string url) : url_(std::move(url)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProbePoller() { Stop(); }
  void Stop() {
    done_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<double>& lags_ms() const { return lags_ms_; }
  std::string error() const { return error_; }

 private:
  void Loop() {
    auto conn = PgConnection::Connect(url_);
    if (!conn.ok()) {
      error_ = std::string(conn.status().message());
      return;
    }
    long next = 0;
    while (!done_.load()) {
      auto v = (*conn)->QueryValue(
          "SELECT (extract(epoch FROM started_at) * 1000000)::bigint FROM subscriptions "
          "WHERE email = $1",
          {fmt::format("probe{:06d}@bench.example", next)});
      const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (!v.ok()) {
        error_ = std::string(v.status().message());
        return;
      }
      if (*v) {
        lags_ms_.push_back(static_cast<double>(now_us - std::stoll(**v)) / 1000.0);
        ++next;
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  const std::string url_;
  std::atomic<bool> done_{false};
  std::vector<double> lags_ms_;
  std::string error_;
  std::thread thread_;
};

struct SyncResult {
  bool ok = false;
  double reconcile_seconds = 0;
  long peak_rss_kib = 0;
  nlohmann::json summary;
  std::string writer_report;
  std::vector<double> probe_lags_ms;
  long long probes_written = 0;
  std::string load_during;
};

// cutover sync against the loaded database: wait for its first
// reconciliation, drive kWriteRate writes/s for kWriteSeconds, give it 3 s
// to catch up, then SIGTERM (it finishes the step in flight and prints its
// --json summary).
SyncResult MeasureSync(const Args& a, const std::string& url, int redis_port, long long users,
                       const std::string& dir) {
  SyncResult out;
  const std::string log = dir + "/sync.log", json_path = dir + "/sync.json";
  Background sync(
      {a.cutover, "sync", a.spec, "--configure", "--json"},
      {"DATABASE_URL=" + url, "REDIS_HOST=127.0.0.1", "REDIS_PORT=" + std::to_string(redis_port)},
      json_path, log);
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    if (ReadText(log).find("reconciled (start)") != std::string::npos) break;
    if (sync.Exited() || std::chrono::steady_clock::now() - t0 > std::chrono::minutes(20)) {
      fmt::print(stderr, "cutover sync did not finish its first reconciliation:\n");
      ShowFile(log);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  out.reconcile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    ProbePoller poller(url);
    const std::string writer_out = dir + "/writer.out";
    Run w = Measure(
        "writer",
        {a.writer, std::to_string(redis_port), std::to_string(kWriteRate),
         fmt::format("{}", kWriteSeconds), std::to_string(users), std::to_string(kProbeEveryMs)},
        {}, writer_out, "");
    out.load_during = cutover::bench::LoadAverage();
    out.writer_report = ReadText(writer_out);
    out.probes_written = static_cast<long long>(Field(out.writer_report, "probes"));
    std::this_thread::sleep_for(std::chrono::seconds(3));
    poller.Stop();
    out.probe_lags_ms = poller.lags_ms();
    if (!poller.error().empty()) fmt::print(stderr, "probe poller: {}\n", poller.error());
    if (w.exit_code != 0) {
      fmt::print(stderr, "writer exited {}\n", w.exit_code);
      return out;
    }
  }
  const int rc = sync.Finish(SIGTERM, &out.peak_rss_kib);
  if (rc != 0) {
    fmt::print(stderr, "cutover sync exited {}:\n", rc);
    ShowFile(log);
    return out;
  }
  try {
    out.summary = nlohmann::json::parse(ReadText(json_path));
  } catch (const nlohmann::json::exception& e) {
    fmt::print(stderr, "cutover sync --json printed no JSON summary ({}):\n", e.what());
    ShowFile(json_path);
    return out;
  }
  out.ok = true;
  return out;
}

// PostgreSQL's own write floors for what cutover wrote: every row of its
// tables and of cutover.key_versions, in the order they were written, copied
// out (COPY binary) and timed going back in by one session with nothing else
// running, COPY binary from memory:
//   indexed: into empty copies of the tables with their keys and indexes, as
//     a backfill that keeps them in place writes;
//   bulk: into copies without indexes, then each index built once, as a load
//     that sets them aside writes.
// A backfill that writes these rows through one session cannot beat the
// floor of its way of writing, whatever it reads from.
struct WriteFloor {
  bool ok = false;
  double indexed_seconds = 0;
  double bulk_copy_seconds = 0, bulk_index_seconds = 0;
  long long rows = 0;
  std::string error;
};

WriteFloor MeasureWriteFloor(const std::string& url) {
  WriteFloor out;
  auto connected = PgConnection::Connect(url);
  if (!connected.ok()) {
    out.error = connected.status().ToString();
    return out;
  }
  PgConnection& conn = **connected;
  std::vector<std::string> tables = {"cutover.key_versions"};
  for (const char* t : kTables) tables.push_back(std::string("public.") + t);
  tables.push_back("public.thread_tweets");
  auto bare = [](const std::string& t) { return t.substr(t.find('.') + 1); };
  std::vector<std::string> dumps;
  std::vector<std::string> index_ddl;  // the indexes, made on schema floor_bulk
  std::string ddl =
      "DROP SCHEMA IF EXISTS floor_indexed CASCADE; CREATE SCHEMA floor_indexed;"
      "DROP SCHEMA IF EXISTS floor_bulk CASCADE; CREATE SCHEMA floor_bulk;";
  for (const std::string& t : tables) {
    std::string data;
    const cutover::Status st =
        conn.CopyOut(fmt::format("COPY (SELECT * FROM {}) TO STDOUT (FORMAT binary)", t),
                     [&](std::string_view chunk) {
                       data.append(chunk);
                       return cutover::Status::Ok();
                     });
    if (!st.ok()) {
      out.error = t + ": " + st.ToString();
      return out;
    }
    dumps.push_back(std::move(data));
    ddl += fmt::format(
        "CREATE TABLE floor_indexed.{0} (LIKE {1} INCLUDING ALL);"
        "CREATE TABLE floor_bulk.{0} (LIKE {1} INCLUDING ALL EXCLUDING INDEXES);",
        bare(t), t);
    auto defs = conn.Query(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = $1::regclass", {t});
    if (!defs.ok()) {
      out.error = t + ": " + defs.status().ToString();
      return out;
    }
    for (const auto& row : defs->rows) {
      std::string def = row[0].value_or("");
      const std::string on = " ON " + t + " ";
      const size_t at = def.find(on);
      if (at == std::string::npos) {
        out.error = t + ": unexpected index definition: " + def;
        return out;
      }
      def.replace(at, on.size(), " ON floor_bulk." + bare(t) + " ");
      index_ddl.push_back(std::move(def));
    }
    out.rows += CountRows(url, t);
  }
  if (const cutover::Status st = conn.Exec(ddl + "CHECKPOINT"); !st.ok()) {
    out.error = st.ToString();
    return out;
  }
  auto copy_all = [&](const std::string& schema, double* seconds) -> bool {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < tables.size(); ++i) {
      const cutover::Status st = conn.CopyIn(
          fmt::format("COPY {}.{} FROM STDIN (FORMAT binary)", schema, bare(tables[i])), dumps[i]);
      if (!st.ok()) {
        out.error = schema + "." + bare(tables[i]) + ": " + st.ToString();
        return false;
      }
    }
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return true;
  };
  if (!copy_all("floor_indexed", &out.indexed_seconds)) return out;
  if (const cutover::Status st = conn.Exec("CHECKPOINT"); !st.ok()) {
    out.error = st.ToString();
    return out;
  }
  if (!copy_all("floor_bulk", &out.bulk_copy_seconds)) return out;
  const auto t0 = std::chrono::steady_clock::now();
  for (const std::string& def : index_ddl) {
    if (const cutover::Status st = conn.Exec(def); !st.ok()) {
      out.error = def + ": " + st.ToString();
      return out;
    }
  }
  out.bulk_index_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  (void)conn.Exec("DROP SCHEMA floor_indexed CASCADE; DROP SCHEMA floor_bulk CASCADE");
  out.ok = true;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    fmt::print(stderr,
               "usage: {} CUTOVER SPEC GENERATE_PY RUNBOOK_PY READ_CEILING WRITE_LOAD KEYS\n",
               argv[0]);
    return 2;
  }
  const Args a{argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], std::atoll(argv[7])};
  auto stores = cutover::bench::ScratchStores::Start("cutover-bench-redis-");
  if (!stores) return 3;
  const std::string& dir = stores->dir;
  const std::string& url = stores->url;
  cutover::bench::ScratchRedis* redis = stores->redis.get();
  const int port = redis->port();

  // Untimed: fill Redis with generate.py through redis-cli --pipe.
  const long long users = UsersForKeys(a.keys);
  fmt::print(stderr, "bench: loading {} threadr users (about {} keys) into redis :{}\n", users,
             KeysForUsers(users), port);
  Run fill = Measure("fill",
                     {"sh", "-c",
                      fmt::format("/usr/bin/python3 '{}' --users {} | redis-cli -p {} "
                                  "--pipe >'{}/fill.log'",
                                  a.generate, users, port, dir)},
                     {});
  const long long keys = DbSize(port);
  if (fill.exit_code != 0 || keys <= 0) {
    fmt::print(stderr, "filling redis failed (exit {}, {} keys)\n", fill.exit_code, keys);
    ShowFile(dir + "/fill.log");
    return 3;
  }

  const std::string load_start = cutover::bench::LoadAverage();
  const std::vector<std::string> env = {"DATABASE_URL=" + url, "REDIS_HOST=127.0.0.1",
                                        "REDIS_PORT=" + std::to_string(port)};
  // Every round but the last: the ceiling, then a backfill into a database
  // of its own, dropped afterwards.
  std::vector<double> ratios;
  for (int round = 1; round < kRounds; ++round) {
    const std::string name = fmt::format("round_{}", round);
    const Run c = Measure("ceiling", {a.ceiling, std::to_string(port)}, {}, dir + "/round.out", "");
    const cutover::Status made = stores->pg->CreateDatabase(name);
    if (!made.ok()) {
      fmt::print(stderr, "round {}: {}\n", round, made.message());
      return 3;
    }
    const std::string round_url = stores->pg->UrlFor(name);
    std::vector<std::string> round_env = env;
    round_env[0] = "DATABASE_URL=" + round_url;
    const Run b = Measure("backfill", {a.cutover, "backfill", a.spec, "--create-tables"}, round_env,
                          dir + "/round.out", dir + "/round.log");
    long long rows = 0;
    for (const char* t : kTables) rows += CountRows(round_url, t);
    if (b.exit_code != 0 || rows != keys || c.exit_code != 0) {
      fmt::print(stderr, "round {}: backfill exit {}, {} rows (want {}); ceiling exit {}\n", round,
                 b.exit_code, rows, keys, c.exit_code);
      ShowFile(dir + "/round.log");
      return 3;
    }
    ratios.push_back(c.seconds / b.seconds);
    if (!Exec(url, "DROP DATABASE " + name)) return 3;
  }
  // The last round, measured in full: the read ceiling (SCAN and pipelined
  // reads alone), then cutover into no table at all.
  const std::string ceiling_out = dir + "/ceiling.out";
  const CpuMark before_ceiling = MarkCpu(port);
  Run ceiling =
      Measure("read ceiling: SCAN + pipelined TYPE, reads, PEXPIRETIME (hiredis, no writes)",
              {a.ceiling, std::to_string(port)}, {}, ceiling_out, "");
  const CpuUse ceiling_cpu = CpuSince(before_ceiling, port);
  ceiling.rows = static_cast<long long>(Field(ReadText(ceiling_out), "keys"));

  const std::string backfill_log = dir + "/backfill.log", backfill_out = dir + "/backfill.out";
  const CpuMark before_backfill = MarkCpu(port);
  Run backfill =
      Measure("cutover backfill --create-tables",
              {a.cutover, "backfill", a.spec, "--create-tables"}, env, backfill_out, backfill_log);
  const CpuUse backfill_cpu = CpuSince(before_backfill, port);
  backfill.rows = 0;
  for (const char* t : kTables) backfill.rows += CountRows(url, t);
  if (backfill.exit_code != 0 || backfill.rows != keys) {
    fmt::print(stderr, "cutover backfill: exit {}, {} rows (want {}):\n", backfill.exit_code,
               backfill.rows, keys);
    ShowFile(backfill_log);
  }
  const std::string backfill_summary = ReadText(backfill_out);
  const WriteFloor floor = MeasureWriteFloor(url);
  if (!floor.ok) fmt::print(stderr, "write floor: {}\n", floor.error);

  // The runbook's loop, on a sample, into tables shaped like cutover's.
  std::string like = "CREATE SCHEMA runbook;";
  for (const char* t : {"subscriptions", "users", "usage_tracking", "threads", "thread_tweets"}) {
    like += fmt::format("CREATE TABLE runbook.{0} (LIKE public.{0} INCLUDING ALL);", t);
  }
  if (!Exec(url, like + "CHECKPOINT")) return 3;
  const std::string runbook_out = dir + "/runbook.out";
  Run runbook = Measure("runbook: redis-py per key + psycopg2 INSERT per row, commit/100",
                        {"/usr/bin/python3", a.runbook, url, std::to_string(port), "runbook",
                         std::to_string(kRunbookMaxKeys), fmt::format("{}", kRunbookMaxSeconds)},
                        {}, runbook_out, "");
  runbook.rows = static_cast<long long>(Field(ReadText(runbook_out), "keys"));
  long long runbook_rows = 0;
  for (const char* t : kTables) runbook_rows += CountRows(url, std::string("runbook.") + t);
  if (runbook.exit_code != 0 || runbook_rows != runbook.rows) {
    fmt::print(stderr, "runbook: exit {}, reported {} keys, {} rows in runbook.*\n",
               runbook.exit_code, runbook.rows, runbook_rows);
  }
  const std::string load_after_backfills = cutover::bench::LoadAverage();

  SyncResult sync = MeasureSync(a, url, port, users, dir);
  const std::string load_end = cutover::bench::LoadAverage();
  (void)stores->pg->Stop();
  redis->Kill();

  // Report.
  const double cutover_rate = static_cast<double>(keys) / backfill.seconds;
  const double ceiling_rate = static_cast<double>(ceiling.rows) / ceiling.seconds;
  const double runbook_rate = static_cast<double>(runbook.rows) / runbook.seconds;
  fmt::print(
      "\nbackfill of {} threadr keys (generate.py --users {}: hashes, JSON strings with TTLs, "
      "counters, cached threads with 3 tweets each) from a scratch redis-server into a scratch "
      "PostgreSQL\nload average (1, 5, 15 min) at start: {}, after the backfills: {}, at the end: "
      "{}; {} cores\nkeys/s = keys / wall seconds of the process (start-up included)\n\n",
      keys, users, load_start, load_after_backfills, load_end, std::thread::hardware_concurrency());
  fmt::print("{:<80} {:>8} {:>9} {:>10} {:>9}  {}\n", "method", "keys", "seconds", "keys/s",
             "peak RSS", "result");
  auto line = [&](const Run& r, long long n, const std::string& note) {
    fmt::print("{:<80} {:>8} {:>9.2f} {:>10.0f} {:>5} MiB  {}\n", r.name, n, r.seconds,
               static_cast<double>(n) / r.seconds, r.peak_rss_kib / 1024,
               r.exit_code != 0 ? fmt::format("exit {}", r.exit_code) : note);
  };
  line(backfill, keys,
       backfill.rows == keys ? "ok (rows = keys)" : fmt::format("{} rows", backfill.rows));
  line(ceiling, ceiling.rows, ceiling.rows == keys ? "ok (every key read)" : "keys differ");
  line(runbook, runbook.rows,
       fmt::format("sample: first {} keys of SCAN (limit {} keys or {:.0f} s)", runbook.rows,
                   kRunbookMaxKeys, kRunbookMaxSeconds));
  const double vs_runbook = cutover_rate / runbook_rate;
  ratios.push_back(cutover_rate / ceiling_rate);
  std::string each;
  for (const double r : ratios) each += fmt::format(" {:.2f}x", r);
  std::sort(ratios.begin(), ratios.end());
  const double vs_ceiling = ratios[ratios.size() / 2];
  fmt::print(
      "\ncutover / runbook (keys/s, runbook measured on a sample): {:8.1f}x  target >= 30x: "
      "{}\n",
      vs_runbook, vs_runbook >= 30 ? "met" : "NOT met");
  fmt::print(
      "cutover / read ceiling (keys/s), median round:           {:8.2f}x  target >= 0.5x: "
      "{}\n  ({} rounds of the ceiling and the backfill in turn, each into an empty database: "
      "{}; the table above shows the last)\n",
      vs_ceiling, vs_ceiling >= 0.5 ? "met" : "NOT met", kRounds, each.substr(1));
  if (floor.ok) {
    // The most the read ceiling target allows is ceiling / floor: even a
    // backfill whose reads cost nothing waits for PostgreSQL's writes.
    const double bulk = floor.bulk_copy_seconds + floor.bulk_index_seconds;
    fmt::print(
        "PostgreSQL write floors (the {} rows cutover wrote, key_versions included, COPY binary "
        "back by one session):\n"
        "  indexed (into empty copies of the tables, keys and indexes in place): {:.2f} s\n"
        "  bulk (into copies without indexes {:.2f} s, then the indexes built {:.2f} s): "
        "{:.2f} s\n"
        "cutover / indexed floor (seconds):                        {:8.2f}x  (1.0 = as fast "
        "as PostgreSQL takes the same rows alone, as cutover writes them)\n"
        "read ceiling / indexed floor (seconds):                   {:8.2f}x  (the highest "
        "cutover / read ceiling a one-session writer with indexes in place can reach here)\n"
        "read ceiling / bulk floor (seconds):                      {:8.2f}x  (the same for a "
        "load that sets the indexes aside)\n",
        floor.rows, floor.indexed_seconds, floor.bulk_copy_seconds, floor.bulk_index_seconds, bulk,
        floor.indexed_seconds / backfill.seconds, ceiling.seconds / floor.indexed_seconds,
        ceiling.seconds / bulk);
  }
  fmt::print("peak RSS of the cutover backfill process (wait4 ru_maxrss): {} MiB\n",
             backfill.peak_rss_kib / 1024);
  // Where the time goes: the ceiling is bound by redis-server alone, the
  // backfill by the CPU the three processes share.
  fmt::print(
      "CPU seconds (client: wait4; redis-server: INFO cpu; machine: /proc/stat busy time, of which "
      "PostgreSQL's backends take most of what the other two leave):\n"
      "  read ceiling      client {:6.2f}  redis-server {:6.2f}  machine {:6.2f}  (one SCAN pass)\n"
      "  cutover backfill  client {:6.2f}  redis-server {:6.2f}  machine {:6.2f}  (one SCAN pass "
      "that the entities share, then each one's reads)\n",
      ceiling.cpu_seconds, ceiling_cpu.redis, ceiling_cpu.machine, backfill.cpu_seconds,
      backfill_cpu.redis, backfill_cpu.machine);
  fmt::print(
      "cutover backfill's own summary (entities side by side, all of the source's at once; rows/s "
      "of each over its own time):\n{}",
      backfill_summary);

  bool ok = backfill.exit_code == 0 && backfill.rows == keys && ceiling.exit_code == 0 &&
            runbook.exit_code == 0 && sync.ok && floor.ok;
  fmt::print(
      "\nsync lag: cutover sync --configure --json over the loaded database; after its first "
      "reconciliation ({:.1f} s),\n{} writes/s for {:.0f} s ({} ms ticks; HSET "
      "threadr:email:*, INCRBY threadr:usage:*, SET threadr:premium:email:* in turn; "
      "a probe SET every {} ms), 3 s to catch up, then SIGTERM\n",
      sync.reconcile_seconds, kWriteRate, kWriteSeconds, 1, kProbeEveryMs);
  if (!sync.ok) {
    fmt::print("sync run FAILED (see above)\n");
    return 1;
  }
  fmt::print("writer: {}load average during the writes: {}\n", sync.writer_report,
             sync.load_during);
  for (const auto& s : sync.summary["sources"]) {
    const double p50 = s["lag_ms"]["p50"].get<double>(), p99 = s["lag_ms"]["p99"].get<double>();
    fmt::print(
        "source {}: {} notifications, {} keys applied, {} gaps; lag (a batch's arrival at sync "
        "-> its commit, {} batches): p50 {:.1f} ms, p99 {:.1f} ms  target p99 <= 100 ms: {}\n",
        s["source"].get<std::string>(), s["changes"].get<long long>(),
        s["keys_applied"].get<long long>(), s["gaps"].get<long long>(),
        s["lag_samples"].get<long long>(), p50, p99, p99 <= 100 ? "met" : "NOT met");
  }
  const auto& probes = sync.probe_lags_ms;
  fmt::print(
      "end to end (probe SET's wall time -> row visible to a PostgreSQL reader polling every "
      "1 ms; {} of {} probes seen): p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
      probes.size(), sync.probes_written, Percentile(probes, 0.5), Percentile(probes, 0.99),
      probes.empty() ? 0.0 : *std::max_element(probes.begin(), probes.end()));
  fmt::print("peak RSS of the cutover sync process: {} MiB\n", sync.peak_rss_kib / 1024);
  if (static_cast<long long>(probes.size()) != sync.probes_written) ok = false;
  return ok ? 0 : 1;
}
