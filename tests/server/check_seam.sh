#!/bin/sh
# check_seam.sh - the repository seam of the sync server (docs/ARCHITECTURE.md,
# "Central store"): only the store implementation files may reach SQLite.
#
# Fails when a server file other than fss_db.c, fss_scope.c, fss_sqlite.h
# and fss_sqlite_*.c calls sqlite3_*, includes sqlite3.h, fss_sqlite.h or
# fs_store.h (which includes sqlite3.h), or when any server file builds JSON
# in SQL (json_group_array / json_object). Usage: check_seam.sh SERVER_DIR
set -eu
dir=${1:?usage: check_seam.sh SERVER_DIR}
bad=0
for f in "$dir"/*.c "$dir"/*.h; do
  base=$(basename "$f")
  case "$base" in
    fss_db.c|fss_scope.c|fss_sqlite.h|fss_sqlite_*.c) ;;
    *)
      if grep -nE 'sqlite3_[a-z_]+|#include[[:space:]]*[<"](sqlite3\.h|fss_sqlite\.h|fs_store\.h)[>"]' "$f"; then
        echo "check_seam: $base reaches SQLite outside the repository (fss_repo.h)" >&2
        bad=1
      fi ;;
  esac
  if grep -nE 'json_group_array|json_object[[:space:]]*\(' "$f"; then
    echo "check_seam: $base builds JSON in SQL (return rows, write JSON in C)" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "check_seam: SQLite only behind fss_repo.h, no JSON in SQL"
exit "$bad"
