#!/usr/bin/env bash
# CDNOW's master file imports as 69,659 orders of 23,570 customers; importing it again
# adds nothing.
source "$(dirname "$0")/lib.sh"
CDNOW="${CDNOW_DIR:?}/CDNOW_master.txt"
"$(dirname "$0")/cdnow_to_orders.sh" "$CDNOW" > "$WORK/orders.csv"

out=$("$TREU" --db "sqlite:$WORK/t.db" --workspace cdnow import orders "$WORK/orders.csv")
echo "$out"
expect_contains "$out" "69,659 rows, 69,659 inserted, 0 updated, 0 unchanged, 0 rejected; 23,570 customers" "first import"
expect_eq "$(sql t.db 'SELECT count(*) FROM orders')" 69659 "orders"
expect_eq "$(sql t.db 'SELECT count(*) FROM customers')" 23570 "customers"
expect_eq "$(sql t.db 'SELECT currency FROM workspaces WHERE name = "cdnow"')" USD "currency"
# Total of the file: $2,500,315.63
expect_eq "$(sql t.db 'SELECT sum(total_minor) FROM orders')" 250031563 "total"

out=$("$TREU" --db "sqlite:$WORK/t.db" --workspace cdnow import orders "$WORK/orders.csv")
echo "$out"
expect_contains "$out" "69,659 rows, 0 inserted, 0 updated, 69,659 unchanged" "second import"
expect_eq "$(sql t.db 'SELECT count(*) FROM orders')" 69659 "orders after re-import"
expect_eq "$(sql t.db 'PRAGMA integrity_check')" ok "integrity"
expect_eq "$(sql t.db 'PRAGMA foreign_key_check')" "" "foreign keys"
echo "PASS"
