#!/usr/bin/env bash
# bench/run.sh - fieldsync's benchmarks in one command (issue #7).
#
# Installs what the build needs (scripts/setup.sh), builds the benches in
# Release mode in build-bench/, runs every command of bench/benches.list
# BENCH_REPS times (interleaved: rep 1 of every bench, then rep 2, ...),
# aggregates the BENCH lines they print (bench/bench_report.h) into median
# and spread with bench/aggregate.awk, prints the table and writes it with
# the date, commit and machine facts to docs/BENCHMARKS.md. Everything below
# the marker line of docs/BENCHMARKS.md is written by hand and kept.
#
# Usage: bench/run.sh [--quick]
#   --quick          one repetition at small sizes, a smoke run; writes
#                    build-bench/BENCHMARKS-quick.md, never docs/
#   BENCH_REPS=N     repetitions (default 5; 1 with --quick)
#   BENCH_BUILD=DIR  build directory (default build-bench)
#   BENCH_LIST=FILE  the benches to run (default bench/benches.list)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
marker='<!-- generated above, written by hand below -->'

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $a (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then reps=${BENCH_REPS:-1}; else reps=${BENCH_REPS:-5}; fi
case "$reps" in ''|*[!0-9]*|0) echo "run.sh: BENCH_REPS must be a positive integer" >&2; exit 2 ;; esac
build=${BENCH_BUILD:-$root/build-bench}
list=${BENCH_LIST:-$root/bench/benches.list}
if [ "$quick" = 1 ]; then out_md=$build/BENCHMARKS-quick.md; else out_md=$root/docs/BENCHMARKS.md; fi

# The commit is read before anything is built or written, so "dirty" means
# the sources measured differ from it (the generated doc itself excepted).
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- . ':!docs/BENCHMARKS.md' 2>/dev/null | head -1 || true)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
t_start=$(date +%s)

"$root/scripts/setup.sh"

mkdir -p "$build"
gen=()
[ -f "$build/CMakeCache.txt" ] || gen=(-G "Unix Makefiles")
echo "run.sh: building Release in $build" >&2
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DFS_SANITIZE=OFF -DFS_FUZZ=OFF >"$build/bench-build.log" 2>&1 ||
  { tail -20 "$build/bench-build.log" >&2; exit 1; }
# Only the benches and what they link (bench/ and its subfolders).
make -C "$build/bench" -j"$(nproc)" >>"$build/bench-build.log" 2>&1 ||
  { tail -30 "$build/bench-build.log" >&2; exit 1; }

# The plain list: skip comments and blank lines.
cmds=()
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  [ -n "${line//[[:space:]]/}" ] && cmds+=("$line")
done <"$list"

results=$build/bench-results.txt
log=$build/bench-log.txt
: >"$results"
: >"$log"
notes=()
for cmd in "${cmds[@]}"; do
  read -r -a words <<<"$cmd"
  [ "${words[0]}" = pg ] && words=("${words[@]:1}")
  if [ ! -x "$build/${words[0]}" ]; then
    notes+=("skipped \`$cmd\`: $build/${words[0]} was not built")
    echo "run.sh: skipping $cmd (not built)" >&2
  fi
done

# PostgreSQL benches (a benches.list line starting with `pg`): one
# throw-away cluster for the whole run (scripts/pg-cluster.sh), a fresh
# database per launch, its connection string in place of @PG and in
# FS_TEST_PG. Without PostgreSQL those lines are SKIPPED, said in the notes.
pg_dir=""
pg_state=none
pg_ndb=0
pg_stop() { [ -n "$pg_dir" ] && "$root/scripts/pg-cluster.sh" stop "$pg_dir" >/dev/null 2>&1 || true; }
trap pg_stop EXIT
pg_start() {
  [ "$pg_state" = none ] || return 0
  pg_dir=$(mktemp -d /tmp/fs-bench-pg.XXXXXX)
  local env_line rc=0
  env_line=$("$root/scripts/pg-cluster.sh" start "$pg_dir" 2>>"$log") || rc=$?
  if [ "$rc" = 0 ]; then
    eval "$env_line"
    pg_state=up
  else
    rmdir "$pg_dir" 2>/dev/null || true
    pg_dir=""
    pg_state=absent
    if [ "$rc" = 77 ]; then
      notes+=("SKIPPED: the PostgreSQL benches (PostgreSQL's server is not installed)")
    else
      notes+=("SKIPPED: the PostgreSQL benches (the throw-away cluster did not start; see $log)")
    fi
    echo "run.sh: SKIPPED: PostgreSQL benches (no cluster)" >&2
  fi
}
# A fresh database fsbench_N on the cluster; its connection string on
# stdout. N is counted by the caller (this runs in a command substitution).
pg_newdb() {
  local name="fsbench_$1"
  psql "$FS_TEST_PG" -qAt -c "CREATE DATABASE $name" >/dev/null 2>>"$log" || return 1
  echo "${FS_TEST_PG/dbname=postgres/dbname=$name}"
}

extra=()
[ "$quick" = 1 ] && extra=(--quick)
failed=0
for ((rep = 1; rep <= reps; rep++)); do
  for cmd in "${cmds[@]}"; do
    read -r -a words <<<"$cmd"
    if [ "${words[0]}" = pg ]; then
      words=("${words[@]:1}")
      [ -x "$build/${words[0]}" ] || continue
      pg_start
      [ "$pg_state" = up ] || continue
      if [[ "$cmd" == *@PG* ]]; then
        pg_ndb=$((pg_ndb + 1))
        if ! conn=$(pg_newdb "$pg_ndb"); then
          failed=1
          notes+=("\`$cmd\`: could not create database fsbench_$pg_ndb in rep $rep")
          continue
        fi
        words=("${words[@]//@PG/$conn}")
      fi
    fi
    exe=$build/${words[0]}
    [ -x "$exe" ] || continue
    t0=$(date +%s)
    echo "run.sh: rep $rep/$reps: $cmd ${extra[*]}" >&2
    echo "## rep $rep: $cmd ${extra[*]}" >>"$log"
    out=$build/bench-out.txt
    if (cd "$build" && "$exe" "${words[@]:1}" "${extra[@]}") >"$out" 2>>"$log"; then
      grep '^BENCH ' "$out" >>"$results" || true
      grep '^BENCH ' "$out" | sed 's/^/    /' >&2 || true
    else
      rc=$?
      failed=1
      notes+=("\`$cmd\` failed (exit $rc) in rep $rep; its lines of that rep are left out")
      echo "run.sh: $cmd failed (exit $rc); see $log" >&2
      tail -5 "$log" >&2
    fi
    echo "run.sh:   $(( $(date +%s) - t0 )) s" >&2
  done
done

if ! grep -q '^BENCH ' "$results"; then
  echo "run.sh: no results" >&2
  exit 1
fi
table=$(awk -f "$root/bench/aggregate.awk" "$results")
elapsed=$(( $(date +%s) - t_start ))

# Machine facts.
cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^[^:]*: *//' || true)
[ -n "$cpu" ] || cpu=$(uname -m)
cores=$(nproc)
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo "?")
kernel=$(uname -sr)
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt" | head -1)
ccver=$("${cc:-cc}" --version 2>/dev/null | head -1 || echo "?")
sqlite=$(pkg-config --modversion sqlite3 2>/dev/null || sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo "?")
if [ "$quick" = 1 ]; then command="bench/run.sh --quick"; else command="bench/run.sh"; fi
[ -n "${BENCH_REPS:-}" ] && command="BENCH_REPS=$reps $command"

hand=""
if [ -f "$root/docs/BENCHMARKS.md" ] && grep -qxF "$marker" "$root/docs/BENCHMARKS.md"; then
  hand=$(awk -v m="$marker" 'f { print } $0 == m { f = 1 }' "$root/docs/BENCHMARKS.md")
fi
[ "$quick" = 1 ] && hand=""

tmp=$out_md.tmp
{
  echo "# Benchmarks"
  echo
  echo "Generated by \`$command\`; do not edit above the marker line, run the"
  echo "command again. Every figure is the median of $reps process launch(es); each"
  echo "launch measures its own baseline, so every ratio compares two numbers"
  echo "taken in the same process, minutes apart at most."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $started |"
  if [ -n "$dirty" ]; then
    echo "| commit | \`$commit\` plus uncommitted changes |"
  else
    echo "| commit | \`$commit\` |"
  fi
  echo "| command | \`$command\` ($reps repetition(s), $elapsed s) |"
  echo "| CPU | $cpu, $cores cores |"
  echo "| RAM | $ram |"
  echo "| kernel | $kernel |"
  echo "| compiler | $ccver, CMAKE_BUILD_TYPE=Release |"
  echo "| SQLite | $sqlite |"
  echo "| load average at start | $load_start |"
  echo
  echo "$table"
  if [ ${#notes[@]} -gt 0 ]; then
    echo
    for n in "${notes[@]}"; do echo "- $n"; done
  fi
  echo
  echo "$marker"
  if [ -n "$hand" ]; then
    echo "$hand"
  else
    echo
    echo "(Nothing written by hand yet.)"
  fi
} >"$tmp"
mv "$tmp" "$out_md"

echo >&2
echo "$table"
[ ${#notes[@]} -gt 0 ] && printf -- '- %s\n' "${notes[@]}"
echo "run.sh: wrote $out_md ($elapsed s)" >&2
exit "$failed"
