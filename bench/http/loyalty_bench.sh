#!/usr/bin/env bash
# Loyalty write throughput: wrk on loopback against `treu serve`, POSTing earn transfers
# (/api/v1/loyalty/customers/{id}/transfers, a new Idempotency-Key each, every transfer durable
# before its 201) spread over 1,000 customers, side by side with /v1/track (the tracking group
# commit: the same fsync per group) on the same server. Prints transfers/s, p99, the ratio to
# /v1/track, and checks the ledger afterwards (treu loyalty verify).
# Usage: bench/http/loyalty_bench.sh [--build DIR] [--seconds N] [--connections "N ..."] [--postgres]
# (--postgres runs under scripts/with-postgres against a throwaway PostgreSQL server.)
set -euo pipefail
build=build/release; secs=10; conn_list="16 64"; backend=sqlite
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --seconds) secs=$2; shift 2 ;;
    --connections) conn_list=$2; shift 2 ;; --postgres) backend=postgres; shift ;;
    *) echo "usage: $0 [--build DIR] [--seconds N] [--connections N] [--postgres]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/../.."
if [[ $backend == postgres && -z "${TREU_TEST_PG_URL:-}" ]]; then
  exec scripts/with-postgres "$0" --build "$build" --seconds "$secs" --connections "$conn_list" --postgres
fi
command -v wrk >/dev/null || { echo "needs wrk: apt-get install wrk" >&2; exit 2; }
treu=$(realpath "$build/treu")
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The server's signing secret lives with the run's other files, not in the checkout.
export TREU_SECRET_FILE="$work/treu.secret"
db="sqlite:$work/bench.db"
[[ $backend == postgres ]] && db=$TREU_TEST_PG_URL
ws=bench-$$
"$treu" --db "$db" workspace create "$ws" --currency EUR >/dev/null
T() { "$treu" --db "$db" --workspace "$ws" "$@"; }
{ echo customer_id; for i in $(seq 0 999); do echo "c-$i"; done; } > "$work/customers.csv"
T import customers "$work/customers.csv" >/dev/null
echo '{"tiers":[{"name":"basic","threshold":0},{"name":"silver","threshold":1000}],"expiry_days":365}' > "$work/program.json"
T loyalty program "$work/program.json" >/dev/null
export TREU_KEY=$(T key create --scope write | awk '{print $NF}')
tracking_key=$(T key create --scope tracking | awk '{print $NF}')
tport=$(port)
T serve --no-access-log --threads "${TREU_THREADS:-2}" --listen "127.0.0.1:$tport" 2>"$work/serve.err" >/dev/null & pids+=($!)
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$tport/healthz" >/dev/null && break; sleep 0.1; done

run() {  # run NAME SCRIPT KEY → "req/s p99 non2xx"
  RUN="$1" TREU_KEY="$3" wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$2" "http://127.0.0.1:$tport" > "$work/$1.txt"
  local rps p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  bad=$(awk '/Non-2xx/ {print $NF}' "$work/$1.txt")
  echo "$rps $p99 ${bad:-0}"
}
printf '\nloyalty earn transfers on %s, loopback, %s s per run, %s event loops, %s\n' "$backend" "$secs" "${TREU_THREADS:-2}" "$(date -u +%F)"
for conns in $conn_list; do
  read -r k_rps k_p99 k_bad < <(run "track-$conns" bench/http/track.lua "$tracking_key")
  read -r l_rps l_p99 l_bad < <(run "earn-$conns" bench/http/loyalty.lua "$TREU_KEY")
  printf '\n%s connections\n' "$conns"
  printf '%-44s %12s %10s %8s\n' target requests/s p99 non-2xx
  printf '%-44s %12s %10s %8s\n' "treu /v1/track (durable, baseline)" "$k_rps" "$k_p99" "$k_bad"
  printf '%-44s %12s %10s %8s\n' "treu POST …/loyalty/…/transfers (durable)" "$l_rps" "$l_p99" "$l_bad"
  printf 'ratio earn / track: %.3f; goal on SQLite: >= 5000 transfers/s\n' "$(echo "$l_rps / $k_rps" | bc -l)"
done
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
T loyalty verify
