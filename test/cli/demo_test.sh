#!/usr/bin/env bash
# `treu demo` creates an SQLite file with generated data and prints a summary; running it
# again shows the same data instead of adding more.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
out=$("$TREU" demo --no-serve)
echo "$out"
expect_contains "$out" "treu demo data in sqlite:treu-demo.db, workspace 'demo' (EUR, Europe/Berlin)" "summary"
[[ -f treu-demo.db ]] || fail "treu-demo.db was not created"
customers=$(sqlite3 treu-demo.db 'SELECT count(*) FROM customers')
orders=$(sqlite3 treu-demo.db 'SELECT count(*) FROM orders')
[[ $customers -eq 10000 ]] || fail "expected 10,000 customers, got $customers"
[[ $orders -gt 50000 ]] || fail "expected a realistic number of orders, got $orders"
expect_eq "$(sqlite3 treu-demo.db 'PRAGMA integrity_check')" ok "integrity"
# The demo fits the prediction models, so predictions work at once.
expect_contains "$out" "fitted pareto_nbd" "models fitted"
expect_contains "$out" "fitted gamma_gamma" "spend model fitted"
prediction=$("$TREU" --db sqlite:treu-demo.db --workspace demo predict --customer c000005 --json)
expect_contains "$prediction" '"model": "pareto_nbd"' "prediction"
expect_contains "$prediction" '"clv_12m": ' "clv"
# The win-back preset is active and ends by inviting to the demo's survey `winback`.
journey=$("$TREU" --db sqlite:treu-demo.db --workspace demo journey show winback)
expect_contains "$journey" '"survey": "winback"' "win-back survey step"
expect_contains "$("$TREU" --db sqlite:treu-demo.db --workspace demo survey list)" "winback" "win-back survey"
# One process per database makes the journey passes: while another holds the lock (here
# flock(1) on the same lock file a treu serve's worker holds), run-due does nothing.
held=$(flock treu-demo.db-journeys.lock "$TREU" --db sqlite:treu-demo.db --workspace demo journey run-due 2>&1)
expect_contains "$held" "another process (a treu serve) runs the journeys of this database: nothing done" "run-due under the lock"
[[ $held != *"entered "* ]] || fail "a pass ran under another's lock: $held"
pass=$("$TREU" --db sqlite:treu-demo.db --workspace demo journey run-due 2>&1)
expect_contains "$pass" "entered " "run-due with the lock free makes a pass"
again=$("$TREU" demo --no-serve)
expect_contains "$again" "already holds data" "second run"
expect_eq "$(sqlite3 treu-demo.db 'SELECT count(*) FROM orders')" "$orders" "orders unchanged"
out=$("$TREU" --db sqlite:treu-demo.db backup copy.db)
expect_contains "$out" "backed up" "backup"
expect_eq "$(sqlite3 copy.db 'SELECT count(*) FROM orders')" "$orders" "backup holds the orders"
echo "PASS"
