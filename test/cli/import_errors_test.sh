#!/usr/bin/env bash
# Bad input: every error is listed as file:line:column, the exit code is non-zero, and
# nothing is written; --skip-invalid imports the rest; --dry-run writes nothing.
source "$(dirname "$0")/lib.sh"
db="sqlite:$WORK/t.db"
cat > "$WORK/bad.csv" <<'CSV'
order_id,customer_id,placed_at,total,currency
o1,c1,2024-03-01,12.34,EUR
o2,c2,2024-03-32,1.00,EUR
o3,c3,2024-03-01,abc,EUR
CSV
set +e
err=$("$TREU" --db "$db" import orders "$WORK/bad.csv" 2>&1 >/dev/null)
code=$?
set -e
echo "$err"
[[ $code -ne 0 ]] || fail "exit code should be non-zero"
expect_contains "$err" "bad.csv:3:3: placed_at: '2024-03-32' is not a valid calendar date" "date error"
expect_contains "$err" "bad.csv:4:4: total: 'abc' is not a decimal number like 12.34" "amount error"
expect_contains "$err" "nothing was imported" "summary"
expect_eq "$(sql t.db 'SELECT count(*) FROM orders')" 0 "orders after rejected file"
expect_eq "$(sql t.db 'SELECT count(*) FROM customers')" 0 "customers after rejected file"

out=$("$TREU" --db "$db" import orders "$WORK/bad.csv" --dry-run 2>/dev/null || true)
expect_contains "$out" "3 rows checked, 2 rejected (dry run: nothing written)" "dry run"

out=$("$TREU" --db "$db" import orders "$WORK/bad.csv" --skip-invalid --rejects "$WORK/rej.csv" 2>/dev/null)
expect_contains "$out" "1 inserted" "skip-invalid"
expect_eq "$(sql t.db 'SELECT external_id FROM orders')" o1 "good row imported"
expect_eq "$(wc -l < "$WORK/rej.csv" | tr -d ' ')" 3 "rejects file: header + 2 rows"

set +e
err=$("$TREU" --db "$db" import orders "$WORK/missing.csv" 2>&1)
code=$?
err2=$("$TREU" --db "bogus:x" import orders "$WORK/bad.csv" 2>&1)
code2=$?
err3=$("$TREU" --db "$db" --workspace "no spaces" import orders "$WORK/bad.csv" 2>&1)
code3=$?
set -e
[[ $code -ne 0 && $code2 -ne 0 && $code3 -ne 0 ]] || fail "errors must exit non-zero"
expect_contains "$err" "can't open" "missing file"
expect_contains "$err2" "is not a database URL" "bad --db"
expect_contains "$err3" "workspace name: 'no spaces' must be" "bad workspace"
echo "PASS"
