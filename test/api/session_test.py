#!/usr/bin/python3
"""Dashboard sign-in over real HTTP, on SQLite or PostgreSQL: the session cookie, CSRF and Origin
checks, session fixation, sign-out, throttling, roles, and the users and keys API.

Usage: session_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api_test  # noqa: E402  (fresh_db, Server, cli, make_key; takes the backend argument)

TREU = api_test.TREU
PASSWORD = "correct horse battery"


def create_user(db, ws, email, role):
    out = subprocess.run([TREU, "--db", db, "--workspace", ws, "user", "create", email, "--role", role,
                          "--password-stdin"], input=PASSWORD + "\n", check=True, capture_output=True,
                         text=True).stdout
    return int(out.split("(id ")[1].split(")")[0])


class SessionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = api_test.fresh_db(cls.tmp.name)
        os.environ["TREU_SECRET_FILE"] = os.path.join(cls.tmp.name, "treu.secret")
        cls.ids = {}
        for ws in ("a", "b"):
            api_test.cli(cls.db, "workspace", "create", ws, "--currency", "EUR")
            cls.ids[("admin", ws)] = create_user(cls.db, ws, f"admin@{ws}.example", "admin")
        cls.ids[("marketer", "a")] = create_user(cls.db, "a", "marketer@a.example", "marketer")
        cls.ids[("viewer", "a")] = create_user(cls.db, "a", "Viewer@A.example", "viewer")
        for ws in ("a", "b"):
            create_user(cls.db, ws, "both@x.example", "viewer")
        cls.admin_key = api_test.make_key(cls.db, "a", "admin")
        cls.server = api_test.Server(cls.db)
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    def call(self, method, path, body=None, cookie=None, csrf=None, headers=None):
        """(status, headers, parsed body or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if cookie is not None:
            h["Cookie"] = "treu_session=" + cookie
        if csrf is not None:
            h["X-CSRF-Token"] = csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        return r.status, r.headers, json.loads(raw) if raw else None

    def login(self, email, password=PASSWORD, workspace=None, cookie=None, headers=None):
        body = {"email": email, "password": password}
        if workspace:
            body["workspace"] = workspace
        status, h, out = self.call("POST", "/api/v1/session", body, cookie=cookie, headers=headers)
        token = None
        set_cookie = h.get("Set-Cookie", "")
        if set_cookie.startswith("treu_session="):
            token = set_cookie.split(";")[0].split("=", 1)[1]
        return status, h, out, token

    def session(self, email, **kw):
        status, _, out, token = self.login(email, **kw)
        self.assertEqual(status, 200, out)
        return token, out["csrf_token"]

    def test_login_sets_a_strict_http_only_cookie(self):
        status, h, out, token = self.login("admin@a.example")
        self.assertEqual(status, 200, out)
        attrs = [a.strip() for a in h["Set-Cookie"].split(";")]
        self.assertIn("HttpOnly", attrs)
        self.assertIn("SameSite=Strict", attrs)
        self.assertIn("Path=/", attrs)
        self.assertNotIn("Secure", attrs)
        self.assertEqual(len(token), 43)
        self.assertEqual(out["user"], {"id": self.ids[("admin", "a")], "email": "admin@a.example", "name": "",
                                       "role": "admin", "locale": "en", "workspace": "a"})
        self.assertTrue(out["csrf_token"])
        self.assertNotIn("password_hash", json.dumps(out))
        status, h, again = self.call("GET", "/api/v1/session", cookie=token)
        self.assertEqual((status, again), (200, out))
        # Security headers on every answer.
        self.assertEqual(h["X-Frame-Options"], "DENY")
        self.assertEqual(h["Referrer-Policy"], "no-referrer")
        self.assertEqual(h["X-Content-Type-Options"], "nosniff")
        self.assertIn("frame-ancestors 'none'", h["Content-Security-Policy"])
        self.assertIn("default-src 'self'", h["Content-Security-Policy"])
        # Behind a TLS proxy the cookie is Secure.
        _, h, _, _ = self.login("admin@a.example", headers={"X-Forwarded-Proto": "https"})
        self.assertIn("Secure", [a.strip() for a in h["Set-Cookie"].split(";")])

    def test_the_session_needs_its_cookie(self):
        self.assertEqual(self.call("GET", "/api/v1/session")[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie="made-up")[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie="A" * 43)[0], 401)
        status, _, _ = self.call("GET", "/api/v1/session", headers={"Authorization": "Bearer " + self.admin_key})
        self.assertEqual(status, 401)

    def test_wrong_email_or_password_get_one_answer(self):
        status, h, wrong_pw, token = self.login("marketer@a.example", "wrong password")
        self.assertEqual(status, 401)
        self.assertIsNone(token)
        status, _, unknown, _ = self.login("nobody@a.example", "wrong password")
        self.assertEqual(status, 401)
        self.assertEqual(wrong_pw["detail"], unknown["detail"])
        self.assertEqual(wrong_pw["detail"], "login: email or password is wrong")
        # The workspace is needed when the email signs in to several.
        status, _, out, _ = self.login("both@x.example")
        self.assertEqual((status, out["errors"][0]["pointer"]), (400, "/workspace"))
        status, _, out, _ = self.login("both@x.example", workspace="b")
        self.assertEqual((status, out["user"]["workspace"]), (200, "b"))
        # Emails are matched without regard to case.
        self.assertEqual(self.login("VIEWER@a.example")[0], 200)

    def test_cookie_requests_need_the_csrf_token_for_writes(self):
        token, csrf = self.session("marketer@a.example")
        status, _, page = self.call("GET", "/api/v1/customers", cookie=token)
        self.assertEqual((status, page["data"]), (200, []))
        customer = {"id": "csrf-1", "email": "c@a.example"}
        status, h, problem = self.call("POST", "/api/v1/customers", customer, cookie=token)
        self.assertEqual((status, problem["type"]), (403, "urn:treu:problem:csrf-failed"))
        self.assertEqual(h["Content-Type"], "application/problem+json")
        status, _, problem = self.call("POST", "/api/v1/customers", customer, cookie=token, csrf="x" * 43)
        self.assertEqual((status, problem["type"]), (403, "urn:treu:problem:csrf-failed"))
        status, _, _ = self.call("GET", "/api/v1/customers/csrf-1", cookie=token)
        self.assertEqual(status, 404, "nothing was written")
        status, _, problem = self.call("POST", "/api/v1/customers", customer, cookie=token, csrf=csrf,
                                       headers={"Origin": "https://evil.example"})
        self.assertEqual((status, problem["type"]), (403, "urn:treu:problem:csrf-failed"))
        self.assertEqual(self.call("GET", "/api/v1/customers/csrf-1", cookie=token)[0], 404)
        status, _, out = self.call("POST", "/api/v1/customers", customer, cookie=token, csrf=csrf,
                                   headers={"Origin": f"http://127.0.0.1:{self.port}"})
        self.assertEqual((status, out["id"]), (201, "csrf-1"))
        # The cookie's workspace confines the caller like a key's.
        other, other_csrf = self.session("admin@b.example")
        self.assertEqual(self.call("GET", "/api/v1/customers/csrf-1", cookie=other)[0], 404)
        # Sign-in from another origin is refused too.
        status, _, problem, _ = self.login("admin@a.example", headers={"Origin": "https://evil.example"})
        self.assertEqual((status, problem["type"]), (403, "urn:treu:problem:csrf-failed"))
        # A bearer key needs no CSRF token, with or without a cookie beside it.
        status, _, _ = self.call("POST", "/api/v1/customers", {"id": "csrf-2"}, cookie=token,
                                 headers={"Authorization": "Bearer " + self.admin_key})
        self.assertEqual(status, 201)
        # Tracking routes take keys only.
        status, _, _ = self.call("POST", "/v1/track", {"userId": "u", "event": "E"}, cookie=other, csrf=other_csrf)
        self.assertEqual(status, 401)

    def test_login_never_keeps_a_presented_session(self):
        old, _ = self.session("viewer@a.example")
        # A valid session of another sign-in, presented at login, is ended; the new one differs.
        status, _, _, new = self.login("viewer@a.example", cookie=old)
        self.assertEqual(status, 200)
        self.assertIsNotNone(new)
        self.assertNotEqual(new, old)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=old)[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=new)[0], 200)
        # A made-up cookie is never adopted.
        made_up = "M" * 43
        status, _, _, fresh = self.login("viewer@a.example", cookie=made_up)
        self.assertEqual(status, 200)
        self.assertNotEqual(fresh, made_up)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=made_up)[0], 401)
        # Another user's session presented at sign-in ends too.
        admin, _ = self.session("admin@a.example")
        self.login("viewer@a.example", cookie=admin)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=admin)[0], 401)

    def test_logout_ends_the_session(self):
        token, csrf = self.session("viewer@a.example")
        self.assertEqual(self.call("DELETE", "/api/v1/session", cookie=token)[0], 403)  # no CSRF token
        status, h, _ = self.call("DELETE", "/api/v1/session", cookie=token, csrf=csrf)
        self.assertEqual(status, 204)
        self.assertIn("Max-Age=0", h["Set-Cookie"])
        self.assertTrue(h["Set-Cookie"].startswith("treu_session=;"))
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=token)[0], 401)
        self.assertEqual(self.call("GET", "/api/v1/customers", cookie=token)[0], 401)

    def test_patch_session_changes_the_own_locale(self):
        token, csrf = self.session("marketer@a.example")
        status, _, out = self.call("PATCH", "/api/v1/session", {"locale": "de"}, cookie=token, csrf=csrf)
        self.assertEqual((status, out["user"]["locale"], out["csrf_token"]), (200, "de", csrf))
        status, _, problem = self.call("PATCH", "/api/v1/session", {"locale": "fr"}, cookie=token, csrf=csrf)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/locale"))
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=token)[2]["user"]["locale"], "de")
        self.call("PATCH", "/api/v1/session", {"locale": "en"}, cookie=token, csrf=csrf)

    def test_failed_logins_are_throttled(self):
        create_user(self.db, "b", "throttled@b.example", "viewer")
        for _ in range(5):
            self.assertEqual(self.login("throttled@b.example", "wrong password")[0], 401)
        status, h, problem, token = self.login("throttled@b.example")
        self.assertEqual(status, 429)
        self.assertIsNone(token)
        retry = int(h["Retry-After"])
        self.assertTrue(0 < retry <= 900, retry)
        self.assertEqual(problem["detail"], f"login: too many failed logins; retry in {retry} s")

    def test_roles_limit_what_a_session_may_do(self):
        viewer, viewer_csrf = self.session("viewer@a.example")
        self.assertEqual(self.call("GET", "/api/v1/customers", cookie=viewer)[0], 200)
        status, _, problem = self.call("POST", "/api/v1/customers", {"id": "v-1"}, cookie=viewer, csrf=viewer_csrf)
        self.assertEqual((status, problem["type"]), (403, "urn:treu:problem:permission-denied"))
        marketer, marketer_csrf = self.session("marketer@a.example")
        self.assertEqual(self.call("GET", "/api/v1/users", cookie=marketer)[0], 403)
        status, _, _ = self.call("POST", "/api/v1/users", {"email": "m@a.example", "role": "admin",
                                                         "password": PASSWORD}, cookie=marketer, csrf=marketer_csrf)
        self.assertEqual(status, 403)
        self.assertEqual(self.call("GET", "/api/v1/keys", cookie=marketer)[0], 403)

    def test_admins_manage_users(self):
        admin, csrf = self.session("admin@a.example")
        status, _, users = self.call("GET", "/api/v1/users", cookie=admin)
        self.assertEqual(status, 200)
        emails = [u["email"] for u in users["data"]]
        self.assertIn("viewer@a.example", emails)
        self.assertNotIn("admin@b.example", emails)
        self.assertEqual(set(users["data"][0]), {"id", "email", "name", "role", "locale", "created_at", "last_login_at"})
        self.assertNotIn("argon2", json.dumps(users))
        status, _, made = self.call("POST", "/api/v1/users", {"email": "New@A.example", "name": "Nia", "role": "viewer",
                                                              "password": PASSWORD, "locale": "de"},
                                    cookie=admin, csrf=csrf)
        self.assertEqual(status, 201, made)
        self.assertEqual((made["email"], made["role"], made["locale"], made["last_login_at"]),
                         ("new@a.example", "viewer", "de", None))
        self.assertEqual(self.call("POST", "/api/v1/users", {"email": "new@a.example", "role": "viewer",
                                                             "password": PASSWORD}, cookie=admin, csrf=csrf)[0], 409)
        new_token, _ = self.session("new@a.example")
        status, _, patched = self.call("PATCH", f"/api/v1/users/{made['id']}",
                                       {"role": "marketer", "name": "Nia B."}, cookie=admin, csrf=csrf)
        self.assertEqual((status, patched["role"], patched["name"]), (200, "marketer", "Nia B."))
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=new_token)[2]["user"]["role"], "marketer")
        # A new password ends the user's sessions.
        status, _, _ = self.call("PATCH", f"/api/v1/users/{made['id']}", {"password": "another password"},
                                 cookie=admin, csrf=csrf)
        self.assertEqual(status, 200)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=new_token)[0], 401)
        self.assertEqual(self.login("new@a.example", "another password")[0], 200)
        # An admin can't demote or delete themselves.
        me = self.ids[("admin", "a")]
        self.assertEqual(self.call("PATCH", f"/api/v1/users/{me}", {"role": "viewer"}, cookie=admin, csrf=csrf)[0], 409)
        self.assertEqual(self.call("DELETE", f"/api/v1/users/{me}", cookie=admin, csrf=csrf)[0], 409)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=admin)[2]["user"]["role"], "admin")
        # Another workspace's user is not found.
        other = self.ids[("admin", "b")]
        self.assertEqual(self.call("PATCH", f"/api/v1/users/{other}", {"name": "x"}, cookie=admin, csrf=csrf)[0], 404)
        self.assertEqual(self.call("DELETE", f"/api/v1/users/{other}", cookie=admin, csrf=csrf)[0], 404)
        self.assertEqual(self.call("DELETE", "/api/v1/users/abc", cookie=admin, csrf=csrf)[0], 404)
        # Deleting a user ends their sessions.
        new_token, _ = self.session("new@a.example", password="another password")
        self.assertEqual(self.call("DELETE", f"/api/v1/users/{made['id']}", cookie=admin, csrf=csrf)[0], 204)
        self.assertEqual(self.call("GET", "/api/v1/session", cookie=new_token)[0], 401)
        self.assertEqual(self.call("DELETE", f"/api/v1/users/{made['id']}", cookie=admin, csrf=csrf)[0], 404)

    def test_bad_user_input_names_the_field_and_changes_nothing(self):
        admin, csrf = self.session("admin@a.example")
        before = self.call("GET", "/api/v1/users", cookie=admin)[2]
        cases = [
            ({"email": "not-an-email", "role": "viewer", "password": PASSWORD}, "/email"),
            ({"email": "x@a.example", "role": "owner", "password": PASSWORD}, "/role"),
            ({"email": "x@a.example", "role": "viewer", "password": "short"}, "/password"),
            ({"email": "x@a.example", "role": "viewer", "password": PASSWORD, "locale": "fr"}, "/locale"),
            ({"email": "x@a.example", "role": "viewer", "password": PASSWORD, "extra": 1}, "/extra"),
            ({"email": 5, "role": "viewer", "password": PASSWORD}, "/email"),
            ({"email": "x@a.example", "password": PASSWORD}, "/role"),
        ]
        for body, pointer in cases:
            status, _, problem = self.call("POST", "/api/v1/users", body, cookie=admin, csrf=csrf)
            self.assertEqual((status, problem["errors"][0]["pointer"]), (400, pointer), body)
        viewer = self.ids[("viewer", "a")]
        status, _, problem = self.call("PATCH", f"/api/v1/users/{viewer}", {"name": "V", "password": "short"},
                                       cookie=admin, csrf=csrf)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/password"))
        self.assertEqual(self.call("GET", "/api/v1/users", cookie=admin)[2], before)
        for body, pointer in (({"email": "admin@a.example"}, "/password"), ({"password": PASSWORD}, "/email"),
                              ({"email": "admin@a.example", "password": PASSWORD, "x": 1}, "/x")):
            status, _, problem = self.call("POST", "/api/v1/session", body)
            self.assertEqual((status, problem["errors"][0]["pointer"]), (400, pointer), body)
        status, _, problem = self.call("POST", "/api/v1/keys", {"scope": "root"}, cookie=admin, csrf=csrf)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/scope"))
        status, _, problem = self.call("POST", "/api/v1/keys", {"scope": "read", "rate_per_minute": -1},
                                       cookie=admin, csrf=csrf)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/rate_per_minute"))

    def test_admins_manage_keys(self):
        admin, csrf = self.session("admin@a.example")
        status, _, made = self.call("POST", "/api/v1/keys", {"scope": "write", "name": "shop", "rate_per_minute": 60},
                                    cookie=admin, csrf=csrf)
        self.assertEqual(status, 201, made)
        self.assertTrue(made["key"].startswith("treu_sk_"))
        self.assertEqual((made["scope"], made["name"], made["rate_per_minute"], made["revoked"]),
                         ("write", "shop", 60, False))
        self.assertTrue(made["key"].startswith(made["prefix"]))
        status, _, _ = self.call("GET", "/api/v1/customers", headers={"Authorization": "Bearer " + made["key"]})
        self.assertEqual(status, 200)
        status, _, keys = self.call("GET", "/api/v1/keys", cookie=admin)
        listed = {k["id"]: k for k in keys["data"]}
        self.assertIn(made["id"], listed)
        self.assertNotIn("key", listed[made["id"]])
        self.assertNotIn(made["key"], json.dumps(keys))
        # Another workspace's admin can't see or revoke it.
        other, other_csrf = self.session("admin@b.example")
        self.assertNotIn(made["id"], [k["id"] for k in self.call("GET", "/api/v1/keys", cookie=other)[2]["data"]])
        self.assertEqual(self.call("DELETE", f"/api/v1/keys/{made['id']}", cookie=other, csrf=other_csrf)[0], 404)
        self.assertEqual(self.call("DELETE", f"/api/v1/keys/{made['id']}", cookie=admin, csrf=csrf)[0], 204)
        status, _, keys = self.call("GET", "/api/v1/keys", cookie=admin)
        self.assertTrue({k["id"]: k for k in keys["data"]}[made["id"]]["revoked"])


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
