#!/usr/bin/env bash
# Launch a campaign to N customers (default 1,000,000) with `treu campaign launch`: the audience
# resolved from a segment expression, a 10 % holdout and two A/B variants drawn per customer,
# every member's send time worked out at 09:00 in their own time zone tomorrow, quiet hours and a
# frequency cap of 3 marketing messages per 7 days checked against the outbox and the planned
# messages, the members recorded with their messages planned. Beside it, as the baseline, `treu
# send` of the same template to the same audience (resolve, render, enqueue; no arms, times, caps
# or members). Then a second campaign to everyone now: its launch (planned, the first 10,000
# rendered) and `treu campaign run-due`, which renders the rest into the outbox as the server's
# scheduler would. Prints the wall time of each, messages/s and the ratio.
#
#   bench/campaigns/campaign_bench.sh [--customers 1000000] [--keep DIR]
#
# Needs the release build (scripts/quickstart or cmake --build --preset release).
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=1000000 keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --customers) customers=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: $0 [--customers N] [--keep DIR]" >&2; exit 2 ;;
  esac
done
treu=$PWD/build/release/treu
[[ -x $treu ]] || { echo "build the release preset first" >&2; exit 1; }
dir=${keep:-$(mktemp -d)}
mkdir -p "$dir"
[[ -n $keep ]] || trap 'rm -rf "$dir"' EXIT
export TREU_SECRET_FILE=$dir/treu.secret TREU_MAIL_DIR=$dir/mail
t() { "$treu" --db "sqlite:$dir/bench.db" --workspace bench "$@"; }

if [[ ! -f $dir/bench.db ]]; then
  echo "generating $customers customers in three time zones" >&2
  /usr/bin/python3 - "$dir" "$customers" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
zones = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
with open(f"{d}/customers.csv", "w") as f:
    f.write("customer_id,email,name,timezone,consent.email\n")
    for i in range(n):
        f.write(f"c{i},c{i}@example.com,Kunde {i},{zones[i % 3]},true\n")
PY
  t workspace create bench --currency EUR --timezone Europe/Berlin >/dev/null
  t import customers "$dir/customers.csv" >/dev/null
fi
cat > "$dir/offer.html" <<'HTML'
<p>Hallo {{ customer.first_name }},</p><p>dein Angebot wartet. <a href="{{ unsubscribe_url }}">Abmelden</a></p>
HTML
t template save offer-a --subject 'Für dich, {{ customer.first_name }}' --html "$dir/offer.html" >/dev/null
t template save offer-b --subject 'Nur diese Woche, {{ customer.first_name }}' --html "$dir/offer.html" >/dev/null
t campaign rules --max-messages 3 --window-days 7 --quiet-start 21:00 --quiet-end 08:00 >/dev/null

seconds() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
run=$(date +%s)
send_s=$(seconds t send offer-a --where "orders_count >= 0" --key "send-$run")
t campaign save "c$run" --template offer-a --template offer-b --where "orders_count >= 0" --holdout 10 \
  --local-time 09:00 --send-date "$(date -u -d tomorrow +%F)" >/dev/null
launch_s=$(seconds t campaign launch "c$run")
# Members to be messaged: the MESSAGED column of the variants' rows.
planned=$(t campaign report "c$run" | awk '$1 ~ /^[A-Z]$/ { n += $4 } END { print n }')
printf "send (baseline)    %8.2f s  %'d customers\n" "$send_s" "$customers"
printf "campaign launch    %8.2f s  %'d messages planned (%.0f/s)\n" "$launch_s" "$planned" "$(echo "$planned / $launch_s" | bc -l)"
report_s=$(seconds t campaign report "c$run")
printf "campaign report    %8.2f s\n" "$report_s"
printf "ratio              %8.2f × the plain send\n" "$(echo "$launch_s / $send_s" | bc -l)"
# No quiet hours for the second one: every message is due now, none deferred past the lead.
t campaign rules --quiet-start 00:00 --quiet-end 00:00 >/dev/null
t campaign save "now$run" --template offer-b --where "orders_count >= 0" >/dev/null
now_s=$(seconds t campaign launch "now$run")
render_s=$(seconds t campaign run-due)
rendered=$(t outbox status --campaign "now$run" | awk '{ print $2 }')
printf "launch, due now    %8.2f s\n" "$now_s"
printf "rendered (run-due) %8.2f s  %'d messages in the outbox (%.0f/s)\n" "$render_s" "$rendered" \
  "$(echo "$rendered / $render_s" | bc -l)"
