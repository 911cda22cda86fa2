#!/usr/bin/env bash
# Runs the test suite as CI does: set-up, a format check, then every test, against
# real PostgreSQL clusters the tests start on loopback, in two builds.
#
#   1. format:   every tracked *.cc and *.h as clang-format (the repo's .clang-format) writes it
#   2. release:  build/ (Release, -Werror), then ctest
#   3. sanitize: build-asan/ (Debug at -O1, ASan+UBSan, no benchmarks), then ctest with
#                leak detection on and undefined behaviour fatal
#
# Arguments go to both ctest runs: `scripts/test.sh -R differential` runs a subset.
# CUTOVER_SKIP_FORMAT=1 and CUTOVER_SKIP_SANITIZE=1 skip a stage while developing;
# the default, which .ci/run uses, runs all three.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CUTOVER_SETUP_BUILD=0 source "$root/scripts/setup.sh"
cd "$root"

# Each stage line says when it starts, the seconds since the script began, and
# the load average, so a slow CI run shows which stage took the time.
stage() {
  echo "test: == $* (at ${SECONDS}s, $(date -u +%H:%M:%S), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg))"
}

if [[ "${CUTOVER_SKIP_FORMAT:-0}" != 1 ]]; then
  stage "format check: $(clang-format --version)"
  if ! git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run --Werror; then
    echo "test: files above differ from clang-format's output; fix with:" >&2
    echo "  git ls-files '*.cc' '*.h' | xargs clang-format -i" >&2
    exit 1
  fi
fi

stage "release build (-Werror) in $build_dir"
build_cutover "$build_dir" "$build_type" -DCUTOVER_WERROR=ON
stage "release tests"
(cd "$build_dir" && ctest --output-on-failure -j 2 "$@")

if [[ "${CUTOVER_SKIP_SANITIZE:-0}" != 1 ]]; then
  asan_dir="${CUTOVER_ASAN_BUILD_DIR:-$root/build-asan}"
  # -O1: the sanitizers' own docs advise it for speed; -g1 keeps line numbers in
  # reports at a fraction of the link time of full debug info.
  stage "sanitizer build (ASan+UBSan) in $asan_dir"
  build_cutover "$asan_dir" Debug -DCUTOVER_WERROR=ON -DCUTOVER_SANITIZE=ON \
    -DCUTOVER_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1"
  stage "sanitizer tests"
  (
    cd "$asan_dir"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:${UBSAN_OPTIONS:-}"
    # The differential test's seeds: the release run checks 20 against their
    # oracles; here, where each costs three times as much, 5 others, so the
    # sanitizers see every fault kind and the two runs cover 25 seeds.
    export CUTOVER_DIFF_SEEDS="${CUTOVER_DIFF_SEEDS:-5}" CUTOVER_DIFF_FIRST_SEED="${CUTOVER_DIFF_FIRST_SEED:-1000}"
    ctest --output-on-failure -j 2 "$@"
  )
fi
stage "done"
