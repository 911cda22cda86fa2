#!/usr/bin/env bash
# Installs what cutover needs on a Debian machine and builds it.
# Sourced by demo.sh and test.sh; safe to run again (each step skips what is done).
# CUTOVER_SETUP_BUILD=0 installs only; the caller then runs build_cutover itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${CUTOVER_BUILD_DIR:-$root/build}"
build_type="${CUTOVER_BUILD_TYPE:-Release}"

debian_packages=(
  build-essential cmake pkg-config git ca-certificates time clang-format ccache
  libpq-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libxxhash-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-15-postgis-3 postgresql-client-15
  # Redis: the adapter links hiredis, and OpenSSL for rediss:// (hiredis 0.14 has no TLS);
  # tests, the threadr demo and benches start redis-server; the TLS test makes its
  # certificates with the openssl command.
  libhiredis-dev libssl-dev openssl redis-server
  # The cutover binary's allocator (CMakeLists.txt, CUTOVER_JEMALLOC).
  libjemalloc-dev
  python3 npm prometheus
)

install_debian_packages() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    if [[ "$p" == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# DuckDB's header and shared library come from two npm packages, pinned in
# duckdb.lock by version and tarball sha256, unpacked into third_party/duckdb.
install_duckdb() {
  local dest="$root/third_party/duckdb" lock="$root/scripts/duckdb.lock"
  local stamp="$dest/.lock-sha256"
  local want
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dest/lib/libduckdb.so" ]]; then
    return 0
  fi
  echo "setup: fetching DuckDB from npm (pinned in scripts/duckdb.lock)"
  local tmp
  tmp="$(mktemp -d)"
  rm -rf "$dest" && mkdir -p "$dest/include" "$dest/lib"
  while read -r name version sha; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>&1) ||
      { echo "setup: npm pack $name@$version failed" >&2; return 1; }
    local tgz
    tgz="$(ls -t "$tmp"/*.tgz | head -n1)"
    local got
    got="$(sha256sum "$tgz" | cut -d' ' -f1)"
    if [[ "$got" != "$sha" ]]; then
      echo "setup: checksum mismatch for $name@$version: expected $sha, got $got" >&2
      return 1
    fi
    mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x"
    if [[ -f "$tmp/x/package/src/duckdb/src/include/duckdb.h" ]]; then
      cp "$tmp/x/package/src/duckdb/src/include/duckdb.h" "$dest/include/"
    fi
    if [[ -f "$tmp/x/package/libduckdb.so" ]]; then
      cp "$tmp/x/package/libduckdb.so" "$dest/lib/"
    fi
    rm -rf "$tmp/x" "$tgz"
  done <"$lock"
  rm -rf "$tmp"
  [[ -f "$dest/include/duckdb.h" && -f "$dest/lib/libduckdb.so" ]] ||
    { echo "setup: DuckDB packages did not contain duckdb.h and libduckdb.so" >&2; return 1; }
  echo "$want" >"$stamp"
}

# build_cutover [DIR TYPE [CMAKE_ARGS...]]: configures and builds one build
# directory; with no arguments, $build_dir as $build_type.
# Compiles go through ccache (CUTOVER_CCACHE=0 turns it off). Paths under the
# checkout are hashed relative to it, and the build passes no absolute path
# of its own into a compile (tests/CMakeLists.txt), so a second checkout of
# the same sources (a fresh clone, CI's) compiles from the cache.
build_cutover() {
  local dir="${1:-$build_dir}" type="${2:-$build_type}"
  (($# >= 2)) && shift 2 || set --
  local cache_args=()
  if [[ "${CUTOVER_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null 2>&1; then
    export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
    cache_args=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  else
    cache_args=(-UCMAKE_CXX_COMPILER_LAUNCHER -UCMAKE_C_COMPILER_LAUNCHER)
  fi
  # shellcheck disable=SC2086  # CUTOVER_CMAKE_ARGS is a word list
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "${cache_args[@]}" "$@" \
    ${CUTOVER_CMAKE_ARGS:-} >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

install_debian_packages
install_duckdb
if [[ "${CUTOVER_SETUP_BUILD:-1}" != 0 ]]; then
  build_cutover
fi
