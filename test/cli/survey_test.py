#!/usr/bin/python3
"""`treu survey create|list|show`: definitions from JSON files, errors naming the member."""
import json
import os
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
                              capture_output=True, text=True, check=check)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
