#!/usr/bin/python3
"""`treu survey create|list|show`: definitions from JSON files, errors naming the member."""
import csv
import io
import json
import os
import re
import subprocess
import tempfile
import unittest

TREU = os.environ["TREU"]

NPS = {"name": "quarterly-nps", "kind": "relationship", "every_days": 90, "min_gap_days": 30,
       "default_locale": "de", "title": {"de": "Ihre Meinung zählt", "en": "Your opinion counts"},
       "questions": [{"id": "nps", "kind": "nps", "required": True,
                      "text": {"de": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?",
                               "en": "How likely are you to recommend us?"},
                      "follow_up": {"min": 0, "max": 6, "question": {
                          "id": "improve", "kind": "text", "text": {"de": "Was können wir besser machen?"}}}}]}


class SurveyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.db = "sqlite:" + os.path.join(self.tmp.name, "s.db")

    def tearDown(self):
        self.tmp.cleanup()

    def treu(self, *args, check=True):
        return subprocess.run([TREU, "--db", self.db, "--workspace", "shop", "--currency", "EUR", *args],
                              capture_output=True, text=True, check=check,
                              env=dict(os.environ, TREU_SECRET_FILE=os.path.join(self.tmp.name, "signing.secret")))

    def write(self, name, definition):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            json.dump(definition, f)
        return path

    def test_create_list_show_replace(self):
        path = self.write("nps.json", NPS)
        self.assertEqual(self.treu("survey", "create", path).stdout, "created survey quarterly-nps (id 1)\n")
        r = self.treu("survey", "create", path, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("a survey named 'quarterly-nps' exists (use --replace to change it)", r.stderr)
        shown = json.loads(self.treu("survey", "show", "quarterly-nps").stdout)
        self.assertEqual((shown["id"], shown["nps_thresholds"], shown["questions"][0]["follow_up"]["max"]),
                         (1, "standard", 6))
        changed = dict(NPS, nps_thresholds="article")
        self.treu("survey", "create", self.write("nps2.json", changed), "--replace")
        listed = json.loads(self.treu("survey", "list", "--json").stdout)
        self.assertEqual([(s["name"], s["nps_thresholds"]) for s in listed], [("quarterly-nps", "article")])
        self.assertIn("quarterly-nps", self.treu("survey", "list").stdout)

    def test_bad_definitions_name_the_member_and_store_nothing(self):
        bad = json.loads(json.dumps(NPS))
        bad["questions"][0]["kind"] = "stars"
        path = self.write("bad.json", bad)
        r = self.treu("survey", "create", path, check=False)
        self.assertEqual(r.stderr.strip(), f'treu: {path}: /questions/0/kind: "stars" is not one of nps, csat, '
                                           'ces, single_choice, multiple_choice, text')
        r = self.treu("survey", "create", self.write("bad2.json", dict(NPS, every_days=0)), check=False)
        self.assertIn("/every_days", r.stderr)
        with open(os.path.join(self.tmp.name, "broken.json"), "w") as f:
            f.write("{not json")
        r = self.treu("survey", "create", os.path.join(self.tmp.name, "broken.json"), check=False)
        self.assertIn("is not valid JSON", r.stderr)
        self.assertEqual(self.treu("survey", "list").stdout, "")
        r = self.treu("survey", "show", "nope", check=False)
        self.assertEqual(r.stderr.strip(), "treu: survey nope: no such survey")


    def test_links_for_a_segment(self):
        self.treu("survey", "create", self.write("nps.json", NPS))
        with open(os.path.join(self.tmp.name, "c.csv"), "w") as f:
            f.write("customer_id,email\nanna,anna@shop.example\nben,ben@mail.example\n")
        self.treu("import", "customers", os.path.join(self.tmp.name, "c.csv"))
        r = self.treu("survey", "links", "quarterly-nps", "--where", 'email contains "@shop."',
                      "--base-url", "https://feedback.example")
        rows = r.stdout.strip().split("\n")
        self.assertEqual(rows[0], "customer_id,email,link")
        self.assertEqual(len(rows), 2)
        customer, email, link = rows[1].split(",")
        self.assertEqual((customer, email), ("anna", "anna@shop.example"))
        self.assertRegex(link, r"^https://feedback\.example/s/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
        self.assertIn("1 invitations to quarterly-nps, valid for 30 days", r.stderr)
        secret = os.path.join(self.tmp.name, "signing.secret")
        self.assertEqual(os.stat(secret).st_mode & 0o777, 0o600)
        # Anna was just asked: the schedule (every 90 days) skips her until --ignore-schedule.
        skipped = self.treu("survey", "links", "quarterly-nps", "--where", 'email contains "@shop."')
        self.assertEqual(skipped.stdout, "customer_id,email,link\n")
        self.assertIn("0 invitations to quarterly-nps, valid for 30 days; not due: 1 asked_recently", skipped.stderr)
        # Every run makes new links; a secret file others can read is refused.
        again = self.treu("survey", "links", "quarterly-nps", "--where", 'email contains "@shop."',
                          "--ignore-schedule").stdout
        self.assertNotEqual(again.split("\n")[1].split(",")[2].split("/s/")[1], link.split("/s/")[1])
        # --snippet adds the eleven-link scale for answering inside the email.
        out = self.treu("survey", "links", "quarterly-nps", "--where", 'email contains "@shop."', "--snippet",
                        "--ignore-schedule", "--base-url", "https://feedback.example").stdout
        row = list(csv.DictReader(io.StringIO(out)))[0]
        hrefs = re.findall(r'href="([^"]+)"', row["email_html"])
        self.assertEqual(len(hrefs), 11)
        self.assertEqual([h.rsplit("?score=", 1)[1] for h in hrefs], [str(n) for n in range(11)])
        self.assertTrue(all(h.startswith(row["link"] + "?score=") for h in hrefs))
        self.assertIn("Wie wahrscheinlich", row["email_html"])  # the survey's default locale
        self.assertEqual(row["email_text"].count("?score="), 11)
        self.assertIn("Sehr unwahrscheinlich", row["email_html"])  # what the ends of the scale mean
        # The workspace's brand colour colours the scale; a bad one is refused.
        r = self.treu("workspace", "set", "--brand-colour", "teal", check=False)
        self.assertIn("'teal' must be #RRGGBB", r.stderr)
        self.treu("workspace", "set", "--brand-colour", "#0a7f5a")
        out = self.treu("survey", "links", "quarterly-nps", "--where", 'email contains "@shop."', "--snippet",
                        "--ignore-schedule").stdout
        self.assertIn("#0a7f5a", list(csv.DictReader(io.StringIO(out)))[0]["email_html"])
        r = self.treu("survey", "results", "quarterly-nps")
        self.assertEqual(r.stdout, "quarterly-nps: 4 invited, 0 answered (0.0 %)\n")
        results = json.loads(self.treu("survey", "results", "quarterly-nps", "--json").stdout)
        self.assertEqual((results["invited"], results["nps"]["value"]), (4, None))
        os.chmod(secret, 0o644)
        r = self.treu("survey", "links", "quarterly-nps", "--where", "orders_count = 0", check=False)
        self.assertIn("run chmod 600", r.stderr)
        r = self.treu("survey", "links", "quarterly-nps", check=False)
        self.assertIn("--segment NAME or --where EXPR", r.stderr)

    def test_import_answers_from_another_tool(self):
        self.treu("survey", "create", self.write("nps.json", NPS))
        with open(os.path.join(self.tmp.name, "c.csv"), "w") as f:
            f.write("customer_id,email\nanna,anna@shop.example\nben,ben@mail.example\n")
        self.treu("import", "customers", os.path.join(self.tmp.name, "c.csv"))
        answers = os.path.join(self.tmp.name, "answers.csv")
        with open(answers, "w") as f:
            f.write("customer_id,answered_at,response_id,nps,improve\n"
                    "anna,2024-01-15T10:00:00Z,r1,3,Zu teuer und zu langsam\n"
                    "ben,2024-02-03,r2,10,\n"
                    "anna,2024-02-20,r3,9,\n")
        r = self.treu("survey", "import", "quarterly-nps", answers)
        self.assertEqual(r.stdout, "imported 3 responses to quarterly-nps, replaced 0 imported before\n")
        # The same file again replaces the same responses.
        r = self.treu("survey", "import", "quarterly-nps", answers)
        self.assertEqual(r.stdout, "imported 0 responses to quarterly-nps, replaced 3 imported before\n")
        results = json.loads(self.treu("survey", "results", "quarterly-nps", "--by", "month", "--json").stdout)
        self.assertEqual(results["responses"], 3)
        self.assertAlmostEqual(results["nps"]["value"], 100 * (2 - 1) / 3)
        self.assertEqual([(p["period"], p["responses"], p["nps"]) for p in results["trend"]],
                         [("2024-01", 1, -100.0), ("2024-02", 2, 100.0)])
        self.assertEqual(results["verbatims"][0]["text"], "Zu teuer und zu langsam")
        for query, found in (("LANGSAM", 1), ("langs teu", 1), ("schnell", 0), ("angsam", 0)):
            out = json.loads(self.treu("survey", "results", "quarterly-nps", "--search", query, "--json").stdout)
            self.assertEqual(len(out["verbatims"]), found, query)
        self.assertEqual(sorted(t["text"] for t in results["detractor_themes"])[:2], ["langsam", "teuer"])
        # The feedback metrics of treu kpi count the answers of every survey in the period.
        kpis = {k["id"]: k for k in json.loads(self.treu("kpi", "--period", "2024-02", "--json").stdout)}
        self.assertEqual(kpis["nps"]["value"], 100.0)
        self.assertEqual(kpis["nps"]["inputs"]["answers"], 2)
        kpis = {k["id"]: k for k in json.loads(self.treu("kpi", "--period", "2024-01", "--json").stdout)}
        self.assertEqual(kpis["nps"]["value"], -100.0)
        self.assertIsNone(kpis["csat"]["value"])
        self.assertEqual(kpis["csat"]["null_reason"], "no CSAT answers in the period")
        kpis = {k["id"]: k for k in json.loads(self.treu("kpi", "--period", "2024-02", "--where",
                                                         'email contains "@shop."', "--json").stdout)}
        self.assertEqual(kpis["nps"]["value"], 100.0)  # anna's 9 only
        # By segment: only ben's answer.
        results = json.loads(self.treu("survey", "results", "quarterly-nps", "--where", 'email contains "@mail."',
                                       "--json").stdout)
        self.assertEqual((results["responses"], results["nps"]["value"]), (1, 100.0))
        text = self.treu("survey", "results", "quarterly-nps", "--by", "month").stdout
        self.assertRegex(text, r"2024-01 +1 +-100\.0")
        # Imported answers became Survey Answered events at their own time, usable in segments.
        members = self.treu("segment", "eval",
                            'count(event "Survey Answered" where properties.category = "detractor") >= 1',
                            "--ids").stdout
        self.assertEqual(members.split(), ["anna"])
        # ... and each customer's latest NPS answer is a segment field: anna's 9 replaced her 3.
        self.assertEqual(self.treu("segment", "eval", 'nps_category = "promoter"', "--ids").stdout.split(),
                         ["anna", "ben"])
        self.assertEqual(self.treu("segment", "eval", "nps_last_score >= 10", "--ids").stdout.split(), ["ben"])
        # Imported detractors open no follow-up item.
        self.assertEqual(json.loads(self.treu("survey", "followups", "--json").stdout), [])
        # A bad file names each problem with its line and stores nothing.
        with open(answers, "w") as f:
            f.write("customer_id,answered_at,nps\nzoe,2024-03-01,5\nanna,2024-03-02,11\nben,2024-03-03,7\n")
        r = self.treu("survey", "import", "quarterly-nps", answers, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{answers}:2: customer_id: no customer 'zoe' in this workspace", r.stderr)
        self.assertIn(f"{answers}:3: nps: must be a whole number from 0 to 10", r.stderr)
        self.assertIn("nothing imported", r.stderr)
        self.assertEqual(json.loads(self.treu("survey", "results", "quarterly-nps", "--json").stdout)["responses"], 3)
        with open(answers, "w") as f:
            f.write("customer_id,answered_at,stars\nanna,2024-03-01,5\n")
        r = self.treu("survey", "import", "quarterly-nps", answers, check=False)
        self.assertIn("column 'stars' is neither customer_id, answered_at, response_id nor a question", r.stderr)
        r = self.treu("survey", "followup", "99", "--status", "done", check=False)
        self.assertEqual(r.stderr.strip(), "treu: follow-up 99: no such follow-up in this workspace")

    def test_transactional_schedule(self):
        survey = {"name": "after-order", "kind": "transactional", "trigger_event": "Order Completed",
                  "delay_hours": 24, "min_gap_days": 0, "title": {"en": "Your order"},
                  "questions": [{"id": "csat", "kind": "csat", "text": {"en": "How satisfied are you?"}}]}
        self.treu("survey", "create", self.write("t.json", survey))
        with open(os.path.join(self.tmp.name, "c.csv"), "w") as f:
            f.write("customer_id,email\nanna,anna@shop.example\nben,ben@shop.example\n")
        self.treu("import", "customers", os.path.join(self.tmp.name, "c.csv"))
        with open(os.path.join(self.tmp.name, "o.csv"), "w") as f:
            f.write("order_id,customer_id,placed_at,total\no1,anna,2024-01-10,20\n")
        self.treu("import", "orders", os.path.join(self.tmp.name, "o.csv"))
        r = self.treu("survey", "links", "after-order", "--where", 'email contains "@"')
        self.assertEqual([row["customer_id"] for row in csv.DictReader(io.StringIO(r.stdout))], ["anna"])
        self.assertIn("1 invitations to after-order, valid for 30 days; not due: 1 no_trigger", r.stderr)
        r = self.treu("survey", "links", "after-order", "--where", 'email contains "@"')
        self.assertIn("0 invitations to after-order, valid for 30 days; not due: 1 already_asked, 1 no_trigger",
                      r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
