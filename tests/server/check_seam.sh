#!/bin/sh
# check_seam.sh - the repository seam of the sync server (docs/ARCHITECTURE.md,
# "Central store"): only the store implementation reaches the database, and
# only the SQL driver reaches a database client library.
#
# Fails when
#  - a server file other than the two drivers (fss_sql_sqlite.c,
#    fss_sql_pg.c) calls sqlite3_* / PQ* or includes sqlite3.h / libpq-fe.h;
#  - a server file other than the store implementation (fss_db.c,
#    fss_scope.c, fss_repo_*.c, fss_store.h) includes fss_store.h, fss_sql.h
#    or fs_store.h, or calls the driver (fss_prepare, fss_step);
#  - any server file builds JSON in SQL (json_group_array / json_object).
# Usage: check_seam.sh SERVER_DIR
set -eu
dir=${1:?usage: check_seam.sh SERVER_DIR}
bad=0
for f in "$dir"/*.c "$dir"/*.h; do
  base=$(basename "$f")
  case "$base" in
    fss_sql_sqlite.c|fss_sql_pg.c) ;;
    *)
      if grep -nE '\bsqlite3_[a-z_]+|\bPQ[a-z]+\(|#include[[:space:]]*[<"](sqlite3\.h|libpq-fe\.h)[>"]' "$f"; then
        echo "check_seam: $base reaches a database library outside the SQL driver (fss_sql.h)" >&2
        bad=1
      fi ;;
  esac
  case "$base" in
    fss_db.c|fss_scope.c|fss_store.h|fss_repo_*.c|fss_sql*.c|fss_sql*.h) ;;
    *)
      if grep -nE '\bfss_(prepare|step)\(|#include[[:space:]]*[<"](fss_store\.h|fss_sql\.h|fs_store\.h)[>"]' "$f"; then
        echo "check_seam: $base reaches the store outside the repository (fss_repo.h)" >&2
        bad=1
      fi ;;
  esac
  if grep -nE 'json_group_array|json_object[[:space:]]*\(' "$f"; then
    echo "check_seam: $base builds JSON in SQL (return rows, write JSON in C)" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "check_seam: the database only behind fss_repo.h and the SQL driver, no JSON in SQL"
exit "$bad"
