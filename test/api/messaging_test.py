#!/usr/bin/python3
"""Messaging over real HTTP and real SMTP, on SQLite or PostgreSQL: templates checked at save time
and previewed with a customer's data, a send to a segment delivered by the server's outbox workers
to a real SMTP server (test/messaging/smtp_sink.py, aiosmtpd) and parsed with Python's email
package, RFC 8058 one-click unsubscribe without cookies, the preference page, double opt-in with
its proof, open and click tracking, bounces, suppressions and bad input.

Usage: messaging_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)
"""
import email
import email.policy
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (fresh_db, cli, make_key, free_port; takes the backend argument)

TREU = api_test.TREU
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "messaging", "smtp_sink.py")


class SmtpSink:
    def __init__(self, tmp, *options):
        self.out = os.path.join(tmp, "sink")
        port_file = os.path.join(tmp, "sink.port")
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, "--port", "0", "--port-file", port_file,
                                      "--out", self.out, *options],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read())
                return
            time.sleep(0.02)
        raise RuntimeError("smtp_sink.py did not start")

    def messages(self):
        """The received messages parsed by Python's email package, in order of arrival."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.out, "*.eml")),
                           key=lambda p: int(os.path.basename(p).split(".")[0])):
            with open(path, "rb") as f:
                out.append(email.message_from_binary_file(f, policy=email.policy.default))
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)


class Server:
    def __init__(self, db):
        self.port = api_test.free_port()
        self.proc = subprocess.Popen([TREU, "--db", db, "serve", "--listen", f"127.0.0.1:{self.port}",
                                      "--no-access-log", "--outbox-lease", "5"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("server did not start: " + line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


class MessagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        api_test.set_up_database(cls, "customer_id,email,name,locale,consent.email\n"
                                      "ada,ada@example.com,Ada Lovelace,de-DE,true\n"
                                      "bob,bob@example.com,Bob Builder,en,false\n"
                                      "carl,carl@example.com,Carl Gauss,de,true\n"
                                      "dora,dora@example.com,Dora Explorer,en,true\n"
                                      "nomail,,No Mail,en,true\n", ("m", "other"), import_into=("m",))
        orders = os.path.join(cls.tmp.name, "orders.csv")
        with open(orders, "w") as f:
            f.write("order_id,customer_id,placed_at,total\n")
            f.write("o1,ada,2026-01-05,40.00\no2,ada,2026-02-07,19.50\no3,carl,2026-03-01,5.00\n")
        api_test.cli(cls.db, "import", "orders", orders, workspace="m")
        cls.key = api_test.make_key(cls.db, "m", "admin")
        cls.other_key = api_test.make_key(cls.db, "other", "admin")
        cls.sink = SmtpSink(cls.tmp.name, "--reject", "carl@*=550")
        cls.server = Server(cls.db)
        cls.base = f"http://127.0.0.1:{cls.server.port}"
        status, out = cls.call("PATCH", "/api/v1/messaging/settings",
                               {"from_name": "Kaffee & Co", "from_address": "news@kaffee.example",
                                "transport": "smtp", "smtp_url": f"smtp://127.0.0.1:{cls.sink.port}",
                                "smtp_tls": "none", "public_url": cls.base, "consent_text_version": "v2026-01"})
        assert status == 200, out

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.sink.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    @classmethod
    def raw(cls, method, url, body=None, headers=None):
        """(status, headers, bytes) of a request to the server; `url` is a path or a full URL."""
        return api_test.request(cls.server.port, method, url, body, headers, timeout=30)

    @classmethod
    def call(cls, method, path, body=None, key=None):
        return api_test.call_json(cls.server.port, method, path, body, key or cls.key)

    def wait_for(self, predicate, what, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def consent(self, customer):
        status, out = self.call("GET", f"/api/v1/customers/{customer}/consent")
        self.assertEqual(status, 200, out)
        return out

    def mail_to(self, address, count=1):
        def found():
            got = [m for m in self.sink.messages() if address in str(m["To"])]
            return got if len(got) >= count else None
        return self.wait_for(found, f"{count} message(s) to {address}")

    # ---- templates ----

    def test_templates_are_checked_at_save_time_with_positions(self):
        status, out = self.call("POST", "/api/v1/templates",
                                {"name": "broken", "subject": "Hi {{ customer.first_name | upcse }}",
                                 "html": "<p>Hallo</p>\n<p>{{ custmer.name }} {{ customer.revnue_total }}</p>"})
        self.assertEqual(status, 400, out)
        pointers = [(e["pointer"], e["detail"]) for e in out["errors"]]
        self.assertEqual(pointers[0][0], "/subject")
        self.assertTrue(pointers[0][1].startswith("1:"), pointers)
        self.assertIn("upcse", pointers[0][1])
        html = [d for p, d in pointers if p == "/html"]
        self.assertEqual(html, ["2:7: unknown variable 'custmer' (did you mean 'customer'?)",
                                "2:26: unknown customer field 'revnue_total' (did you mean 'revenue_total'?)"])
        # Output where no escaping makes it safe is refused when saved, at its position.
        status, out = self.call("POST", "/api/v1/templates", {"name": "unsafe", "subject": "x",
                                                              "html": "<p>x</p>\n<a onclick=\"{{ customer.id }}\">x</a>"})
        self.assertEqual(status, 400)
        self.assertEqual(out["errors"][0]["pointer"], "/html")
        self.assertTrue(out["errors"][0]["detail"].startswith("2:"), out)
        self.assertEqual(self.call("GET", "/api/v1/templates/broken")[0], 404, "nothing was saved")
        status, out = self.call("POST", "/api/v1/templates/check", {"subject": "x", "html": "{% if %}"})
        self.assertEqual(status, 200)
        self.assertFalse(out["ok"])
        self.assertEqual(out["errors"][0]["part"], "html")
        self.assertEqual((out["errors"][0]["line"], out["errors"][0]["column"]), (1, 7), out)

    def test_preview_uses_a_real_customer_and_escapes(self):
        self.call("POST", "/api/v1/templates",
                  {"name": "preview", "subject": "Hallo {{ customer.first_name }}",
                   "html": "<p>{{ customer.first_name }} hat {{ customer.orders_count }} Bestellungen über "
                           "{{ customer.revenue_total | money }}.</p>{% for o in orders limit: 1 %}"
                           "<p>{{ o.placed_at | date: '%d.%m.%Y' }}</p>{% endfor %}"})
        status, out = self.call("POST", "/api/v1/templates/preview", {"template": "preview", "customer_id": "ada"})
        self.assertEqual(status, 200, out)
        self.assertEqual(out["subject"], "Hallo Ada")
        self.assertIn("Ada hat 2 Bestellungen über 59,50\u00a0€.", out["html"])
        self.assertIn("<p>07.02.2026</p>", out["html"])
        status, out = self.call("POST", "/api/v1/templates/preview",
                                {"customer_id": "ada", "subject": "x",
                                 "html": "<p>{{ customer.attributes.bio }}</p><a href=\"{{ customer.email }}\">x</a>"})
        self.assertEqual(status, 200, out)
        status, out = self.call("POST", "/api/v1/templates/preview", {"template": "preview", "customer_id": "nobody"})
        self.assertEqual(status, 400)
        self.assertEqual(out["errors"][0]["pointer"], "/customer_id")

    # ---- sending, unsubscribing, tracking ----

    def test_a_send_is_delivered_with_one_click_unsubscribe_and_tracking(self):
        status, out = self.call("POST", "/api/v1/templates",
                                {"name": "spring", "topic": "offers", "subject": "Frühling, {{ customer.first_name }}!",
                                 "html": "<p>Hallo {{ customer.first_name }},</p>"
                                         "<p><a href=\"https://kaffee.example/sale\">Zum Angebot</a></p>"
                                         "<p><a href=\"{{ unsubscribe_url }}\">Abmelden</a></p>"})
        self.assertEqual(status, 201, out)
        status, report = self.call("POST", "/api/v1/sends", {"template": "spring", "where": "orders_count >= 0",
                                                             "campaign": "spring-2026", "key": "spring-2026"})
        self.assertEqual(status, 202, report)
        # ada, carl, dora have consent and an address; bob has no consent; nomail no address.
        self.assertEqual(report["audience"], 5)
        self.assertEqual(report["queued"], 3)
        self.assertEqual(report["skipped"], {"no_email": 1, "no_subscription": 0, "no_consent": 1, "suppressed": 0})
        again = self.call("POST", "/api/v1/sends", {"template": "spring", "where": "orders_count >= 0",
                                                    "campaign": "spring-2026", "key": "spring-2026"})[1]
        # Nothing twice; carl's message may already have bounced (550 below), and a suppressed
        # address is skipped before its duplicate is noticed.
        self.assertEqual(again["queued"], 0, "the same key sends nothing twice")
        self.assertEqual(again["duplicates"] + again["skipped"]["suppressed"], 3, again)
        self.assertLessEqual(again["skipped"]["suppressed"], 1, again)

        msg = self.mail_to("ada@example.com")[0]
        self.assertEqual(msg["Subject"], "Frühling, Ada!")
        self.assertEqual(msg.get_content_type(), "multipart/alternative")
        html = msg.get_body(("html",)).get_content()
        text = msg.get_body(("plain",)).get_content()
        self.assertIn("Hallo Ada,", text)
        self.assertEqual(msg["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        unsubscribe = re.fullmatch(r"<(http://127\.0\.0\.1:\d+/m/u/[A-Za-z0-9_.-]+)>", str(msg["List-Unsubscribe"]))
        self.assertIsNotNone(unsubscribe, msg["List-Unsubscribe"])

        # carl's server says 550: bounced and suppressed.
        def carl_bounced():
            s, page = self.call("GET", "/api/v1/messages?customer_id=carl")
            return page["data"] if page["data"] and page["data"][0]["state"] == "bounced" else None
        carl = self.wait_for(carl_bounced, "carl's bounce")[0]
        self.assertIn("550", carl["last_error"])
        self.assertEqual(self.consent("carl")["email_suppressed"]["reason"], "bounce")

        # Clicks go through a signed redirect and become events; a changed target is refused.
        click = re.search(r'href="(http://127\.0\.0\.1:\d+/m/c/[^"]+)"', html).group(1).replace("&amp;", "&")
        status, headers, _ = self.raw("GET", click)
        self.assertEqual(status, 302)
        self.assertEqual(headers["Location"], "https://kaffee.example/sale")
        forged = click.split("?u=")[0] + "?u=" + urllib.parse.quote("https://evil.example/", safe="")
        self.assertEqual(self.raw("GET", forged)[0], 404, "never an open redirect")
        pixel = re.search(r'<img src="(http://127\.0\.0\.1:\d+/m/o/[^"]+)"', html).group(1)
        status, headers, body = self.raw("GET", pixel)
        self.assertEqual((status, headers["Content-Type"]), (200, "image/gif"))
        self.assertTrue(body.startswith(b"GIF89a"))
        status, detail = self.call("GET", "/api/v1/messages?customer_id=ada")
        message = self.call("GET", f"/api/v1/messages/{detail['data'][0]['id']}")[1]
        kinds = [e["kind"] for e in message["log"]]
        self.assertEqual(kinds[:2], ["queued", "sent"])
        self.assertIn("clicked", kinds)
        self.assertIn("opened", kinds)
        status, timeline = self.call("GET", "/api/v1/customers/ada/timeline")
        names = json.dumps(timeline)
        self.assertIn("Email Link Clicked", names)
        self.assertIn("Email Opened", names)

        # The unsubscribe page (GET) changes nothing; the one-click POST needs no cookie.
        url = unsubscribe.group(1)
        status, _, page = self.raw("GET", url)
        self.assertEqual(status, 200)
        self.assertIn(b"<form method=\"post\"", page)
        self.assertTrue(self.consent("ada")["consent"]["email"]["granted"])
        status, _, page = self.raw("POST", url, b"List-Unsubscribe=One-Click",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, page)
        after = self.consent("ada")
        # The template has a topic: the topic is turned off, email consent stays.
        self.assertEqual(after["preferences"]["topics_off"], ["offers"])
        self.assertEqual(after["records"][-1]["action"], "unsubscribed")
        self.assertEqual(after["records"][-1]["source"], "one_click:topic:offers")
        # The next send of that topic to ada is not delivered.
        status, report = self.call("POST", "/api/v1/sends", {"template": "spring", "customers": ["ada"],
                                                             "key": "spring-again"})
        self.assertEqual(report["queued"], 1)

        def suppressed():
            s, page = self.call("GET", "/api/v1/messages?customer_id=ada")
            return page["data"][0]["state"] == "suppressed"
        self.wait_for(suppressed, "the topic's next message to be held back")

    def test_preference_page_and_double_opt_in(self):
        # bob has no consent: a double opt-in sends him a confirmation, which he confirms.
        status, out = self.call("POST", "/api/v1/customers/bob/consent/email/request",
                                {"ip": "203.0.113.9", "user_agent": "Shop/1.0"})
        self.assertEqual(status, 202, out)
        msg = self.mail_to("bob@example.com")[0]
        self.assertEqual(msg["Subject"], "Please confirm your subscription")
        self.assertIsNone(msg["List-Unsubscribe"])
        link = re.search(r'href="(http://127\.0\.0\.1:\d+/m/confirm/[^"]+)"', msg.get_body(("html",)).get_content())
        self.assertIsNotNone(link, "no tracking redirect around the confirmation link")
        status, _, page = self.raw("GET", link.group(1))
        self.assertEqual(status, 200)
        self.assertFalse(self.consent("bob")["consent"]["email"]["granted"], "a GET (a link scanner) confirms nothing")
        status, _, page = self.raw("POST", link.group(1), b"", {"User-Agent": "Firefox/140"})
        self.assertEqual(status, 200, page)
        after = self.consent("bob")
        self.assertTrue(after["consent"]["email"]["granted"])
        self.assertEqual(after["consent"]["email"]["source"], "double_opt_in")
        actions = [(r["action"], r["ip"], r["user_agent"], r["text_version"]) for r in after["records"]]
        self.assertEqual(actions[0], ("requested", "203.0.113.9", "Shop/1.0", "v2026-01"))
        self.assertEqual(actions[1][0], "confirmed")
        self.assertEqual(actions[1][2], "Firefox/140")
        status, _, export = self.raw("GET", "/api/v1/consent/export", headers={"Authorization": "Bearer " + self.key})
        rows = [json.loads(line) for line in export.decode().splitlines()]
        self.assertIn(("bob", "confirmed"), [(r["customer_id"], r["action"]) for r in rows])
        # A tampered confirmation link is refused and changes nothing.
        self.assertEqual(self.raw("POST", link.group(1)[:-2] + "xx")[0], 404)

        # The preference page reached from the unsubscribe confirmation.
        status, _, page = self.raw("POST", link.group(1))
        prefs = re.search(rb'href="(/m/p/[^"]+)"', page).group(1).decode()
        status, _, page = self.raw("GET", prefs)
        self.assertEqual(status, 200)
        self.assertIn(b'name="email"', page)
        status, _, page = self.raw("POST", prefs, b"tracking=on&pause=30",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        after = self.consent("bob")
        self.assertFalse(after["consent"]["email"]["granted"], "email box unticked: consent withdrawn")
        self.assertIsNotNone(after["preferences"]["paused_until"])
        self.assertEqual(after["records"][-1]["source"], "preference_page")

    def test_bad_input_and_other_workspaces(self):
        for body, pointer in (({"template": "nope", "customers": ["ada"]}, "/template"),
                              ({"template": "spring", "customers": ["ada"], "category": "spam"}, "/category"),
                              ({"template": "spring", "customers": [3]}, "/customers/0")):
            self.call("POST", "/api/v1/templates", {"name": "spring", "subject": "x", "html": "<p>x</p>"})
            status, out = self.call("POST", "/api/v1/sends", body)
            self.assertEqual(status, 400, out)
            self.assertEqual(out["errors"][0]["pointer"], pointer, out)
        status, out = self.call("PATCH", "/api/v1/messaging/settings", {"smtp_url": "http://x"})
        self.assertEqual(status, 400)
        self.assertEqual(out["errors"][0]["pointer"], "/smtp_url")
        status, out = self.call("PATCH", "/api/v1/messaging/settings", {"smtp_password": "s3cret"})
        self.assertEqual(status, 200)
        self.assertTrue(out["smtp_password_set"])
        self.assertNotIn("s3cret", json.dumps(out))
        self.assertEqual(self.call("GET", "/api/v1/templates/spring", key=self.other_key)[0], 404)
        status, out = self.call("GET", "/api/v1/messages", key=self.other_key)
        self.assertEqual(out["data"], [])
        status, out = self.call("POST", "/api/v1/suppressions", {"address": "not an address"})
        self.assertEqual(status, 400)
        self.assertEqual(out["errors"][0]["pointer"], "/address")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
