#!/usr/bin/env bash
# bench/web/dashboard_bench.sh [--size S|M|L] [--keep DIR]
# How fast the dashboard's pages show their data on a synthetic data set (default M: 100k
# customers, ~1M orders, ~20k subscriptions, no events): imports it into SQLite, fits the
# prediction models, starts a loyalty program over the history, creates a dashboard user,
# serves it with the release build and runs test/e2e/dashboard_test.mjs against it in
# headless Chromium — the full test, so the pages are also checked on this data — and prints
# the time from navigation to each page's data. Needs the release build and `npm ci` in
# test/e2e (scripts/test does both).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=M
keep=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--size S|M|L] [--keep DIR]" >&2; exit 2 ;;
  esac
done
treu=build/release/treu
synth=build/release/bench/synth/treu_synth
[[ -x $treu && -x $synth ]] || { echo "build the release preset first" >&2; exit 1; }
[[ -d test/e2e/node_modules ]] || (cd test/e2e && npm ci --no-audit --no-fund --loglevel=error)

dir=${keep:-$(mktemp -d)}
mkdir -p "$dir"
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [[ -z $keep ]] && rm -rf "$dir"
  return 0
}
trap cleanup EXIT

db="sqlite:$dir/dashboard.db"
t=(env TREU_SECRET_FILE="$dir/treu.secret" "$treu" --db "$db" --workspace demo)
echo "== data set $size into $db"
"$synth" --size "$size" --out "$dir/data" --no-events >/dev/null
"${t[@]}" --currency EUR --timezone Europe/Berlin import customers "$dir/data/customers.csv" | tail -1
"${t[@]}" import orders "$dir/data/orders.csv" | tail -1
"${t[@]}" import subscriptions "$dir/data/subscriptions.csv" | tail -1
echo "== fitting the prediction models"
/usr/bin/time -f "   fit all: %e s, peak %M KiB" "${t[@]}" fit all >/dev/null
echo "== a loyalty program over the whole history"
cat > "$dir/program.json" <<'JSON'
{"name": "Friends of the shop", "starts_at": "2000-01-01T00:00:00Z",
 "rules": [{"id": "spend", "kind": "spend", "points_per_unit": 1}],
 "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 1000},
           {"name": "gold", "threshold": 5000}],
 "tier_window_days": 365, "expiry_days": 0}
JSON
"${t[@]}" loyalty program "$dir/program.json" >/dev/null
/usr/bin/time -f "   loyalty process: %e s" "${t[@]}" loyalty process >/dev/null
password="bench-$(head -c 9 /dev/urandom | base64 | tr -d '/+')"
printf '%s\n' "$password" | "${t[@]}" user create bench@treu.local --role admin --password-stdin >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${t[@]}" serve --listen "127.0.0.1:$port" --no-access-log >"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done

echo "== dashboard in headless Chromium (screenshots in $dir/shots)"
TREU_DEMO_EMAIL=bench@treu.local TREU_DEMO_PASSWORD=$password TREU_DB=$db TREU_BIN=$PWD/$treu \
  TREU_SECRET_FILE="$dir/treu.secret" TREU_ARTIFACTS="$dir/shots" \
  node test/e2e/dashboard_test.mjs "http://127.0.0.1:$port" | tee "$dir/e2e.log" |
  grep -E '^# (page|[a-z-]+ +[0-9]+$)|^(not )?ok ' || true
grep -q '^# fail 0' "$dir/e2e.log"
