#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) and runs each for a
# bounded time over a scratch copy of its committed corpus.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
# A crash leaves its input in build-fuzz/artifacts/: copy it into
# tests/fuzz/corpus/<target>/ so the normal suite replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
secs=${1:-60}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFS_FUZZ=ON >/dev/null
targets=$(sed -n 's/^set(FS_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
cmake --build build-fuzz -j "$(nproc 2>/dev/null || echo 2)" --target $targets -- --no-print-directory -s
mkdir -p build-fuzz/artifacts
for t in $targets; do
  scratch=build-fuzz/corpus-$t
  rm -rf "$scratch" && mkdir -p "$scratch" && cp tests/fuzz/corpus/$t/* "$scratch"/
  echo "== fuzzing $t for ${secs}s =="
  build-fuzz/tests/fuzz/$t -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/$t- "$scratch" 2>&1 |
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|Done|fuzz: )' || true
  if ls build-fuzz/artifacts/$t-* >/dev/null 2>&1; then
    echo "fuzz: $t found a crash: $(ls build-fuzz/artifacts/$t-*)" >&2
    exit 1
  fi
done
echo "fuzz: no crashes"
