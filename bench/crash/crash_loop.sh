#!/usr/bin/env bash
# The crash tests as a long loop: kill -9 during CSV imports and during streams of tracking
# calls, many times, checking after each that nothing acknowledged was lost and nothing was
# stored twice. CI runs 3 iterations of each; this runs N (default 50).
# Usage: bench/crash/crash_loop.sh [--build DIR] [--iterations N] [--postgres]
set -euo pipefail
build=build/release; n=50; pg=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --iterations) n=$2; shift 2 ;; --postgres) pg=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--iterations N] [--postgres]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/../.."
export TREU="$PWD/$build/treu" CRASH_ITERATIONS=$n
start=$(date +%s)
echo "== kill -9 during imports, $n times"
bash test/crash/kill_import_test.sh | tail -3
echo "== kill -9 during tracking streams (SQLite), $n times"
python3 test/crash/kill_tracking_test.py sqlite | tail -2
if [[ $pg == 1 ]]; then
  echo "== kill -9 during tracking streams (PostgreSQL), $n times"
  scripts/with-postgres python3 test/crash/kill_tracking_test.py postgres | tail -2
fi
echo "crash loop done in $(( $(date +%s) - start )) s"
