#!/usr/bin/env bash
# Analytics side by side with DuckDB: for each size, generates the synthetic data
# (bench/synth), times treu's snapshot (every KPI for 12 monthly periods plus both cohort
# matrices, bench/snapshot) and DuckDB running equivalent SQL over the same CSVs loaded in
# memory (duckdb_metrics.mjs, best of 3), and checks that both give the same numbers (treu
# kpi/cohorts --json on the imported data against DuckDB's, compare.py).
# Usage: bench/analytics/analytics_bench.sh [--build DIR] [--sizes "S M"]   (L: about 10M orders)
set -euo pipefail
build=build/release; sizes="S M"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;; --sizes) sizes=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--sizes \"S M L\"]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/../.."
root=$PWD
# npm install, not ci: the lock file lacks the optional per-platform DuckDB binaries the registry
# mirror here does not describe, which npm ci rejects.
(cd bench/analytics && npm install --no-audit --no-fund --loglevel=error >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-5s %10s %10s %14s %14s %8s %s\n' size customers orders treu_ms duckdb_ms ratio numbers
for size in $sizes; do
  data="$work/$size"
  "$build/bench/synth/treu_synth" --size "$size" --out "$data" --no-events >/dev/null
  orders=$(($(wc -l < "$data/orders.csv") - 1))
  customers=$(($(wc -l < "$data/customers.csv") - 1))
  # treu: the in-memory engine on the same generated data set.
  idx=$(case $size in S) echo 0 ;; M) echo 1 ;; L) echo 2 ;; esac)
  treu_ms=$(TREU_BENCH_L=1 "$build/bench/snapshot/treu_snapshot_bench" --benchmark_filter="BM_AllMetrics/$idx/" \
    --benchmark_format=json 2>/dev/null | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["benchmarks"][0]["real_time"])')
  node bench/analytics/duckdb_metrics.mjs "$data" 3 > "$work/duck.json"
  duck_ms=$(python3 -c 'import json,sys; print("%.1f" % (1000 * json.load(open(sys.argv[1]))["query_seconds"]))' "$work/duck.json")
  # The numbers: treu's CLI on the imported data against DuckDB's.
  db="sqlite:$work/$size.db"
  for kind in customers orders subscriptions; do
    "$build/treu" --db "$db" --workspace b --currency EUR --timezone UTC import "$kind" "$data/$kind.csv" >/dev/null
  done
  "$build/treu" --db "$db" --workspace b kpi --period 2025-12 --series 12 --basis both --json > "$work/kpis.json"
  "$build/treu" --db "$db" --workspace b cohorts --basis both --json > "$work/cohorts.json"
  check=$(python3 bench/analytics/compare.py "$work/kpis.json" "$work/cohorts.json" "$work/duck.json" || true)
  printf '%-5s %10s %10s %14s %14s %8.1f %s\n' "$size" "$customers" "$orders" "$treu_ms" "$duck_ms" \
    "$(echo "$duck_ms / $treu_ms" | bc -l)" "$check"
  rm -rf "$data" "$work/$size.db"*
done
