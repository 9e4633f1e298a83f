#!/bin/sh
# check_users_cli.sh SYNC_SERVER - the account subcommands as an operator
# runs them: user-add reads the password twice from standard input (two
# different lines change nothing, exit 2), users lists roles and
# territories, the store holds an Argon2id hash and never the password,
# passwd and user-disable work on the named account, unknown names and bad
# roles exit 2, and the audit log names the CLI as the actor.
set -eu
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db="$tmp/t.db"
fail() { echo "check_users_cli: $*" >&2; exit 1; }

"$bin" --db "$db" territory-add north >/dev/null
printf 'pass-word-1\npass-word-1\n' | "$bin" --db "$db" user-add mia --role manager \
    --territory north >"$tmp/out" || fail "user-add mia failed"
grep -q "added manager mia" "$tmp/out" || fail "no confirmation: $(cat "$tmp/out")"

# Two different lines: refused, nothing added.
rc=0
printf 'pass-word-1\npass-word-2\n' | "$bin" --db "$db" user-add ned --role admin \
    2>"$tmp/err" || rc=$?
[ "$rc" = 2 ] || fail "mismatched passwords exit $rc, want 2"
grep -q "differ" "$tmp/err" || fail "no reason: $(cat "$tmp/err")"
# One line only: refused.
rc=0
printf 'pass-word-1\n' | "$bin" --db "$db" user-add ned --role admin 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "one password line exit $rc, want 2"
# Bad role, unknown territory, no territory for a viewer.
for args in "--role root" "--role viewer --territory nowhere" "--role viewer"; do
    rc=0
    # shellcheck disable=SC2086
    printf 'pass-word-1\npass-word-1\n' | "$bin" --db "$db" user-add ned $args \
        2>/dev/null || rc=$?
    [ "$rc" = 2 ] || fail "user-add ned $args exit $rc, want 2"
done

"$bin" --db "$db" users >"$tmp/users"
grep -q '"name":"mia","role":"manager"' "$tmp/users" || fail "users: $(cat "$tmp/users")"
grep -q '"territories":\["north"\]' "$tmp/users" || fail "users: $(cat "$tmp/users")"
grep -q '"ned"' "$tmp/users" && fail "ned was added by a refused call"

# The store keeps an Argon2id hash, never the password itself.
grep -q 'pass-word-1' "$db" && fail "the password is in the store in clear"
grep -q 'argon2id' "$db" || fail "no Argon2id hash in the store"

printf 'pass-word-9\npass-word-9\n' | "$bin" --db "$db" passwd mia >/dev/null ||
    fail "passwd mia failed"
rc=0
printf 'pass-word-9\npass-word-9\n' | "$bin" --db "$db" passwd nobody 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "passwd nobody exit $rc, want 2"
"$bin" --db "$db" user-disable mia >/dev/null || fail "user-disable failed"
"$bin" --db "$db" users | grep -q '"name":"mia","role":"manager","disabled":true' ||
    fail "mia not disabled"
"$bin" --db "$db" --json user-disable mia --enable | grep -q '"ok":true' ||
    fail "user-disable --enable --json"
# Usage errors exit 2 before anything opens.
rc=0
"$bin" --db "$db" user-add 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "user-add without NAME exit $rc, want 2"
echo "check_users_cli: ok"
