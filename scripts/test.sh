#!/usr/bin/env bash
# The one command that sets up and runs the whole test suite, twice: a normal
# build and an AddressSanitizer + UndefinedBehaviorSanitizer build; then every
# libFuzzer target for a bounded time (FUZZ_SECONDS each, default 30; 0 skips).
# A throw-away PostgreSQL cluster (scripts/pg-cluster.sh) runs for the whole
# script: FS_TEST_PG names it to the tests that need PostgreSQL; without
# PostgreSQL installed those tests say SKIPPED and everything else still runs.
# Usage: scripts/test.sh   (CI sets CI=true, which turns warnings into errors)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON

passed=0
failed=0
run_suite() {  # $1 = build dir, $2 = sanitize ON/OFF
  local rc=0
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Debug -DFS_WERROR=$werror -DFS_SANITIZE="$2" >/dev/null
  cmake --build "$1" -j "$jobs" -- --no-print-directory -s
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$1" --output-on-failure -j "$jobs" | tee "$1/ctest.out" || rc=$?
  # "100% tests passed, 0 tests failed out of 17"
  local total fail
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$1/ctest.out" | tail -n 1)
  fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$1/ctest.out" | tail -n 1)
  passed=$((passed + ${total:-0} - ${fail:-0}))
  failed=$((failed + ${fail:-0}))
  [ "$rc" -eq 0 ] && [ -n "$total" ] || { echo "tests: $passed passed, $((failed > 0 ? failed : 1)) failed"; exit 1; }
}

# One cluster for both suites, stopped at exit whatever happens.
pg_dir=$(mktemp -d /tmp/fs-pg.XXXXXX)
trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
pg_rc=0
pg_env=$(scripts/pg-cluster.sh start "$pg_dir") || pg_rc=$?
if [ "$pg_rc" -eq 0 ]; then
  eval "$pg_env"
  echo "== PostgreSQL test cluster: $FS_TEST_PG =="
elif [ "$pg_rc" -eq 77 ]; then
  unset FS_TEST_PG
  echo "################################################################"
  echo "SKIPPED: PostgreSQL tests (not installed)"
  echo "################################################################"
else
  echo "tests: the PostgreSQL test cluster did not start (see above)"
  exit 1
fi

echo "== normal build =="
run_suite build-test OFF
echo "== address,undefined sanitizer build =="
run_suite build-asan ON
if [ "${FUZZ_SECONDS:-30}" != 0 ]; then
  echo "== libFuzzer targets, ${FUZZ_SECONDS:-30}s each =="
  scripts/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
[ "$pg_rc" -eq 77 ] && echo "SKIPPED: PostgreSQL tests (not installed)"
echo "tests: $passed passed, $failed failed"
