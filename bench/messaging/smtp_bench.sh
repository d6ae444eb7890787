#!/usr/bin/env bash
# Email delivery throughput: treu_smtp_bench sends prebuilt messages from K threads over K
# reused connections to test/messaging/smtp_sink.py in --fast mode (it only counts), first
# with aiosmtpd answering, then with the sink's minimal --raw responder. For each run it
# prints messages/s and the CPU seconds of the client and of the sink processes: the Python
# sink costs several times what the client does per message, so it sets the ceiling on a
# small machine. --sinks N runs N sink processes sharing the port (SO_REUSEPORT).
#
#   bench/messaging/smtp_bench.sh [--messages 20000] [--threads 2] [--sinks 1] [--dkim]
#
# Needs the release build of the benchmark:
#   cmake --preset release -DTREU_BUILD_BENCH=ON
#   cmake --build --preset release --target treu_smtp_bench
set -euo pipefail
cd "$(dirname "$0")/../.."
messages=20000 threads=2 sinks=1 extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --sinks) sinks=$2; shift 2 ;;
    --dkim) extra+=(--dkim); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bench=${TREU_SMTP_BENCH:-build/release/bench/messaging/treu_smtp_bench}
[[ -x $bench ]] || { echo "build $bench first (see the header of this script)" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Starts $2 sink processes (options $3) on $port, each counting into
# $work/<run>/<i>/stats.json.
start_sinks() {
  local run=$1 count=$2 mode=$3
  pids=()
  for i in $(seq 1 "$count"); do
    # shellcheck disable=SC2086
    /usr/bin/python3 test/messaging/smtp_sink.py --fast $mode --reuse-port --port "$port" \
      --port-file "$work/$run-$i.port" --out "$work/$run/$i" >/dev/null 2>&1 &
    pids+=($!)
  done
  for i in $(seq 1 "$count"); do
    for _ in $(seq 1 200); do [[ -f $work/$run-$i.port ]] && break; sleep 0.05; done
  done
}

# CPU seconds (user + system) the sink processes used so far.
sink_cpu() {
  local sum=0
  for pid in "${pids[@]}"; do
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
    sum=$((sum + utime + stime))
  done
  echo "scale=2; $sum / $(getconf CLK_TCK)" | bc
}

stop_sinks() {
  for pid in "${pids[@]}"; do kill "$pid"; done
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
}

# Sums a field of the sinks' stats.json files of run $1.
total() {
  /usr/bin/python3 -c 'import json, sys, glob
print(sum(json.load(open(f))[sys.argv[2]] for f in glob.glob(sys.argv[1] + "/*/stats.json")))' "$work/$1" "$2"
}

run() {
  local name=$1 count=$2 mode=$3
  start_sinks "$name" "$count" "$mode"
  echo "== $name: $count sink process(es), $threads threads, $messages messages"
  /usr/bin/time -f "client cpu %U s user + %S s system" -o "$work/time" \
    "$bench" --url "smtp://127.0.0.1:$port" --messages "$messages" --threads "$threads" "${extra[@]}"
  cat "$work/time"
  echo "sink cpu $(sink_cpu) s"
  stop_sinks
  echo "sinks counted $(total "$name" messages) messages over $(total "$name" connections) connections"
}

run aiosmtpd "$sinks" ""
run raw "$sinks" --raw
