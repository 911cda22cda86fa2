#!/usr/bin/env bash
# The IoTDB runbook's two read queries (one device's last hour; one day's
# aggregate per device and measurement) on POINTS telemetry points in PostgreSQL,
# in examples/iotflow's telemetry_data shape, unpartitioned and partitioned by month;
# the aggregate also from the daily rollup cutover keeps (`rollups:`).
# Usage: bench/telemetry_queries.sh [POINTS [Q1_RUNS [Q2_RUNS]]] [--json] [--seed N]
#   POINTS defaults to 20,000,000 (200 devices x 5 measurements, spread over 91 days),
#   Q1_RUNS to 200 and Q2_RUNS to 50; --json prints one JSON object instead of the table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

positional=()
json=""
seed=20240101
while (($#)); do
  case "$1" in
    --json) json="--json" ;;
    --seed) seed="${2:-}"; shift ;;
    -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
points="${positional[0]:-20000000}"
q1_runs="${positional[1]:-200}"
q2_runs="${positional[2]:-50}"
usage="usage: $0 [POINTS [Q1_RUNS [Q2_RUNS]]] [--json] [--seed N]"
for n in "$points" "$q1_runs" "$q2_runs" "$seed"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }
done
((${#positional[@]} <= 3 && q1_runs > 0 && q2_runs > 0)) || { echo "$usage" >&2; exit 2; }

devices=200
measurements=5  # temperature, humidity, pressure, voltage (numeric); status (text)
series=$((devices * measurements))
per_series=$((points / series))
((per_series >= 100)) || { echo "bench: POINTS must be at least $((100 * series))" >&2; exit 2; }
points=$((per_series * series))
start="2024-01-01 00:00:00+00"
span_s=$((91 * 86400))  # January to March 2024: three monthly partitions
step=$((span_s / per_series))
((step >= 1)) || step=1

source "$root/bench/agriprofit_data.sh"  # bench_deps
bench_deps postgresql-15 postgresql-client-15 python3-psycopg2
py=/usr/bin/python3  # Debian's python3-psycopg2 imports here
cutover="${CUTOVER_BIN:-$root/build/src/cli/cutover}"

# The server binaries as cutover's scratch cluster finds them
# (src/stores/postgres/scratch_cluster.cc, FindBinDir).
bindir="${CUTOVER_PG_BINDIR:-}"
if [[ -z "$bindir" ]]; then
  bindir="$(pg_config --bindir 2>/dev/null || true)"
  [[ -x "$bindir/postgres" && -x "$bindir/initdb" ]] || bindir=/usr/lib/postgresql/15/bin
fi
for tool in initdb postgres pg_isready psql; do
  [[ -x "$bindir/$tool" ]] || { echo "bench: no $bindir/$tool; set CUTOVER_PG_BINDIR" >&2; exit 3; }
done

# A scratch PostgreSQL like cutover's: its own temporary directory, a free
# loopback port, no Unix socket, the same settings; as root it runs as nobody
# (PostgreSQL refuses root). setpriv's second call sets the parent-death
# signal after the identity change (which would clear it), so a killed bench
# does not leave the server behind.
work="$(mktemp -d)"
chmod 755 "$work"  # run as root, the scratch PostgreSQL runs as nobody, who must reach it
pg_pid=""
cleanup() {
  if [[ -n "$pg_pid" ]]; then
    kill -INT "$pg_pid" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pg_pid" 2>/dev/null || true
    wait "$pg_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_server=()
if [[ $(id -u) -eq 0 ]]; then
  as_server=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
fi
locale_flag="--no-locale"
locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8' && locale_flag="--locale=C.UTF-8"
mkdir "$work/pg"
[[ ${#as_server[@]} -gt 0 ]] && chown nobody:"$(id -gn nobody)" "$work/pg"
(cd / && "${as_server[@]}" "$bindir/initdb" -D "$work/pg" -U cutover --auth=trust \
  --encoding=UTF8 "$locale_flag" -N > "$work/initdb.log" 2>&1) ||
  { echo "bench: initdb failed:" >&2; cat "$work/initdb.log" >&2; exit 3; }

export PGTZ=UTC  # month partitions and days in UTC, for psql and psycopg2 alike
port=""
for _ in 1 2 3 4 5; do
  try_port="$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  : > "$work/server.log"
  (cd / && exec "${as_server[@]}" setpriv --pdeathsig INT "$bindir/postgres" -D "$work/pg" \
    -p "$try_port" -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 \
    -c shared_buffers=256MB -c max_wal_size=4GB -c wal_level=logical \
    -c max_replication_slots=16 -c max_wal_senders=16 -c checkpoint_timeout=30min \
    >> "$work/server.log" 2>&1) &
  pg_pid=$!
  for _ in $(seq 600); do
    if ! kill -0 "$pg_pid" 2>/dev/null; then break; fi
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$try_port" -d postgres -U cutover; then
      port="$try_port"
      break
    fi
    sleep 0.1
  done
  [[ -n "$port" ]] && break
  kill -INT "$pg_pid" 2>/dev/null || true
  wait "$pg_pid" 2>/dev/null || true
  pg_pid=""
  grep -q "could not bind\|Address already in use" "$work/server.log" ||
    { echo "bench: scratch PostgreSQL did not start:" >&2; tail -20 "$work/server.log" >&2; exit 3; }
done
[[ -n "$port" ]] || { echo "bench: no free port for the scratch PostgreSQL" >&2; exit 3; }
psql_base=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U cutover)
[[ "$("${psql_base[@]}" -d postgres -Atc 'SHOW data_directory')" == "$work/pg" ]] ||
  { echo "bench: port $port answered, but not as our server" >&2; exit 3; }
"${psql_base[@]}" -d postgres -c 'CREATE DATABASE telemetry'
url="postgresql://cutover@127.0.0.1:$port/telemetry"
sql() { "${psql_base[@]}" -d telemetry -v start="$start" -v step="$step" \
  -v per_series="$per_series" -v devices="$devices" "$@"; }
echo "bench: scratch PostgreSQL on 127.0.0.1:$port ($work/pg); uptime: $(uptime)" >&2

# The tables as cutover creates them: `backfill --create-tables` of
# bench/telemetry_queries.yaml (examples/iotflow's telemetry_data, with the
# spec's indexes: device + time, and a BRIN on the time for a day across every
# device, whose rows arrive, and so lie, in time order), once plain and once
# range-partitioned by month with a DEFAULT partition, as `partition: { by:
# timestamp, every: 1 month }` asks, each with the daily rollup per device and
# measurement, kept by triggers while the points load. Its source is an export
# file with a header and no point.
[[ -x "$cutover" ]] || { echo "bench: no $cutover; build first (scripts/setup.sh) or set CUTOVER_BIN" >&2; exit 3; }
mkdir "$work/export"
printf 'Time,root.bench.devices.1.temperature(DOUBLE)\n' > "$work/export/dump0_0.csv"
DATABASE_URL="$url" BENCH_EXPORT="$work/export" "$cutover" backfill \
  "$root/bench/telemetry_queries.yaml" --create-tables > "$work/create.log" 2>&1 ||
  { echo "bench: cutover could not create the tables:" >&2; cat "$work/create.log" >&2; exit 3; }
sql <<'EOF'
-- One partition per month from the first point's month to the last's, named
-- as cutover names them; the rows then need none of their own.
SELECT format('CREATE TABLE %I PARTITION OF telemetry_part FOR VALUES FROM (%L) TO (%L)',
              'telemetry_part_p' || to_char(m, 'YYYY_MM'), m, m + interval '1 month')
FROM generate_series(date_trunc('month', :'start'::timestamptz),
                     date_trunc('month', :'start'::timestamptz
                                         + make_interval(secs => :per_series::bigint * :step - 1)),
                     interval '1 month') AS m
\gexec
EOF

# Points in arrival order (time outermost: the lateral subquery, kept from
# being pulled up by OFFSET 0, runs once per time step), each series offset by
# a few seconds of its own. Values are deterministic, so both tables get the
# same rows; status is text, the rest numeric, every value again as jsonb.
load() {
  local table="$1" t0 t1
  t0=$(date +%s%N)
  sql -v table="$table" <<'EOF'
-- The scratch cluster commits asynchronously; until the commit record is
-- flushed, VACUUM can neither set hint bits nor mark pages all-visible, and
-- the first queries would do it instead (dirtying and writing pages).
SET synchronous_commit = on;
INSERT INTO :"table" (device_id, measurement_name, "timestamp", numeric_value, text_value,
                      boolean_value, json_value)
SELECT s.device_id, s.measurement_name, s.ts, s.num, s.txt, NULL,
       CASE WHEN s.txt IS NULL THEN to_jsonb(s.num) ELSE to_jsonb(s.txt) END
FROM generate_series(0::bigint, :per_series - 1) AS i
CROSS JOIN LATERAL (
  SELECT d AS device_id, m.name AS measurement_name,
         :'start'::timestamptz + make_interval(secs => i * :step + (d * 37 + m.k * 11) % :step) AS ts,
         CASE m.k
           WHEN 1 THEN 20 + 8 * sin(2 * pi() * i * :step / 86400 + d) + n
           WHEN 2 THEN 55 + 15 * sin(2 * pi() * i * :step / 86400 + d + 2) + 2 * n
           WHEN 3 THEN 1013 + 5 * n
           WHEN 4 THEN 3.0 + 0.3 * n
         END AS num,
         CASE WHEN m.k = 5 THEN CASE WHEN n > 0.98 THEN 'warn' ELSE 'ok' END END AS txt
  FROM generate_series(1, :devices) AS d
  CROSS JOIN (VALUES (1, 'temperature'), (2, 'humidity'), (3, 'pressure'), (4, 'voltage'),
                     (5, 'status')) AS m(k, name)
  CROSS JOIN LATERAL (SELECT ((d * 7919 + i * 104729 + m.k * 31) % 1000) / 1000.0 AS n) AS noise
  WHERE i >= 0
  OFFSET 0
) AS s;
EOF
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
maintain() {
  local table="$1" t0 t1
  t0=$(date +%s%N)
  sql -c "ANALYZE $table" -c "VACUUM $table" -c "VACUUM ANALYZE ${table}_daily"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000))
}
echo "bench: loading $points points ($series series x $per_series, one every $step s) into telemetry_plain" >&2
load_plain_ms=$(load telemetry_plain)
vacuum_plain_ms=$(maintain telemetry_plain)
echo "bench: loaded in $((load_plain_ms / 1000)) s; now telemetry_part" >&2
load_part_ms=$(load telemetry_part)
vacuum_part_ms=$(maintain telemetry_part)
echo "bench: loaded in $((load_part_ms / 1000)) s; checkpoint, then queries" >&2
sql -c CHECKPOINT

$py "$root/bench/telemetry_queries.py" $json --url "$url" --seed "$seed" \
  --points "$points" --devices "$devices" --per-series "$per_series" --step "$step" --start "$start" \
  --q1-runs "$q1_runs" --q2-runs "$q2_runs" \
  --load-ms "$load_plain_ms,$load_part_ms" --vacuum-ms "$vacuum_plain_ms,$vacuum_part_ms"
echo "bench: uptime after: $(uptime)" >&2
