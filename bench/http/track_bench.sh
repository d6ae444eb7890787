#!/usr/bin/env bash
# Tracking throughput: wrk on loopback against `treu serve` /v1/track (one ~400-byte event
# per call, every one durable before its 200) and /v1/batch (100 events per call), side by
# side with nginx answering 204 on the same machine. Reports requests/s, p99 latency and
# the ratio treu / nginx, for each connection count (default: 32 and 128).
# Usage: [TREU_THREADS=N] bench/http/track_bench.sh [--build DIR] [--seconds N] [--connections "N ..."]
set -euo pipefail
build=build/release; secs=10; conn_list="32 128"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --seconds) secs=$2; shift 2 ;;
    --connections) conn_list=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--seconds N] [--connections N]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/../.."
for tool in wrk nginx; do command -v $tool >/dev/null || command -v /usr/sbin/$tool >/dev/null ||
  { echo "needs $tool: apt-get install wrk nginx-light" >&2; exit 2; }; done
treu="$build/treu"
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

nport=$(port)
cat > "$work/nginx.conf" <<CONF
worker_processes 2; pid $work/nginx.pid; error_log $work/nginx.err; daemon off;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$nport; location / { return 204; } } }
CONF
/usr/sbin/nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)

db="sqlite:$work/bench.db"
"$treu" --db "$db" workspace create bench --currency EUR >/dev/null
export TREU_KEY=$("$treu" --db "$db" --workspace bench key create --scope tracking | awk '{print $NF}')
tport=$(port)
"$treu" --db "$db" serve --no-access-log --threads "${TREU_THREADS:-2}" --listen "127.0.0.1:$tport" 2>/dev/null >/dev/null & pids+=($!)
sleep 1

run() {  # run NAME URL BATCH → "req/s p99"
  BATCH=$3 wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/http/track.lua "$2" > "$work/$1.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  echo "$rps $p99"
}
printf '\ntracking on loopback, %s s per run, treu with %s event loops, %s\n' "$secs" "${TREU_THREADS:-2}" "$(date -u +%F)"
for conns in $conn_list; do
  read -r n_rps n_p99 < <(run nginx "http://127.0.0.1:$nport/v1/track" 0)
  read -r t_rps t_p99 < <(run track "http://127.0.0.1:$tport" 0)
  read -r b_rps b_p99 < <(run batch "http://127.0.0.1:$tport" 100)
  printf '\n%s connections\n' "$conns"
  printf '%-34s %12s %10s\n' target requests/s p99
  printf '%-34s %12s %10s\n' "nginx return 204" "$n_rps" "$n_p99"
  printf '%-34s %12s %10s\n' "treu /v1/track (durable)" "$t_rps" "$t_p99"
  printf '%-34s %12s %10s   = %.0f events/s (goal >= 200000)\n' "treu /v1/batch x100 (durable)" "$b_rps" "$b_p99" "$(echo "$b_rps * 100" | bc -l)"
  printf 'ratio /v1/track / nginx: %.3f (goal >= 0.5)\n' "$(echo "$t_rps / $n_rps" | bc -l)"
done
printf '\nevents stored: %s\n' "$(sqlite3 "$work/bench.db" 'SELECT count(*) FROM events')"
