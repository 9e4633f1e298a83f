#!/usr/bin/env bash
# The main job, in one command: sets up, builds, starts the sync server on the
# embedded SQLite default with demo data, then plays two reps working offline
# on the same customer, syncing, and the back office reviewing the result.
# On a terminal the server keeps running afterwards (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p build
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
       cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target sync-server field-client; } \
     >build/demo-build.log 2>&1; then
  cat build/demo-build.log >&2
  echo "demo: build failed (log above, also in build/demo-build.log)" >&2
  exit 1
fi

S=$PWD/build/sync-server/sync-server
C=$PWD/build/field-client/field-client
D=$PWD/build/demo
rm -rf "$D" && mkdir -p "$D"
DB=$D/central.db

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ %s\n' "$*" | sed "s#$D/##g; s#$PWD/build/[a-z-]*/##g"; "$@"; }
alice() { run "$C" --db "$D/alice.db" "$@"; }
bob()   { run "$C" --db "$D/bob.db" "$@"; }
# The id of the first "id" in a --json answer.
first_id() { sed -n 's/.*"id":"\([0-9a-f-]\{36\}\)".*/\1/p' | head -n 1; }
json_id()  { "$C" --db "$D/$1.db" --json "${@:2}" | first_id; }

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid"; wait "$server_pid" || true
  fi
}
trap stop_server EXIT

say "Starting the sync server (SQLite store $DB)"
"$S" --db "$DB" --port "${FIELDSYNC_PORT:-0}" --log "$D/server.log" serve --demo \
  >"$D/server.out" 2>"$D/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$D/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q 'listening on' "$D/server.out" || { cat "$D/server.err" >&2; exit 1; }
sed '/demo json:/d' "$D/server.out"
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$D/server.out")
rep_field() { grep -o "\"id\":\"[^\"]*\",\"name\":\"$1[^}]*" "$D/server.out" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }
ALICE=$(rep_field Alice id); BOB=$(rep_field Bob id)
CODE_A=$(rep_field Alice enrollment_code); CODE_B=$(rep_field Bob enrollment_code)

say "Back office: Bob joins Alice's territory 'north', so they share customers"
run "$S" --db "$DB" rep-territory "$BOB" north

say "Both reps enroll their devices and take the first sync"
alice enroll "$URL" "$CODE_A" --name alice-laptop
bob enroll "$URL" "$CODE_B" --name bob-handheld
alice sync
bob sync
HILL=$(json_id alice customer search Hillside)
GREEN=$(json_id bob customer search Greenfield)

say "Customer value, computed by the server and read offline: grades, a churn warning, its task"
alice customer list --grade E
alice customer list --risk watch
alice customer show "$GREEN" | grep -E '^  (name|grade|core|rfm|risk|risk_reason) '
alice task list

say "Offline: both edit Hillside Orchards; Alice visits it and quotes"
alice customer edit "$HILL" phone="+44 161 555 0101"
bob customer edit "$HILL" phone="+44 161 555 0199" tags="organic,irrigation"
bob customer edit "$HILL" territory=south || echo "(refused locally, as it should be)"
V=$(json_id alice visit plan "$HILL")
alice visit checkin "$V" --lat 53.5003 --lon -2.2099 --accuracy 12
alice visit note "$V" "Orchard manager wants drip irrigation for two fields." --next-step "Send quote"
alice visit checkout "$V" --outcome "quote requested"
Q=$(json_id alice quote new "$HILL" EUR)
alice quote line-add "$Q" --sku IRR-220 --desc "Drip irrigation set" --qty 2 --price 459.00
alice quote line-add "$Q" --sku SEN-010 --desc "Soil moisture sensor" --qty 10 --price 39 --discount 5%
alice quote discount "$Q" 2.5%
alice quote send "$Q"
alice quote show "$Q"
K=$(json_id alice contract new "$Q" --envelope ENV-2026-0042)
alice quote line-add "$Q" --qty 100 --price 1000 ||
  echo "(refused locally: a sent quote is locked; quote revise makes a new draft)"
alice contract esign "$K" sent

say "Offline: Bob checks in at Greenfield Farms from 12 km away"
VB=$(json_id bob visit plan "$GREEN")
bob visit checkin "$VB" --lat 53.5900 --lon -2.2400 --accuracy 30
bob visit checkout "$VB" --outcome "left a brochure"

say "Offline: Bob opens a service ticket at Greenfield Farms"
TK=$(json_id bob ticket open "$GREEN" --kind complaint --subject "Irrigation pump failed twice" \
     --priority high --desc "Second failure this month; the farm manager is unhappy")
bob ticket list
bob ticket show "$TK" | grep -E '^  (status|kind|priority|subject) '

say "Alice syncs; Bob syncs and gets the contract"
alice sync
bob sync

say "Offline again: Bob records the customer completing the signature; Alice voids it"
bob contract esign "$K" signed
bob contract esign "$K" completed
alice contract esign "$K" voided
alice contract esign "$K" sent || echo "(refused locally: e-sign never goes back)"

say "Everyone syncs until nothing is left"
bob sync
alice sync
bob sync

say "Back office: the ticket Bob opened offline, worked and resolved"
run "$S" --db "$DB" tickets --territory north
run "$S" --db "$DB" ticket-update "$TK" --status in_progress --assignee "Dana (service desk)"
run "$S" --db "$DB" ticket-update "$TK" --status resolved --resolution "Pump replaced under warranty"
bob sync
alice sync

say "Bob sees the resolution; Alice, Greenfield's owner, gets the satisfaction task and records the answer"
bob ticket show "$TK" | grep -E '^  (status|assignee|resolution) '
alice task list
alice ticket rate "$TK" 4 --note "Fixed within a day; wants a spare pump quote"
alice ticket rate "$TK" 5 || echo "(refused locally: one score per ticket)"
alice sync
bob sync
run "$S" --db "$DB" satisfaction

say "Alice's replica after the merge"
alice customer show "$HILL"
alice contract show "$K"
alice status
say "Bob's status: the back office's open conflict involving his edit"
bob status

say "Back office: activity (visits per rep per day, with GPS verification)"
run "$S" --db "$DB" activity
say "Back office: pipeline"
run "$S" --db "$DB" pipeline
say "Back office: customer value (grades, Pareto share, movements) and who is at risk"
run "$S" --db "$DB" analyze
run "$S" --db "$DB" movements --territory north
run "$S" --db "$DB" at-risk
say "Back office: conflicts that need a human"
run "$S" --db "$DB" conflicts --status open
say "Back office: conflicts decided by rule (audit trail)"
run "$S" --db "$DB" conflicts --status auto

say "Convergence: each replica equals the server's export of its rep's scope"
for rep in alice bob; do
  id=$ALICE; [ $rep = bob ] && id=$BOB
  "$C" --db "$D/$rep.db" export >"$D/$rep.client.json"
  "$S" --db "$DB" export "$id" >"$D/$rep.server.json"
  if cmp -s "$D/$rep.client.json" "$D/$rep.server.json"; then
    echo "$rep: replica == server view ($(wc -c <"$D/$rep.client.json") bytes, cmp)"
  else
    echo "$rep: replica differs from the server view:" >&2
    diff "$D/$rep.client.json" "$D/$rep.server.json" | head -20 >&2
    exit 1
  fi
done

say "The console at $URL/ shows the same (its API, logged in as demo-admin)"
PW=$(sed -n 's/.*back-office login (made for this demo): demo-admin \/ \([^ ]*\)$/\1/p' "$D/server.out" | head -n 1)
JAR=$D/console.cookies
curl -sf -c "$JAR" -H 'Content-Type: application/json' \
  -d "{\"name\":\"demo-admin\",\"password\":\"$PW\"}" "$URL/admin/v1/login" >/dev/null
console_get() { curl -sf -b "$JAR" "$URL/admin/v1/$1"; }
ACT=$(console_get activity | /usr/bin/python3 -c 'import json,sys; print(sum(r.get("completed", 0) for r in json.load(sys.stdin)))')
PIPE=$(console_get 'pipeline?format=csv' | tail -n +2 | wc -l)
OPEN=$(console_get 'conflicts?status=open&limit=1' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
echo "  Activity: $ACT completed visit(s); Pipeline: $PIPE status line(s); Conflicts: $OPEN open"
if [ "$ACT" -lt 1 ] || [ "$PIPE" -lt 1 ] || [ "$OPEN" -lt 1 ]; then
  echo "the console would not show the demo's activity, pipeline and open conflict" >&2
  exit 1
fi

if [ -t 0 ]; then
  say "The server is still running: $URL (Ctrl-C to stop)"
  grep 'admin API' "$D/server.out" || true
  echo "  replicas: $D/alice.db $D/bob.db (field-client --db FILE --help)"
  wait "$server_pid" || true
else
  say "Demo done; stopping the server (SIGTERM)"
fi
