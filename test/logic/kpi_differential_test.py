#!/usr/bin/python3
"""The snapshot engine against a straightforward computation over the stored rows.

Generates the synthetic data set S (bench/synth), imports it with `treu import`, reads the
stored rows back with plain SQL (sqlite3 or psql), recomputes per month of 2025 (basis
"both", 365-day window, UTC) the active customers at start and end, the retained and new
ones, buyers, repeat buyers, orders, revenue, MRR at start and end with its five movements,
the paying accounts, and the monthly cohort shares, with exact integers, and compares them
with `treu kpi --json` and `treu cohorts --json`.

Usage: kpi_differential_test.py sqlite|postgres   (TREU, TREU_SYNTH; postgres: TREU_TEST_PG_URL)
"""
import bisect
import calendar
import datetime
import json
import os
import subprocess
import sys
import tempfile
import uuid

TREU = os.environ["TREU"]
SYNTH = os.environ["TREU_SYNTH"]
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
FACTOR = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}
UNITS_PER_MINOR = 120000
DAY = 86400 * 10**6


def micros(y, m, d=1):
    return calendar.timegm((y, m, d, 0, 0, 0)) * 10**6


def month_label(t):
    return datetime.datetime.fromtimestamp(t / 10**6, datetime.timezone.utc).strftime("%Y-%m")


def half_even(units):
    q, r = divmod(units, UNITS_PER_MINOR)
    if 2 * r > UNITS_PER_MINOR or (2 * r == UNITS_PER_MINOR and q % 2):
        q += 1
    return q


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([SYNTH, "--size", "S", "--out", tmp, "--no-events"], check=True, capture_output=True)
        if BACKEND == "sqlite":
            db = "sqlite:" + os.path.join(tmp, "t.db")
            query = ["sqlite3", "-separator", "|", db[len("sqlite:"):]]
        else:
            base = os.environ["TREU_TEST_PG_URL"]
            name = "diff_" + uuid.uuid4().hex[:12]
            subprocess.run(["psql", "-q", base, "-c", f"CREATE DATABASE {name}"], check=True)
            db = base.rsplit("/", 1)[0] + "/" + name
            query = ["psql", "-qtA", "-F", "|", db, "-c"]
        for kind in ("customers", "orders", "subscriptions"):
            subprocess.run([TREU, "--db", db, "--workspace", "d", "--currency", "EUR", "--timezone", "UTC",
                            "import", kind, os.path.join(tmp, kind + ".csv")], check=True, capture_output=True)

        def rows(sql):
            out = subprocess.run(query + [sql], check=True, capture_output=True, text=True).stdout
            return [line.split("|") for line in out.splitlines() if line]

        ws = "(SELECT id FROM workspaces WHERE name = 'd')"
        orders, refunds, mrr_deltas = {}, {}, {}
        for cust, at, total, status in rows(
                f"SELECT c.external_id, o.placed_at, o.total_minor, o.status FROM orders o JOIN customers c "
                f"ON c.id = o.customer_id WHERE o.workspace_id = {ws}"):
            if status != "cancelled":
                orders.setdefault(cust, []).append((int(at), int(total)))
        for cust, at, amount in rows(
                f"SELECT c.external_id, r.refunded_at, r.amount_minor FROM refunds r JOIN orders o ON o.id = "
                f"r.order_id JOIN customers c ON c.id = o.customer_id WHERE o.workspace_id = {ws} AND "
                f"o.status <> 'cancelled'"):
            refunds.setdefault(cust, []).append((int(at), int(amount)))
        subs = {}
        for cust, sid, started, ended, eff, interval, amount, qty, bp, status in rows(
                f"SELECT c.external_id, s.id, s.started_at, s.ended_at, h.effective_at, h.interval, "
                f"h.amount_minor, h.quantity, h.discount_bp, h.status FROM subscription_changes h JOIN "
                f"subscriptions s ON s.id = h.subscription_id JOIN customers c ON c.id = s.customer_id "
                f"WHERE s.workspace_id = {ws}"):
            subs.setdefault((cust, sid), {"started": int(started), "ended": int(ended) if ended else None,
                                          "states": []})["states"].append(
                (int(eff), interval, int(amount), int(qty), int(bp), status))
        # Each subscription's MRR over time, as deltas; a customer's MRR is their sum.
        for (cust, _), s in subs.items():
            current = 0
            for eff, interval, amount, qty, bp, status in sorted(s["states"]):
                if s["ended"] is not None and eff >= s["ended"]:
                    break
                v = amount * qty * (10000 - bp) * FACTOR[interval] if status in ("active", "past_due") else 0
                if v != current:
                    mrr_deltas.setdefault(cust, []).append((max(eff, s["started"]), v - current))
                current = v
            if s["ended"] is not None and current:
                mrr_deltas.setdefault(cust, []).append((s["ended"], -current))

        def mrr(cust, t):
            return sum(d for at, d in mrr_deltas.get(cust, []) if at <= t)

        def first_mrr(cust):
            points = sorted(mrr_deltas.get(cust, []))
            v = 0
            for i, (at, d) in enumerate(points):
                v += d
                if v > 0 and (i + 1 == len(points) or points[i + 1][0] != at):
                    return at
            return None

        customers = set(orders) | set(mrr_deltas)
        times = {c: sorted(t for t, _ in orders.get(c, [])) for c in customers}

        def active(c, t):
            ts = times[c]
            i = bisect.bisect_left(ts, t - 365 * DAY)
            return (i < len(ts) and ts[i] < t) or mrr(c, t) > 0

        first = {}
        for c in customers:
            candidates = [x for x in (times[c][0] if times[c] else None, first_mrr(c)) if x is not None]
            if candidates:
                first[c] = min(candidates)

        kpis = {m["id"]: m for m in json.loads(subprocess.run(
            [TREU, "--db", db, "--workspace", "d", "kpi", "--period", "2025-12", "--series", "12", "--basis",
             "both", "--json"], check=True, capture_output=True, text=True).stdout)}
        series = {k: {p["period"]["label"]: p for p in m["series"]} for k, m in kpis.items()}
        problems = []

        def same(what, ours, expected):
            if ours != expected:
                problems.append(f"{what}: treu {ours}, expected {expected}")

        for month in range(1, 13):
            start, end = micros(2025, month), micros(2025 + month // 12, month % 12 + 1)
            label = f"2025-{month:02d}"
            a0 = {c for c in customers if active(c, start)}
            a1 = {c for c in customers if active(c, end)}
            new = sum(1 for c in customers if c in first and start <= first[c] < end)
            counts = {c: sum(1 for t, _ in orders.get(c, []) if start <= t < end) for c in customers}
            revenue = (sum(v for c in customers for t, v in orders.get(c, []) if start <= t < end)
                       - sum(v for c in customers for t, v in refunds.get(c, []) if start <= t < end))
            ret = series["retention_rate"][label]["inputs"]
            same(f"{label} S", ret["S"], len(a0))
            same(f"{label} E", ret["E"], len(a1))
            same(f"{label} N", ret["N"], new)
            same(f"{label} retained", series["retention_rate_strict"][label]["inputs"]["retained"], len(a0 & a1))
            freq = series["purchase_frequency"][label]["inputs"]
            same(f"{label} buyers", freq["buyers"], sum(1 for n in counts.values() if n > 0))
            same(f"{label} orders", freq["orders"], sum(counts.values()))
            same(f"{label} repeat buyers", series["repeat_purchase_rate"][label]["inputs"]["repeat_buyers"],
                 sum(1 for n in counts.values() if n >= 2))
            same(f"{label} revenue", round(series["revenue"][label]["value"] * 100), revenue)
            moves = {"new": 0, "reactivation": 0, "expansion": 0, "contraction": 0, "churn": 0}
            m_start = m_end = accounts = 0
            for c in mrr_deltas:
                m0, m1 = mrr(c, start), mrr(c, end)
                m_start += m0
                m_end += m1
                accounts += m1 > 0
                if m0 == 0 < m1:
                    f = first_mrr(c)
                    moves["reactivation" if f is not None and f < start else "new"] += m1
                elif m0 > 0 == m1:
                    moves["churn"] += m0
                elif 0 < m0 < m1:
                    moves["expansion"] += m1 - m0
                elif 0 < m1 < m0:
                    moves["contraction"] += m0 - m1
            assert m_end == m_start + moves["new"] + moves["reactivation"] + moves["expansion"] \
                - moves["contraction"] - moves["churn"]
            inputs = series["revenue_churn_gross"][label]["inputs"]
            same(f"{label} mrr_start", round(inputs["mrr_start"] * 100), half_even(m_start))
            same(f"{label} mrr_end", round(inputs["mrr_end"] * 100), half_even(m_end))
            for k, v in moves.items():
                same(f"{label} {k}", round(inputs[k] * 100), half_even(v))
            same(f"{label} accounts", series["accounts"][label]["value"], accounts)

        cohorts = json.loads(subprocess.run(
            [TREU, "--db", db, "--workspace", "d", "cohorts", "--basis", "both", "--json"], check=True,
            capture_output=True, text=True).stdout)["cohorts"]
        months = sorted({month_label(t) for c in customers for t in times[c]} | {month_label(f) for f in first.values()})
        checked = 0
        for row in cohorts:
            members = [c for c in first if month_label(first[c]) == row["cohort"]]
            same(f"cohort {row['cohort']} size", row["size"], len(members))
            for k, share in enumerate(row["values"]):
                i = months.index(row["cohort"]) + k
                if i >= len(months):
                    break
                y, m = map(int, months[i].split("-"))
                start, end = micros(y, m), micros(y + m // 12, m % 12 + 1)
                n = sum(1 for c in members
                        if any(start <= t < end for t in times[c]) or mrr(c, end) > 0)
                if abs(share - n / len(members)) > 1e-12:
                    problems.append(f"cohort {row['cohort']} +{k}: treu {share}, expected {n / len(members)}")
                checked += 1
        if problems:
            print("FAIL:\n  " + "\n  ".join(problems[:40]))
            return 1
        print(f"PASS ({BACKEND}): 12 months x 17 quantities and {checked} cohort cells agree")
        return 0


if __name__ == "__main__":
    sys.exit(main())
