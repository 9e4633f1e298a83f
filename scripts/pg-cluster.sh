#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: initdb in DIR, trust
# authentication, a Unix socket in DIR and no TCP port, fsync off (the data
# is thrown away). `start` prints the line to eval; `stop` stops the server
# and removes DIR.
#
#   eval "$(scripts/pg-cluster.sh start /tmp/fs-pg.XXXX)"   # sets FS_TEST_PG
#   trap 'scripts/pg-cluster.sh stop /tmp/fs-pg.XXXX' EXIT
#
# PostgreSQL refuses to run as root, so as root (CI) the cluster belongs to
# the `postgres` system user that Debian's package creates (runuser); as
# anyone else it belongs to the caller. Exit 77 when PostgreSQL's server
# binaries are not installed (the caller says SKIPPED), 1 on any other
# failure (with the server's log on stderr).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

# The newest installed server (Debian keeps each major version in its own
# folder and puts only the client tools on PATH).
bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
    bindir=$d
    break
  fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  bindir=$(dirname "$(command -v initdb)")
fi

as_owner() {  # runs "$@" as the cluster's owner, from / (its cwd may be private)
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

case "$cmd" in
start)
  if [ -z "$bindir" ]; then
    echo "pg-cluster: PostgreSQL server binaries (initdb, pg_ctl) not installed" >&2
    exit 77
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "pg-cluster: running as root but there is no 'postgres' user to own the cluster" >&2
    exit 1
  fi
  # A Unix socket path is limited to 107 bytes: DIR/.s.PGSQL.5432 must fit.
  if [ ${#dir} -gt 90 ]; then
    echo "pg-cluster: $dir is too long for a Unix socket path (keep it under 90 bytes)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
         --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    exit 1
  fi
  # No TCP at all (listen_addresses empty): the socket in DIR is the only
  # way in, so parallel runs and a system PostgreSQL never collide.
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
         -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
         start >/dev/null; then
    cat "$dir/server.log" >&2 || true
    exit 1
  fi
  echo "export FS_TEST_PG='host=$dir user=postgres dbname=postgres'"
  ;;
stop)
  if [ -n "$bindir" ] && [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # Only ever a folder this script made a cluster in.
  if [ -d "$dir/data" ] || [ -f "$dir/initdb.log" ]; then
    rm -rf "$dir"
  else
    rmdir "$dir" 2>/dev/null || true  # the caller's empty mktemp folder
  fi
  ;;
*) usage ;;
esac
