#!/usr/bin/python3
"""The channels beyond email over real HTTP, on SQLite or PostgreSQL: web push delivered by the
server's outbox workers to a local push service that decrypts each message with the
subscription's private key (RFC 8291, with Debian's python3-cryptography, an implementation
independent of treu's) and verifies its VAPID token (RFC 8292, with python3-jwt); a push
service's 410 removes the subscription; in-app messages read only with the right identity hash,
with shown/dismissed/clicked becoming log lines and events; webhook messages signed with the
endpoint's secret, refused on loopback, private and link-local addresses in every spelling unless
the workspace allows them; bad input and other workspaces.

Usage: channels_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (fresh_db, cli, make_key, free_port; takes the backend argument)

TREU = api_test.TREU


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A browser's push subscription: a P-256 key pair and an auth secret (RFC 8291 section 2)."""

    def __init__(self, endpoint):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                          serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self):
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)}}

    def decrypt(self, body):
        """The plaintext of an aes128gcm body (RFC 8188) encrypted for this browser (RFC 8291)."""
        salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        keyid, ciphertext = body[21:21 + idlen], body[21 + idlen:]
        assert rs >= 18 and idlen == 65 and len(ciphertext) <= rs, (rs, idlen, len(ciphertext))
        server = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
        secret = self.key.exchange(ec.ECDH(), server)
        ikm = HKDF(hashes.SHA256(), 32, self.auth, b"WebPush: info\x00" + self.public + keyid).derive(secret)
        cek = HKDF(hashes.SHA256(), 16, salt, b"Content-Encoding: aes128gcm\x00").derive(ikm)
        nonce = HKDF(hashes.SHA256(), 12, salt, b"Content-Encoding: nonce\x00").derive(ikm)
        plain = AESGCM(cek).decrypt(nonce, ciphertext, None).rstrip(b"\x00")
        assert plain.endswith(b"\x02"), "the last (only) record ends with delimiter 2"
        return plain[:-1]


class Receiver:
    """A local push service and webhook receiver: records every request; /push/gone/... answers
    410, /hook/bad 400, /push/... 201 and everything else 200."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = (410 if self.path.startswith("/push/gone") else 400 if self.path == "/hook/bad"
                          else 201 if self.path.startswith("/push/") else 200)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self, path):
        with self.lock:
            return [r for r in self.requests if r[0] == path]

    def stop(self):
        self.server.shutdown()


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


class ChannelsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        api_test.set_up_database(cls, "customer_id,email,name\nada,ada@example.com,Ada Lovelace\n"
                                      "bob,bob@example.com,Bob Builder\ncarl,carl@example.com,Carl Gauss\n",
                                 ("c", "other"))
        cls.key = api_test.make_key(cls.db, "c", "admin")
        cls.read_key = api_test.make_key(cls.db, "c", "read")
        cls.tracking = api_test.make_key(cls.db, "c", "tracking")
        cls.other_key = api_test.make_key(cls.db, "other", "admin")
        cls.other_tracking = api_test.make_key(cls.db, "other", "tracking")
        cls.receiver = Receiver()
        cls.server = Server(cls.db)
        status, out = cls.call("PATCH", "/api/v1/channels/settings", {"vapid_subject": "mailto:ops@kaffee.example"})
        assert status == 200, out
        cls.vapid_key = out["vapid_public_key"]
        status, out = cls.call("POST", "/api/v1/channels/identity-secret", {})
        assert status == 201, out
        cls.identity = out["identity_secret"]

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.receiver.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    @classmethod
    def raw(cls, method, path, body=None, headers=None):
        return api_test.request(cls.server.port, method, path, body, headers, timeout=30)

    @classmethod
    def call(cls, method, path, body=None, key=None, headers=None):
        return api_test.call_json(cls.server.port, method, path, body, key or cls.key, headers)

    def user_hash(self, user, secret=None):
        return hmac.new((secret or self.identity).encode(), user.encode(), hashlib.sha256).hexdigest()

    def snippet(self, method, path, user, body=None, user_hash=None, tracking=None):
        """A call of the JavaScript snippet: the tracking key as Basic user plus the identity headers."""
        basic = base64.b64encode(((tracking or self.tracking) + ":").encode()).decode()
        headers = {"Authorization": "Basic " + basic, "Treu-User-Id": user,
                   "Treu-User-Hash": user_hash if user_hash is not None else self.user_hash(user)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        status, _, raw = self.raw(method, path, data, headers)
        return status, (json.loads(raw) if raw and raw[:1] in (b"{", b"[") else raw)

    def wait_for(self, predicate, what, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def message(self, key_prefix, customer, states=("sent", "bounced", "failed", "suppressed")):
        """The outbox message of a send to `customer`, once it has one of `states`."""
        def done():
            status, out = self.call("GET", f"/api/v1/messages?customer_id={customer}")
            self.assertEqual(status, 200, out)
            for m in out["data"]:
                if m["idempotency_key"].startswith(key_prefix) and m["state"] in states:
                    return m
            return None
        return self.wait_for(done, f"a finished message {key_prefix} to {customer}")

    def allow_private(self, allowed):
        status, out = self.call("PATCH", "/api/v1/workspace", {"private_webhooks": "allow" if allowed else "refuse"})
        self.assertEqual(status, 200, out)

    # ---- web push ----

    def test_push_end_to_end_decrypts_and_carries_a_valid_vapid_token(self):
        self.allow_private(True)
        browser = Browser(f"http://127.0.0.1:{self.receiver.port}/push/ada-1")
        status, out = self.snippet("POST", "/v1/push/subscribe", "ada", {"subscription": browser.subscription()})
        self.assertEqual(status, 201, out)
        status, out = self.call("GET", "/api/v1/customers/ada/push-subscriptions")
        self.assertEqual([s["endpoint"] for s in out["data"]], [browser.endpoint])
        # The browser's permission is the customer's push consent, with its proof.
        status, consent = self.call("GET", "/api/v1/customers/ada/consent")
        self.assertTrue(consent["consent"]["push"]["granted"], consent)
        self.assertIn("browser", [r["source"] for r in consent["records"] if r["channel"] == "push"])

        status, out = self.call("POST", "/api/v1/templates",
                                {"name": "push-hello", "channel": "push", "subject": "Hallo {{ customer.first_name }}",
                                 "text": "Neue Bohnen für {{ customer.name }} & Co <b>", "topic": "news",
                                 "link_url": "https://shop.example/neu?c={{ customer.id }}"})
        self.assertEqual(status, 201, out)
        status, out = self.call("POST", "/api/v1/sends", {"template": "push-hello", "customers": ["ada", "bob"],
                                                          "key": "push-e2e"})
        self.assertEqual(status, 202, out)
        self.assertEqual((out["queued"], out["skipped"]["no_subscription"]), (1, 1), out)
        self.assertEqual(self.message("push-e2e", "ada")["state"], "sent")
        [(_, headers, body)] = self.receiver.received("/push/ada-1")
        payload = json.loads(browser.decrypt(body))
        self.assertEqual(payload, {"title": "Hallo Ada", "body": "Neue Bohnen für Ada Lovelace & Co <b>",
                                   "url": "https://shop.example/neu?c=ada"})
        self.assertEqual(headers["content-encoding"], "aes128gcm")
        self.assertGreater(int(headers["ttl"]), 0)
        scheme, _, params = headers["authorization"].partition(" ")
        self.assertEqual(scheme, "vapid")
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        self.assertEqual(fields["k"], self.vapid_key)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
        claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=f"http://127.0.0.1:{self.receiver.port}")
        self.assertEqual(claims["sub"], "mailto:ops@kaffee.example")
        self.assertLessEqual(claims["exp"], time.time() + 24 * 3600, "RFC 8292: at most 24 hours")
        # Another key does not verify the token.
        with self.assertRaises(jwt.InvalidSignatureError):
            other = ec.generate_private_key(ec.SECP256R1()).public_key()
            jwt.decode(fields["t"], other, algorithms=["ES256"], audience=f"http://127.0.0.1:{self.receiver.port}")

    def test_a_gone_subscription_is_removed(self):
        self.allow_private(True)
        browser = Browser(f"http://127.0.0.1:{self.receiver.port}/push/gone/carl")
        self.assertEqual(self.snippet("POST", "/v1/push/subscribe", "carl", {"subscription": browser.subscription()})[0], 201)
        self.call("POST", "/api/v1/templates", {"name": "push-gone", "channel": "push", "subject": "x", "text": "y"})
        status, out = self.call("POST", "/api/v1/sends", {"template": "push-gone", "customers": ["carl"],
                                                          "key": "push-gone"})
        self.assertEqual(out["queued"], 1, out)
        m = self.message("push-gone", "carl")
        self.assertEqual(m["state"], "bounced", m)
        self.assertIn("410", m["last_error"])
        self.assertEqual(self.call("GET", "/api/v1/customers/carl/push-subscriptions")[1]["data"], [])

    def test_push_subscriptions_need_the_identity_and_valid_keys(self):
        browser = Browser("https://push.example.net/wpush/abc")
        status, out = self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": browser.subscription()},
                                   user_hash=self.user_hash("ada"))
        self.assertEqual(status, 403, out)
        self.assertEqual(out["errors"][0]["pointer"], "/user_hash", out)
        status, out = self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": browser.subscription()},
                                   user_hash="")
        self.assertEqual(status, 400, out)
        bad = browser.subscription()
        bad["keys"]["p256dh"] = b64url(b"\x04" + b"\x01" * 64)  # not a point on P-256
        status, out = self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": bad})
        self.assertEqual(status, 400, out)
        self.assertEqual(out["errors"][0]["pointer"], "/subscription/keys/p256dh", out)
        bad = browser.subscription()
        bad["keys"]["auth"] = b64url(b"short")
        self.assertEqual(self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": bad})[1]["errors"][0]
                         ["pointer"], "/subscription/keys/auth")
        bad = browser.subscription()
        bad["endpoint"] = "javascript:alert(1)"
        self.assertEqual(self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": bad})[1]["errors"][0]
                         ["pointer"], "/subscription/endpoint")
        self.assertEqual(self.call("GET", "/api/v1/customers/bob/push-subscriptions")[1]["data"], [],
                         "nothing was stored")
        # Another workspace's tracking key: its identity secret is not this one's.
        status, out = self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": browser.subscription()},
                                   tracking=self.other_tracking)
        self.assertIn(status, (403, 409), out)
        # A secret key is not a tracking key.
        status, _, _ = self.raw("GET", "/v1/push/key", headers={"Authorization": "Bearer " + self.key})
        self.assertEqual(status, 403)
        status, out = self.snippet("GET", "/v1/push/key", "bob")
        self.assertEqual(out, {"vapid_public_key": self.vapid_key})

    # ---- in-app ----

    def test_inapp_messages_need_the_users_hash_and_record_what_happened(self):
        status, out = self.call("POST", "/api/v1/templates",
                                {"name": "inapp-offer", "channel": "inapp", "layout": "modal",
                                 "subject": "Hallo {{ customer.first_name }}", "text": "10 % auf alles <script>",
                                 "link_url": "https://shop.example/offer"})
        self.assertEqual(status, 201, out)
        status, out = self.call("POST", "/api/v1/sends", {"template": "inapp-offer", "customers": ["ada", "bob"],
                                                          "key": "inapp-1"})
        self.assertEqual(out["queued"], 2, out)
        self.message("inapp-1", "ada")
        self.message("inapp-1", "bob")
        status, out = self.snippet("GET", "/v1/inapp", "ada")
        self.assertEqual(status, 200, out)
        [m] = [m for m in out["data"] if m["title"] == "Hallo Ada"]
        self.assertEqual((m["body"], m["url"], m["layout"]), ("10 % auf alles <script>", "https://shop.example/offer",
                                                              "modal"))
        self.assertNotIn("Hallo Bob", json.dumps(out), "only ada's own messages")
        # Bob's hash does not open ada's inbox; nor does a made-up one, or none.
        for wrong in (self.user_hash("bob"), "0" * 64, self.user_hash("ada", secret="not the secret")):
            status, body = self.snippet("GET", "/v1/inapp", "ada", user_hash=wrong)
            self.assertEqual(status, 403, body)
            self.assertEqual(body["errors"][0]["pointer"], "/user_hash")
        status, body = self.snippet("GET", "/v1/inapp", "ada", user_hash="")
        self.assertEqual(status, 400, body)
        # Bob cannot record events on ada's message.
        self.assertEqual(self.snippet("POST", f"/v1/inapp/{m['id']}/events", "bob", {"type": "shown"})[0], 404)
        self.assertEqual(self.snippet("POST", f"/v1/inapp/{m['id']}/events", "ada", {"type": "opened"})[0], 400)
        for kind in ("shown", "clicked", "dismissed", "shown"):
            status, body = self.snippet("POST", f"/v1/inapp/{m['id']}/events", "ada", {"type": kind})
            self.assertEqual(status, 204, body)
        status, detail = self.call("GET", f"/api/v1/messages/{m['id']}")
        kinds = [e["kind"] for e in detail["log"]]
        self.assertEqual([k for k in kinds if k in ("shown", "clicked", "dismissed")], ["shown", "clicked", "dismissed"],
                         "each once")
        # Dismissed messages leave the inbox.
        self.assertNotIn(m["id"], [x["id"] for x in self.snippet("GET", "/v1/inapp", "ada")[1]["data"]])
        # Each became one of ada's events.
        def events():
            status, out = self.call("GET", "/api/v1/events?user_id=ada&limit=500")
            names = [e.get("name") or e.get("event") for e in out["data"]]
            return names if "In-App Message Dismissed" in names else None
        names = self.wait_for(events, "ada's in-app events")
        for name in ("In-App Message Shown", "In-App Message Clicked", "In-App Message Dismissed"):
            self.assertEqual(names.count(name), 1, names)

    def test_inapp_templates_are_checked(self):
        status, out = self.call("POST", "/api/v1/templates", {"name": "inapp-bad", "channel": "inapp",
                                                              "text": "x", "layout": "popup"})
        self.assertEqual(status, 400, out)
        self.assertEqual(out["errors"][0]["pointer"], "/layout")
        status, out = self.call("POST", "/api/v1/templates", {"name": "push-bad", "channel": "push", "text": "x",
                                                              "html": "<p>x</p>"})
        self.assertEqual(status, 400, out)
        self.assertEqual({e["pointer"] for e in out["errors"]}, {"/subject", "/html"})
        status, out = self.call("POST", "/api/v1/templates", {"name": "hook-bad", "channel": "webhook", "text": "x",
                                                              "endpoint": "nowhere"})
        self.assertEqual(status, 400, out)
        self.assertEqual(out["errors"][0]["pointer"], "/endpoint")

    # ---- webhooks ----

    def test_webhook_messages_are_signed_and_private_addresses_need_the_setting(self):
        url = f"http://127.0.0.1:{self.receiver.port}/hook/team"
        status, out = self.call("PUT", "/api/v1/webhook-endpoints/team", {"url": url, "format": "json"})
        self.assertEqual(status, 201, out)
        secret = out["secret"]
        self.assertTrue(secret.startswith("whsec_"))
        status, out = self.call("GET", "/api/v1/webhook-endpoints")
        self.assertNotIn("secret", json.dumps(out), "the secret is shown once")
        status, out = self.call("PUT", "/api/v1/webhook-endpoints/team", {"url": url})
        self.assertEqual(status, 200)
        self.assertNotIn("secret", out, "kept unless new_secret")
        status, out = self.call("POST", "/api/v1/templates",
                                {"name": "hook-vip", "channel": "webhook", "endpoint": "team",
                                 "subject": "VIP", "text": "{{ customer.name }} braucht Hilfe"})
        self.assertEqual(status, 201, out)

        self.allow_private(False)
        status, out = self.call("POST", "/api/v1/webhook-endpoints/team/test", {})
        self.assertEqual(status, 200, out)
        self.assertFalse(out["ok"])
        self.assertIn("loopback", out["detail"])
        self.call("POST", "/api/v1/sends", {"template": "hook-vip", "customers": ["bob"], "key": "hook-refused"})
        m = self.message("hook-refused", "bob")
        self.assertEqual(m["state"], "failed", m)
        self.assertIn("loopback", m["last_error"])
        self.assertEqual(self.receiver.received("/hook/team"), [], "nothing reached the receiver")

        self.allow_private(True)
        status, out = self.call("POST", "/api/v1/sends", {"template": "hook-vip", "customers": ["bob"],
                                                          "key": "hook-ok"})
        self.assertEqual(self.message("hook-ok", "bob")["state"], "sent")
        [(_, headers, body)] = self.receiver.received("/hook/team")
        t, v1 = (p.split("=", 1)[1] for p in headers["treu-signature"].split(","))
        expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(v1, expected), "Treu-Signature verifies with the endpoint's secret")
        self.assertLess(abs(int(t) - time.time()), 300)
        sent = json.loads(body)
        self.assertEqual((sent["type"], sent["customer"]["id"], sent["text"], sent["title"]),
                         ("message", "bob", "Bob Builder braucht Hilfe", "VIP"))
        self.assertTrue(headers["idempotency-key"].startswith("hook-ok"))
        status, out = self.call("POST", "/api/v1/webhook-endpoints/team/test", {})
        self.assertTrue(out["ok"], out)

    def test_slack_and_discord_formats(self):
        self.allow_private(True)
        for fmt in ("slack", "discord"):
            url = f"http://127.0.0.1:{self.receiver.port}/hook/{fmt}"
            self.assertEqual(self.call("PUT", f"/api/v1/webhook-endpoints/{fmt}", {"url": url, "format": fmt})[0], 201)
            self.call("POST", "/api/v1/templates", {"name": f"hook-{fmt}", "channel": "webhook", "endpoint": fmt,
                                                    "subject": "Neu", "text": "{{ customer.first_name }} kaufte",
                                                    "link_url": "https://shop.example/c/{{ customer.id }}"})
            self.call("POST", "/api/v1/sends", {"template": f"hook-{fmt}", "customers": ["carl"], "key": f"k-{fmt}"})
            self.message(f"k-{fmt}", "carl")
            [(_, _, body)] = self.receiver.received(f"/hook/{fmt}")
            text = json.loads(body)["text" if fmt == "slack" else "content"]
            bold = "*" if fmt == "slack" else "**"
            self.assertEqual(text, f"{bold}Neu{bold}\nCarl kaufte\nhttps://shop.example/c/carl")

    def test_webhook_endpoints_refuse_every_spelling_of_a_forbidden_address(self):
        self.allow_private(False)
        port = self.receiver.port
        forbidden = [
            f"http://127.0.0.1:{port}/hook/x",          # loopback
            f"http://localhost:{port}/hook/x",          # a name resolving to loopback
            f"http://2130706433:{port}/hook/x",         # 127.0.0.1 as one decimal number
            f"http://0x7f000001:{port}/hook/x",         # ... in hex
            f"http://0x7f.1:{port}/hook/x",             # ... in hex, short form
            f"http://017700000001:{port}/hook/x",       # ... in octal
            f"http://0177.0.0.1:{port}/hook/x",         # ... in octal, dotted
            f"http://127.1:{port}/hook/x",              # ... short dotted form
            f"http://[::1]:{port}/hook/x",              # IPv6 loopback
            f"http://[::ffff:127.0.0.1]:{port}/hook/x",  # IPv4-mapped IPv6
            "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
            "http://[fe80::1]/hook",                    # IPv6 link-local
            "http://10.1.2.3/hook",                     # private
            "http://192.168.0.1/hook",                  # private
            "http://172.16.5.4/hook",                   # private
            "http://[fd00::1]/hook",                    # IPv6 unique local
            "http://0.0.0.0/hook",                      # unspecified
        ]
        for url in forbidden:
            name = "ssrf-" + hashlib.sha1(url.encode()).hexdigest()[:8]
            status, out = self.call("PUT", f"/api/v1/webhook-endpoints/{name}", {"url": url})
            self.assertEqual(status, 201, (url, out))
            status, out = self.call("POST", f"/api/v1/webhook-endpoints/{name}/test", {})
            self.assertEqual(status, 200, out)
            self.assertFalse(out["ok"], url)
            self.assertRegex(out["detail"], "loopback|private|link-local|unspecified|refused|resolves", url)
        self.assertEqual(self.receiver.received("/hook/x"), [], "nothing reached the receiver")
        # Allowed when the workspace says so (except the unspecified address, never).
        self.allow_private(True)
        name = "ssrf-" + hashlib.sha1(forbidden[0].encode()).hexdigest()[:8]
        self.assertTrue(self.call("POST", f"/api/v1/webhook-endpoints/{name}/test", {})[1]["ok"])
        name = "ssrf-" + hashlib.sha1(forbidden[-1].encode()).hexdigest()[:8]
        self.assertFalse(self.call("POST", f"/api/v1/webhook-endpoints/{name}/test", {})[1]["ok"])
        self.allow_private(False)

    def test_webhook_endpoint_bad_input_changes_nothing(self):
        cases = [({"url": "ftp://files.example/x"}, "/url"), ({"url": "https://ok.example", "format": "xml"}, "/format"),
                 ({}, "/url"), ({"url": "https://ok.example", "extra": 1}, "/extra"),
                 ({"url": "https://ok.example", "new_secret": "yes"}, "/new_secret")]
        for body, pointer in cases:
            status, out = self.call("PUT", "/api/v1/webhook-endpoints/badinput", body)
            self.assertEqual(status, 400, (body, out))
            self.assertEqual(out["errors"][0]["pointer"], pointer, out)
        self.assertEqual(self.call("PUT", "/api/v1/webhook-endpoints/bad%20name", {"url": "https://ok.example"})[0], 400)
        names = [e["name"] for e in self.call("GET", "/api/v1/webhook-endpoints")[1]["data"]]
        self.assertNotIn("badinput", names)
        # Channel settings: a subject push services can't use.
        status, out = self.call("PATCH", "/api/v1/channels/settings", {"vapid_subject": "ops@kaffee.example"})
        self.assertEqual(status, 400, out)
        self.assertEqual(out["errors"][0]["pointer"], "/vapid_subject")
        self.assertEqual(self.call("GET", "/api/v1/channels/settings")[1]["vapid_subject"], "mailto:ops@kaffee.example")
        # Only admins change settings and endpoints.
        self.assertEqual(self.call("PUT", "/api/v1/webhook-endpoints/x", {"url": "https://ok.example"},
                                   key=self.read_key)[0], 403)
        self.assertEqual(self.call("POST", "/api/v1/channels/identity-secret", {}, key=self.read_key)[0], 403)

    def test_other_workspaces_see_nothing(self):
        self.call("PUT", "/api/v1/webhook-endpoints/private-one", {"url": "https://hooks.example/p"})
        self.assertNotIn("private-one", json.dumps(self.call("GET", "/api/v1/webhook-endpoints", key=self.other_key)[1]))
        self.assertEqual(self.call("DELETE", "/api/v1/webhook-endpoints/private-one", key=self.other_key)[0], 404)
        self.assertEqual(self.call("POST", "/api/v1/webhook-endpoints/private-one/test", {}, key=self.other_key)[0], 404)
        browser = Browser("https://push.example.net/wpush/tenancy")
        status, out = self.snippet("POST", "/v1/push/subscribe", "bob", {"subscription": browser.subscription()})
        self.assertEqual(status, 201, out)
        self.assertEqual(self.call("DELETE", f"/api/v1/push-subscriptions/{out['id']}", key=self.other_key)[0], 404)
        self.assertEqual(self.call("GET", "/api/v1/customers/bob/push-subscriptions", key=self.other_key)[1]["data"], [])
        self.assertEqual(self.call("DELETE", f"/api/v1/push-subscriptions/{out['id']}")[0], 204)
        self.assertFalse(self.call("GET", "/api/v1/channels/settings", key=self.other_key)[1]["push_ready"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:])
