#!/usr/bin/python3
"""`treu fit`, `treu predict` and `treu backtest` on the CDNOW sample of Fader, Hardie & Lee.

The fits from the published summary files reproduce the published estimates (../shared/data/
README.md); the same fits from the raw purchase log imported as orders agree with them; the
predictions file holds Hardie's customer-1 check; and bad input fails with a clear message.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest

TREU = os.environ["TREU"]
CDNOW = os.environ["CDNOW_DIR"]
SUMMARY = os.path.join(CDNOW, "cdnow_customers_summary.csv")
SUMMARY_M = os.path.join(CDNOW, "cdnow_customers_summary_with_transactions.csv")


def treu(*args, check=True):
    return subprocess.run([TREU, *args], check=check, capture_output=True, text=True)


def fit(*args):
    return json.loads(treu("fit", *args, "--json").stdout)


class FitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def assertPrinted(self, value, printed, places):
        self.assertEqual(round(value, places), printed, f"{value} printed as {printed}")

    def test_summary_fits_reproduce_the_published_estimates(self):
        bg = fit("bgnbd", "--summary", SUMMARY)
        self.assertEqual((bg["model"], bg["n_customers"], bg["converged"]), ("bgnbd", 2357, True))
        for name, printed in (("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)):
            self.assertPrinted(bg["params"][name], printed, 3)
        self.assertAlmostEqual(bg["log_likelihood"], -9582.429, delta=0.01)
        self.assertTrue(all(0 < se < 1 for se in bg["std_errors"].values()), bg["std_errors"])

        pareto = fit("pareto_nbd", "--summary", SUMMARY)
        for name, published in (("r", 0.553), ("alpha", 10.578), ("s", 0.606), ("beta", 11.669)):
            self.assertAlmostEqual(pareto["params"][name] / published, 1, delta=0.005, msg=name)
        self.assertAlmostEqual(pareto["log_likelihood"], -9594.976, delta=0.01)

        mbg = fit("mbgnbd", "--summary", SUMMARY)
        for name, printed in (("r", 0.525), ("alpha", 6.183), ("a", 0.891), ("b", 1.614)):
            self.assertPrinted(mbg["params"][name], printed, 3)

        gg = fit("gamma_gamma", "--summary", SUMMARY_M)
        self.assertEqual(gg["n_customers"], 946)
        # Fader & Hardie print 6.25, 3.74, 15.44 (γ = 15.4477 truncated): within one printed unit.
        for name, printed in (("p", 6.25), ("q", 3.74), ("gamma", 15.44)):
            self.assertAlmostEqual(gg["params"][name], printed, delta=0.01, msg=name)
        self.assertAlmostEqual(gg["log_likelihood"], -4055.92, delta=0.01)

        everything = fit("all", "--summary", SUMMARY_M)
        self.assertEqual([f["model"] for f in everything], ["bgnbd", "pareto_nbd", "mbgnbd", "gamma_gamma"])

    def test_predictions_file_holds_the_customer_one_check(self):
        out = os.path.join(self.tmp.name, "predictions.csv")
        treu("fit", "bgnbd", "--summary", SUMMARY_M, "--predictions", out, "--horizon", "39")
        with open(out) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 2357)
        self.assertEqual(list(rows[0]), ["ID", "p_alive", "expected_purchases", "expected_value", "clv"])
        one = rows[0]
        self.assertEqual(one["ID"], "1")
        # Hardie's note 004: customer 1 (x = 2, t_x = 30.43, T = 38.86) expects 1.226 purchases.
        self.assertAlmostEqual(float(one["expected_purchases"]), 1.226, delta=0.0005)
        self.assertTrue(all(0 <= float(r["p_alive"]) <= 1 for r in rows))
        self.assertTrue(all(float(r["clv"]) > 0 for r in rows))
        # Without money columns: no expected value or CLV.
        treu("fit", "pareto_nbd", "--summary", SUMMARY, "--predictions", out, "--horizon", "39")
        with open(out) as f:
            self.assertEqual(f.readline().strip(), "ID,p_alive,expected_purchases")

    def test_bad_input_is_refused_clearly(self):
        bad = os.path.join(self.tmp.name, "bad.csv")
        with open(bad, "w") as f:
            f.write("ID,frequency,recency,T\n1,2,30.43,38.86\n2,x,1,2\n")
        r = treu("fit", "bgnbd", "--summary", bad, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip(), f"treu: {bad}:3: frequency 'x' is not a number")
        with open(bad, "w") as f:
            f.write("ID,visits,T\n1,2,3\n")
        r = treu("fit", "bgnbd", "--summary", bad, check=False)
        self.assertEqual(r.stderr.strip(), f"treu: {bad}:1: needs the columns frequency,recency,T (or x,t_x,T)")
        r = treu("fit", "magic", "--summary", SUMMARY, check=False)
        self.assertEqual(r.stderr.strip(),
                         "treu: MODEL: 'magic' is not a model: use bgnbd, pareto_nbd, mbgnbd, gamma_gamma or all")
        r = treu("fit", "gamma_gamma", "--summary", SUMMARY, check=False)
        self.assertIn("needs a monetary_value (or zbar) column", r.stderr)
        r = treu("fit", "bgnbd", "--summary", SUMMARY, "--predictions", "x.csv", check=False)
        self.assertEqual(r.stderr.strip(), "treu: --horizon: is required with --predictions")

    def test_stored_orders_fit_predict_and_backtest(self):
        db = "sqlite:" + os.path.join(self.tmp.name, "cdnow.db")
        orders = os.path.join(self.tmp.name, "orders.csv")
        with open(os.path.join(CDNOW, "CDNOW_sample.txt")) as src, open(orders, "w") as out:
            out.write("order_id,customer_id,placed_at,total,currency\n")
            for n, line in enumerate(src):
                _, sample_id, day, _, amount = line.split()
                out.write(f"s{n},{int(sample_id)},{day[:4]}-{day[4:6]}-{day[6:]},{amount},USD\n")
        ws = ["--db", db, "--workspace", "cdnow"]
        treu(*ws, "import", "orders", orders)
        bg = json.loads(treu(*ws, "fit", "bgnbd", "--calibration-end", "1997-09-30", "--json").stdout)
        self.assertEqual(bg["n_customers"], 2357)
        self.assertGreater(bg["id"], 0)
        for name, printed in (("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)):
            self.assertPrinted(bg["params"][name], printed, 3)
        # Predictions need the workspace's purchase model (pareto_nbd until changed).
        r = treu(*ws, "predict", "--customer", "1", check=False)
        self.assertIn("pareto_nbd has not been fitted yet", r.stderr)
        treu(*ws, "workspace", "set", "--purchase-model", "bgnbd")
        treu(*ws, "fit", "gamma_gamma", "--calibration-end", "1997-09-30")
        p = json.loads(treu(*ws, "predict", "--customer", "1", "--json").stdout)
        self.assertEqual((p["customer_id"], p["model"], p["model_run"], p["currency"]), ("1", "bgnbd", bg["id"], "USD"))
        self.assertTrue(0 <= p["p_alive"] <= 1)
        self.assertIsNotNone(p["rfm"])
        table = treu(*ws, "predict", "--customer", "1").stdout
        self.assertIn("P(alive)", table)
        r = treu(*ws, "predict", "--customer", "nobody", check=False)
        self.assertEqual(r.stderr.strip(), "treu: customer nobody: no such customer")

        back = json.loads(treu(*ws, "backtest", "bgnbd", "--calibration-end", "1997-09-30", "--json").stdout)
        self.assertEqual((back["holdout_end"], back["holdout_length"], len(back["weekly"])), ("1998-06-30", 39, 78))
        self.assertEqual(sum(w["actual"] for w in back["weekly"][:39]), 2457)
        self.assertEqual(back["actual_total"], 1882)
        self.assertTrue(0.85 < back["predicted_total"] / back["actual_total"] < 1, back["predicted_total"])
        self.assertGreater(back["correlation"], 0.5)
        r = treu(*ws, "backtest", "gamma_gamma", "--calibration-end", "1997-09-30", check=False)
        self.assertIn("not a purchase model", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
