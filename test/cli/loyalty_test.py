#!/usr/bin/python3
"""`treu loyalty …`: the program from a file (errors naming the member), rewards and codes,
earning on imported orders, adjustments and redemptions that a repeated command doesn't
repeat, balances, histories, the report and the ledger check."""
import datetime
import json
import os
import subprocess
import tempfile
import unittest

TREU = os.environ["TREU"]

PROGRAM = {"starts_at": "2024-01-01T00:00:00Z",
           "rules": [{"id": "spend", "kind": "spend", "points_per_unit": 1}],
           "tiers": [{"name": "basic", "threshold": 0}, {"name": "gold", "threshold": 100}],
           "expiry_days": 3650,
           "surprises": [{"id": "second", "kind": "orders", "orders": 2, "points": 25}]}


class LoyaltyCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = "sqlite:" + os.path.join(self.tmp.name, "l.db")

    def tearDown(self):
        self.tmp.cleanup()

    def treu(self, *args, check=True):
        return subprocess.run([TREU, "--db", self.db, "--workspace", "shop", "--currency", "EUR", *args],
                              capture_output=True, text=True, check=check)

    def write(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def test_program_errors_name_the_member_and_store_nothing(self):
        bad = dict(PROGRAM, tiers=[{"name": "basic", "threshold": 5}])
        r = self.treu("loyalty", "program", self.write("bad.json", bad), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("/tiers/0/threshold: the first tier's threshold must be 0", r.stderr)
        r = self.treu("loyalty", "program", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("none yet", r.stderr)

    def test_orders_earn_and_commands_are_idempotent(self):
        self.treu("loyalty", "program", self.write("p.json", PROGRAM))
        shown = json.loads(self.treu("loyalty", "program").stdout)
        self.assertEqual(shown["tiers"][1], {"name": "gold", "threshold": 100})
        # Recent orders (tiers count what was earned in the last 365 days).
        day = [(datetime.date.today() - datetime.timedelta(days=d)).isoformat() for d in (12, 10, 9)]
        self.treu("import", "orders", self.write("o.csv", "order_id,customer_id,placed_at,total\n"
                                                 f"o1,c1,{day[0]},60.00\no2,c1,{day[1]},45.50\n"
                                                 f"o3,c2,{day[2]},10.00\n"))
        out = self.treu("loyalty", "process").stdout
        self.assertIn("3 orders", out)
        balance = json.loads(self.treu("loyalty", "balance", "c1", "--json").stdout)
        self.assertEqual((balance["available"], balance["tier"]), (60 + 45 + 25, "gold"))
        # An adjustment with a key happens once however often the command runs.
        for _ in range(2):
            self.treu("loyalty", "adjust", "c2", "-5", "--reason", "typo", "--key", "fix-1")
        self.assertEqual(json.loads(self.treu("loyalty", "balance", "c2", "--json").stdout)["available"], 5)
        r = self.treu("loyalty", "adjust", "c2", "-50", "--reason", "too much", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("insufficient points: available 5, asked 50", r.stderr)
        # A voucher reward with codes, redeemed and confirmed at once.
        self.treu("loyalty", "rewards", "ten-off", self.write("r.json", {"title": "10 off", "kind": "voucher",
                                                                         "points": 100}),
                  "--codes", self.write("codes.txt", "TEN-A\nTEN-B\n"))
        listed = self.treu("loyalty", "rewards").stdout
        self.assertIn("ten-off", listed)
        redeemed = json.loads(self.treu("loyalty", "redeem", "c1", "ten-off", "--confirm", "--key", "r1").stdout)
        self.assertEqual((redeemed["state"], redeemed["code"]), ("confirmed", "TEN-A"))
        history = json.loads(self.treu("loyalty", "history", "c1", "--json").stdout)
        self.assertEqual([t["kind"] for t in history], ["earn", "earn", "earn", "hold", "confirm"])
        self.assertEqual(history[2]["id"], "surprise:second:1")
        self.assertIn("confirm", self.treu("loyalty", "history", "c1").stdout)
        report = self.treu("loyalty", "report", "--by", "year", "--periods", "3").stdout
        self.assertIn("liability          35 points", report)
        self.assertEqual(self.treu("loyalty", "verify").returncode, 0)
        # Referral codes: one per customer; a customer who ordered can't be referred.
        code = self.treu("loyalty", "referral", "c2").stdout.strip()
        self.assertEqual(len(code), 8)
        r = self.treu("loyalty", "referral", "c1", "--referred-by", code, check=False)
        self.assertIn("only new customers can be referred", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
