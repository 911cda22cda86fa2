#!/usr/bin/env bash
# The way back's replication lag: a writer commits RATE updates a second
# (default 1000) for SECONDS (default 20) straight into PostgreSQL at stage
# primary while `cutover sync` carries them into Redis. An observer outside
# cutover subscribes to Redis's keyspace notifications and stamps when each
# key changed; the lag of a write is that stamp minus the moment the
# writer's COMMIT returned (both on this machine's clock, so the figure
# slightly understates the lag from the commit itself). cutover's own
# figure (pgoutput's commit time to Redis's answer) is printed beside it.
# Usage: bench/way_back_lag.sh [SECONDS] [RATE]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-20}"
rate="${2:-1000}"
[[ "$seconds" =~ ^[0-9]+$ && "$rate" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [RATE]" >&2; exit 2; }
source "$root/scripts/setup.sh"
source "$root/bench/scratch_redis.sh"  # start_scratch_redis
source "$root/bench/agriprofit_data.sh"  # bench_deps
bench_deps python3-redis python3-psycopg2
cutover="$build_dir/src/cli/cutover"
py=/usr/bin/python3  # Debian's python3-redis and python3-psycopg2 import here
writes=$((seconds * rate))

work="$(mktemp -d)"
chmod 755 "$work"  # run as root, the scratch PostgreSQL runs as nobody, who must reach it
redis_pid=""
sync_pid=""
cleanup() {
  [[ -n "$sync_pid" ]] && kill "$sync_pid" 2>/dev/null && wait "$sync_pid" 2>/dev/null
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start_scratch_redis "$work"
cat > "$work/cutover.yaml" <<EOF
migration: way_back_bench
target: { url: "" }
sources:
  cache: { type: redis, url: "redis://127.0.0.1:$port/0" }
entities:
  users:
    source: { from: cache, pattern: "bench:user:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email: { type: text }
      id:    { from: user_id, type: bigint }
      name:  { type: text }
      expires_at: { from: \$expires_at, type: timestamptz }
EOF
# One user per write, so each keyspace event names exactly one write.
$py - "$writes" "$port" <<'EOF'
import sys, redis
r = redis.Redis(port=int(sys.argv[2]))
p = r.pipeline(transaction=False)
for i in range(int(sys.argv[1])):
    p.hset("bench:user:u%d@x" % i, mapping={"user_id": i, "name": "start"})
    if i % 1000 == 999:
        p.execute()
p.execute()
EOF
logged() {
  local log="$work/$1"
  shift
  "$@" > "$log" 2>&1 || { echo "bench: $* failed:" >&2; cat "$log" >&2; exit 3; }
}
echo "bench: uptime before: $(uptime)"
cd "$work"
logged backfill.log "$cutover" backfill cutover.yaml --scratch --create-tables
for stage in dual_write shadow "rollout --percent 100" primary; do
  # shellcheck disable=SC2086  # the stage and its percent
  logged phase.log "$cutover" phase cutover.yaml --scratch set $stage --force --reason bench
done

"$cutover" sync cutover.yaml --scratch --idle-exit 15s --json > sync.json 2> sync.log &
sync_pid=$!
url=""
for _ in $(seq 300); do
  pg_port="$(sed -n 's/.* info sync way_back_bench into scratch PostgreSQL on 127.0.0.1:\([0-9]*\).*/\1/p' sync.log | head -1)"
  [[ -n "$pg_port" ]] && url="postgresql://cutover@127.0.0.1:$pg_port/cutover"
  [[ -n "$url" ]] && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "bench: sync did not start:" >&2; cat sync.log >&2; exit 3; }
# Measured once the first run's reconciliation is done and the slot streams.
for _ in $(seq 600); do
  [[ "$($py -c "import psycopg2,sys; c=psycopg2.connect(sys.argv[1]); k=c.cursor(); k.execute(\"SELECT count(*) FROM cutover.way_back w JOIN pg_replication_slots s ON s.slot_name = w.slot WHERE w.reconciled AND s.active\"); print(k.fetchone()[0])" "$url" 2>/dev/null)" == "1" ]] && break
  sleep 0.1
done

$py - "$port" "$writes" > observed.txt <<'EOF' &
import sys, time, redis
r = redis.Redis(port=int(sys.argv[1]))
r.config_set("notify-keyspace-events", "Kh")
p = r.pubsub()
p.psubscribe("__keyspace@0__:bench:user:*")
want, seen = int(sys.argv[2]), {}
deadline = time.time() + 600
print("ready", flush=True)
while len(seen) < want and time.time() < deadline:
    m = p.get_message(timeout=1.0)
    if m and m["type"] == "pmessage":
        key = m["channel"].decode().split(":", 1)[1]
        seen.setdefault(key, time.time())
for key, at in seen.items():
    print(key, repr(at))
EOF
observer=$!
until grep -q ready observed.txt 2>/dev/null; do sleep 0.05; done

$py - "$url" "$writes" "$rate" > committed.txt <<'EOF'
import sys, time, psycopg2
c = psycopg2.connect(sys.argv[1])
c.autocommit = True
k = c.cursor()
# The scratch cluster runs with synchronous_commit off, which leaves WAL to
# the WAL writer's next round (up to 200 ms) before logical decoding can see
# it; an application's commits are flushed at once, as here.
k.execute("SET synchronous_commit = on")
n, rate = int(sys.argv[2]), float(sys.argv[3])
start = time.time()
for i in range(n):
    due = start + i / rate
    now = time.time()
    if due > now:
        time.sleep(due - now)
    k.execute("UPDATE public.users SET name = %s WHERE email = %s", ("w%d" % i, "u%d@x" % i))
    print("bench:user:u%d@x" % i, repr(time.time()))
print("elapsed", repr(time.time() - start), file=sys.stderr)
EOF
wait "$observer"
wait "$sync_pid" || { echo "bench: cutover sync failed:" >&2; cat sync.log >&2; exit 3; }
sync_pid=""

$py - "$writes" "$seconds" "$port" <<'EOF'
import json, sys, redis
committed = dict(l.split() for l in open("committed.txt") if l.startswith("bench:"))
observed = dict(l.split() for l in open("observed.txt") if l.startswith("bench:"))
lags = sorted((float(observed[k]) - float(t)) * 1000 for k, t in committed.items() if k in observed)
n = int(sys.argv[1])
def pct(p):
    return lags[min(len(lags) - 1, int(p * len(lags)))]
print("writes committed: %d in %s s (asked: %d)" % (len(committed), sys.argv[2], n))
print("writes seen in Redis by the observer: %d" % len(lags))
if len(lags) != n:
    print("bench: %d writes never reached Redis" % (n - len(lags)))
    sys.exit(3)
print("lag from COMMIT returned to Redis keyspace event: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
      % (pct(0.5), pct(0.99), lags[-1]))
r = redis.Redis(port=int(sys.argv[3]))
wrong = sum(1 for i in range(n) if r.hget("bench:user:u%d@x" % i, "name") != b"w%d" % i)
print("keys whose Redis value is not the last write: %d" % wrong)
if wrong:
    sys.exit(3)
report = json.load(open("sync.json"))["entities"][0]
print("cutover's own figure (commit time to Redis's answer): p50 %.1f ms, p99 %.1f ms over %d changes"
      % (report["lag_ms"]["p50"], report["lag_ms"]["p99"], report["lag_samples"]))
EOF
echo "bench: uptime after: $(uptime)"
