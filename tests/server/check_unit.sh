#!/bin/sh
# check_unit.sh UNIT MANPAGE - `systemd-analyze verify` accepts the unit.
# The unit's Documentation=man:sync-server(8) is looked up with man, so the
# page is put on a temporary MANPATH. Skips (exit 77, with a message) where
# systemd-analyze is not installed.
set -eu
unit=$1 page=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "skipped: systemd-analyze is not installed (no systemd here)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/man/man8"
cp "$page" "$tmp/man/man8/"
if ! out=$(MANPATH="$tmp/man" systemd-analyze verify "$unit" 2>&1); then
    echo "systemd-analyze verify $unit failed:"; echo "$out"; exit 1
fi
if [ -n "$out" ]; then
    echo "systemd-analyze verify $unit warns:"; echo "$out"; exit 1
fi
echo "ok: systemd-analyze verify accepts $unit"
