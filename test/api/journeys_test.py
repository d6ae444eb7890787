#!/usr/bin/python3
"""Journeys over real HTTP, on SQLite or PostgreSQL, with the server's own journey worker: a
definition saved (every error at its JSON pointer, nothing saved), versions kept when nothing
changed, customers entered by tracked events sent with the public tracking key (but not by events
from before the journey), their welcome email in the outbox once however often the worker runs,
runs paged, the report per step, a pause that holds entries until the journey is resumed, the
members of a trigger segment entered on request, and other workspaces.

Waits, branches, goals, caps, quiet hours and versions on a simulated clock are in
src/journeys/service_test.cpp.

Usage: journeys_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)
"""
import datetime
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (fresh_db, cli, make_key, Server; takes the backend argument)

CUSTOMERS = 12

WELCOME = {
    "trigger": {"type": "event", "event": "Signed Up"},
    "reentry": "never",
    "steps": [
        {"id": "hello", "type": "send", "template": "hello", "next": "pause"},
        {"id": "pause", "type": "wait", "days": 3, "next": "again"},
        {"id": "again", "type": "send", "template": "hello", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


class JourneysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rows = "".join(f"c{i:02d},c{i:02d}@example.com,true\n" for i in range(CUSTOMERS))
        api_test.set_up_database(cls, "customer_id,email,consent.email\n" + rows, ("j", "other"))
        cls.key = api_test.make_key(cls.db, "j", "admin")
        cls.tracking = api_test.make_key(cls.db, "j", "tracking")
        cls.other_key = api_test.make_key(cls.db, "other", "admin")
        cls.server = api_test.Server(cls.db)
        status, out = cls.call("POST", "/api/v1/templates",
                               {"name": "hello", "subject": "Welcome {{ customer.id }}", "html": "<p>Hi</p>"})
        assert status in (200, 201), out

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    @classmethod
    def call(cls, method, path, body=None, key=None, basic=False):
        return api_test.call_json(cls.server.port, method, path, body, key or cls.key, basic=basic)

    def track(self, customer, event, n):
        status, out = self.call("POST", "/v1/track", {"userId": customer, "event": event, "messageId": f"{event}-{n}"},
                                key=self.tracking, basic=True)
        self.assertEqual(status, 200, out)

    def report(self, name):
        status, out = self.call("GET", f"/api/v1/journeys/{name}/report")
        self.assertEqual(status, 200, out)
        return out

    def wait_entered(self, name, count, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            r = self.report(name)
            if r["entered"] >= count:
                return r
            time.sleep(0.3)
        self.fail(f"{name}: {count} entered not reached: {r}")

    def test_1_bad_definitions_point_at_the_member_and_save_nothing(self):
        bad = json.loads(json.dumps(WELCOME))
        bad["steps"][0]["tempalte"] = bad["steps"][0].pop("template")
        bad["steps"][1]["next"] = "nowhere"
        status, problem = self.call("PUT", "/api/v1/journeys/broken", bad)
        self.assertEqual(status, 400, problem)
        pointers = [e["pointer"] for e in problem["errors"]]
        self.assertIn("/steps/0/tempalte", pointers)
        self.assertIn("/steps/1/next", pointers)
        unknown = json.loads(json.dumps(WELCOME))
        unknown["steps"][0]["template"] = "no-such-template"
        status, problem = self.call("PUT", "/api/v1/journeys/broken", unknown)
        self.assertEqual(status, 404, problem)
        self.assertEqual(problem["errors"][0]["pointer"], "/steps/0/template")
        status, problem = self.call("PUT", "/api/v1/journeys/broken", dict(WELCOME, name="another"))
        self.assertEqual(status, 400, problem)
        self.assertEqual(problem["errors"][0]["pointer"], "/name")
        status, problem = self.call("PUT", "/api/v1/journeys/broken", {"trigger": {"type": "segment_entered",
                                                                                     "segment": "nope"},
                                                                         "steps": [{"id": "x", "type": "exit"}]})
        self.assertEqual(status, 404, problem)
        self.assertEqual(problem["errors"][0]["pointer"], "/trigger/segment")
        self.assertEqual(self.call("GET", "/api/v1/journeys/broken")[0], 404)
        self.assertEqual(self.call("GET", "/api/v1/journeys")[1]["data"], [])

    def test_2_events_enter_customers_once(self):
        self.track("c00", "Signed Up", 0)  # before the journey: nobody enters for it
        status, saved = self.call("PUT", "/api/v1/journeys/welcome", WELCOME)
        self.assertEqual(status, 201, saved)
        self.assertEqual((saved["version"], saved["state"], saved["new_version"]), (1, "active", True))
        status, again = self.call("PUT", "/api/v1/journeys/welcome", dict(WELCOME, name="welcome"))
        self.assertEqual((status, again["version"], again["new_version"]), (200, 1, False))
        for i in range(1, 6):
            self.track(f"c{i:02d}", "Signed Up", i)
        self.track("c06", "Page Viewed", 6)
        r = self.wait_entered("welcome", 5)
        time.sleep(5)  # two more passes of the worker add nothing
        r = self.report("welcome")
        self.assertEqual((r["entered"], r["inside"], r["completed"], r["exited"]), (5, 5, 0, 0))
        steps = {s["id"]: s for s in r["steps"]}
        self.assertEqual(steps["hello"]["executed"], 5)
        self.assertEqual(steps["pause"]["waiting"], 5)
        hello = steps["hello"]["messages"]
        self.assertEqual(hello["queued"] + hello["sent"] + hello["failed"], 5, hello)
        status, messages = self.call("GET", "/api/v1/messages?limit=100")
        self.assertEqual(status, 200, messages)
        mine = [m for m in messages["data"] if m.get("campaign") == "journey:welcome:hello"]
        self.assertEqual(sorted(m["customer_id"] for m in mine), [f"c{i:02d}" for i in range(1, 6)])
        # Runs, paged.
        status, page = self.call("GET", "/api/v1/journeys/welcome/runs?limit=2")
        self.assertEqual(status, 200, page)
        seen = [run["customer"] for run in page["data"]]
        while page["next_cursor"]:
            page = self.call("GET", "/api/v1/journeys/welcome/runs?limit=2&cursor=" + page["next_cursor"])[1]
            seen += [run["customer"] for run in page["data"]]
        self.assertEqual(sorted(seen), [f"c{i:02d}" for i in range(1, 6)])
        self.assertTrue(all(run["step"] == "pause" and run["state"] == "waiting" for run in page["data"]))
        status, one = self.call("GET", "/api/v1/journeys/welcome/runs?customer=c03")
        self.assertEqual([run["customer"] for run in one["data"]], ["c03"])
        # The content calendar shows the second email, planned three days from now.
        first = datetime.date.today()
        status, cal = self.call("GET", f"/api/v1/calendar?from={first}&to={first + datetime.timedelta(days=5)}")
        self.assertEqual(status, 200, cal)
        planned = [e for e in cal["data"] if e["kind"] == "journey" and e["name"] == "welcome"]
        self.assertEqual([(e["step"], e["template"], e["customers"]) for e in planned], [("again", "hello", 5)], cal)
        self.assertIn(planned[0]["date"], (str(first + datetime.timedelta(days=3)), str(first + datetime.timedelta(days=4))))
        # "never": signing up again enters nobody twice.
        self.track("c01", "Signed Up", 100)
        time.sleep(5)
        self.assertEqual(self.report("welcome")["entered"], 5)

    def test_3_paused_journeys_hold_entries_until_resumed(self):
        status, saved = self.call("PUT", "/api/v1/journeys/later", dict(WELCOME, trigger={"type": "event",
                                                                                           "event": "Trial Started"}))
        self.assertEqual(status, 201, saved)
        status, paused = self.call("POST", "/api/v1/journeys/later/pause", {})
        self.assertEqual((status, paused["state"]), (200, "paused"))
        self.track("c07", "Trial Started", 7)
        time.sleep(5)
        self.assertEqual(self.report("later")["entered"], 0)
        status, resumed = self.call("POST", "/api/v1/journeys/later/resume", {})
        self.assertEqual((status, resumed["state"]), (200, "active"))
        self.wait_entered("later", 1)

    def test_4_segment_members_are_entered_on_request(self):
        status, out = self.call("POST", "/api/v1/segments", {"name": "everyone", "expr": "orders_count >= 0"})
        self.assertIn(status, (200, 201), out)
        # The server's segment refresher records the members; then the journey is saved, so its
        # trigger (entering the segment from now on) enters none of them by itself.
        deadline = time.time() + 60
        size = None
        while time.time() < deadline and size != CUSTOMERS:
            segments = self.call("GET", "/api/v1/segments")[1]["data"]
            size = next(s for s in segments if s["name"] == "everyone")["size"]
            time.sleep(0.3)
        self.assertEqual(size, CUSTOMERS)
        body = dict(WELCOME, trigger={"type": "segment_entered", "segment": "everyone"})
        self.assertEqual(self.call("PUT", "/api/v1/journeys/everyone-in", body)[0], 201)
        time.sleep(5)
        self.assertEqual(self.report("everyone-in")["entered"], 0)
        status, event_journey = self.call("POST", "/api/v1/journeys/welcome/enter-members", {})
        self.assertEqual(status, 409, event_journey)
        status, entered = self.call("POST", "/api/v1/journeys/everyone-in/enter-members", {})
        self.assertEqual((status, entered["entered"]), (200, CUSTOMERS), entered)
        self.assertEqual(self.report("everyone-in")["entered"], CUSTOMERS)
        status, again = self.call("POST", "/api/v1/journeys/everyone-in/enter-members", {})
        self.assertEqual((status, again["entered"]), (200, 0))

    def test_5_other_workspaces_see_nothing(self):
        for path in ("/api/v1/journeys/welcome", "/api/v1/journeys/welcome/report", "/api/v1/journeys/welcome/runs"):
            self.assertEqual(self.call("GET", path, key=self.other_key)[0], 404, path)
        self.assertEqual(self.call("POST", "/api/v1/journeys/welcome/pause", {}, key=self.other_key)[0], 404)
        self.assertEqual(self.call("DELETE", "/api/v1/journeys/welcome", key=self.other_key)[0], 404)
        self.assertEqual(self.call("GET", "/api/v1/journeys", key=self.other_key)[1]["data"], [])
        self.assertEqual(self.call("GET", "/api/v1/journeys/welcome")[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
