#!/usr/bin/env bash
# Import throughput: `treu import orders` against sqlite3's own `.import` of the same file
# into a table with the same columns and the same unique index on the order id, side by
# side on this machine, with the same durability settings (WAL, synchronous=FULL, one
# transaction). Reports rows/s of both and the ratio.
#
# Usage: bench/import/import_bench.sh [--size S|M|L] [--build DIR] [--keep]
set -euo pipefail
size=L
build=build/release
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--size S|M|L] [--build DIR] [--keep]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/../.."
treu="$build/treu"
synth="$build/bench/synth/treu_synth"
[[ -x "$treu" && -x "$synth" ]] || { echo "build first: cmake --build --preset release" >&2; exit 2; }
work=$(mktemp -d -p "${TMPDIR:-/tmp}" treu-import-bench.XXXXXX)
[[ $keep -eq 1 ]] || trap 'rm -rf "$work"' EXIT

echo "generating dataset $size ..." >&2
"$synth" --size "$size" --out "$work/data" --no-events >&2
csv="$work/data/orders.csv"
rows=$(( $(wc -l < "$csv") - 1 ))
bytes=$(stat -c %s "$csv")

measure() {  # measure CMD... → prints "seconds peak_kb"
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  rss=$(tail -n1 "$work/rss")
  echo "$(echo "$t1 - $t0" | bc -l) $rss"
}

# Baseline: sqlite3 .import, same columns, unique index on order_id, WAL + synchronous=FULL.
sqlite3 "$work/baseline.db" <<'SQL' >/dev/null
PRAGMA journal_mode = WAL;
CREATE TABLE orders (order_id TEXT NOT NULL, customer_id TEXT, placed_at TEXT, total TEXT,
  currency TEXT, status TEXT, refunded_at TEXT, refunded_total TEXT);
CREATE UNIQUE INDEX orders_order_id ON orders (order_id);
SQL
cat > "$work/import.sql" <<SQL
PRAGMA synchronous = FULL;
.import --csv --skip 1 $csv orders
SQL
sync
read -r base_s base_kb < <(measure sqlite3 "$work/baseline.db" ".read $work/import.sql")
base_rows=$(sqlite3 "$work/baseline.db" 'SELECT count(*) FROM orders')

sync
read -r treu_s treu_kb < <(measure "$treu" --db "sqlite:$work/treu.db" --workspace bench import orders "$csv")
treu_rows=$(sqlite3 "$work/treu.db" 'SELECT count(*) FROM orders')

base_rate=$(echo "$base_rows / $base_s" | bc -l)
treu_rate=$(echo "$treu_rows / $treu_s" | bc -l)
ratio=$(echo "$treu_rate / $base_rate" | bc -l)
printf '\nimport of %s orders (%s MB) from dataset %s, %s\n' "$rows" "$(( bytes / 1000000 ))" "$size" "$(date -u +%F)"
printf '%-22s %10s %10s %12s %12s\n' tool rows seconds rows/s "peak RSS MB"
printf '%-22s %10d %10.2f %12.0f %12d\n' "sqlite3 .import" "$base_rows" "$base_s" "$base_rate" $(( base_kb / 1024 ))
printf '%-22s %10d %10.2f %12.0f %12d\n' "treu import orders" "$treu_rows" "$treu_s" "$treu_rate" $(( treu_kb / 1024 ))
printf 'ratio treu / sqlite3 .import: %.2f (goal >= 0.5)\n' "$ratio"
