#!/usr/bin/env bash
# Rolls ROWS users (default 1,000,000) back from PostgreSQL into an empty
# scratch Redis with `cutover rollback`, beside the write ceiling: the same
# keys (HSET and PEXPIREAT) sent by redis-cli --pipe, Redis's own bulk
# loader. Both are measured in this run; the figure is their ratio.
# Usage: bench/rollback_redis.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-1000000}"
[[ "$rows" =~ ^[0-9]+$ ]] || { echo "usage: $0 [ROWS]" >&2; exit 2; }
source "$root/scripts/setup.sh"
source "$root/bench/scratch_redis.sh"  # start_scratch_redis
cutover="$build_dir/src/cli/cutover"

work="$(mktemp -d)"
chmod 755 "$work"  # run as root, the scratch PostgreSQL runs as nobody, who must reach it
redis_pid=""
cleanup() {
  [[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start_scratch_redis "$work"
cat > "$work/cutover.yaml" <<EOF
migration: rollback_bench
target: { url: "" }
sources:
  cache: { type: redis, url: "redis://127.0.0.1:$port/0" }
backfill: { batch_size: 5000 }
entities:
  users:
    source: { from: cache, pattern: "bench:user:{email}", value: hash }
    key: [email]
    write_back: true
    columns:
      email:      { type: text }
      id:         { from: user_id, type: bigint }
      name:       { type: text }
      plan:       { type: text }
      expires_at: { from: \$expires_at, type: timestamptz }
EOF
# The keys as Redis protocol: every user a hash, every other one with an expiry.
python3 - "$rows" > "$work/users.resp" <<'EOF'
import sys
out = sys.stdout.buffer
def command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(parts))
for i in range(int(sys.argv[1])):
    key = "bench:user:user%d@example.com" % i
    command("HSET", key, "user_id", str(i), "name", "User %d" % i, "plan", ("free", "pro")[i % 2])
    if i % 2 == 0:
        command("PEXPIREAT", key, str(4102444800000 + i))
EOF
seconds() { python3 -c 'import time; print(time.monotonic())'; }
# Runs a command with its output in $work/LOG; on failure shows it and stops.
logged() {
  local log="$work/$1"
  shift
  "$@" > "$log" 2>&1 || { echo "bench: $* failed:" >&2; cat "$log" >&2; exit 3; }
}
echo "bench: uptime before: $(uptime)"

t0=$(seconds)
redis-cli -p "$port" --pipe < "$work/users.resp" > "$work/pipe.log"
t1=$(seconds)
ceiling=$(python3 -c "print($t1 - $t0)")
[[ "$(redis-cli -p "$port" dbsize)" == "$rows" ]] || { echo "bench: redis-cli --pipe loaded $(redis-cli -p "$port" dbsize) keys" >&2; exit 3; }

cd "$work"
logged backfill.log "$cutover" backfill cutover.yaml --scratch --create-tables
for stage in dual_write shadow "rollout --percent 100" primary; do
  # shellcheck disable=SC2086  # the stage and its percent
  logged phase.log "$cutover" phase cutover.yaml --scratch set $stage --force --reason bench
done
redis-cli -p "$port" flushdb > /dev/null
t0=$(seconds)
# Peak RSS of cutover itself (VmHWM, polled until it exits): the scratch
# PostgreSQL it starts is a child, and wait4's figure would be the largest
# of them all.
"$cutover" rollback cutover.yaml --scratch > rollback.log 2>&1 &
rollback_pid=$!
hwm=0
while kill -0 "$rollback_pid" 2>/dev/null; do
  now=$(awk '/VmHWM/ {print $2}' "/proc/$rollback_pid/status" 2>/dev/null || true)
  [[ -n "$now" ]] && hwm=$now
  sleep 0.2
done
wait "$rollback_pid" || { echo "bench: cutover rollback failed:" >&2; cat rollback.log >&2; exit 3; }
t1=$(seconds)
rollback=$(python3 -c "print($t1 - $t0)")
[[ "$(redis-cli -p "$port" dbsize)" == "$rows" ]] || { echo "bench: rollback left $(redis-cli -p "$port" dbsize) keys" >&2; exit 3; }

printf '%-64s %10s %9s %10s\n' method rows seconds rows/s
printf '%-64s %10d %9.2f %10.0f\n' "redis-cli --pipe: HSET + PEXPIREAT (write ceiling)" "$rows" "$ceiling" "$(python3 -c "print($rows / $ceiling)")"
printf '%-64s %10d %9.2f %10.0f\n' "cutover rollback into an empty Redis (PostgreSQL read, keys locked)" "$rows" "$rollback" "$(python3 -c "print($rows / $rollback)")"
echo "cutover rollback / write ceiling: $(python3 -c "print(round($ceiling / $rollback, 3))")x"
echo "peak RSS of cutover rollback (its own, not the scratch PostgreSQL's): $((hwm / 1024)) MiB"
echo "cutover's log, first and last lines (the wall time above includes starting and stopping the scratch PostgreSQL):"
head -2 rollback.log
tail -3 rollback.log
echo "bench: uptime after: $(uptime)"
