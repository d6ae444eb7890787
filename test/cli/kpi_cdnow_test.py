#!/usr/bin/python3
"""KPIs of the CDNOW master file, checked against plain SQL over the stored rows.

Imports CDNOW_master.txt as orders, then compares `treu kpi --json` (monthly revenue, orders,
buyers, repeat buyers and new customers for all 18 months) and `treu cohorts --json` (cohort
sizes and activity per month) with the same quantities computed by straightforward SQL
queries on the SQLite database: two independent computations that must agree exactly.
"""
import json
import os
import subprocess
import sys
import tempfile

TREU = os.environ["TREU"]
CDNOW = os.path.join(os.environ["CDNOW_DIR"], "CDNOW_master.txt")
HERE = os.path.dirname(os.path.abspath(__file__))


def treu(db, *args):
    return subprocess.run([TREU, "--db", "sqlite:" + db, "--workspace", "cdnow", *args],
                          check=True, capture_output=True, text=True).stdout


def main():
    with tempfile.TemporaryDirectory() as tmp:
        orders = os.path.join(tmp, "orders.csv")
        with open(orders, "w") as f:
            subprocess.run(["bash", os.path.join(HERE, "cdnow_to_orders.sh"), CDNOW], stdout=f, check=True)
        db = os.path.join(tmp, "cdnow.db")
        treu(db, "import", "orders", orders)

        def sql(q):
            out = subprocess.run(["sqlite3", db, q], check=True, capture_output=True, text=True).stdout
            return [line.split("|") for line in out.split()]

        month = "strftime('%Y-%m', placed_at / 1000000, 'unixepoch')"
        expected = {}
        for m, revenue, n, buyers in sql(f"SELECT {month}, sum(total_minor), count(*), count(DISTINCT customer_id) "
                                         "FROM orders GROUP BY 1"):
            expected[m] = {"revenue": int(revenue) / 100, "orders": int(n), "buyers": int(buyers)}
        for m, repeaters in sql(f"SELECT m, count(*) FROM (SELECT {month} AS m, customer_id FROM orders "
                                "GROUP BY 1, 2 HAVING count(*) >= 2) GROUP BY m"):
            expected[m]["repeat_buyers"] = int(repeaters)
        for m, new in sql(f"SELECT strftime('%Y-%m', first / 1000000, 'unixepoch'), count(*) FROM "
                          "(SELECT min(placed_at) AS first FROM orders GROUP BY customer_id) GROUP BY 1"):
            expected[m]["new"] = int(new)
        assert len(expected) == 18, sorted(expected)

        got = {m["id"]: m for m in json.loads(treu(db, "kpi", "revenue", "purchase_frequency",
                                                   "repeat_purchase_rate", "customers_new",
                                                   "--period", "1998-06", "--series", "18", "--json"))}
        checked = 0
        for i, point in enumerate(got["revenue"]["series"]):
            m = point["period"]["label"]
            e = expected[m]
            assert abs(point["value"] - e["revenue"]) < 1e-9, (m, point["value"], e)
            freq = got["purchase_frequency"]["series"][i]["inputs"]
            assert (freq["orders"], freq["buyers"]) == (e["orders"], e["buyers"]), (m, freq, e)
            rep = got["repeat_purchase_rate"]["series"][i]["inputs"]
            assert rep["repeat_buyers"] == e.get("repeat_buyers", 0), (m, rep, e)
            assert got["customers_new"]["series"][i]["value"] == e.get("new", 0), (m, e)
            checked += 1
        assert checked == 18

        total = json.loads(treu(db, "kpi", "revenue", "--period", "1997-01-01..1998-06-30", "--json"))[0]
        assert total["value"] == 2500315.63, total  # the file's total

        cohorts = json.loads(treu(db, "cohorts", "--json"))["cohorts"]
        sizes = {c["cohort"]: c["size"] for c in cohorts}
        assert sizes == {m: e["new"] for m, e in expected.items() if e.get("new")}, sizes
        active = {}
        for cohort, m, n in sql(f"SELECT strftime('%Y-%m', f.first / 1000000, 'unixepoch'), {month}, "
                                "count(DISTINCT o.customer_id) FROM orders o JOIN (SELECT customer_id, "
                                "min(placed_at) AS first FROM orders GROUP BY customer_id) f USING "
                                "(customer_id) GROUP BY 1, 2"):
            active[(cohort, m)] = int(n)
        months = sorted(expected)
        for c in cohorts:
            for k, share in enumerate(c["values"]):
                m = months[months.index(c["cohort"]) + k]
                assert abs(share - active.get((c["cohort"], m), 0) / c["size"]) < 1e-12, (c["cohort"], m)
        print(f"PASS: 18 months of revenue, orders, buyers, repeat buyers and new customers, "
              f"{sum(len(c['values']) for c in cohorts)} cohort cells agree with SQL")


if __name__ == "__main__":
    sys.exit(main())
