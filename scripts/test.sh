#!/usr/bin/env bash
# The one command that sets up and runs the whole test suite, twice: a normal
# build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
# Usage: scripts/test.sh   (CI sets CI=true, which turns warnings into errors)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON

run_suite() {  # $1 = build dir, $2 = sanitize ON/OFF
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DFS_WERROR=$werror -DFS_SANITIZE="$2" >/dev/null
  cmake --build "$1" -j "$jobs" -- --no-print-directory -s
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$1" --output-on-failure -j "$jobs"
}

echo "== normal build =="
run_suite build OFF
echo "== address,undefined sanitizer build =="
run_suite build-asan ON
