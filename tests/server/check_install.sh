#!/bin/sh
# check_install.sh BUILD_DIR - `cmake --install` into a temporary prefix puts
# both binaries, the man page, the example configuration, the systemd unit
# (under lib/systemd/system) and the sysusers.d entry where they belong.
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/usr" >"$tmp/log" 2>&1 || {
    cat "$tmp/log"; exit 1; }
status=0
for f in bin/sync-server bin/field-client share/man/man8/sync-server.8 \
         share/man/man1/field-client.1 \
         share/doc/fieldsync/examples/sync-server.conf.example \
         lib/systemd/system/sync-server.service lib/sysusers.d/fieldsync.conf; do
    if [ ! -e "$tmp/usr/$f" ]; then
        echo "missing after install: $f"; status=1
    fi
done
# The installed unit starts the installed binary with the configuration.
grep -q "^ExecStart=$tmp/usr/bin/sync-server --config .*/fieldsync/sync-server.conf serve$" \
    "$tmp/usr/lib/systemd/system/sync-server.service" || {
    echo "the unit's ExecStart does not name the installed binary:"
    grep ExecStart "$tmp/usr/lib/systemd/system/sync-server.service"; status=1; }
[ $status -eq 0 ] && echo "ok: cmake --install puts every file in place"
exit $status
