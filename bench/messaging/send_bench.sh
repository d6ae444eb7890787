#!/usr/bin/env bash
# Render and enqueue N personalised emails (default 1,000,000) with `treu send`: a template with
# five variables (first name, order count, revenue as money, last order date, the shop's name), a
# condition and a loop over the customer's last three orders, for every customer of a synthetic
# workspace (N customers with email consent, two orders each on average) in SQLite. The same send
# of a template without variables runs beside it as the baseline, so the ratio shows what
# personalisation costs on top of selecting the audience and writing the outbox. Prints the wall
# time of each send, messages/s and the ratio.
#
#   bench/messaging/send_bench.sh [--customers 1000000] [--keep DIR]
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
db=sqlite:$dir/bench.db
t() { "$treu" --db "$db" --workspace bench "$@"; }

if [[ ! -f $dir/bench.db ]]; then
  echo "generating $customers customers and their orders" >&2
  /usr/bin/python3 - "$dir" "$customers" <<'PY'
import random, sys
d, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
first = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas"]
with open(f"{d}/customers.csv", "w") as f:
    f.write("customer_id,email,name,consent.email\n")
    for i in range(n):
        f.write(f"c{i},c{i}@example.com,{first[i % 10]} Muster{i},true\n")
with open(f"{d}/orders.csv", "w") as f:
    f.write("order_id,customer_id,placed_at,total\n")
    k = 0
    for i in range(n):
        for _ in range(rnd.choice((0, 1, 2, 3, 4))):
            f.write(f"o{k},c{i},2025-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d},{rnd.randint(500, 20000) / 100:.2f}\n")
            k += 1
PY
  t workspace create bench --currency EUR --timezone Europe/Berlin >/dev/null
  t import customers "$dir/customers.csv" >/dev/null
  t import orders "$dir/orders.csv" >/dev/null
fi
cat > "$dir/personal.html" <<'HTML'
<p>Hallo {{ customer.first_name }},</p>
<p>{% if customer.orders_count > 1 %}danke für {{ customer.orders_count }} Bestellungen über {{ customer.revenue_total | money }}
 – die letzte am {{ customer.last_order_at | date: "%d.%m.%Y" }}.{% else %}schön, dass du da bist.{% endif %}</p>
<ul>{% for o in orders limit: 3 %}<li>{{ o.placed_at | date: "%d.%m." }}: {{ o.total | money }}</li>{% endfor %}</ul>
<p>Dein Team von {{ shop.name }} · <a href="{{ unsubscribe_url }}">Abmelden</a></p>
HTML
cat > "$dir/static.html" <<'HTML'
<p>Hallo,</p>
<p>schön, dass du da bist. Unsere Neuheiten warten auf dich.</p>
<ul><li>Kaffee</li><li>Tee</li><li>Kakao</li></ul>
<p>Dein Team · Abmelden</p>
HTML
t template save personal --subject 'Hallo {{ customer.first_name }}' --html "$dir/personal.html" >/dev/null
t template save static --subject 'Hallo' --html "$dir/static.html" >/dev/null

run() {  # run NAME KEY: prints the seconds the send took
  local start end
  start=$(date +%s.%N)
  t send "$1" --where "orders_count >= 0" --key "$2" >"$dir/$2.out"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
static_s=$(run static "static-$(date +%s)")
personal_s=$(run personal "personal-$(date +%s)")
printf "static template    %8.2f s  (%s)\n" "$static_s" "$(tail -1 "$dir"/static-*.out)"
printf "personalised       %8.2f s  (%s)\n" "$personal_s" "$(tail -1 "$dir"/personal-*.out)"
printf "messages/s         %8.0f\n" "$(echo "$customers / $personal_s" | bc -l)"
printf "ratio              %8.2f  (personalised / static)\n" "$(echo "$personal_s / $static_s" | bc -l)"
