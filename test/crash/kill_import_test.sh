#!/usr/bin/env bash
# kill -9 during a large import leaves the database consistent: the import is all there or
# not at all, PRAGMA integrity_check is ok, and running the import again completes it.
# CRASH_ITERATIONS (default 3) sets how many kills; the benchmark suite runs many more.
set -euo pipefail
: "${TREU:?}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
rows=${CRASH_ROWS:-600000}
iterations=${CRASH_ITERATIONS:-3}

awk -v n="$rows" 'BEGIN {
  print "order_id,customer_id,placed_at,total,currency"
  for (i = 1; i <= n; i++)
    printf "o%d,c%d,2024-%02d-%02dT10:00:00Z,%d.%02d,EUR\n", i, i % 50000, i % 12 + 1, i % 28 + 1, i % 500, i % 100
}' > "$WORK/orders.csv"

for ((k = 1; k <= iterations; k++)); do
  db="$WORK/crash-$k.db"
  "$TREU" --db "sqlite:$db" workspace create shop --currency EUR >/dev/null
  "$TREU" --db "sqlite:$db" --workspace shop import orders "$WORK/orders.csv" >/dev/null 2>&1 &
  pid=$!
  # Kill somewhere between 0.1 s and ~1.5 s into the import.
  sleep "0.$(( (RANDOM % 14) + 1 ))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  integrity=$(sqlite3 "$db" 'PRAGMA integrity_check')
  [[ "$integrity" == ok ]] || fail "iteration $k: integrity_check says $integrity"
  fk=$(sqlite3 "$db" 'PRAGMA foreign_key_check')
  [[ -z "$fk" ]] || fail "iteration $k: foreign_key_check reports: $fk"
  n=$(sqlite3 "$db" 'SELECT count(*) FROM orders')
  logged=$(sqlite3 "$db" "SELECT coalesce(sum(last_entity_id - entity_id + 1), 0) FROM changes WHERE entity = 'order'")
  [[ "$n" -eq 0 || "$n" -eq "$rows" ]] || fail "iteration $k: $n of $rows orders: a half-written import"
  [[ "$n" -eq "$logged" ]] || fail "iteration $k: $n orders but $logged change-log rows"
  echo "iteration $k: killed with $n orders present; integrity ok"
  "$TREU" --db "sqlite:$db" --workspace shop import orders "$WORK/orders.csv" >/dev/null
  n=$(sqlite3 "$db" 'SELECT count(*) FROM orders')
  [[ "$n" -eq "$rows" ]] || fail "iteration $k: re-import left $n of $rows orders"
done
echo "PASS"
