# Sourced by the agriprofit benchmarks: bench_deps installs their Debian
# packages; agriprofit_data ROWS generates the data once and prints its spec.
bench_deps() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "bench: installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# bench/out/agriprofit-ROWS/{data/*.parquet,cutover.yaml}: the example's spec
# beside the data it names ("data/"), copied afresh so it follows the example.
agriprofit_data() {
  local rows="$1" dir="$root/bench/out/agriprofit-$1"
  if [[ ! -f "$dir/data/prices_1.parquet" ]]; then
    echo "bench: generating $rows agriprofit rows into $dir/data" >&2
    rm -rf "$dir/data.tmp" && mkdir -p "$dir/data.tmp"
    "$build_dir/tools/duckdb_sql" "$root/examples/agriprofit/generate.sql" \
      --set "ROWS=$rows" --set "OUT=$dir/data.tmp" >&2
    rm -rf "$dir/data" && mv "$dir/data.tmp" "$dir/data"
  fi
  rm -rf "$dir/.cutover"
  cp "$root/examples/agriprofit/cutover.yaml" "$dir/cutover.yaml"
  echo "$dir/cutover.yaml"
}
