#!/usr/bin/python3
"""Black-box tests of `treu serve` over real HTTP, on SQLite or PostgreSQL.

Usage: api_test.py sqlite|postgres   (TREU names the binary; postgres needs TREU_TEST_PG_URL)

The tenancy test is generated from the OpenAPI document, which is generated from the route
table: every non-public route must answer 401 without a key, 403 to a tracking key and to a
key of too small a scope, and 404 for another workspace's resource (also for PATCH and
DELETE, checked before the owner's call, so another workspace can't change or delete it). A
route the test can't exercise this way fails the test, so new routes can't skip the check.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

TREU = os.environ["TREU"]
# A valid body for every write route of the tenancy test, by path pattern.
WRITE_BODIES = {
    "/api/v1/customers": {"id": "tenancy-1", "email": "t1@a.example"},
    "/api/v1/subscriptions": {"id": "tenancy-s", "customer_id": "tenancy-1", "started_at": "2024-01-01",
                              "history": [{"plan": "pro", "amount": 49}]},
    "/api/v1/products": {"id": "tenancy-p", "name": "Tenancy", "price": 1},
    "/api/v1/orders": {"id": "tenancy-o", "customer_id": "tenancy-1", "placed_at": "2024-01-02T00:00:00Z",
                       "total": 1},
    "/api/v1/customers/{id}": {"name": "Patched"},
    "/api/v1/workspace": {"brand_colour": "#0a7f5a"},
    "/api/v1/models/{model}/fit": {"unit": "week"},
    "/api/v1/products/{id}": {"name": "Patched"},
    "/api/v1/segments": {"name": "tenancy-seg", "expr": "orders_count >= 1"},
    "/api/v1/segments/preview": {"expr": "orders_count >= 1"},
    "/api/v1/segments/{id}": {"expr": "orders_count >= 2"},
    "/api/v1/surveys": {"name": "tenancy-post", "title": {"en": "T"},
                        "questions": [{"id": "q", "kind": "csat", "text": {"en": "Happy?"}}]},
    "/api/v1/surveys/{id}": {"name": "tenancy-survey", "title": {"en": "T2"},
                             "questions": [{"id": "q", "kind": "ces", "text": {"en": "Easy?"}}]},
    "/api/v1/surveys/{id}/links": {"where": 'email = "two@a.example"', "ignore_schedule": True},
    "/api/v1/followups/{id}": {"note": "called back"},
    "/api/v1/loyalty/program": {"rules": [{"id": "spend", "kind": "spend", "points_per_unit": 1}],
                                "tiers": [{"name": "basic", "threshold": 0}, {"name": "gold", "threshold": 1000}],
                                "expiry_days": 365},
    "/api/v1/loyalty/rules": {"rules": [{"id": "spend", "kind": "spend", "points_per_unit": 2}]},
    "/api/v1/loyalty/tiers": {"tier_window_days": 180},
    "/api/v1/loyalty/rewards/{name}": {"title": "Voucher", "kind": "voucher", "points": 10},
    "/api/v1/loyalty/rewards/{name}/codes": {"codes": ["T-1", "T-2"]},
    "/api/v1/loyalty/customers/{id}/transfers": {"kind": "earn", "points": 10, "reason": "tenancy"},
    "/api/v1/loyalty/customers/{id}/referral-code": {},
    "/api/v1/loyalty/redemptions": {"customer_id": "a-1", "reward": "tenancy-reward"},
    "/api/v1/loyalty/redemptions/{id}/confirm": {},
    "/api/v1/loyalty/redemptions/{id}/release": {},
    "/api/v1/users": {"email": "tenancy-user@a.example", "name": "T", "role": "viewer",
                      "password": "tenancy password"},
    "/api/v1/users/{id}": {"name": "Patched"},
    "/api/v1/keys": {"scope": "read", "name": "tenancy"},
    "/api/v1/messaging/settings": {"from_name": "Tenancy"},
    "/api/v1/messaging/settings/test": {"to": "tenancy@a.example"},
    "/api/v1/templates": {"name": "tenancy-post", "subject": "Hi {{ customer.first_name }}", "html": "<p>x</p>"},
    "/api/v1/templates/check": {"subject": "Hi", "html": "<p>{{ customer.email }}</p>"},
    "/api/v1/templates/preview": {"template": "tenancy-tmpl", "customer_id": "a-1"},
    "/api/v1/sends": {"template": "tenancy-tmpl", "customers": ["a-1"], "category": "transactional",
                      "key": "tenancy"},
    "/api/v1/messages/cancel": {"campaign": "tenancy"},
    "/api/v1/suppressions": {"address": "tenancy-sup@a.example"},
    "/api/v1/customers/{id}/consent/email/request": {},
    "/api/v1/channels/settings": {"vapid_subject": "mailto:ops@a.example"},
    "/api/v1/channels/identity-secret": {},
    "/api/v1/webhook-endpoints/{name}": {"url": "https://203.0.113.9/hook"},
    "/api/v1/webhook-endpoints/{name}/test": {},
    "/api/v1/campaigns/{name}": {"variants": [{"template": "tenancy-tmpl"}], "where": "orders_count >= 1"},
    "/api/v1/campaigns/{name}/schedule": {"send_at": "2030-01-01T00:00:00Z"},
    "/api/v1/campaigns/{name}/cancel": {},
    "/api/v1/campaigns/{name}/preview": {},
    "/api/v1/delivery-rules": {"max_messages": 0},
    "/api/v1/journeys/{name}": {"trigger": {"type": "segment_entered", "segment": "tenancy-jseg"},
                                "steps": [{"id": "wait", "type": "wait", "days": 1, "next": "out"},
                                          {"id": "out", "type": "exit"}]},
    "/api/v1/journeys/{name}/pause": {},
    "/api/v1/journeys/{name}/resume": {},
    "/api/v1/journeys/{name}/enter-members": {},
    # (query, raw body) for routes that take a file
    "/api/v1/imports": ("?kind=customers&file_name=tenancy.csv", b"customer_id,email\ntenancy-imp,ti@a.example\n"),
}
# Routes whose {id} isn't "a-1": filled in by setUpClass.
CONCRETE_IDS = {"/api/v1/kpis/{id}": "revenue"}
# Routes whose {id} names something every workspace has (a metric), not a workspace's resource:
# another workspace's key gets its own answer, which must not leak workspace a's data.
# PUT …/rewards/{name} creates the reward in the caller's own workspace.
# PUT /api/v1/campaigns/{name} and /api/v1/journeys/{name} create theirs in the caller's own
# workspace too.
SHARED_IDS = {"/api/v1/kpis/{id}", "/api/v1/models/{model}/fit", "/api/v1/loyalty/rewards/{name}",
              "/api/v1/webhook-endpoints/{name}", "/api/v1/campaigns/{name}", "/api/v1/journeys/{name}"}
# Query parameters a GET route requires.
QUERIES = {"/api/v1/calendar": "?from=2030-01-01&to=2030-01-31", "/api/v1/kpis": "?period=2024-01", "/api/v1/kpis/{id}": "?period=2024-01",
           "/api/v1/mrr": "?period=2024-01", "/api/v1/cohorts/members": "?cohort=2024-01"}
BACKEND = sys.argv.pop(1) if len(sys.argv) > 1 else "sqlite"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_db(tmp):
    if BACKEND == "sqlite":
        return "sqlite:" + os.path.join(tmp, "api.db")
    base = os.environ.get("TREU_TEST_PG_URL")
    if not base:
        raise SystemExit("TREU_TEST_PG_URL is not set: run under scripts/with-postgres")
    name = "api_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", base, "-c", f"CREATE DATABASE {name}"], check=True)
    return base.rsplit("/", 1)[0] + "/" + name


class Server:
    def __init__(self, db):
        self.db = db
        self.port = free_port()
        self.proc = subprocess.Popen(
            [TREU, "--db", db, "serve", "--listen", f"127.0.0.1:{self.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("server did not start: " + line)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def cli(db, *args, workspace=None):
    cmd = [TREU, "--db", db] + (["--workspace", workspace] if workspace else []) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def make_key(db, workspace, scope):
    return cli(db, "key", "create", "--scope", scope, workspace=workspace).split()[-1]


def set_up_database(cls, customers_csv, workspaces, import_into=None):
    """The start of a test class's set-up: cls.tmp and a fresh cls.db, the signing secret and mail
    directory in cls.tmp, the `workspaces` created (EUR) and the customers CSV (its text) imported
    into `import_into` (default: every workspace)."""
    cls.tmp = tempfile.TemporaryDirectory()
    cls.db = fresh_db(cls.tmp.name)
    os.environ["TREU_SECRET_FILE"] = os.path.join(cls.tmp.name, "treu.secret")
    os.environ["TREU_MAIL_DIR"] = os.path.join(cls.tmp.name, "mail")
    customers = os.path.join(cls.tmp.name, "customers.csv")
    with open(customers, "w") as f:
        f.write(customers_csv)
    for ws in workspaces:
        cli(cls.db, "workspace", "create", ws, "--currency", "EUR")
    for ws in (workspaces if import_into is None else import_into):
        cli(cls.db, "import", "customers", customers, workspace=ws)


def request(port, method, url, body=None, headers=None, timeout=60):
    """(status, headers, bytes) of one request to the server on `port`; `url` is a path or a full
    URL (its path and query are used)."""
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path + ("?" + parsed.query if parsed.query else "") if parsed.scheme else url
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, r.headers, data


def call_json(port, method, path, body=None, key=None, headers=None, basic=False):
    """(status, parsed JSON or the raw bytes) of an API call with `key` (as Bearer, or as the Basic
    user with `basic`) and `body` sent as JSON."""
    auth = ("Basic " + base64.b64encode((key + ":").encode()).decode()) if basic else "Bearer " + key
    all_headers = {"Authorization": auth, **(headers or {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    status, _, raw = request(port, method, path, data, all_headers)
    return status, (json.loads(raw) if raw and raw[:1] in (b"{", b"[") else (raw or None))


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = fresh_db(cls.tmp.name)
        # The signing secret shared by the CLI (survey links) and the server.
        os.environ["TREU_SECRET_FILE"] = os.path.join(cls.tmp.name, "treu.secret")
        for ws in ("a", "b"):
            csv = os.path.join(cls.tmp.name, f"{ws}.csv")
            with open(csv, "w") as f:
                f.write("customer_id,email,name\n")
                f.write(f"{ws}-1,one@{ws}.example,One\n{ws}-2,two@{ws}.example,Two\n")
            orders = os.path.join(cls.tmp.name, f"{ws}-orders.csv")
            with open(orders, "w") as f:
                f.write(f"order_id,customer_id,placed_at,total\n{ws}-1,{ws}-1,2024-01-01,9.99\n")
                if ws == "a":  # 300 buyers with 1 to 5 purchases in 2024, for the model fits
                    for i in range(300):
                        for k in range(1 + i % 5):
                            day = (i * 7 + k * (11 + i % 23)) % 360
                            f.write(f"a-o{i}-{k},a-c{i},2024-{1 + day // 30:02d}-{1 + day % 28:02d},{5 + i % 40}.50\n")
            cli(cls.db, "workspace", "create", ws, "--currency", "EUR")
            cli(cls.db, "import", "customers", csv, workspace=ws)
            cli(cls.db, "import", "orders", orders, workspace=ws)
            subs = os.path.join(cls.tmp.name, f"{ws}-subs.csv")
            with open(subs, "w") as f:
                f.write(f"subscription_id,customer_id,amount,started_at\n{ws}-1,{ws}-1,10,2024-01-01\n")
            cli(cls.db, "import", "subscriptions", subs, workspace=ws)
        # A fitted purchase model in workspace a, for the predictions routes.
        for model in ("pareto_nbd", "gamma_gamma"):
            run = json.loads(cli(cls.db, "fit", model, "--calibration-end", "2024-12-31", "--json", workspace="a"))
            if model == "pareto_nbd":
                CONCRETE_IDS["/api/v1/models/runs/{id}/tracking"] = str(run["id"])
        CONCRETE_IDS["/api/v1/models/runs/{id}"] = str(run["id"])
        # A saved segment of workspace a, for the tenancy test of /api/v1/segments/{id}...
        cli(cls.db, "segment", "save", "tenancy", "orders_count >= 1", workspace="a")
        saved = {s["name"]: s for s in json.loads(cli(cls.db, "segment", "list", "--json", workspace="a"))}
        for path in ("/api/v1/segments/{id}", "/api/v1/segments/{id}/members", "/api/v1/segments/{id}/transitions",
                     "/api/v1/segments/{id}/export"):
            CONCRETE_IDS[path] = str(saved["tenancy"]["id"])
        # ... and a survey of workspace a, for /api/v1/surveys/{id}.
        survey_file = os.path.join(cls.tmp.name, "survey.json")
        with open(survey_file, "w") as f:
            json.dump(WRITE_BODIES["/api/v1/surveys/{id}"], f)
        cli(cls.db, "survey", "create", survey_file, workspace="a")
        survey_id = str(json.loads(cli(cls.db, "survey", "list", "--json", workspace="a"))[0]["id"])
        for path in ("/api/v1/surveys/{id}", "/api/v1/surveys/{id}/responses", "/api/v1/surveys/{id}/results",
                     "/api/v1/surveys/{id}/links"):
            CONCRETE_IDS[path] = survey_id
        # ... and an NPS survey with a link for a customer of its own, answered below with a detractor's
        # score, for /api/v1/followups/{id}.
        with open(survey_file, "w") as f:
            json.dump({"name": "tenancy-nps", "title": {"en": "T3"},
                       "questions": [{"id": "nps", "kind": "nps", "text": {"en": "Recommend us?"}}]}, f)
        cli(cls.db, "survey", "create", survey_file, workspace="a")
        fu_csv = os.path.join(cls.tmp.name, "fu.csv")
        with open(fu_csv, "w") as f:
            f.write("customer_id,email\na-fu,fu@a.example\n")
        cli(cls.db, "import", "customers", fu_csv, workspace="a")
        fu_link = cli(cls.db, "survey", "links", "tenancy-nps", "--where", 'email = "fu@a.example"',
                      workspace="a").strip().split("\n")[1].split(",")[2]
        cls.keys = {(ws, scope): make_key(cls.db, ws, scope)
                    for ws in ("a", "b") for scope in ("tracking", "read", "write", "admin")}
        cls.server = Server(cls.db)
        cls.base = f"http://127.0.0.1:{cls.server.port}"
        for ws in ("a", "b"):  # one product per workspace, for the tenancy test
            req = urllib.request.Request(cls.base + "/api/v1/products", method="POST",
                                         data=json.dumps({"id": f"{ws}-1", "name": ws}).encode())
            req.add_header("Authorization", "Bearer " + cls.keys[(ws, "write")])
            urllib.request.urlopen(req, timeout=10).read()
        # An import job of workspace a, for the tenancy test of GET /api/v1/imports/{id}.
        req = urllib.request.Request(cls.base + "/api/v1/imports?kind=customers", method="POST",
                                     data=b"customer_id,email\na-imp,imp@a.example\n")
        req.add_header("Authorization", "Bearer " + cls.keys[("a", "write")])
        req.add_header("Content-Type", "text/csv")
        CONCRETE_IDS["/api/v1/imports/{id}"] = str(json.loads(urllib.request.urlopen(req, timeout=10).read())["id"])
        urllib.request.urlopen(cls.base + fu_link[fu_link.index("/s/"):] + "?score=2", timeout=10).read()
        req = urllib.request.Request(cls.base + "/api/v1/followups")
        req.add_header("Authorization", "Bearer " + cls.keys[("a", "read")])
        CONCRETE_IDS["/api/v1/followups/{id}"] = str(json.loads(urllib.request.urlopen(req, timeout=10).read())
                                                     ["data"][0]["id"])
        # A loyalty program in workspace a: rewards, points for a-1, two held redemptions (one to
        # confirm, one to release) and a-1's referral code, which a-2 (no orders) is referred by.
        program = os.path.join(cls.tmp.name, "program.json")
        with open(program, "w") as f:
            json.dump(WRITE_BODIES["/api/v1/loyalty/program"], f)
        cli(cls.db, "loyalty", "program", program, workspace="a")
        for name, kind in (("tenancy-reward", "free_product"), ("tenancy-voucher", "voucher")):
            reward = os.path.join(cls.tmp.name, name + ".json")
            with open(reward, "w") as f:
                json.dump({"title": name, "kind": kind, "points": 10}, f)
            cli(cls.db, "loyalty", "rewards", name, reward, workspace="a")
        for path in ("/api/v1/loyalty/rewards/{name}", "/api/v1/loyalty/rewards/{name}/codes"):
            CONCRETE_IDS[path] = "tenancy-voucher"
        # A webhook endpoint (on a documentation address: tests are refused at once) and a push
        # subscription of a-1 in workspace a.
        cli(cls.db, "channels", "webhook", "save", "tenancy-hook", "--url", "https://203.0.113.9/hook", workspace="a")
        for path in ("/api/v1/webhook-endpoints/{name}", "/api/v1/webhook-endpoints/{name}/test"):
            CONCRETE_IDS[path] = "tenancy-hook"
        cli(cls.db, "loyalty", "adjust", "a-1", "100000", "--reason", "tenancy", workspace="a")
        for key, path in (("t1", "/api/v1/loyalty/redemptions/{id}/confirm"),
                          ("t2", "/api/v1/loyalty/redemptions/{id}/release")):
            cli(cls.db, "loyalty", "redeem", "a-1", "tenancy-reward", "--key", key, workspace="a")
            CONCRETE_IDS[path] = "cli:" + key
        CONCRETE_IDS["/api/v1/loyalty/redemptions/{id}"] = "cli:t1"
        code = cli(cls.db, "loyalty", "referral", "a-1", workspace="a").strip()
        WRITE_BODIES["/api/v1/loyalty/customers/{id}/referrer"] = {"referral_code": code}
        CONCRETE_IDS["/api/v1/loyalty/customers/{id}/referrer"] = "a-2"
        # A dashboard user and an extra API key of workspace a, for /api/v1/users/{id} and
        # /api/v1/keys/{id}.
        created = subprocess.run([TREU, "--db", cls.db, "--workspace", "a", "user", "create", "tenancy@a.example",
                                  "--role", "viewer"], check=True, capture_output=True, text=True).stdout
        CONCRETE_IDS["/api/v1/users/{id}"] = created.split("(id ")[1].split(")")[0]
        req = urllib.request.Request(cls.base + "/api/v1/keys", method="POST",
                                     data=json.dumps({"scope": "read", "name": "tenancy-key"}).encode())
        req.add_header("Authorization", "Bearer " + cls.keys[("a", "admin")])
        CONCRETE_IDS["/api/v1/keys/{id}"] = str(json.loads(urllib.request.urlopen(req, timeout=10).read())["id"])
        # A template, a message and a suppressed address of workspace a, for the messaging routes.
        for path, body in (("/api/v1/templates", {"name": "tenancy-tmpl", "subject": "Hi", "html": "<p>x</p>"}),
                           ("/api/v1/sends", {"template": "tenancy-tmpl", "customers": ["a-2"],
                                              "category": "transactional", "key": "setup"}),
                           ("/api/v1/suppressions", {"address": "tenancy-del@a.example"})):
            req = urllib.request.Request(cls.base + path, method="POST", data=json.dumps(body).encode())
            req.add_header("Authorization", "Bearer " + cls.keys[("a", "admin")])
            urllib.request.urlopen(req, timeout=10).read()
        CONCRETE_IDS["/api/v1/templates/{name}"] = "tenancy-tmpl"
        # Campaigns of workspace a: one scheduled, read and previewed, one cancelled, one deleted.
        for name in ("tenancy-camp", "tenancy-cancel", "tenancy-del"):
            req = urllib.request.Request(cls.base + "/api/v1/campaigns/" + name, method="PUT",
                                         data=json.dumps(WRITE_BODIES["/api/v1/campaigns/{name}"]).encode())
            req.add_header("Authorization", "Bearer " + cls.keys[("a", "admin")])
            urllib.request.urlopen(req, timeout=10).read()
        for path in ("/api/v1/campaigns/{name}/schedule", "/api/v1/campaigns/{name}/preview",
                     "/api/v1/campaigns/{name}/report", "/api/v1/campaigns/{name}/members"):
            CONCRETE_IDS[path] = "tenancy-camp"
        CONCRETE_IDS["/api/v1/campaigns/{name}/cancel"] = "tenancy-cancel"
        CONCRETE_IDS["/api/v1/campaigns/{name}"] = "tenancy-del"
        # Journeys of workspace a (entered on a segment of its own): one read, paused and
        # resumed, one deleted.
        for path, body in (("/api/v1/segments", {"name": "tenancy-jseg", "expr": "orders_count >= 1"}),
                           ("/api/v1/journeys/tenancy-j", WRITE_BODIES["/api/v1/journeys/{name}"]),
                           ("/api/v1/journeys/tenancy-jdel", WRITE_BODIES["/api/v1/journeys/{name}"])):
            req = urllib.request.Request(cls.base + path, method="POST" if path.endswith("segments") else "PUT",
                                         data=json.dumps(body).encode())
            req.add_header("Authorization", "Bearer " + cls.keys[("a", "admin")])
            urllib.request.urlopen(req, timeout=10).read()
        for path in ("/api/v1/journeys/{name}/pause", "/api/v1/journeys/{name}/resume",
                     "/api/v1/journeys/{name}/enter-members", "/api/v1/journeys/{name}/report",
                     "/api/v1/journeys/{name}/runs"):
            CONCRETE_IDS[path] = "tenancy-j"
        CONCRETE_IDS["/api/v1/journeys/{name}"] = "tenancy-jdel"
        CONCRETE_IDS["/api/v1/suppressions/{id}"] = "tenancy-del@a.example"
        req = urllib.request.Request(cls.base + "/api/v1/messages")
        req.add_header("Authorization", "Bearer " + cls.keys[("a", "read")])
        CONCRETE_IDS["/api/v1/messages/{id}"] = str(json.loads(urllib.request.urlopen(req, timeout=10).read())
                                                    ["data"][0]["id"])
        # A push subscription of a-2 (a-1 is erased by the tenancy test before its deletes run), for /api/v1/push-subscriptions/{id}.
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        identity = cli(cls.db, "channels", "identity-secret", workspace="a").split()[-1]
        point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
        body = {"subscription": {"endpoint": "https://push.example.net/wpush/tenancy",
                                 "keys": {"p256dh": b64(point), "auth": b64(os.urandom(16))}}}
        req = urllib.request.Request(cls.base + "/v1/push/subscribe", method="POST", data=json.dumps(body).encode())
        req.add_header("Authorization", "Basic " + base64.b64encode((cls.keys[("a", "tracking")] + ":").encode()).decode())
        req.add_header("Content-Type", "application/json")
        req.add_header("Treu-User-Id", "a-2")
        req.add_header("Treu-User-Hash", hmac.new(identity.encode(), b"a-2", hashlib.sha256).hexdigest())
        CONCRETE_IDS["/api/v1/push-subscriptions/{id}"] = str(json.loads(urllib.request.urlopen(req, timeout=10).read())
                                                              ["id"])

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code} after SIGTERM"

    def request(self, method, path, key=None, basic=False, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.base + path, method=method, data=data)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if key and basic:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{key}:".encode()).decode())
        elif key:
            req.add_header("Authorization", "Bearer " + key)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, key=None):
        status, headers, body = self.request(method, path, key)
        return status, headers.get("Content-Type"), json.loads(body) if body else None

    def call(self, method, path, key, body=None):
        """(status, headers, parsed JSON body or None)."""
        status, headers, raw = self.request(method, path, key, body=body)
        return status, headers, json.loads(raw) if raw else None

    def test_health_and_openapi_are_public(self):
        self.assertEqual(self.json("GET", "/healthz")[0], 200)
        status, _, body = self.json("GET", "/readyz")
        self.assertEqual((status, body["database"]), (200, "postgresql" if BACKEND == "postgres" else "sqlite"))
        status, _, doc = self.json("GET", "/api/v1/openapi.json")
        self.assertEqual((status, doc["openapi"]), (200, "3.1.0"))

    def test_customers_are_confined_to_the_key_workspace(self):
        status, _, page = self.json("GET", "/api/v1/customers?limit=500", self.keys[("a", "read")])
        self.assertEqual(status, 200)
        ids = [c["id"] for c in page["data"]]
        self.assertEqual(ids[:2], ["a-1", "a-2"])  # oldest first; other tests add more
        self.assertFalse([i for i in ids if i.startswith("b-")], ids)
        status, _, one = self.json("GET", "/api/v1/customers/a-1", self.keys[("a", "read")])
        self.assertEqual((status, one["email"]), (200, "one@a.example"))
        status, ctype, problem = self.json("GET", "/api/v1/customers/b-1", self.keys[("a", "read")])
        self.assertEqual((status, ctype, problem["status"]), (404, "application/problem+json", 404))

    def test_bad_parameters_name_the_field(self):
        status, ctype, problem = self.json("GET", "/api/v1/customers?limit=9999", self.keys[("a", "read")])
        self.assertEqual((status, ctype), (400, "application/problem+json"))
        self.assertEqual(problem["errors"][0]["pointer"], "/limit")

    def test_tenancy_for_every_route(self):
        _, _, doc = self.json("GET", "/api/v1/openapi.json")
        checked = 0
        operations = [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]
        # Deletes last: they remove the resources the other routes are checked on.
        operations.sort(key=lambda o: o[1] == "delete")
        for path, method, op in operations:
            if op["security"] == []:
                continue
            scheme = list(op["security"][0].keys())[0]
            if scheme == "sessionCookie":
                continue  # /api/v1/session takes the dashboard's cookie only: session_test.py
            needed = op["description"].split("scope ")[1].split()[0]
            concrete = (path.replace("{id}", CONCRETE_IDS.get(path, "a-1")).replace("{model}", "bgnbd")
                        .replace("{name}", CONCRETE_IDS.get(path, "a-1")))
            m = method.upper()
            if m == "GET":
                concrete += QUERIES.get(path, "")
            if scheme == "writeKey":
                body = ({"batch": [{"type": "track", "userId": "t", "event": "E"}]}
                        if path.endswith("/batch") else
                        {"userId": "t", "event": "E", "groupId": "g", "previousId": "p"})
                self.assertEqual(self.request(m, concrete, body=body)[0], 401, f"{m} {path} without key")
                self.assertEqual(self.request(m, concrete, "treu_pk_" + "x" * 32, basic=True, body=body)[0],
                                 401, f"{m} {path} bad key")
                for scope in ("read", "write", "admin"):
                    self.assertEqual(self.request(m, concrete, self.keys[("a", scope)], body=body)[0], 403,
                                     f"{m} {path} secret {scope} key on a tracking route")
                own = self.request(m, concrete, self.keys[("a", "tracking")], basic=True, body=body)[0]
                if path.startswith("/v1/push/") or path.startswith("/v1/inapp"):
                    # The snippet's channel routes also need the user's identity headers
                    # (channels_test.py): without them the key gets past authentication only.
                    self.assertNotIn(own, (401, 403), f"{m} {path} tracking key")
                else:
                    self.assertEqual(own, 200, f"{m} {path} tracking key")
                checked += 1
                continue
            self.assertEqual(scheme, "bearerKey", f"{method} {path}")
            body = WRITE_BODIES.get(path) if m not in ("GET", "DELETE") else None
            self.assertTrue(m in ("GET", "DELETE") or body is not None, f"{m} {path}: add an example body")
            if isinstance(body, tuple):
                concrete, body = concrete + body[0], body[1]
            self.assertEqual(self.request(m, concrete, body=body)[0], 401, f"{m} {path} without key")
            self.assertEqual(self.request(m, concrete, "treu_sk_" + "x" * 32, body=body)[0], 401,
                             f"{m} {path} bad key")
            self.assertEqual(self.request(m, concrete, self.keys[("a", "tracking")], body=body)[0], 403,
                             f"{m} {path} tracking key")
            order = ["read", "write", "admin"]
            for scope in order[:order.index(needed)]:
                self.assertEqual(self.request(m, concrete, self.keys[("a", scope)], body=body)[0], 403,
                                 f"{m} {path} {scope} key")
            if "{" in path and path not in SHARED_IDS:
                other = self.request(m, concrete, self.keys[("b", needed)], body=body)
                self.assertEqual(other[0], 404, f"{m} {path} with another workspace's key")
            own = self.request(m, concrete, self.keys[("a", needed)], body=body)
            self.assertLess(own[0], 400, f"{m} {path} with its own workspace's {needed} key: {own[2]}")
            if m == "GET" and ("{" not in path or path in SHARED_IDS):
                other = self.request(m, concrete, self.keys[("b", needed)])
                self.assertNotIn(b"a-1", other[2], f"{m} {path} leaks workspace a")
            checked += 1
        self.assertGreaterEqual(checked, 3)

    def loyalty(self, method, path, body=None, key=None, idem=None, scope="write"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + "/api/v1/loyalty" + path, method=method, data=data)
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", "Bearer " + (key or self.keys[("b", scope)]))
        if idem:
            req.add_header("Idempotency-Key", idem)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, e.headers, json.loads(e.read())

    def test_loyalty_points_rewards_and_orders(self):
        # Workspace b: a program set over REST; a bad one names the member and changes nothing.
        status, _, problem = self.loyalty("PUT", "/program", {"rules": [{"id": "spend", "kind": "spend"}]},
                                          scope="admin")
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/rules/0/points_per_unit"))
        status, _, program = self.loyalty("PUT", "/program", {
            "starts_at": "2020-01-01T00:00:00Z",
            "rules": [{"id": "spend", "kind": "spend", "points_per_unit": 2}],
            "tiers": [{"name": "basic", "threshold": 0}, {"name": "gold", "threshold": 300}],
            "hold_minutes": 5}, scope="admin")
        self.assertEqual((status, program["rules"][0]["points_per_unit"]), (200, "2"))
        # Parts of it: only their own members, and a bad one changes nothing.
        status, _, problem = self.loyalty("PUT", "/rules", {"tiers": []}, scope="admin")
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/tiers"))
        status, _, tiers = self.loyalty("PUT", "/tiers", {"tier_window_days": 90}, scope="admin")
        self.assertEqual((status, tiers["tier_window_days"], len(tiers["tiers"])), (200, 90, 2))
        # Earn with an Idempotency-Key: a retry is answered with the original, a reuse refused.
        earn = {"kind": "earn", "points": 250, "reason": "welcome"}
        status, _, first = self.loyalty("POST", "/customers/b-2/transfers", earn, idem="welcome-b2")
        self.assertEqual((status, first["wallet"]["available"]), (201, 250))
        status, headers, again = self.loyalty("POST", "/customers/b-2/transfers", earn, idem="welcome-b2")
        self.assertEqual((status, headers.get("Idempotent-Replayed"), again["transfer"]["id"]),
                         (200, "true", first["transfer"]["id"]))
        status, _, problem = self.loyalty("POST", "/customers/b-2/transfers", dict(earn, points=1), idem="welcome-b2")
        self.assertEqual(status, 409)
        status, _, problem = self.loyalty("POST", "/customers/b-2/transfers",
                                          {"kind": "redeem", "points": 251, "reason": "too much"})
        self.assertEqual(status, 409)
        self.assertIn("insufficient points: available 250, asked 251", problem["detail"])
        status, _, problem = self.loyalty("POST", "/customers/b-2/transfers", {"kind": "earn", "points": -1,
                                                                               "reason": "x"})
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/points"))
        # A voucher reward with two codes: held, then confirmed; the code shows once confirmed.
        status, _, _ = self.loyalty("PUT", "/rewards/five-off", {"title": "5 EUR off", "kind": "voucher",
                                                                  "points": 100}, scope="admin")
        self.assertEqual(status, 200)
        status, _, added = self.loyalty("POST", "/rewards/five-off/codes", {"codes": ["FIVE-1", "FIVE-2", "FIVE-1"]},
                                        scope="admin")
        self.assertEqual((status, added["added"], added["skipped"]), (200, 2, 1))
        status, _, held = self.loyalty("POST", "/redemptions", {"customer_id": "b-2", "reward": "five-off"},
                                       idem="redeem-1")
        self.assertEqual((status, held["state"], held["code"]), (201, "held", None))
        status, _, wallet = self.loyalty("GET", "/customers/b-2/wallet", scope="read")
        self.assertEqual((wallet["available"], wallet["held"]), (150, 100))
        status, _, done = self.loyalty("POST", "/redemptions/" + held["id"] + "/confirm")
        self.assertEqual((status, done["state"], done["code"]), (200, "confirmed", "FIVE-1"))
        status, _, problem = self.loyalty("POST", "/redemptions/" + held["id"] + "/release")
        self.assertEqual(status, 409)
        # Another workspace's key sees none of it.
        status, _, _ = self.loyalty("GET", "/redemptions/" + held["id"], key=self.keys[("a", "read")])
        self.assertEqual(status, 404)
        # An order over REST earns through the change log (the server's worker): 2 points per EUR,
        # and with 250 earned before it b-2 reaches gold.
        req = urllib.request.Request(self.base + "/api/v1/orders", method="POST", data=json.dumps(
            {"id": "b-loyal-1", "customer_id": "b-2", "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
             "total": "40.00"}).encode())
        req.add_header("Authorization", "Bearer " + self.keys[("b", "write")])
        req.add_header("Content-Type", "application/json")
        urllib.request.urlopen(req, timeout=10).read()
        for _ in range(100):
            _, _, wallet = self.loyalty("GET", "/customers/b-2/wallet", scope="read")
            if wallet["earned"] >= 330:
                break
            time.sleep(0.1)
        self.assertEqual((wallet["earned"], wallet["available"], wallet["tier"]), (330, 230, "gold"))
        status, _, page = self.loyalty("GET", "/customers/b-2/transfers", scope="read")
        self.assertEqual([t["kind"] for t in page["data"]], ["earn", "hold", "confirm", "earn"])
        self.assertEqual(page["data"][-1]["id"], "order:b-loyal-1:spend")
        status, _, report = self.loyalty("GET", "/report?by=year&periods=1", scope="read")
        self.assertEqual((status, report["total"]["redeemed"]), (200, 100))
        liability = report["liability"]
        self.assertEqual(liability["total"], liability["available"] + liability["pending"] + liability["held"])
        self.assertGreaterEqual(liability["available"], 230)

    def track(self, path, body, ws="a"):
        status, _, raw = self.request("POST", path, self.keys[(ws, "tracking")], basic=True, body=body)
        return status, json.loads(raw) if raw else None

    def test_tracking_stores_events_profiles_and_orders(self):
        status, body = self.track("/v1/identify", {
            "userId": "u-1", "messageId": "m-identify", "traits": {"email": "u1@shop.example",
            "name": "Uta Eins", "plan": "pro", "seats": 3}, "context": {"locale": "de-DE"}})
        self.assertEqual((status, body["stored"]), (200, 1))
        order = {"userId": "u-1", "event": "Order Completed", "messageId": "m-order",
                 "timestamp": "2024-03-01T10:00:00Z",
                 "properties": {"order_id": "o-77", "total": 59.9, "currency": "EUR"}}
        self.assertEqual(self.track("/v1/track", order), (200, {"success": True, "stored": 1, "duplicates": 0}))
        # A client's retry of the same messageId changes nothing.
        self.assertEqual(self.track("/v1/track", order)[1]["duplicates"], 1)
        status, body = self.track("/v1/batch", {"batch": [
            {"type": "page", "userId": "u-1", "name": "Pricing", "messageId": "m-page",
             "properties": {"url": "/pricing"}},
            {"type": "track", "anonymousId": "anon-9", "event": "Product Viewed", "messageId": "m-anon"},
            {"type": "track", "userId": "u-1", "event": "Order Refunded", "messageId": "m-refund",
             "timestamp": "2024-03-05T10:00:00Z", "properties": {"order_id": "o-77", "total": "9.90"}}]})
        self.assertEqual((status, body["stored"]), (200, 3))
        _, _, customer = self.json("GET", "/api/v1/customers/u-1", self.keys[("a", "read")])
        self.assertEqual(customer["email"], "u1@shop.example")
        self.assertEqual(customer["locale"], "de-DE")
        self.assertEqual(customer["attributes"]["plan"], "pro")
        if BACKEND == "sqlite":
            path = self.db[len("sqlite:"):]
            q = lambda sql: subprocess.run(["sqlite3", path, sql], capture_output=True, text=True,
                                           check=True).stdout.strip()
            self.assertEqual(q("SELECT total_minor, currency, status FROM orders WHERE external_id = 'o-77'"),
                             "5990|EUR|completed")
            self.assertEqual(q("SELECT amount_minor FROM refunds"), "990")
            self.assertEqual(q("SELECT count(*) FROM events WHERE message_id LIKE 'm-%'"), "5")

    def test_tracking_rejects_bad_calls_and_changes_nothing(self):
        status, body = self.track("/v1/batch", {"batch": [
            {"type": "track", "userId": "u-2", "event": "Fine", "messageId": "m-fine"},
            {"type": "track", "userId": "u-2", "messageId": "m-no-event"}]})
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"][0]["pointer"], "/batch/1/event")
        status, body = self.track("/v1/track", {"event": "No one", "messageId": "m-x"})
        self.assertEqual((status, body["errors"][0]["pointer"]), (400, "/userId"))
        status, body = self.track("/v1/track", {"userId": "u-2", "event": "Order Completed",
                                                "properties": {"order_id": "o-1", "total": "1.234"}})
        self.assertEqual((status, body["errors"][0]["pointer"]), (400, "/properties/total"))
        status, _, _ = self.request("POST", "/v1/track", self.keys[("a", "tracking")], basic=True, body=b"{nope")
        self.assertEqual(status, 400)
        big = {"userId": "u-2", "event": "Big", "properties": {"blob": "x" * 40000}}
        self.assertEqual(self.track("/v1/track", big)[0], 413)
        # Nothing of the rejected batch was stored.
        _, _, page = self.json("GET", "/api/v1/customers?external_id=u-2", self.keys[("a", "read")])
        self.assertEqual(page["data"], [])

    def write(self, path, body, key_scope="write", idem=None, ws="a"):
        data = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, method="POST", data=data)
        req.add_header("Authorization", "Bearer " + self.keys[(ws, key_scope)])
        req.add_header("Content-Type", "application/json")
        if idem:
            req.add_header("Idempotency-Key", idem)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def test_rest_writes_customers_and_orders(self):
        status, _, c = self.write("/api/v1/customers", {"id": "w-1", "email": "w1@a.example",
                                                        "attributes": {"tier": "gold", "score": 2.5},
                                                        "consent": {"email": True}})
        self.assertEqual((status, c["email"], c["attributes"]["tier"]), (201, "w1@a.example", "gold"))
        self.assertTrue(c["consent"]["email"]["granted"])
        status, _, c = self.write("/api/v1/customers", {"id": "w-1", "name": "Wilma"})
        self.assertEqual((status, c["name"], c["email"]), (200, "Wilma", "w1@a.example"))
        order = {"id": "w-o1", "customer_id": "w-1", "placed_at": "2024-05-01T09:00:00Z",
                 "total": "120.50", "lines": [{"product_id": "sku-1", "quantity": 2, "unit_price": 60.25}]}
        status, _, o = self.write("/api/v1/orders", order)
        self.assertEqual((status, o["total"], o["currency"], o["lines"][0]["unit_price"]), (201, 120.5, "EUR", 60.25))
        self.assertEqual(self.json("GET", "/api/v1/orders/w-o1", self.keys[("a", "read")])[2]["customer_id"], "w-1")
        self.assertEqual(self.json("GET", "/api/v1/orders/w-o1", self.keys[("b", "read")])[0], 404)
        status, _, p = self.write("/api/v1/orders", dict(order, id="w-o2", currency="USD"))
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/currency"))
        status, _, p = self.write("/api/v1/orders", dict(order, id="w-o3", total="1.999"))
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/total"))
        status, _, p = self.write("/api/v1/customers", {"id": "w-2", "email": "nope"})
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/email"))
        self.assertEqual(self.json("GET", "/api/v1/customers/w-2", self.keys[("a", "read")])[0], 404)

    def test_rest_writes_subscriptions_with_history(self):
        body = {"id": "s-1", "customer_id": "sc-1", "started_at": "2024-01-10T00:00:00Z",
                "history": [{"plan": "pro", "interval": "month", "amount": 49, "quantity": 2,
                             "discount_percent": "12.5"}]}
        status, _, sub = self.write("/api/v1/subscriptions", body)
        self.assertEqual((status, sub["history"][0]["discount_percent"], sub["history"][0]["amount"]), (201, 12.5, 49))
        upgrade = dict(body, history=[{"effective_at": "2024-04-10T00:00:00Z", "plan": "business",
                                       "amount": "99.00", "quantity": 2}], ended_at="2024-09-01T00:00:00Z")
        status, _, sub = self.write("/api/v1/subscriptions", upgrade)
        self.assertEqual((status, len(sub["history"]), sub["ended_at"]), (200, 2, "2024-09-01T00:00:00Z"))
        clash = dict(body, history=[{"plan": "pro", "amount": 1}])
        status, _, p = self.write("/api/v1/subscriptions", clash)
        self.assertEqual(status, 409)
        _, _, got = self.json("GET", "/api/v1/subscriptions/s-1", self.keys[("a", "read")])
        self.assertEqual([h["plan"] for h in got["history"]], ["pro", "business"])
        status, _, p = self.write("/api/v1/subscriptions", dict(body, id="s-2", history=[{"amount": 1, "interval": "fortnight"}]))
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/history/0/interval"))

    def test_rest_writes_products(self):
        status, _, p = self.write("/api/v1/products", {"id": "p-1", "name": "Trail Runner", "price": "89.90"})
        self.assertEqual((status, p["price"], p["currency"]), (201, 89.9, "EUR"))
        status, _, p = self.write("/api/v1/products", {"id": "p-1", "name": "Trail Runner", "price": 79.9})
        self.assertEqual((status, p["price"]), (200, 79.9))
        self.assertEqual(self.json("GET", "/api/v1/products/p-1", self.keys[("a", "read")])[2]["name"], "Trail Runner")
        self.assertEqual(self.json("GET", "/api/v1/products/p-1", self.keys[("b", "read")])[0], 404)
        status, _, e = self.write("/api/v1/products", {"id": "p-2", "price": 1, "currency": "USD"})
        self.assertEqual((status, e["errors"][0]["pointer"]), (400, "/currency"))

    def test_idempotency_keys(self):
        body = {"id": "i-1", "customer_id": "i-c", "placed_at": "2024-05-01", "total": 10}
        first = self.write("/api/v1/orders", body, idem="idem-1")
        self.assertEqual(first[0], 201)
        again = self.write("/api/v1/orders", body, idem="idem-1")
        self.assertEqual((again[0], again[2]), (201, first[2]))
        self.assertEqual(again[1].get("Idempotent-Replayed"), "true")
        other = self.write("/api/v1/orders", dict(body, total=11), idem="idem-1")
        self.assertEqual(other[0], 422)
        # The same key in another workspace is another key.
        self.assertEqual(self.write("/api/v1/orders", body, idem="idem-1", ws="b")[0], 201)
        # A rejected request is remembered too: same answer again.
        bad = {"id": "i-2", "customer_id": "i-c", "placed_at": "never", "total": 1}
        self.assertEqual(self.write("/api/v1/orders", bad, idem="idem-2")[0], 400)
        self.assertEqual(self.write("/api/v1/orders", bad, idem="idem-2")[0], 400)

    def test_rate_limited_key_gets_429(self):
        key = cli(self.db, "key", "create", "--scope", "read", "--rate", "2", workspace="a").split()[-1]
        codes = [self.request("GET", "/api/v1/workspace", key) for _ in range(3)]
        self.assertEqual([c[0] for c in codes], [200, 200, 429])
        self.assertEqual(codes[2][1]["RateLimit-Limit"], "2")
        self.assertEqual(codes[2][1]["RateLimit-Remaining"], "0")
        self.assertIn("Retry-After", codes[2][1])
        self.assertEqual(json.loads(codes[2][2])["status"], 429)

    def read(self, path, ws="a"):
        status, _, body = self.json("GET", path, self.keys[(ws, "read")])
        return status, body

    def send(self, method, path, body=None, ws="a"):
        status, _, raw = self.request(method, path, self.keys[(ws, "write")], body=body)
        return status, json.loads(raw) if raw else None

    def test_lists_filter_by_customer_and_page(self):
        for i in range(3):
            self.write("/api/v1/orders", {"id": f"l-o{i}", "customer_id": "l-1" if i != 1 else "l-2",
                                          "placed_at": f"2024-02-0{i + 1}", "total": 10 + i})
        self.write("/api/v1/products", {"id": "l-p", "name": "Listed"})
        self.write("/api/v1/subscriptions", {"id": "l-s", "customer_id": "l-2", "started_at": "2024-01-01",
                                             "history": [{"plan": "pro", "amount": 9}]})
        status, page = self.read("/api/v1/orders?customer_id=l-1")
        self.assertEqual((status, [o["id"] for o in page["data"]]), (200, ["l-o0", "l-o2"]))
        _, first = self.read("/api/v1/orders?limit=1&customer_id=l-1")
        self.assertIsNotNone(first["next_cursor"])
        _, second = self.read("/api/v1/orders?limit=1&customer_id=l-1&cursor=" + first["next_cursor"])
        self.assertEqual([o["id"] for o in second["data"]], ["l-o2"])
        self.assertEqual([s["id"] for s in self.read("/api/v1/subscriptions?customer_id=l-2")[1]["data"]], ["l-s"])
        self.assertIn("l-p", [p["id"] for p in self.read("/api/v1/products?limit=500")[1]["data"]])
        self.assertEqual(self.read("/api/v1/orders?customer_id=l-1", ws="b")[1]["data"], [])
        status, problem = self.read("/api/v1/products?limit=0")
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/limit"))

    def test_patch_and_delete(self):
        self.write("/api/v1/customers", {"id": "d-1", "email": "d1@a.example", "name": "Dora",
                                         "attributes": {"tier": "gold"}})
        status, c = self.send("PATCH", "/api/v1/customers/d-1", {"name": "Dora D."})
        self.assertEqual((status, c["name"], c["email"], c["attributes"]), (200, "Dora D.", "d1@a.example", {"tier": "gold"}))
        status, p = self.send("PATCH", "/api/v1/customers/d-1", {"id": "other"})
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/id"))
        self.assertEqual(self.send("PATCH", "/api/v1/customers/nobody", {"name": "x"})[0], 404)
        self.write("/api/v1/products", {"id": "d-p", "name": "Old", "price": 5})
        status, p = self.send("PATCH", "/api/v1/products/d-p", {"price": "7.50"})
        self.assertEqual((status, p["name"], p["price"]), (200, "Old", 7.5))
        status, p = self.send("PATCH", "/api/v1/products/d-p", {"price": None})
        self.assertEqual((status, p["price"]), (200, None))
        self.write("/api/v1/orders", {"id": "d-o", "customer_id": "d-1", "placed_at": "2024-03-01", "total": 20})
        # Another workspace can't delete; the owner can, once.
        self.assertEqual(self.send("DELETE", "/api/v1/orders/d-o", ws="b")[0], 404)
        self.assertEqual(self.send("DELETE", "/api/v1/orders/d-o")[0], 204)
        self.assertEqual(self.send("DELETE", "/api/v1/orders/d-o")[0], 404)
        self.assertEqual(self.read("/api/v1/orders/d-o")[0], 404)
        self.assertEqual(self.send("DELETE", "/api/v1/products/d-p")[0], 204)
        self.assertEqual(self.read("/api/v1/products/d-p")[0], 404)
        # Erasure: the profile and events go, the order stays anonymous.
        self.write("/api/v1/orders", {"id": "d-o2", "customer_id": "d-1", "placed_at": "2024-03-02", "total": 30})
        self.track("/v1/track", {"userId": "d-1", "event": "Viewed", "messageId": "d-m1"})
        self.assertEqual(self.send("DELETE", "/api/v1/customers/d-1")[0], 204)
        self.assertEqual(self.read("/api/v1/customers/d-1")[0], 404)
        self.assertEqual(self.read("/api/v1/events?user_id=d-1")[1]["data"], [])
        status, order = self.read("/api/v1/orders/d-o2")
        self.assertEqual(status, 200)
        self.assertTrue(order["customer_id"].startswith("erased-"), order)
        status, erased = self.read("/api/v1/customers/" + order["customer_id"])
        self.assertEqual((status, erased["email"], erased["name"], erased["attributes"]), (200, None, None, {}))

    def wait_import(self, job_id, ws="a"):
        for _ in range(500):
            status, job = self.read(f"/api/v1/imports/{job_id}", ws=ws)
            self.assertEqual(status, 200)
            if job["status"] in ("succeeded", "failed"):
                return job
            time.sleep(0.02)
        self.fail(f"import {job_id} did not finish")

    def upload(self, query, csv, content_type="text/csv"):
        req = urllib.request.Request(self.base + "/api/v1/imports" + query, method="POST", data=csv)
        req.add_header("Authorization", "Bearer " + self.keys[("a", "write")])
        req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read())

    def test_csv_import_over_http(self):
        rows = "".join(f"imp-{i},imp-c{i % 50},2024-04-{1 + i % 28:02d},{i}.50\n" for i in range(3000))
        csv = ("Bestellung,Kunde,placed_at,total\n" + rows).encode()
        status, headers, job = self.upload("?kind=orders&map=Bestellung=order_id&map=Kunde=customer_id"
                                           "&file_name=april.csv", csv)
        self.assertEqual((status, job["status"], job["file_name"], job["bytes_total"]),
                         (202, "queued", "april.csv", len(csv)))
        self.assertEqual(headers["Location"], f"/api/v1/imports/{job['id']}")
        done = self.wait_import(job["id"])
        self.assertEqual((done["status"], done["rows"], done["inserted"], done["progress"]),
                         ("succeeded", 3000, 3000, 1.0), done)
        self.assertEqual(self.read("/api/v1/orders/imp-2999")[1]["total"], 2999.5)
        self.assertEqual(self.read(f"/api/v1/imports/{job['id']}", ws="b")[0], 404)
        # A bad row fails the whole file and names the line; nothing is written.
        bad = b"order_id,customer_id,placed_at,total\nimp-x1,c,2024-04-01,1\nimp-x2,c,someday,1\n"
        done = self.wait_import(self.upload("?kind=orders", bad)[2]["id"])
        self.assertEqual((done["status"], done["rows_rejected"], done["issues"][0]["line"]), ("failed", 1, 3), done)
        self.assertEqual(self.read("/api/v1/orders/imp-x1")[0], 404)
        # Bad requests are refused up front.
        self.assertEqual(self.upload("", bad)[2]["errors"][0]["pointer"], "/kind")
        status, _, p = self.upload("?kind=orders", bad, content_type="multipart/form-data; boundary=x")
        self.assertEqual((status, p["errors"][0]["pointer"]), (400, "/body"))
        self.assertEqual(self.upload("?kind=orders", b"")[0], 400)

    def test_kpis_mrr_and_cohorts(self):
        status, body = self.read("/api/v1/kpis?period=2024-01&series=2")
        self.assertEqual(status, 200)
        by_id = {m["id"]: m for m in body["data"]}
        self.assertEqual(by_id["revenue"]["currency"], "EUR")
        self.assertEqual(len(by_id["revenue"]["series"]), 2)
        self.assertIsNone(by_id["nps"]["value"])
        self.assertTrue(by_id["nps"]["null_reason"])
        status, one = self.read("/api/v1/kpis/customers_new?period=2024-01")
        self.assertEqual((status, one["id"], one["period"]["label"]), (200, "customers_new", "2024-01"))
        self.assertEqual(self.read("/api/v1/kpis/nope?period=2024-01")[0], 404)
        status, problem = self.read("/api/v1/kpis?period=2024-13")
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/period"))
        status, problem = self.read("/api/v1/kpis?period=2024-01&window=7x")
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/window"))
        status, mrr = self.read("/api/v1/mrr?period=2024-01")
        self.assertEqual((status, sorted(mrr["movements"])), (200, ["churn", "contraction", "expansion", "new", "reactivation"]))
        status, cohorts = self.read("/api/v1/cohorts?by=quarter")
        self.assertEqual(status, 200)
        self.assertTrue(all(c["values"][0] == 1.0 for c in cohorts["cohorts"]), cohorts)
        self.assertEqual(self.read("/api/v1/cohorts?by=day")[0], 400)
        # The server's snapshot follows writes: an order appears in the next answer.
        before = self.read("/api/v1/kpis/revenue?period=2023-06")[1]["value"]
        self.write("/api/v1/orders", {"id": "k-o1", "customer_id": "k-1", "placed_at": "2023-06-10", "total": "12.34"})
        after = self.read("/api/v1/kpis/revenue?period=2023-06")[1]
        self.assertEqual((before, after["value"], after["inputs"]["order_totals"]), (0, 12.34, 12.34))

    def test_models_fit_in_the_background_and_predict(self):
        key = self.keys[("a", "write")]
        status, headers, raw = self.request("POST", "/api/v1/models/bgnbd/fit", key,
                                            body={"calibration_end": "2024-12-31"})
        run = json.loads(raw)
        self.assertEqual((status, run["model"], run["status"]), (202, "bgnbd", "queued"))
        self.assertEqual(headers["Location"], f"/api/v1/models/runs/{run['id']}")
        deadline = time.time() + 60
        while run["status"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.2)
            status, _, run = self.json("GET", headers["Location"], key)
        self.assertEqual((status, run["status"], run["converged"]), (200, "succeeded", True), run)
        self.assertEqual(sorted(run["params"]), ["a", "alpha", "b", "r"])
        self.assertGreaterEqual(run["n_customers"], 301)  # other tests add buyers
        self.assertEqual(run["calibration_end"], "2024-12-31")
        self.assertLess(run["log_likelihood"], 0)
        # Workspace b sees neither the run nor a's customers' predictions.
        self.assertEqual(self.request("GET", headers["Location"], self.keys[("b", "read")])[0], 404)
        status, _, listing = self.json("GET", "/api/v1/models", self.keys[("b", "read")])
        self.assertEqual((status, listing["runs"]), (200, []))
        status, _, listing = self.json("GET", "/api/v1/models?model=bgnbd", key)
        self.assertEqual((listing["purchase_model"], [r["model"] for r in listing["runs"]]), ("pareto_nbd", ["bgnbd"]))
        status, _, p = self.json("GET", "/api/v1/customers/a-c7/predictions", key)
        self.assertEqual((status, p["model"], p["currency"]), (200, "pareto_nbd", "EUR"), p)
        self.assertTrue(0 <= p["p_alive"] <= 1, p)
        self.assertGreater(p["clv_12m"], 0)
        self.assertIn(p["rfm"]["segment"], ["champions", "loyal", "potential_loyalists", "new", "promising",
                                            "need_attention", "about_to_sleep", "at_risk", "cannot_lose_them",
                                            "hibernating", "lost"])
        self.assertEqual(self.json("GET", "/api/v1/customers/nobody/predictions", key)[0], 404)
        # Bad requests name the field and start nothing.
        runs_before = len(self.json("GET", "/api/v1/models", key)[2]["runs"])
        status, _, problem = self.json("POST", "/api/v1/models/magic/fit", key)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/model"))
        status, _, raw = self.request("POST", "/api/v1/models/bgnbd/fit", key, body={"unit": "month"})
        self.assertEqual((status, json.loads(raw)["errors"][0]["pointer"]), (400, "/unit"))
        status, _, raw = self.request("POST", "/api/v1/models/bgnbd/fit", key, body={"calibration_end": "31.12.2024"})
        self.assertEqual((status, json.loads(raw)["errors"][0]["pointer"]), (400, "/calibration_end"))
        self.assertEqual(len(self.json("GET", "/api/v1/models", key)[2]["runs"]), runs_before)

    def test_segments_are_saved_previewed_and_kept_live(self):
        read, write = self.keys[("a", "read")], self.keys[("a", "write")]
        # Preview: count and sample, or errors with positions; nothing is saved.
        status, _, p = self.call("POST", "/api/v1/segments/preview", read,
                                 body={"expr": "revenue_total > 40 and orders_count >= 3", "sample": 2})
        self.assertEqual((status, p["valid"], p["errors"]), (200, True, []), p)
        self.assertEqual(p["expr"], "revenue_total > 40 and orders_count >= 3")
        self.assertGreater(p["count"], 0)
        self.assertEqual(len(p["sample"]), 2)
        self.assertEqual(p["ast"]["kind"], "and")
        status, _, p = self.call("POST", "/api/v1/segments/preview", read, body={"expr": "orders_count >= 1 and revenue_totl > 5"})
        self.assertEqual((status, p["valid"], p["count"]), (200, False, None))
        self.assertEqual(p["errors"][0]["line"], 1)
        self.assertEqual(p["errors"][0]["column"], 23)
        self.assertEqual(p["errors"][0]["message"], "unknown field 'revenue_totl'; did you mean 'revenue_total'?")
        # The JSON form works as input too, and equals the text.
        ast = self.call("POST", "/api/v1/segments/preview", read, body={"expr": "orders_count >= 3"})[2]["ast"]
        by_ast = self.call("POST", "/api/v1/segments/preview", read, body={"ast": ast})[2]
        by_text = self.call("POST", "/api/v1/segments/preview", read, body={"expr": "orders_count >= 3"})[2]
        self.assertEqual((by_ast["expr"], by_ast["count"]), (by_text["expr"], by_text["count"]))
        status, _, problem = self.call("POST", "/api/v1/segments/preview", read, body={"expr": 5})
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/expr"))

        # Create: a bad expression names /expr with its position and saves nothing.
        before = len(self.call("GET", "/api/v1/segments", read)[2]["data"])
        status, _, problem = self.call("POST", "/api/v1/segments", write, body={"name": "loyal3", "expr": "orders_count >="})
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/expr"))
        self.assertIn("segment:1:16: expected a value", problem["errors"][0]["detail"])
        status, _, problem = self.call("POST", "/api/v1/segments", write, body={"name": "bad name", "expr": "mrr > 0"})
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/name"))
        self.assertEqual(len(self.call("GET", "/api/v1/segments", read)[2]["data"]), before)
        status, headers, seg = self.call("POST", "/api/v1/segments", write, body={"name": "loyal3", "expr": "orders_count >= 3"})
        self.assertEqual((status, seg["name"], seg["builtin"]), (201, "loyal3", False), seg)
        self.assertEqual(headers["Location"], f"/api/v1/segments/{seg['id']}")
        self.assertEqual(self.call("POST", "/api/v1/segments", write, body={"name": "loyal3", "expr": "mrr > 0"})[0], 409)
        # The server re-evaluates it in the background: members and their entries appear.
        deadline = time.time() + 30
        members = []
        while not members and time.time() < deadline:
            time.sleep(0.3)
            members = self.call("GET", f"/api/v1/segments/{seg['id']}/members?limit=500", read)[2]["data"]
        self.assertEqual(len(members), by_text["count"], "members after the refresh")
        log = self.call("GET", f"/api/v1/segments/{seg['id']}/transitions?limit=500", read)[2]
        self.assertEqual({(t["customer_id"], t["kind"]) for t in log["data"]}, {(m["customer_id"], "entered") for m in members})
        got = self.call("GET", f"/api/v1/segments/{seg['id']}", read)[2]
        self.assertEqual((got["size"], len(got["history"])), (len(members), 1))
        # Change it: those who no longer match leave, in the log after the poll cursor.
        status, _, changed = self.call("PATCH", f"/api/v1/segments/{seg['id']}", write, body={"name": "loyal5", "expr": "orders_count >= 5"})
        self.assertEqual((status, changed["name"], changed["expr"]), (200, "loyal5", "orders_count >= 5"), changed)
        fives = self.call("POST", "/api/v1/segments/preview", read, body={"expr": "orders_count >= 5"})[2]["count"]
        left = []
        deadline = time.time() + 30
        while len(left) < len(members) - fives and time.time() < deadline:
            time.sleep(0.3)
            left = self.call("GET", f"/api/v1/segments/{seg['id']}/transitions?limit=500&cursor={log['poll_cursor']}", read)[2]["data"]
        self.assertEqual(len(left), len(members) - fives)
        self.assertTrue(all(t["kind"] == "left" for t in left), left)
        # Built-in segments exist and can't be changed or deleted.
        listing = self.call("GET", "/api/v1/segments", read)[2]["data"]
        builtin = {s["name"]: s for s in listing if s["builtin"]}
        self.assertIn("at_risk", builtin)
        self.assertIn("rfm_champions", builtin)
        self.assertEqual(self.call("PATCH", f"/api/v1/segments/{builtin['new']['id']}", write, body={"expr": "mrr > 0"})[0], 409)
        self.assertEqual(self.request("DELETE", f"/api/v1/segments/{builtin['new']['id']}", write)[0], 409)
        # Another workspace sees none of it.
        self.assertEqual(self.request("GET", f"/api/v1/segments/{seg['id']}/members", self.keys[("b", "read")])[0], 404)
        self.assertNotIn("loyal5", [s["name"] for s in self.call("GET", "/api/v1/segments", self.keys[("b", "read")])[2]["data"]])
        self.assertEqual(self.request("DELETE", f"/api/v1/segments/{seg['id']}", write)[0], 204)
        self.assertEqual(self.request("GET", f"/api/v1/segments/{seg['id']}", read)[0], 404)

    def test_surveys_are_defined_checked_and_replaced(self):
        read, write = self.keys[("a", "read")], self.keys[("a", "write")]
        nps = {"name": "quarterly", "kind": "relationship", "every_days": 90, "default_locale": "de",
               "title": {"de": "Ihre Meinung", "en": "Your opinion"}, "nps_thresholds": "article",
               "questions": [{"id": "nps", "kind": "nps", "required": True,
                              "text": {"de": "Wie wahrscheinlich …?", "en": "How likely …?"},
                              "follow_up": {"min": 0, "max": 7, "question": {
                                  "id": "why", "kind": "text", "text": {"de": "Was fehlt?"}}}}]}
        status, headers, body = self.call("POST", "/api/v1/surveys", write, body=nps)
        self.assertEqual((status, body["name"], body["nps_thresholds"]), (201, "quarterly", "article"), body)
        self.assertEqual(headers["Location"], f"/api/v1/surveys/{body['id']}")
        self.assertEqual(self.call("POST", "/api/v1/surveys", write, body=nps)[0], 409)
        bad = json.loads(json.dumps(nps))
        bad["name"] = "broken"
        bad["questions"][0]["follow_up"]["max"] = 11
        status, _, problem = self.call("POST", "/api/v1/surveys", write, body=bad)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/questions/0/follow_up/max"), problem)
        bad["questions"][0]["kind"] = "stars"
        status, _, problem = self.call("POST", "/api/v1/surveys", write, body=bad)
        self.assertEqual(problem["errors"][0]["pointer"], "/questions/0/kind")
        self.assertNotIn("broken", [s["name"] for s in self.call("GET", "/api/v1/surveys", read)[2]["data"]])
        nps["nps_thresholds"] = "standard"
        status, _, replaced = self.call("PUT", f"/api/v1/surveys/{body['id']}", write, body=nps)
        self.assertEqual((status, replaced["id"], replaced["nps_thresholds"]), (200, body["id"], "standard"))
        nps["name"] = "renamed"
        self.assertEqual(self.call("PUT", f"/api/v1/surveys/{body['id']}", write, body=nps)[0], 400)
        self.assertEqual(self.call("GET", f"/api/v1/surveys/{body['id']}", read)[2]["nps_thresholds"], "standard")
        self.assertEqual(self.call("GET", f"/api/v1/surveys/{body['id']}", self.keys[("b", "read")])[0], 404)

    def test_detractors_open_followups_announced_to_a_webhook(self):
        received = []

        class Hook(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        self.addCleanup(hook.server_close)
        self.addCleanup(hook.shutdown)
        url = f"http://127.0.0.1:{hook.server_address[1]}/hooks/treu"
        survey = {"name": "loop-nps", "title": {"en": "Loop"}, "followup_webhook": url, "min_gap_days": 0,
                  "questions": [{"id": "nps", "kind": "nps", "required": True, "text": {"en": "Recommend us?"},
                                 "follow_up": {"min": 0, "max": 6, "question": {
                                     "id": "why", "kind": "text", "text": {"en": "Why?"}}}}]}
        write = self.keys[("a", "write")]
        status, _, made = self.call("POST", "/api/v1/surveys", write, body=survey)
        self.assertEqual(status, 201, made)
        self.assertEqual(made["followup_webhook"], url)
        bad = dict(survey, name="loop-bad", followup_webhook="ftp://x")
        status, _, problem = self.call("POST", "/api/v1/surveys", write, body=bad)
        self.assertEqual((status, problem["errors"][0]["pointer"]), (400, "/followup_webhook"))
        # Links over REST, under the survey's schedule.
        links_path = f"/api/v1/surveys/{made['id']}/links"
        status, _, links = self.call("POST", links_path, write,
                                     body={"where": 'email contains "@a.example"', "base_url": self.base})
        self.assertEqual(status, 201, links)
        by_customer = {l["customer_id"]: l["link"] for l in links["data"]}
        self.assertIn("a-2", by_customer)
        status, _, again = self.call("POST", links_path, write, body={"where": 'email contains "@a.example"'})
        self.assertEqual((status, again["data"]), (201, []))
        self.assertEqual(again["skipped"], {"asked_recently": len(links["data"])})
        for body, pointer in (({"where": 'email = "x"', "expires_days": 0}, "/expires_days"),
                              ({"segment": 5}, "/segment"), ({}, "/segment"),
                              ({"where": 'email = "x"', "snippet": "yes"}, "/snippet"),
                              ({"where": "emial = 1"}, "/where"), ({"segment": "no-such"}, "/segment")):
            status, _, problem = self.call("POST", links_path, write, body=body)
            self.assertIn(status, (400, 404), body)
            self.assertEqual(problem["errors"][0]["pointer"], pointer, problem)

        def answer(link, form):
            req = urllib.request.Request(link, method="POST", data=urllib.parse.urlencode(form).encode())
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
            urllib.request.urlopen(req, timeout=10).read()

        def followup_of(customer):
            for _ in range(100):
                items = self.call("GET", "/api/v1/followups", self.keys[("a", "read")])[2]["data"]
                mine = [i for i in items if i["customer_id"] == customer and i["survey"] == "loop-nps"]
                if mine and mine[0]["notification"]["state"] != "pending":
                    return mine[0]
                time.sleep(0.2)
            self.fail(f"no settled follow-up for {customer}: {items}")

        # Workspace a refuses webhooks to private addresses: the notification fails and says why.
        answer(by_customer["a-2"], {"nps": "3"})
        answer(by_customer["a-2"], {"nps": "3", "why": "too slow"})
        item = followup_of("a-2")
        self.assertEqual((item["status"], item["score"], item["notification"]["state"]), ("open", 3, "failed"))
        self.assertIn("127.0.0.1, a loopback address", item["notification"]["error"])
        self.assertEqual(received, [])
        # A promoter opens nothing; answering again keeps one item per response.
        answer(by_customer["a-1"], {"nps": "10"})
        answer(by_customer["a-2"], {"nps": "1", "why": "worse"})
        # Allowed: the next detractor is announced, signed with the workspace's webhook key.
        cli(self.db, "workspace", "set", "--private-webhooks", "allow", workspace="a")
        self.addCleanup(cli, self.db, "workspace", "set", "--private-webhooks", "refuse", workspace="a")
        answer(by_customer["a-fu"], {"nps": "0"})
        answer(by_customer["a-fu"], {"nps": "0", "why": "broken on arrival"})
        item = followup_of("a-fu")
        self.assertEqual(item["notification"]["state"], "sent")
        self.assertEqual(len(received), 1)
        path, headers, body = received[0]
        self.assertEqual(path, "/hooks/treu")
        payload = json.loads(body)
        self.assertEqual(payload["type"], "followup.created")
        self.assertEqual((payload["followup"]["id"], payload["customer"]["id"], payload["score"],
                          payload["category"]), (item["id"], "a-fu", 0, "detractor"))
        self.assertEqual(payload["answers"], {"nps": 0, "why": "broken on arrival"})
        key = cli(self.db, "workspace", "webhook-key", workspace="a").strip()
        t, v1 = [part.split("=", 1)[1] for part in headers["Treu-Signature"].split(",")]
        self.assertLess(abs(int(t) - time.time()), 300)
        self.assertEqual(v1, hmac.new(key.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest())
        items = self.call("GET", "/api/v1/followups", self.keys[("a", "read")])[2]["data"]
        self.assertEqual(sorted(i["customer_id"] for i in items if i["survey"] == "loop-nps"), ["a-2", "a-fu"])
        # Working through an item: assigning opens → assigned; done; a note; bad values name the field.
        fid = item["id"]
        status, _, changed = self.call("PATCH", f"/api/v1/followups/{fid}", write, body={"assignee": "anna"})
        self.assertEqual((status, changed["status"], changed["assignee"]), (200, "assigned", "anna"))
        status, _, changed = self.call("PATCH", f"/api/v1/followups/{fid}", write,
                                       body={"status": "done", "note": "refunded"})
        self.assertEqual((changed["status"], changed["note"]), ("done", "refunded"))
        for body, pointer in (({"status": "closed"}, "/status"), ({"note": 5}, "/note"),
                              ({"colour": "red"}, "/colour"), ({"assignee": "x" * 201}, "/assignee")):
            status, _, problem = self.call("PATCH", f"/api/v1/followups/{fid}", write, body=body)
            self.assertEqual((status, problem["errors"][0]["pointer"]), (400, pointer), body)
        self.assertEqual(self.call("GET", f"/api/v1/followups/{fid}", self.keys[("a", "read")])[2]["note"], "refunded")
        done = self.call("GET", "/api/v1/followups?status=done", self.keys[("a", "read")])[2]["data"]
        self.assertEqual([i["id"] for i in done], [fid])
        self.assertEqual(self.call("GET", "/api/v1/followups?status=closed", self.keys[("a", "read")])[0], 400)
        # The CLI works on the same items.
        cli(self.db, "survey", "followup", str(fid), "--status", "open", "--assignee", "", workspace="a")
        listed = json.loads(cli(self.db, "survey", "followups", "--status", "open", "--json", workspace="a"))
        self.assertIn(fid, [i["id"] for i in listed])
        # Results by segment and as a trend.
        status, _, results = self.call("GET", f"/api/v1/surveys/{made['id']}/results?by=week",
                                       self.keys[("a", "read")])
        self.assertEqual(status, 200, results)
        self.assertEqual(sum(p["responses"] for p in results["trend"]), 3)
        self.assertEqual(self.call("GET", f"/api/v1/surveys/{made['id']}/results?by=fortnight",
                                   self.keys[("a", "read")])[2]["errors"][0]["pointer"], "/by")
        cli(self.db, "segment", "save", "loop-buyers", "orders_count >= 1", workspace="a")
        status, _, results = self.call("GET", f"/api/v1/surveys/{made['id']}/results?segment=loop-buyers",
                                       self.keys[("a", "read")])
        self.assertEqual((status, results["responses"], results["nps"]["value"]), (200, 1, 100.0))  # a-1 only

    def test_survey_links_open_a_page_that_records_answers(self):
        survey = {"name": "page-nps", "default_locale": "en", "min_gap_days": 0, "title": {"en": "Your opinion", "de": "Ihre Meinung"},
                  "questions": [{"id": "nps", "kind": "nps", "required": True, "text": {"en": "Recommend us?"},
                                 "follow_up": {"min": 0, "max": 6, "question": {
                                     "id": "why", "kind": "text", "text": {"en": "What went wrong?"}}}}]}
        self.assertEqual(self.call("POST", "/api/v1/surveys", self.keys[("a", "write")], body=survey)[0], 201)
        out = cli(self.db, "survey", "links", "page-nps", "--where", 'email = "one@a.example"',
                  "--base-url", self.base, workspace="a")
        lines = out.strip().split("\n")
        self.assertEqual(lines[0], "customer_id,email,link")
        self.assertEqual(len(lines), 2)
        customer, email, link = lines[1].split(",")
        self.assertEqual((customer, email), ("a-1", "one@a.example"))
        path = link[len(self.base):]
        self.assertTrue(path.startswith("/s/"))

        def page(method, target, form=None):
            data = None if form is None else urllib.parse.urlencode(form).encode()
            req = urllib.request.Request(self.base + target, method=method, data=data)
            if data is not None:
                req.add_header("Content-Type", "application/x-www-form-urlencoded")
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()

        status, headers, html = page("GET", path)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        self.assertIn("Recommend us?", html)
        self.assertEqual(html.count('type="radio"'), 11)
        self.assertNotIn("What went wrong?", html)
        self.assertNotIn("<script", html)
        # One click from the email records the score and asks the follow-up.
        status, _, html = page("GET", path + "?score=3")
        self.assertEqual(status, 200)
        self.assertIn("What went wrong?", html)
        self.assertIn('role="status"', html)
        self.assertIn("your rating has been saved", html)
        self.assertIn("Not at all likely", html)
        # Out of range: the page says so and nothing changes.
        status, _, html = page("POST", path, {"nps": "11", "why": "x"})
        self.assertEqual(status, 422)
        self.assertIn('role="alert"', html)
        self.assertIn("must be a whole number from 0 to 10", html)
        # The answer with a comment that tries to inject markup is stored as given, shown escaped.
        payload = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
        status, _, html = page("POST", path, {"nps": "4", "why": payload})
        self.assertEqual(status, 200)
        status, _, html = page("GET", path)
        self.assertNotIn("<script>alert", html)
        self.assertNotIn("<img src=x", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        # A low score posted from the form first asks the follow-up it opens, then thanks.
        out = cli(self.db, "survey", "links", "page-nps", "--where", 'email = "two@a.example"',
                  "--base-url", self.base, workspace="a")
        second = out.strip().split("\n")[1].split(",")[2][len(self.base):]
        status, _, html = page("POST", second, {"nps": "2"})
        self.assertEqual(status, 200)
        self.assertIn("What went wrong?", html)
        status, _, html = page("POST", second, {"nps": "2", "why": "late"})
        self.assertEqual(status, 200)
        self.assertNotIn("What went wrong?", html)
        self.assertNotIn("<form", html)
        # A tampered or foreign link shows a page and records nothing.
        tampered = path[:-1] + ("A" if path[-1] != "A" else "B")
        self.assertEqual(page("GET", tampered)[0], 404)
        self.assertEqual(page("POST", tampered, {"nps": "10"})[0], 404)
        self.assertEqual(page("GET", "/s/not-a-token")[0], 404)
        # Results: the metrics, the response rate and the comment.
        survey_id = self.call("GET", "/api/v1/surveys", self.keys[("a", "read")])[2]["data"]
        survey_id = [x["id"] for x in survey_id if x["name"] == "page-nps"][0]
        status, _, results = self.call("GET", f"/api/v1/surveys/{survey_id}/results", self.keys[("a", "read")])
        self.assertEqual(status, 200, results)
        self.assertEqual((results["invited"], results["responses"], results["response_rate"]), (2, 2, 100.0))
        self.assertEqual((results["nps"]["value"], results["nps"]["detractors"]), (-100.0, 2))
        self.assertEqual(results["nps"]["distribution"]["4"], 1)
        self.assertEqual(sorted(v["text"] for v in results["verbatims"]), sorted([payload, "late"]))
        self.assertEqual(results["verbatims"][0]["category"], "detractor")
        self.assertIn("alert", [t["text"] for t in results["detractor_themes"]])
        status, _, none = self.call("GET", f"/api/v1/surveys/{survey_id}/results?search=nothing-like-this",
                                    self.keys[("a", "read")])
        self.assertEqual(none["verbatims"], [])
        self.assertEqual(self.call("GET", f"/api/v1/surveys/{survey_id}/results?period=2024-13",
                                   self.keys[("a", "read")])[0], 400)
        status, _, responses = self.call("GET", f"/api/v1/surveys/{survey_id}/responses", self.keys[("a", "read")])
        self.assertEqual(sorted((r["customer_id"], r["answers"]["nps"]) for r in responses["data"]), [("a-1", 4), ("a-2", 2)])
        self.assertEqual(self.call("GET", f"/api/v1/surveys/{survey_id}/results", self.keys[("b", "read")])[0], 404)
        # The answer became an event of the customer.
        status, _, events = self.call("GET", "/api/v1/events?user_id=a-1", self.keys[("a", "read")])
        answered = [e for e in events["data"] if e.get("event", e.get("name")) == "Survey Answered"
                    and e["properties"]["survey"] == "page-nps"]
        self.assertEqual(len(answered), 1, events)
        self.assertEqual(answered[0]["properties"]["category"], "detractor")

    def test_keys_are_stored_hashed(self):
        query = (["sqlite3", self.db[len("sqlite:"):]] if BACKEND == "sqlite"
                 else ["psql", "-qtA", self.db, "-c"])
        out = subprocess.run(query + ["SELECT hash || ' ' || prefix FROM api_keys"],
                             capture_output=True, text=True, check=True).stdout
        self.assertGreaterEqual(len(out.split("\n")), len(self.keys))
        for key in self.keys.values():
            self.assertNotIn(key[8:], out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
