#!/usr/bin/env bash
# Rehearses the example migration end to end on a scratch PostgreSQL:
# set-up, build, generate the example data, backfill, verify.
#   scripts/demo.sh [fluxstudio | agriprofit | traffic-safety | threadr]
#     ROWS=N sizes the Parquet ones; USERS=N (default 2000) threadr's Redis keyspace.
# An example whose spec reads a Redis source (threadr) gets a scratch Redis, started
# like the scratch PostgreSQL: a free loopback port, a temporary directory of its own,
# stopped and removed when the script ends, however it ends.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup.sh"
example="${1:-fluxstudio}"
dir="$root/examples/$example"
spec="$root/examples/$example/cutover.yaml"
cutover="$build_dir/src/cli/cutover"

if grep -q '^ *type: *redis' "$spec"; then
  redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/cutover-demo-redis.XXXXXX")"
  redis_pid=""
  stop_redis() {
    if [[ -n "$redis_pid" ]]; then
      kill "$redis_pid" 2>/dev/null || true
      wait "$redis_pid" 2>/dev/null || true
    fi
    rm -rf "$redis_dir"
  }
  trap stop_redis EXIT
  trap 'exit 130' INT   # so that an interrupt, too, ends through the EXIT trap
  trap 'exit 143' TERM
  # A port the kernel says is free now; redis-server fails loudly if it is taken meanwhile.
  REDIS_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$redis_dir" --save "" \
    --appendonly no --logfile "$redis_dir/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    kill -0 "$redis_pid" 2>/dev/null || { cat "$redis_dir/redis.log" >&2; exit 3; }
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "demo: redis-server did not answer" >&2; exit 3; }
  echo "demo: scratch Redis on 127.0.0.1:$REDIS_PORT ($redis_dir), filling it"
  python3 "$dir/generate.py" --users "${USERS:-2000}" | redis-cli -p "$REDIS_PORT" --pipe
  export REDIS_HOST=127.0.0.1 REDIS_PORT
  # Not exec: the trap stops the scratch Redis after the rehearsal.
  "$cutover" rehearse "$spec"
  exit
fi

if [[ -f "$dir/generate.sql" ]]; then
  # DuckDB writes the Parquet files; ROWS=N (default 20000) sets the size.
  mkdir -p "$dir/data"
  "$build_dir/tools/duckdb_sql" "$dir/generate.sql" --set "ROWS=${ROWS:-20000}" --set "OUT=$dir/data"
else
  python3 "$dir/generate.py" --out "$dir/data" "${@:2}"
fi
exec "$cutover" rehearse "$spec"
