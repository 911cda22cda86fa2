#!/usr/bin/env bash
# Rehearses the example migration end to end on a scratch PostgreSQL:
# set-up, build, generate the example data, backfill, verify.
#   scripts/demo.sh [fluxstudio | agriprofit | traffic-safety | threadr | iotflow]
#     ROWS=N sizes the Parquet ones; USERS=N (default 2000) threadr's Redis keyspace;
#     DEVICES=N (default 20) iotflow's IoTDB devices.
# An example whose spec reads a Redis source (threadr) gets a scratch Redis, started
# like the scratch PostgreSQL: a free loopback port, a temporary directory of its own,
# stopped and removed when the script ends, however it ends.
# An example whose spec reads an IoTDB source over REST (a `type: iotdb` source with a
# `url`: iotflow) gets tests/iotdb_standin.py on a free loopback port instead of an
# IoTDB server, filled from the example's generated data, stopped the same way.
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

# Whether the spec's sources: section has a `type: iotdb` source with an http(s) url
# (block or flow style); an iotdb source with a `path` reads export files only.
spec_reads_iotdb_rest() {
  awk '
    /^[^ #]/ { if (type && url) found = 1; in_sources = ($0 ~ /^sources:/); type = url = 0; next }
    !in_sources || /^ *#/ { next }
    /^  [^ #]/ { if (type && url) found = 1; type = url = 0 }
    /type: *"?iotdb"?$/ || /type: *"?iotdb"?[ ,}#]/ { type = 1 }
    /url: *"?https?:/ { url = 1 }
    END { if (type && url) found = 1; exit !found }' "$1"
}

if spec_reads_iotdb_rest "$spec"; then
  # No IoTDB server can run on this machine: tests/iotdb_standin.py stands in for
  # IoTDB's REST service (v2), answering in the formats recorded from IoTDB's source.
  standin_dir="$(mktemp -d "${TMPDIR:-/tmp}/cutover-demo-iotdb.XXXXXX")"
  standin_pid=""
  stop_standin() {
    if [[ -n "$standin_pid" ]]; then
      kill "$standin_pid" 2>/dev/null || true
      wait "$standin_pid" 2>/dev/null || true
    fi
    rm -rf "$standin_dir"
  }
  trap stop_standin EXIT
  trap 'exit 130' INT   # so that an interrupt, too, ends through the EXIT trap
  trap 'exit 143' TERM
  # The REST points (standin.json) and the export tool's CSV files (export/).
  /usr/bin/python3 "$dir/generate.py" --devices "${DEVICES:-20}" --out "$dir/data"
  /usr/bin/python3 "$root/tests/iotdb_standin.py" --port 0 --data "$dir/data/standin.json" \
    --precision ms --port-file "$standin_dir/port" >"$standin_dir/standin.log" 2>&1 &
  standin_pid=$!
  # Loading the points takes a few seconds; the port file appears once it listens.
  for _ in $(seq 1200); do
    [[ -s "$standin_dir/port" ]] && break
    kill -0 "$standin_pid" 2>/dev/null || { cat "$standin_dir/standin.log" >&2; exit 3; }
    sleep 0.1
  done
  [[ -s "$standin_dir/port" ]] || { echo "demo: the IoTDB stand-in did not start" >&2; exit 3; }
  IOTDB_PORT="$(cat "$standin_dir/port")"
  echo "demo: IoTDB stand-in (tests/iotdb_standin.py) on 127.0.0.1:$IOTDB_PORT"
  export IOTDB_HOST=127.0.0.1 IOTDB_PORT
  # Not exec: the trap stops the stand-in after the rehearsal.
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
