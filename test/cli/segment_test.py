#!/usr/bin/python3
"""`treu segment` over imported customers and orders: members, nulls, errors with a caret."""
import json
import os
import subprocess
import tempfile
import unittest

TREU = os.environ["TREU"]


class SegmentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.db = "sqlite:" + os.path.join(d, "seg.db")
        with open(os.path.join(d, "customers.csv"), "w") as f:
            f.write("customer_id,email,country,attributes.tier\n"
                    "anna,anna@shop.example,DE,gold\n"
                    "ben,ben@mail.example,AT,silver\n"
                    "cleo,,DE,\n")
        with open(os.path.join(d, "orders.csv"), "w") as f:
            f.write("order_id,customer_id,placed_at,total,currency\n"
                    "o1,anna,2024-01-10,120.00,EUR\n"
                    "o2,anna,2024-03-01,80.50,EUR\n"
                    "o3,ben,2023-06-01,15.00,EUR\n")
        cls.run_treu("import", "customers", os.path.join(d, "customers.csv"))
        cls.run_treu("import", "orders", os.path.join(d, "orders.csv"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def run_treu(cls, *args, check=True):
        return subprocess.run([TREU, "--db", cls.db, "--workspace", "shop", "--currency", "EUR", *args],
                              capture_output=True, text=True, check=check)

    def ids(self, expr):
        return self.run_treu("segment", "eval", expr, "--ids").stdout.split()

    def test_members(self):
        self.assertEqual(self.ids('revenue_total > 100'), ["anna"])
        self.assertEqual(self.ids('orders_count >= 1 and country = "DE"'), ["anna"])
        self.assertEqual(self.ids('country in ["DE", "AT"] and not (email contains "@shop.")'), ["ben"])
        self.assertEqual(self.ids('email is null'), ["cleo"])
        self.assertEqual(self.ids('last_order_at < "2024-01-01"'), ["ben"])
        self.assertEqual(self.ids('attributes.tier = "gold" or orders_count = 0'), ["anna", "cleo"])
        out = json.loads(self.run_treu("segment", "eval", "orders_count >= 1", "--json").stdout)
        self.assertEqual((out["count"], out["customers"], out["expr"]), (2, 3, "orders_count >= 1"))
        self.assertEqual(self.run_treu("segment", "eval", "orders_count >= 1").stdout.strip(), "2 of 3 customers")
        csv = self.run_treu("segment", "eval", "revenue_total > 100", "--csv").stdout
        self.assertEqual(csv, "customer_id,email\nanna,anna@shop.example\n")

    def test_errors_point_at_the_mistake(self):
        r = self.run_treu("segment", "eval", "last_ordr_at < now() - 90d", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "treu: segment:1:1: unknown field 'last_ordr_at'; did you mean 'last_order_at'?\n"
                                   "last_ordr_at < now() - 90d\n^\n")
        r = self.run_treu("segment", "explain", "revenue_total > \"abc\"", check=False)
        self.assertIn("segment:1:", r.stderr)
        self.assertIn("^", r.stderr)

    def test_saved_segments(self):
        self.assertIn("saved segment big", self.run_treu("segment", "save", "big", "revenue_total >= 100").stdout)
        self.run_treu("segment", "save", "big_de", 'in_segment("big") and country = "DE"')
        self.assertEqual(self.ids('in_segment("big_de")'), ["anna"])
        self.assertEqual(self.run_treu("segment", "show", "big_de").stdout,
                         'big_de: in_segment("big") and country = "DE"\n1 of 3 customers\n')
        listed = json.loads(self.run_treu("segment", "list", "--json").stdout)
        self.assertEqual([s["name"] for s in listed], ["big", "big_de"])
        # Changing big changes big_de; a cycle is refused and changes nothing.
        self.run_treu("segment", "save", "big", "revenue_total >= 10")
        self.assertEqual(self.ids('in_segment("big_de")'), ["anna"])
        self.assertEqual(self.ids('in_segment("big")'), ["anna", "ben"])
        r = self.run_treu("segment", "save", "big", 'in_segment("big_de")', check=False)
        self.assertEqual(r.stderr.strip(), 'treu: segment: in_segment("big") -> "big_de" -> "big" is a cycle')
        self.assertEqual(self.ids('in_segment("big")'), ["anna", "ben"])
        r = self.run_treu("segment", "delete", "big", check=False)
        self.assertEqual(r.stderr.strip(), "treu: segment big: is used by in_segment in big_de")
        r = self.run_treu("segment", "save", "bad name", "orders_count > 1", check=False)
        self.assertIn("must be 1 to 64 letters", r.stderr)
        r = self.run_treu("segment", "eval", 'in_segment("nope")', check=False)
        self.assertIn('unknown segment "nope"', r.stderr)
        self.run_treu("segment", "delete", "big_de")
        self.run_treu("segment", "delete", "big")
        self.assertEqual(self.run_treu("segment", "list").stdout, "")

    def test_kpis_and_cohorts_of_a_segment(self):
        def new(*extra):
            out = self.run_treu("kpi", "customers_new", "--period", "2023-06", "--json", *extra).stdout
            return json.loads(out)[0]["value"]
        self.assertEqual(new(), 1)  # ben
        self.assertEqual(new("--where", 'country = "DE"'), 0)
        self.assertEqual(new("--where", 'country = "AT"'), 1)
        self.run_treu("segment", "save", "austria", 'country = "AT"')
        self.assertEqual(new("--segment", "austria"), 1)
        self.assertEqual(new("--segment", "austria", "--where", "orders_count > 5"), 0)
        cohorts = json.loads(self.run_treu("cohorts", "--by", "quarter", "--where", 'country = "DE"', "--json").stdout)
        self.assertEqual([c["size"] for c in cohorts["cohorts"]], [1])  # anna, 2024-Q1
        r = self.run_treu("kpi", "--period", "2024-01", "--where", "revnue_total > 1", check=False)
        self.assertIn("did you mean 'revenue_total'?", r.stderr)
        r = self.run_treu("kpi", "--period", "2024-01", "--segment", "nope", check=False)
        self.assertEqual(r.stderr.strip(), "treu: segment nope: no such segment")
        self.run_treu("segment", "delete", "austria")

    def test_membership_refresh_export_and_rename(self):
        d = self.tmp.name
        def live(*args, check=True):
            return subprocess.run([TREU, "--db", self.db, "--workspace", "live", "--currency", "EUR", *args],
                                  capture_output=True, text=True, check=check)
        live("import", "customers", os.path.join(d, "customers.csv"))
        live("import", "orders", os.path.join(d, "orders.csv"))
        live("segment", "save", "buyers", "orders_count >= 1")
        report = json.loads(live("segment", "refresh", "--json").stdout)
        self.assertEqual(report["failed"], [])
        self.assertEqual(report["left"], 0)
        listed = {s["name"]: s for s in json.loads(live("segment", "list", "--json").stdout)}
        self.assertFalse(listed["buyers"]["builtin"])
        for name in ("at_risk", "new", "dormant", "rfm_champions", "rfm_lost"):
            self.assertTrue(listed[name]["builtin"], name)
        self.assertEqual(listed["dormant"]["expr"], "orders_count >= 1 and last_order_at < now() - 365d")
        log = json.loads(live("segment", "transitions", "buyers", "--json").stdout)
        self.assertEqual(sorted((t["customer_id"], t["kind"]) for t in log["transitions"]),
                         [("anna", "entered"), ("ben", "entered")])
        self.assertEqual([z["size"] for z in log["sizes"]], [2])
        # A second refresh with nothing changed records nothing new.
        again = json.loads(live("segment", "refresh", "--json").stdout)
        self.assertEqual((again["entered"], again["left"]), (0, 0))
        # Changing the segment moves ben out, logged as left.
        live("segment", "save", "buyers", "orders_count >= 2")
        live("segment", "refresh")
        log = json.loads(live("segment", "transitions", "buyers", "--json").stdout)
        self.assertEqual([(t["customer_id"], t["kind"]) for t in log["transitions"]][-1], ("ben", "left"))
        self.assertEqual([z["size"] for z in log["sizes"]][-1], 1)
        # Export streams the current members with their main fields.
        self.assertEqual(live("segment", "export", "buyers").stdout,
                         "customer_id,email,orders_count,revenue_total,last_order_at\n"
                         "anna,anna@shop.example,2,200.5,2024-03-01T00:00:00Z\n")
        row = json.loads(live("segment", "export", "buyers", "--format", "jsonl").stdout)
        self.assertEqual((row["customer_id"], row["orders_count"], row["revenue_total"]), ("anna", 2, 200.5))
        # Rename keeps the membership; built-in segments can't be changed or deleted.
        self.assertIn("renamed segment buyers to repeat", live("segment", "rename", "buyers", "repeat").stdout)
        self.assertEqual(len(json.loads(live("segment", "transitions", "repeat", "--json").stdout)["transitions"]), 3)
        r = live("segment", "delete", "at_risk", check=False)
        self.assertEqual(r.stderr.strip(), "treu: segment at_risk: is a built-in segment and can't be deleted")
        r = live("segment", "save", "new", "orders_count = 1", check=False)
        self.assertEqual(r.stderr.strip(), "treu: segment new: is a built-in segment and can't be changed")

    def test_explain_and_fields(self):
        out = self.run_treu("segment", "explain", 'revenue_total>100 and  (country="DE")')
        lines = out.stdout.splitlines()
        self.assertEqual(lines[0], 'revenue_total > 100 and country = "DE"')
        self.assertEqual(lines[1].split()[:2], ["revenue_total", "money"])
        fields = self.run_treu("segment", "fields").stdout
        for name in ("revenue_total", "p_alive", "rfm_segment", "consent.email"):
            self.assertIn(name, fields)


if __name__ == "__main__":
    unittest.main(verbosity=2)
