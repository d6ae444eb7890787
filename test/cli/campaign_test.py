#!/usr/bin/python3
"""`treu campaign …` on the command line: delivery rules shown and set (bad values refused with
the flag named, nothing changed), a campaign saved with two variants, a holdout and a local send
time, previewed, launched from this process (the A/B test share sent, the rest waiting), shown,
reported, put on the calendar, cancelled and deleted; errors name what is wrong."""
import json
import os
import subprocess
import tempfile
import unittest

TREU = os.environ["TREU"]
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")


class CampaignCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = "sqlite:" + os.path.join(cls.tmp.name, "c.db")
        os.environ["TREU_SECRET_FILE"] = os.path.join(cls.tmp.name, "treu.secret")
        os.environ["TREU_MAIL_DIR"] = os.path.join(cls.tmp.name, "mail")
        customers = os.path.join(cls.tmp.name, "customers.csv")
        with open(customers, "w") as f:
            f.write("customer_id,email,timezone,consent.email\n")
            for i in range(300):
                f.write(f"c{i:03d},c{i:03d}@example.com,{ZONES[i % 3]},{'false' if i % 50 == 49 else 'true'}\n")
        html = os.path.join(cls.tmp.name, "offer.html")
        with open(html, "w") as f:
            f.write("<p>Hallo {{ customer.id }}</p>")
        cls.treu("workspace", "create", "shop", "--currency", "EUR", "--timezone", "Europe/Berlin")
        cls.treu("import", "customers", customers)
        for name in ("offer-a", "offer-b"):
            cls.treu("template", "save", name, "--subject", name, "--html", html)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def treu(cls, *args, check=True):
        return subprocess.run([TREU, "--db", cls.db, "--workspace", "shop", *args], capture_output=True, text=True,
                              check=check)

    def test_rules(self):
        self.assertIn("frequency cap  none", self.treu("campaign", "rules").stdout)
        out = self.treu("campaign", "rules", "--max-messages", "3", "--window-days", "7", "--quiet-start", "21:00",
                        "--quiet-end", "08:00").stdout
        self.assertIn("3 marketing messages per 7.0 days", out)
        self.assertIn("21:00 to 08:00", out)
        bad = self.treu("campaign", "rules", "--quiet-start", "25:00", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("quiet_hours.start", bad.stderr)
        bad = self.treu("campaign", "rules", "--max-messages", "-1", check=False)
        self.assertIn("max_messages", bad.stderr)
        self.assertIn("21:00 to 08:00", self.treu("campaign", "rules").stdout)
        self.treu("campaign", "rules", "--max-messages", "0", "--quiet-start", "00:00", "--quiet-end", "00:00")

    def test_save_preview_launch_report_cancel(self):
        out = self.treu("campaign", "save", "spring", "--template", "offer-a", "--template", "offer-b:3", "--where",
                        "orders_count >= 0", "--holdout", "10", "--test", "40", "--metric", "opened",
                        "--local-time", "09:00").stdout
        self.assertIn("campaign     spring (draft)", out)
        self.assertIn("variant B    offer-b (weight 3)", out)
        self.assertIn("A/B test     40.0 % of the rest", out)
        preview = self.treu("campaign", "preview", "spring").stdout
        self.assertIn("audience 300:", preview)
        launched = self.treu("campaign", "launch", "spring").stdout
        self.assertIn("campaign     spring (testing)", launched)
        report = self.treu("campaign", "report", "spring").stdout.splitlines()
        self.assertEqual(report[0].split()[:4], ["ARM", "TEMPLATE", "MEMBERS", "MESSAGED"])
        rows = {line.split()[0]: line.split() for line in report[1:4]}
        self.assertEqual(set(rows), {"A", "B", "holdout"})
        waiting = int(next(line for line in report if line.startswith("waiting")).split()[-1])
        members = sum(int(rows[k][2]) for k in ("A", "B")) + int(rows["holdout"][1]) + waiting
        self.assertEqual(members, 300)
        self.assertGreater(int(rows["B"][2]), int(rows["A"][2]))  # weight 3 to 1
        # Launched campaigns can't be changed; the calendar has it; cancelled, then deleted.
        bad = self.treu("campaign", "save", "spring", "--holdout", "20", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("only drafts and scheduled campaigns can be changed", bad.stderr)
        self.assertIn("cancel it first", self.treu("campaign", "delete", "spring", check=False).stderr)
        self.assertIn("spring (cancelled)", self.treu("campaign", "cancel", "spring").stdout)
        self.assertIn("deleted campaign spring", self.treu("campaign", "delete", "spring").stdout)
        self.assertNotIn("spring", self.treu("campaign", "list").stdout)

    def test_calendar_and_errors(self):
        self.treu("campaign", "save", "dec-a", "--template", "offer-a", "--where", "orders_count >= 0",
                  "--send-at", "2031-12-01T10:00:00Z", "--schedule")
        self.treu("campaign", "save", "dec-b", "--template", "offer-b", "--where", "orders_count >= 0",
                  "--send-date", "2031-12-01", "--local-time", "18:00", "--schedule")
        out = self.treu("campaign", "calendar", "--from", "2031-12-01", "--to", "2031-12-31").stdout.splitlines()
        self.assertEqual(out[0].split()[:3], ["DATE", "TIME", "CAMPAIGN"])
        self.assertEqual(len(out), 3)
        self.assertIn("18:00 local", out[1])  # a local-time send first: it has no instant
        self.assertIn(" dec-b ", out[1])
        self.assertIn(" dec-a ", out[2])
        self.assertIn("2031-12-01T10:00:00Z", out[2])
        self.assertIn("same audience as dec-a", out[1])
        for args, expected in ((("campaign", "save", "x", "--template", "nope", "--where", "orders_count >= 0"),
                                "variants.0.template"),
                               (("campaign", "save", "x", "--template", "offer-a:zero", "--where", "a"), "--template"),
                               (("campaign", "save", "x", "--template", "offer-a"), "audience"),
                               (("campaign", "save", "x", "--template", "offer-a", "--where", "orders_count >= 0",
                                 "--holdout", "70"), "holdout_percent"),
                               (("campaign", "show", "nope"), "campaign nope"),
                               (("campaign", "calendar", "--from", "2031-12-31", "--to", "2031-12-01"), "to"),
                               (("campaign", "report"), "NAME")):
            bad = self.treu(*args, check=False)
            self.assertEqual(bad.returncode, 1, args)
            self.assertIn(expected, bad.stderr, args)
        self.assertNotIn(" x ", self.treu("campaign", "list").stdout)
        for name in ("dec-a", "dec-b"):
            self.treu("campaign", "cancel", name)


    def test_a_survey_wave(self):
        survey = os.path.join(self.tmp.name, "nps.json")
        with open(survey, "w") as f:
            json.dump({"name": "wave-nps", "kind": "relationship", "every_days": 90, "default_locale": "en",
                       "title": {"en": "Your opinion"},
                       "questions": [{"id": "nps", "kind": "nps", "required": True, "text": {"en": "How likely?"}}]}, f)
        self.treu("survey", "create", survey)
        html = os.path.join(self.tmp.name, "ask.html")
        with open(html, "w") as f:
            f.write('<p><a href="{{ survey_url }}">Tell us</a></p>')
        self.treu("template", "save", "ask", "--subject", "One question", "--html", html)
        base = ("campaign", "save", "wave", "--template", "ask", "--where", "orders_count >= 0",
                "--send-at", "2031-11-03T10:00:00Z", "--schedule")
        for extra, expected in ((("--survey", "nope"), "survey: no survey named 'nope'"),
                                ((), "survey: is required: template 'ask' (variant A) links to {{ survey_url }}")):
            bad = self.treu(*base, *extra, check=False)
            self.assertEqual(bad.returncode, 1, extra)
            self.assertIn(expected, bad.stderr)
        out = self.treu(*base, "--survey", "wave-nps").stdout
        self.assertIn("survey wave  each message invites to survey wave-nps", out)
        preview = self.treu("campaign", "preview", "wave").stdout
        self.assertIn("messages 294", preview)  # 300 customers, 6 without consent; nobody asked yet
        cal = self.treu("campaign", "calendar", "--from", "2031-11-03").stdout
        self.assertIn("survey wave: wave-nps", cal)
        self.treu("campaign", "cancel", "wave")


if __name__ == "__main__":
    unittest.main(verbosity=2)
