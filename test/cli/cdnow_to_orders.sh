#!/usr/bin/env bash
# Converts CDNOW_master.txt (Fader & Hardie; whitespace-separated, CRLF, one header line)
# to treu's canonical orders CSV. Each purchase record becomes one order, identified by its
# line number; amounts are USD.
# Usage: cdnow_to_orders.sh CDNOW_master.txt > orders.csv
set -euo pipefail
awk 'BEGIN { print "order_id,customer_id,placed_at,total,currency" }
     NR > 1 {
       sub(/\r$/, "")
       d = $2
       printf "cdnow-%d,%s,%s-%s-%s,%s,USD\n", NR - 1, $1, substr(d, 1, 4), substr(d, 5, 2), substr(d, 7, 2), $4
     }' "$1"
