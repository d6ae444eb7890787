#!/usr/bin/python3
"""Compares treu's KPIs and cohort matrix (treu kpi/cohorts --json) with DuckDB's SQL results
(duckdb_metrics.mjs) for the same data. Usage: compare.py TREU_KPIS TREU_COHORTS DUCKDB_JSON"""
import json
import sys

kpis = {m["id"]: m for m in json.load(open(sys.argv[1]))}
cohorts = json.load(open(sys.argv[2]))["cohorts"]
duck = json.load(open(sys.argv[3]))
problems = []


def same(what, a, b, tol=1e-6):
    a, b = float(a), float(b)
    if abs(a - b) > tol * max(1.0, abs(a), abs(b)):
        problems.append(f"{what}: treu {a} vs duckdb {b}")


def series(kpi):
    return {p["period"]["label"]: p for p in kpis[kpi]["series"]}


retention, strict, new = series("retention_rate"), series("retention_rate_strict"), series("customers_new")
freq, rep, revenue, mrr = series("purchase_frequency"), series("repeat_purchase_rate"), series("revenue"), series("revenue_churn_gross")
accounts = series("accounts")
for row in duck["metrics"]:
    p = row["period"]
    i = retention[p]["inputs"]
    same(f"{p} active at start", i["S"], row["active_start"])
    same(f"{p} active at end", i["E"], row["active_end"])
    same(f"{p} new", i["N"], row["new_customers"])
    same(f"{p} retained", strict[p]["inputs"]["retained"], row["retained"])
    same(f"{p} orders", freq[p]["inputs"]["orders"], row["orders"])
    same(f"{p} buyers", freq[p]["inputs"]["buyers"], row["buyers"])
    same(f"{p} repeat buyers", rep[p]["inputs"]["repeat_buyers"], row["repeat_buyers"])
    same(f"{p} revenue", revenue[p]["value"], row["revenue"])
    same(f"{p} accounts", accounts[p]["value"], row["accounts"])
    m = mrr[p]["inputs"]
    for ours, theirs in [("mrr_start", "mrr_start"), ("mrr_end", "mrr_end"), ("new", "new_mrr"),
                         ("reactivation", "reactivation"), ("expansion", "expansion"),
                         ("contraction", "contraction"), ("churn", "churn")]:
        if abs(float(m[ours]) - float(row[theirs])) > 0.006:  # treu shows MRR rounded to cents
            problems.append(f"{p} {ours}: treu {m[ours]} vs duckdb {row[theirs]}")

cells = {(c["cohort"], k): v for c in cohorts for k, v in enumerate(c["values"])}
sizes = {c["cohort"]: c["size"] for c in cohorts}
order = sorted(sizes)
checked = 0
for row in duck["cohorts"]:
    c = row["cohort"]
    if c not in sizes:
        problems.append(f"cohort {c} missing in treu")
        continue
    same(f"cohort {c} size", sizes[c], row["size"])
    months = sorted({r["month"] for r in duck["cohorts"]})
    k = months.index(row["month"]) - months.index(c)
    if (c, k) in cells:
        same(f"cohort {c} +{k}", cells[(c, k)], int(row["active"]) / int(row["size"]), tol=1e-9)
        checked += 1
if problems:
    print("DISAGREE:\n  " + "\n  ".join(problems[:30]))
    sys.exit(1)
print(f"agree: 12 months x 18 quantities and {checked} cohort cells")
