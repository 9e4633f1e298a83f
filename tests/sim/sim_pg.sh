#!/bin/sh
# The simulation with several sync-server processes on PostgreSQL (issue 18):
#   sim_pg.sh SIM_BIN SERVER_BIN SEEDS [fieldsync_sim options...]
# Needs the throw-away cluster of scripts/test.sh (FS_TEST_PG, e.g.
# "host=/tmp/fs-pg.X user=postgres dbname=postgres"). Each seed gets a fresh
# database fs_sim_<pid>_<seed>, created (and migrated) here and dropped
# afterwards; the sim passes "postgresql:///fs_sim_<pid>_{seed}" to every
# server process as --store, with the cluster's socket and user in PGHOST
# and PGUSER. Exit 77 (ctest: skipped) with a loud SKIPPED line when there
# is no cluster or the server has no --store.
sim=$1 server=$2 seeds=$3
shift 3
if [ -z "${FS_TEST_PG:-}" ]; then
  echo "SKIPPED: PostgreSQL simulation (FS_TEST_PG not set; scripts/test.sh starts a cluster)"
  exit 77
fi
if ! "$server" --help 2>&1 | grep -q -- '--store'; then
  echo "SKIPPED: PostgreSQL simulation (this sync-server has no --store option)"
  exit 77
fi
command -v psql >/dev/null || { echo "FAIL: FS_TEST_PG is set but psql is not installed"; exit 1; }
host=$(printf '%s\n' "$FS_TEST_PG" | sed -n 's/.*host=\([^ ]*\).*/\1/p')
user=$(printf '%s\n' "$FS_TEST_PG" | sed -n 's/.*user=\([^ ]*\).*/\1/p')
[ -n "$host" ] || { echo "FAIL: no host= in FS_TEST_PG ($FS_TEST_PG)"; exit 1; }
export PGHOST="$host" PGUSER="${user:-postgres}"
prefix="fs_sim_$$_"

# "A-B" or "S,S,..." -> one seed a line
list=$(printf '%s\n' "$seeds" | tr ',' '\n' | while IFS=- read -r a b; do
  seq "$a" "${b:-$a}"; done)
cleanup() {
  for s in $list; do
    psql "$FS_TEST_PG" -XAtq -c "DROP DATABASE IF EXISTS $prefix$s" >/dev/null 2>&1
  done
}
trap cleanup EXIT
for s in $list; do
  psql "$FS_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $prefix$s" ||
    { echo "FAIL: cannot create database $prefix$s"; exit 1; }
  "$server" --store "postgresql:///$prefix$s" migrate >/dev/null ||
    { echo "FAIL: sync-server --store postgresql:///$prefix$s migrate"; exit 1; }
done
"$sim" --seeds "$seeds" --store "postgresql:///$prefix{seed}" "$@"
