#!/bin/sh
# The throw-away PostgreSQL cluster answers (scripts/pg-cluster.sh, started by
# scripts/test.sh): with FS_TEST_PG set, psql connects through it, creates a
# fresh database, writes and reads a row in it and drops it again (what the
# PostgreSQL tests do per run). Without FS_TEST_PG: SKIPPED, loudly (exit 77).
if [ -z "${FS_TEST_PG:-}" ]; then
  echo "SKIPPED: PostgreSQL tests (FS_TEST_PG not set; scripts/test.sh starts a cluster)"
  exit 77
fi
command -v psql >/dev/null || { echo "FAIL: FS_TEST_PG is set but psql is not installed"; exit 1; }
set -e
db="fs_check_$$"
v=$(psql "$FS_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "SELECT 40 + 2")
[ "$v" = 42 ] || { echo "FAIL: the cluster answered '$v' to SELECT 40 + 2"; exit 1; }
psql "$FS_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db"
v=$(psql "$FS_TEST_PG dbname=$db" -XAtq -v ON_ERROR_STOP=1 \
      -c "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)" \
      -c "INSERT INTO t(k, v) VALUES(1, 'über') ON CONFLICT(k) DO NOTHING" \
      -c "SELECT v FROM t WHERE k = 1")
psql "$FS_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "DROP DATABASE $db"
[ "$v" = "über" ] || { echo "FAIL: read back '$v' instead of 'über'"; exit 1; }
# Tests must not reach it over TCP: the cluster listens on its socket only.
v=$(psql "$FS_TEST_PG" -XAtq -c "SHOW listen_addresses")
[ -z "$v" ] || { echo "FAIL: the test cluster listens on TCP ($v)"; exit 1; }
echo "ok: PostgreSQL test cluster answers at '$FS_TEST_PG'"
