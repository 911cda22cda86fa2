# Sourced by the Redis benches: start_scratch_redis DIR starts a redis-server
# on a free loopback port with no persistence, its files in DIR, and sets
# `port` and `redis_pid` (the caller stops it with kill "$redis_pid").
start_scratch_redis() {
  local dir="$1"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
    --loglevel warning > "$dir/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench: redis-server did not start:" >&2
  cat "$dir/redis.log" >&2
  return 3
}
