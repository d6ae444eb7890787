#!/usr/bin/python3
"""Campaigns over real HTTP, on SQLite or PostgreSQL, with the server's own scheduler: a campaign
saved, previewed, scheduled and launched by the scheduler with its holdout recorded (the same
customers the preview held out), its members paged, its messages in the outbox, its report; an
A/B test waiting for its winner, then cancelled with its queued messages withdrawn; a local-time
campaign's launch instant; the frequency cap across campaigns; bad input answered with problem
details pointing at the field and changing nothing; other workspaces.

The winner's selection after the test window, send times across zones and DST, quiet hours and
the lift's statistics run on a simulated clock in src/campaigns/service_test.cpp.

Usage: campaigns_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)
"""
import datetime
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (fresh_db, cli, make_key, Server; takes the backend argument)

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
CUSTOMERS = 400


class CampaignsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rows = "".join(f"c{i:03d},c{i:03d}@example.com,{ZONES[i % 3]},true\n" for i in range(CUSTOMERS))
        api_test.set_up_database(cls, "customer_id,email,timezone,consent.email\n" + rows, ("c", "other"))
        cls.key = api_test.make_key(cls.db, "c", "admin")
        cls.other_key = api_test.make_key(cls.db, "other", "admin")
        cls.server = api_test.Server(cls.db)
        for name in ("offer-a", "offer-b"):
            status, out = cls.call("POST", "/api/v1/templates",
                                   {"name": name, "subject": name + " for {{ customer.id }}", "html": "<p>x</p>"})
            assert status in (200, 201), out

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    @classmethod
    def call(cls, method, path, body=None, key=None):
        return api_test.call_json(cls.server.port, method, path, body, key or cls.key)

    def rules(self, **body):
        status, out = self.call("PUT", "/api/v1/delivery-rules", body)
        self.assertEqual(status, 200, out)
        return out

    def wait_state(self, name, states, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            status, out = self.call("GET", "/api/v1/campaigns/" + name)
            self.assertEqual(status, 200, out)
            if out["state"] in states:
                return out
            time.sleep(0.1)
        self.fail(f"campaign {name} never reached {states}: {out}")

    def members(self, name):
        out, cursor = [], ""
        while True:
            status, page = self.call("GET", f"/api/v1/campaigns/{name}/members?limit=150" +
                                     (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(status, 200, page)
            out += page["data"]
            if page["next_cursor"] is None:
                return out
            cursor = page["next_cursor"]

    def messages(self, campaign):
        out, cursor = [], ""
        while True:
            status, page = self.call("GET", f"/api/v1/messages?campaign={campaign}&limit=500" +
                                     (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(status, 200, page)
            out += page["data"]
            if page.get("next_cursor") is None:
                return out
            cursor = page["next_cursor"]

    def test_a_campaign_with_a_holdout_runs_on_the_scheduler(self):
        self.rules(max_messages=0, quiet_hours={"start": "00:00", "end": "00:00"})
        status, c = self.call("PUT", "/api/v1/campaigns/spring",
                              {"variants": [{"template": "offer-a"}], "where": "orders_count >= 0",
                               "holdout_percent": 10, "goal_window_days": 7})
        self.assertEqual(status, 201, c)
        self.assertEqual((c["state"], c["holdout_percent"], c["test_percent"]), ("draft", 10, 100))
        self.assertEqual(c["variants"], [{"name": "A", "template": "offer-a", "weight": 1}])
        self.assertNotIn("split_key", c)
        # The preview: who would be held out and messaged, writing nothing.
        status, preview = self.call("POST", "/api/v1/campaigns/spring/preview", {})
        self.assertEqual(status, 200, preview)
        self.assertEqual(preview["audience"], CUSTOMERS)
        self.assertLess(abs(preview["holdout"] - 40), 4 * 6)  # binomial(400, 0.1): σ = 6
        self.assertEqual(preview["messages"], CUSTOMERS - preview["holdout"])
        self.assertEqual(self.members("spring"), [])
        # Scheduled now: the server's scheduler launches it.
        status, c = self.call("POST", "/api/v1/campaigns/spring/schedule", {})
        self.assertEqual((status, c["state"]), (200, "scheduled"), c)
        c = self.wait_state("spring", ("done",))
        self.assertIsNotNone(c["launched_at"])
        self.assertEqual(c["last_error"], "")
        members = self.members("spring")
        self.assertEqual(len(members), CUSTOMERS)
        self.assertEqual(len({m["customer"] for m in members}), CUSTOMERS)
        held = [m for m in members if m["arm"] == "holdout"]
        self.assertEqual(len(held), preview["holdout"])  # the preview held out the same customers
        self.assertTrue(all(m["outcome"] == "held_out" for m in held))
        sent = [m for m in members if m["arm"] == "A"]
        self.assertTrue(all(m["outcome"] == "queued" for m in sent))
        messages = self.messages("spring")
        self.assertEqual(sorted(m["customer_id"] for m in messages), sorted(m["customer"] for m in sent))
        self.assertFalse({m["customer"] for m in held} & {m["customer_id"] for m in messages})
        # The report: intent to treat, recipients against the holdout.
        status, report = self.call("GET", "/api/v1/campaigns/spring/report")
        self.assertEqual(status, 200, report)
        self.assertEqual(report["holdout"]["members"], len(held))
        self.assertEqual(report["recipients"]["members"], len(sent))
        self.assertEqual(report["recipients"]["messaged"], len(sent))
        self.assertEqual(report["variants"][0]["template"], "offer-a")
        self.assertEqual(report["conversion_lift"]["difference"], 0)  # nobody ordered
        self.assertFalse(report["conversion_lift"]["significant"])
        # A campaign that ran can't be changed or deleted while... it can be deleted once done.
        status, problem = self.call("PUT", "/api/v1/campaigns/spring", {"holdout_percent": 20})
        self.assertEqual(status, 409, problem)
        status, problem = self.call("POST", "/api/v1/campaigns/spring/cancel", {})
        self.assertEqual(status, 409, problem)

    def test_an_ab_test_waits_for_its_winner_and_can_be_cancelled(self):
        self.rules(max_messages=0)
        status, c = self.call("PUT", "/api/v1/campaigns/ab",
                              {"variants": [{"template": "offer-a", "weight": 1}, {"template": "offer-b", "weight": 1}],
                               "where": "orders_count >= 0", "test_percent": 50, "winner_metric": "clicked",
                               "test_window_hours": 24, "schedule": True,
                               "send_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})
        self.assertEqual(status, 201, c)
        c = self.wait_state("ab", ("testing",))
        launched = datetime.datetime.fromisoformat(c["launched_at"].replace("Z", "+00:00"))
        ends = datetime.datetime.fromisoformat(c["test_ends_at"].replace("Z", "+00:00"))
        self.assertEqual(ends - launched, datetime.timedelta(hours=24))
        arms = {}
        for m in self.members("ab"):
            arms[m["arm"]] = arms.get(m["arm"], 0) + 1
        self.assertEqual(sum(arms.values()), CUSTOMERS)
        self.assertLess(abs(arms["waiting"] - 200), 4 * 10)
        self.assertLess(abs(arms["A"] - 100), 4 * 8.7)
        self.assertLess(abs(arms["B"] - 100), 4 * 8.7)
        self.assertEqual(len(self.messages("ab")), arms["A"] + arms["B"])
        status, report = self.call("GET", "/api/v1/campaigns/ab/report")
        self.assertEqual((report["waiting"], report["winner"]["metric"]), (arms["waiting"], "clicked"))
        # Cancelled: the waiting members never get the winner; queued messages are withdrawn.
        status, c = self.call("POST", "/api/v1/campaigns/ab/cancel", {})
        self.assertEqual((status, c["state"]), (200, "cancelled"), c)
        states = {m["state"] for m in self.messages("ab")}
        self.assertTrue(states <= {"cancelled", "sent", "sending"}, states)
        status, _ = self.call("DELETE", "/api/v1/campaigns/ab")
        self.assertEqual(status, 204)
        self.assertEqual(self.call("GET", "/api/v1/campaigns/ab")[0], 404)

    def test_a_local_time_campaign_launches_when_its_day_begins_at_utc_plus_14(self):
        day = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
        status, c = self.call("PUT", "/api/v1/campaigns/local",
                              {"variants": [{"template": "offer-a"}], "where": "orders_count >= 0",
                               "send_date": day, "local_time": "09:00", "schedule": True})
        self.assertEqual(status, 201, c)
        expected = datetime.datetime.fromisoformat(day + "T09:00:00+14:00").astimezone(datetime.timezone.utc)
        self.assertEqual(c["send_at"], expected.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual((c["send_date"], c["local_time"], c["state"]), (day, "09:00", "scheduled"))
        time.sleep(1)
        self.assertEqual(self.call("GET", "/api/v1/campaigns/local")[1]["state"], "scheduled")
        self.assertEqual(self.call("POST", "/api/v1/campaigns/local/cancel", {})[0], 200)

    def test_messages_due_later_are_planned_and_cancelled_with_the_campaigns_messages(self):
        # Quiet hours over (almost) the whole day: every message waits until 23:59 local time, so
        # it is planned, not yet rendered into the outbox.
        self.rules(max_messages=0, quiet_hours={"start": "00:00", "end": "23:59"})
        status, c = self.call("PUT", "/api/v1/campaigns/late",
                              {"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "schedule": True,
                               "send_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})
        self.assertEqual(status, 201, c)
        self.wait_state("late", ("done",))
        members = self.members("late")
        planned = {m["customer"] for m in members if m["planned"]}
        self.assertGreater(len(planned), CUSTOMERS // 2)
        self.assertTrue(all(m["outcome"] == "queued" for m in members if m["planned"]))
        self.assertFalse(planned & {m["customer_id"] for m in self.messages("late")})
        status, report = self.call("GET", "/api/v1/campaigns/late/report")
        self.assertEqual((report["planned"], report["recipients"]["messaged"]), (len(planned), len(members)), report)
        # Cancelling the campaign's messages cancels the planned ones too.
        status, out = self.call("POST", "/api/v1/messages/cancel", {"campaign": "late"})
        self.assertEqual(status, 200, out)
        self.assertGreaterEqual(out["cancelled"], len(planned))
        after = {m["customer"]: m for m in self.members("late")}
        self.assertTrue(all(after[c]["outcome"] == "cancelled" and not after[c]["planned"] for c in planned))
        self.assertEqual(self.call("GET", "/api/v1/campaigns/late/report")[1]["planned"], 0)
        self.rules(max_messages=0, quiet_hours={"start": "00:00", "end": "00:00"})

    def test_the_frequency_cap_holds_across_campaigns(self):
        self.rules(max_messages=1, window_days=7)
        results = {}
        for name in ("cap-one", "cap-two"):
            status, c = self.call("PUT", "/api/v1/campaigns/" + name,
                                  {"variants": [{"template": "offer-b"}], "where": "orders_count >= 0", "schedule": True,
                                   "send_at": datetime.datetime.now(datetime.timezone.utc).isoformat()})
            self.assertEqual(status, 201, c)
            self.wait_state(name, ("done",))
            results[name] = {m["customer"]: m["outcome"] for m in self.members(name)}
        # Nobody gets two marketing messages in the week: whoever cap-one reached, cap-two caps.
        for customer, outcome in results["cap-one"].items():
            if outcome == "queued":
                self.assertEqual(results["cap-two"][customer], "capped", customer)
        reached_twice = [c for c in results["cap-two"] if results["cap-two"][c] == "queued"
                         and results["cap-one"].get(c) == "queued"]
        self.assertEqual(reached_twice, [])
        status, report = self.call("GET", "/api/v1/campaigns/cap-two/report")
        self.assertEqual(report["capped"], sum(1 for o in results["cap-two"].values() if o == "capped"))
        self.assertGreater(report["capped"], 0)
        self.rules(max_messages=0)

    def test_the_calendar_flags_conflicts(self):
        self.rules(max_messages=0, quiet_hours={"start": "21:00", "end": "08:00"})
        for name, where, when in (("cal-a", "orders_count >= 5", "2031-03-02T10:00:00Z"),
                                  ("cal-b", "orders_count >= 5", "2031-03-02T16:00:00Z"),
                                  ("cal-night", "orders_count >= 6", "2031-03-03T22:30:00Z")):
            status, c = self.call("PUT", "/api/v1/campaigns/" + name, {"variants": [{"template": "offer-a"}],
                                                                       "where": where, "send_at": when,
                                                                       "schedule": True})
            self.assertEqual(status, 201, c)
        status, cal = self.call("GET", "/api/v1/calendar?from=2031-03-01&to=2031-03-31")
        self.assertEqual(status, 200, cal)
        entries = {e["name"]: e for e in cal["data"]}
        self.assertEqual(list(entries), ["cal-a", "cal-b", "cal-night"])
        self.assertEqual(entries["cal-a"]["conflicts"], [{"kind": "same_audience", "detail": "cal-b"}])
        self.assertEqual(entries["cal-night"]["conflicts"][0]["kind"], "quiet_hours")
        self.assertEqual((entries["cal-a"]["date"], entries["cal-a"]["channel"]), ("2031-03-02", "email"))
        for query, pointer in (("?from=2031-03-01", "/to"), ("?from=2031-13-01&to=2031-03-02", "/from"),
                               ("?from=2031-03-02&to=2031-03-01", "/to"), ("?from=2031-01-01&to=2032-01-03", "/to")):
            status, problem = self.call("GET", "/api/v1/calendar" + query)
            self.assertEqual((status, problem["errors"][0]["pointer"]), (400, pointer), problem)
        self.assertEqual(self.call("GET", "/api/v1/calendar?from=2031-03-01&to=2031-03-31",
                                   key=self.other_key)[1]["data"], [])
        for name in entries:
            self.assertEqual(self.call("POST", f"/api/v1/campaigns/{name}/cancel", {})[0], 200)
        self.rules(quiet_hours={"start": "00:00", "end": "00:00"})

    def test_bad_input_points_at_the_field_and_changes_nothing(self):
        before = self.call("GET", "/api/v1/campaigns")[1]["data"]
        cases = [
            ({"variants": [{"template": "nope"}], "where": "orders_count >= 0"}, 404, "/variants/0/template"),
            ({"variants": [{"template": "offer-a", "colour": 1}]}, 400, "/variants/0/colour"),
            ({"variants": [{"weight": 1}]}, 400, "/variants/0/template"),
            ({"variants": "offer-a"}, 400, "/variants"),
            ({"where": "orders_count >= 0"}, 400, "/variants"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "holdout_percent": 60}, 400,
             "/holdout_percent"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "holdout_percent": 10.25}, 400,
             "/holdout_percent"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "test_percent": 20}, 400,
             "/test_percent"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "send_date": "2030-01-01"}, 400,
             "/local_time"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "local_time": "9 am",
              "send_date": "2030-01-01"}, 400, "/local_time"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "send_at": "soon"}, 400,
             "/send_at"),
            ({"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "nonsense": 1}, 400, "/nonsense"),
            ({"variants": [{"template": "offer-a"}]}, 400, "/audience"),
        ]
        for body, status, pointer in cases:
            got, problem = self.call("PUT", "/api/v1/campaigns/bad", body)
            self.assertEqual(got, status, (body, problem))
            self.assertEqual(problem["errors"][0]["pointer"], pointer, (body, problem))
        got, problem = self.call("PUT", "/api/v1/campaigns/bad", {"variants": [{"template": "offer-a"},
                                                                              {"template": "offer-a"}],
                                                                 "where": "orders_count >= 0"})
        self.assertEqual((got, problem["errors"][0]["pointer"]), (400, "/variants/1/template"), problem)
        self.assertEqual(self.call("GET", "/api/v1/campaigns")[1]["data"], before)
        for body, pointer in (({"max_messages": -1}, "/max_messages"), ({"window_days": 0}, "/window_days"),
                              ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "/quiet_hours/start"),
                              ({"quiet_hours": {"start": "21:00", "stop": "08:00"}}, "/quiet_hours/stop"),
                              ({"quiet_hours": {"end": 8}}, "/quiet_hours/end")):
            rules_before = self.call("GET", "/api/v1/delivery-rules")[1]
            got, problem = self.call("PUT", "/api/v1/delivery-rules", body)
            self.assertEqual((got, problem["errors"][0]["pointer"]), (400, pointer), (body, problem))
            self.assertEqual(self.call("GET", "/api/v1/delivery-rules")[1], rules_before)
        self.assertEqual(self.call("GET", "/api/v1/campaigns/nope/report")[0], 404)

    def test_the_composer_previews_unsaved_changes_and_clears_a_send_time(self):
        self.rules(max_messages=0, quiet_hours={"start": "00:00", "end": "00:00"})
        # Not saved at all: the form's campaign, previewed as it would be saved.
        body = {"variants": [{"template": "offer-a"}], "where": "orders_count >= 0", "holdout_percent": 0}
        status, preview = self.call("POST", "/api/v1/campaigns/draft-only/preview", body)
        self.assertEqual((status, preview["audience"], preview["holdout"], preview["messages"]),
                         (200, CUSTOMERS, 0, CUSTOMERS), preview)
        self.assertEqual(self.call("GET", "/api/v1/campaigns/draft-only")[0], 404)
        # An unsaved change to a saved one: the change counts, the stored campaign stays.
        status, c = self.call("PUT", "/api/v1/campaigns/narrow", dict(body, send_at="2030-01-01T09:00:00Z"))
        self.assertEqual(status, 201, c)
        status, preview = self.call("POST", "/api/v1/campaigns/narrow/preview", {"holdout_percent": 50})
        self.assertEqual(status, 200, preview)
        self.assertLess(abs(preview["holdout"] - CUSTOMERS / 2), 4 * 10)  # binomial(400, 0.5): σ = 10
        self.assertEqual(self.call("GET", "/api/v1/campaigns/narrow")[1]["holdout_percent"], 0)
        # Errors as PUT's, nothing saved.
        status, problem = self.call("POST", "/api/v1/campaigns/narrow/preview", {"holdout_percent": 80})
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/holdout_percent"))
        # "send_at": null: sent when launched.
        status, c = self.call("PUT", "/api/v1/campaigns/narrow", {"send_at": None})
        self.assertEqual((status, c["send_at"], c["local_time"]), (200, None, None), c)

    def test_a_survey_wave_carries_the_invitation_and_is_on_the_calendar(self):
        self.rules(max_messages=0, quiet_hours={"start": "00:00", "end": "00:00"})
        status, survey = self.call("POST", "/api/v1/surveys", {
            "name": "wave-nps", "kind": "relationship", "every_days": 90, "default_locale": "en",
            "title": {"en": "Your opinion"},
            "questions": [{"id": "nps", "kind": "nps", "required": True, "text": {"en": "How likely?"}}]})
        self.assertEqual(status, 201, survey)
        status, out = self.call("POST", "/api/v1/templates", {"name": "ask", "subject": "A question",
                                                              "html": '<a href="{{ survey_url }}">Answer</a>'})
        self.assertIn(status, (200, 201), out)
        body = {"variants": [{"template": "ask"}], "where": "orders_count >= 0", "survey": "wave-nps",
                "send_at": "2031-05-04T10:00:00Z", "schedule": True}
        for change, detail in (({"survey": "nope"}, "no survey named 'nope'"),
                               ({"variants": [{"template": "offer-a"}]}, "does not use {{ survey_url }}")):
            got, problem = self.call("PUT", "/api/v1/campaigns/wave", dict(body, **change))
            self.assertEqual((got, problem["errors"][0]["pointer"]), (400, "/survey"), problem)
            self.assertIn(detail, problem["errors"][0]["detail"])
        self.assertEqual(self.call("GET", "/api/v1/campaigns/wave")[0], 404)
        status, c = self.call("PUT", "/api/v1/campaigns/wave", body)
        self.assertEqual((status, c["survey"]), (201, "wave-nps"), c)
        status, preview = self.call("POST", "/api/v1/campaigns/wave/preview", {})
        self.assertEqual(status, 200, preview)
        self.assertEqual((preview["messages"], preview["skipped"]["survey_not_due"]), (CUSTOMERS, 0), preview)
        status, cal = self.call("GET", "/api/v1/calendar?from=2031-05-04&to=2031-05-04")
        self.assertEqual([(e["name"], e["survey"]) for e in cal["data"]], [("wave", "wave-nps")], cal)
        # Its template links to the survey: it stays a survey wave.
        got, problem = self.call("PUT", "/api/v1/campaigns/wave", {"survey": ""})
        self.assertEqual((got, problem["errors"][0]["pointer"]), (400, "/survey"), problem)
        self.assertIn("is required", problem["errors"][0]["detail"])
        self.assertEqual(self.call("GET", "/api/v1/campaigns/wave")[1]["survey"], "wave-nps")
        self.assertEqual(self.call("POST", "/api/v1/campaigns/wave/cancel", {})[0], 200)

    def test_other_workspaces_see_nothing(self):
        status, c = self.call("PUT", "/api/v1/campaigns/mine", {"variants": [{"template": "offer-a"}],
                                                                "where": "orders_count >= 0"})
        self.assertEqual(status, 201, c)
        for method, path in (("GET", "/api/v1/campaigns/mine"), ("GET", "/api/v1/campaigns/mine/members"),
                             ("GET", "/api/v1/campaigns/mine/report"), ("POST", "/api/v1/campaigns/mine/preview"),
                             ("POST", "/api/v1/campaigns/mine/schedule"), ("POST", "/api/v1/campaigns/mine/cancel"),
                             ("DELETE", "/api/v1/campaigns/mine")):
            got, _ = self.call(method, path, {} if method == "POST" else None, key=self.other_key)
            self.assertEqual(got, 404, f"{method} {path}")
        self.assertEqual(self.call("GET", "/api/v1/campaigns", key=self.other_key)[1]["data"], [])
        self.assertEqual(self.call("GET", "/api/v1/campaigns/mine")[1]["state"], "draft")


if __name__ == "__main__":
    unittest.main(verbosity=2)
