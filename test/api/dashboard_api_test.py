#!/usr/bin/env python3
"""The routes the dashboard's pages read, over HTTP against `treu serve`: customer search,
summary and timeline, cohort cell members, prediction distributions, the tracking chart, KPI
names, definitions and segment filters, workspace settings, the segment builder's fields and
segment exports. Workspace "demo" holds `treu demo` data (fitted models, segments, loyalty);
workspace "shop" a few hand-made customers whose figures are known.

Usage: dashboard_api_test.py sqlite|postgres (postgres under scripts/with-postgres)."""
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

TREU = os.environ.get("TREU", os.path.join(os.path.dirname(__file__), "../../build/release/treu"))
BACKEND = sys.argv.pop(1) if len(sys.argv) > 1 else "sqlite"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_db(tmp):
    if BACKEND == "sqlite":
        return "sqlite:" + os.path.join(tmp, "dashboard.db")
    base = os.environ.get("TREU_TEST_PG_URL")
    if not base:
        raise SystemExit("TREU_TEST_PG_URL is not set: run under scripts/with-postgres")
    name = "dash_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", base, "-c", f"CREATE DATABASE {name}"], check=True)
    return base.rsplit("/", 1)[0] + "/" + name


def cli(db, *args, workspace=None):
    cmd = [TREU, "--db", db] + (["--workspace", workspace] if workspace else []) + list(args)
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


class DashboardApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.db = fresh_db(cls.tmp.name)
        os.environ["TREU_SECRET_FILE"] = os.path.join(cls.tmp.name, "treu.secret")
        cli(cls.db, "demo", "--no-serve", "--size", "S")
        # "shop": three customers; s-1 has two orders and a subscription.
        cli(cls.db, "workspace", "create", "shop", "--currency", "EUR")
        files = {
            "customers": "customer_id,email,name\ns-1,one@shop.example,Anna One\n"
                         "s-2,two@shop.example,Ben Two\nX-9,Zed@Example.COM,Zoe\n",
            "orders": "order_id,customer_id,placed_at,total\no-1,s-1,2024-01-10,10.00\n"
                      "o-2,s-1,2024-02-20,30.00\no-3,s-2,2024-01-15,5.00\n",
            "subscriptions": "subscription_id,customer_id,amount,started_at\nsub-1,s-1,12.50,2024-03-01\n",
        }
        for kind, text in files.items():
            path = os.path.join(cls.tmp.name, kind + ".csv")
            with open(path, "w") as f:
                f.write(text)
            cli(cls.db, "import", kind, path, workspace="shop")
        cli(cls.db, "segment", "save", "big", "revenue_total >= 20", workspace="shop")
        cli(cls.db, "segment", "refresh", workspace="shop")
        cls.keys = {(ws, scope): cli(cls.db, "key", "create", "--scope", scope, workspace=ws).split()[-1]
                    for ws in ("demo", "shop") for scope in ("read", "admin")}
        port = free_port()
        cls.base = f"http://127.0.0.1:{port}"
        cls.server = subprocess.Popen([TREU, "--db", cls.db, "serve", "--listen", f"127.0.0.1:{port}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.server.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("server did not start: " + line)

    @classmethod
    def tearDownClass(cls):
        cls.server.send_signal(signal.SIGTERM)
        code = cls.server.wait(timeout=30)
        cls.tmp.cleanup()
        assert code == 0, f"server exited with {code}"

    def request(self, method, path, ws="shop", scope="read", body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, method=method, data=data)
        req.add_header("Authorization", "Bearer " + self.keys[(ws, scope)])
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def get(self, path, ws="shop", scope="read"):
        status, headers, raw = self.request("GET", path, ws, scope)
        return status, headers, json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else raw

    def ok(self, path, ws="shop"):
        status, _, body = self.get(path, ws)
        self.assertEqual(status, 200, f"{path}: {body}")
        return body

    def problem(self, path, status, pointer, ws="shop", method="GET", body=None, scope="read"):
        got, headers, raw = self.request(method, path, ws, scope, body)
        self.assertEqual((got, headers.get("Content-Type")), (status, "application/problem+json"), raw)
        problem = json.loads(raw)
        if pointer:
            self.assertEqual(problem["errors"][0]["pointer"], pointer, problem)
        return problem

    def pages(self, path, ws="shop", limit=2):
        """Every item of a paged list, following next_cursor."""
        out, cursor = [], None
        sep = "&" if "?" in path else "?"
        while True:
            page = self.ok(path + f"{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), ws)
            self.assertLessEqual(len(page["data"]), limit)
            out += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out, page

    def test_customer_search(self):
        def ids(q):
            return [c["id"] for c in self.pages("/api/v1/customers?q=" + urllib.parse.quote(q), limit=1)[0]]
        self.assertEqual(ids("ONE"), ["s-1"])
        self.assertEqual(ids("example.com"), ["X-9"])
        self.assertEqual(ids("shop.EXAMPLE"), ["s-1", "s-2"])
        self.assertEqual(ids("x-9"), ["X-9"])
        self.assertEqual(ids("nobody"), [])
        self.assertEqual(len(ids("")), 3)
        self.problem("/api/v1/customers?q=" + "x" * 201, 400, "/q")

    def test_customer_summary(self):
        s = self.ok("/api/v1/customers/s-1/summary")
        self.assertEqual((s["id"], s["email"], s["name"]), ("s-1", "one@shop.example", "Anna One"))
        self.assertEqual((s["orders_count"], s["revenue_total"], s["average_order_value"]), (2, 40, 20))
        self.assertEqual(s["first_order_at"], "2024-01-10T00:00:00Z")
        self.assertEqual(s["last_order_at"], "2024-02-20T00:00:00Z")
        self.assertEqual((s["mrr"], s["currency"]), (12.5, "EUR"))
        self.assertIn("big", s["segments"])
        self.assertIsNone(s["loyalty"])
        self.assertIsNone(s["predictions"])  # nothing fitted in this workspace
        for key in ("attributes", "consents", "country", "locale", "time_zone", "created_at"):
            self.assertIn(key, s)
        two = self.ok("/api/v1/customers/s-2/summary")
        self.assertEqual((two["revenue_total"], two["mrr"]), (5, 0))
        self.assertNotIn("big", two["segments"])
        self.problem("/api/v1/customers/nobody/summary", 404, None)
        # A demo customer with orders has predictions from the fitted models.
        listed = self.ok("/api/v1/cohorts/members?cohort=" + self.first_cohort() + "&limit=1", "demo")["data"][0]
        demo = self.ok(f"/api/v1/customers/{listed['id']}/summary", "demo")
        self.assertGreaterEqual(demo["orders_count"], 1)
        self.assertTrue(0 <= demo["predictions"]["p_alive"] <= 1)
        self.assertIn("summary", demo["predictions"])

    def test_customer_timeline(self):
        items, _ = self.pages("/api/v1/customers/s-1/timeline")
        kinds = [(i["kind"], i["at"][:10]) for i in items]
        self.assertIn(("order", "2024-02-20"), kinds)
        self.assertIn(("order", "2024-01-10"), kinds)
        self.assertIn(("subscription", "2024-03-01"), kinds)
        self.assertIn("segment_entered", [k for k, _ in kinds])
        self.assertEqual([i["at"] for i in items], sorted((i["at"] for i in items), reverse=True))
        order = next(i for i in items if i["kind"] == "order" and i["at"].startswith("2024-02-20"))
        self.assertEqual(order["detail"], {"order_id": "o-2", "total": 30, "currency": "EUR", "status": "completed"})
        self.assertTrue(order["title"])
        entered = [i["detail"] for i in items if i["kind"] == "segment_entered"]
        self.assertIn({"segment": "big"}, entered)
        self.problem("/api/v1/customers/s-1/timeline?cursor=nope", 400, "/cursor")

    def first_cohort(self):
        return self.ok("/api/v1/cohorts?by=month", "demo")["cohorts"][0]["cohort"]

    def test_cohort_members_match_the_matrix(self):
        for by in ("month", "quarter"):
            matrix = self.ok(f"/api/v1/cohorts?by={by}", "demo")["cohorts"]
            self.assertTrue(matrix)
            rows = [matrix[0], matrix[len(matrix) // 2], matrix[-1]]
            for row in rows:
                for offset in sorted({0, 1, len(row["values"]) - 1}):
                    if offset >= len(row["values"]):
                        continue
                    page = self.ok(f"/api/v1/cohorts/members?by={by}&cohort={row['cohort']}&offset={offset}&limit=500",
                                   "demo")
                    self.assertEqual(page["total"], round(row["values"][offset] * row["size"]),
                                     f"{by} {row['cohort']} +{offset}")
        # Paging walks the whole cell; revenue is in that period.
        cohort = self.first_cohort()
        members, last = self.pages(f"/api/v1/cohorts/members?cohort={cohort}&offset=1", "demo", limit=50)
        self.assertEqual(len(members), last["total"])
        self.assertEqual(len({m["id"] for m in members}), len(members))
        self.assertTrue(all(set(m) == {"id", "email", "name", "revenue"} for m in members))
        revenue = self.ok(f"/api/v1/cohorts/members?cohort={cohort}&offset=0&revenue=true&limit=5", "demo")
        self.assertTrue(all(m["revenue"] != 0 for m in revenue["data"]))
        self.problem("/api/v1/cohorts/members?cohort=2024-Q1", 400, "/cohort", "demo")
        self.problem("/api/v1/cohorts/members", 400, "/cohort", "demo")
        self.problem(f"/api/v1/cohorts/members?cohort={cohort}&offset=-1", 400, "/offset", "demo")

    def test_prediction_distribution(self):
        d = self.ok("/api/v1/predictions/distribution?bins=10", "demo")
        for name in ("p_alive", "expected_purchases_90d", "clv_12m"):
            self.assertEqual(len(d[name]["bins"]), 10, name)
            self.assertEqual(sum(b["count"] for b in d[name]["bins"]), d["n"], name)
        self.assertEqual((d["p_alive"]["bins"][0]["lo"], d["p_alive"]["bins"][-1]["hi"]), (0, 1))
        self.assertTrue(0 <= d["p_alive"]["median"] <= 1)
        self.assertGreater(d["n"], 0)
        self.assertEqual(len(self.ok("/api/v1/predictions/distribution", "demo")["p_alive"]["bins"]), 20)
        self.problem("/api/v1/predictions/distribution", 409, None)  # shop: not fitted
        self.problem("/api/v1/predictions/distribution?bins=0", 400, "/bins", "demo")

    def test_tracking_chart(self):
        models = self.ok("/api/v1/models", "demo")
        run = next(r for r in models["runs"] if r["model"] == models["purchase_model"] and r["status"] == "succeeded")
        t = self.ok(f"/api/v1/models/runs/{run['id']}/tracking", "demo")
        self.assertEqual(t["unit"], "week")
        points = t["points"]
        self.assertGreater(len(points), 10)
        actual = predicted = 0
        for p in points:
            actual += p["actual"]
            predicted += p["predicted"]
            self.assertAlmostEqual(p["actual_cumulative"], actual)
            self.assertAlmostEqual(p["predicted_cumulative"], predicted, places=6)
        # Same order of magnitude as the repeat purchases it was fitted on (the numerics are checked
        # against CDNOW in analytics/prediction_views_test.cpp; the demo data aren't drawn from the model).
        self.assertGreater(predicted / actual, 0.5)
        self.assertLess(predicted / actual, 2)
        spend = next(r for r in models["runs"] if r["model"] == "gamma_gamma")
        self.problem(f"/api/v1/models/runs/{spend['id']}/tracking", 400, "/id", "demo")
        self.problem(f"/api/v1/models/runs/{run['id']}/tracking", 404, None)  # another workspace's run

    def test_kpis_have_names_definitions_and_filters(self):
        kpis = self.ok("/api/v1/kpis?period=2024", "shop")["data"]
        for k in kpis:
            self.assertTrue(k["name"]["en"] and k["name"]["de"], k["id"])
            self.assertTrue(k["definition"]["en"] and k["definition"]["de"], k["id"])
        churn = next(k for k in kpis if k["id"] == "churn_rate")
        self.assertIn("Abwanderungsrate", churn["name"]["de"])
        everyone = {k["id"]: k for k in kpis}
        big = {k["id"]: k for k in self.ok("/api/v1/kpis?period=2024&segment=big", "shop")["data"]}
        self.assertEqual(everyone["revenue"]["value"], 45)
        self.assertEqual(big["revenue"]["value"], 40)
        where = self.ok("/api/v1/kpis/revenue?period=2024&where=" + urllib.parse.quote('email contains "two@"'), "shop")
        self.assertEqual(where["value"], 5)
        self.problem("/api/v1/kpis?period=2024&where=" + urllib.parse.quote("orders_count >="), 400, "/where")
        self.problem("/api/v1/kpis?period=2024&segment=nope", 400, "/segment")

    def test_workspace_settings(self):
        before = self.ok("/api/v1/workspace")
        for key in ("currency", "time_zone", "retention_basis", "activity_window", "purchase_model", "brand_colour"):
            self.assertIn(key, before)
        status, _, raw = self.request("PATCH", "/api/v1/workspace", scope="admin",
                                      body={"time_zone": "Europe/Berlin", "activity_window": "90d",
                                            "purchase_model": "bgnbd", "brand_colour": "#0a7f5a"})
        self.assertEqual(status, 200, raw)
        after = json.loads(raw)
        self.assertEqual((after["time_zone"], after["activity_window"], after["purchase_model"], after["brand_colour"]),
                         ("Europe/Berlin", "90d", "bgnbd", "#0a7f5a"))
        self.assertEqual(self.ok("/api/v1/workspace"), after)
        # A bad field changes nothing, and names itself.
        self.problem("/api/v1/workspace", 400, "/activity_window", method="PATCH", scope="admin",
                     body={"time_zone": "UTC", "activity_window": "ninety"})
        self.problem("/api/v1/workspace", 400, "/retention_basis", method="PATCH", scope="admin",
                     body={"retention_basis": "vibes"})
        self.problem("/api/v1/workspace", 400, "/colour", method="PATCH", scope="admin", body={"colour": "#000000"})
        self.problem("/api/v1/workspace", 409, "/currency", method="PATCH", scope="admin", body={"currency": "USD"})
        self.assertEqual(self.ok("/api/v1/workspace"), after)
        self.assertEqual(self.request("PATCH", "/api/v1/workspace", body={"time_zone": "UTC"})[0], 403)
        # The analytics see the new settings at once.
        cohorts = self.ok("/api/v1/cohorts")
        self.assertEqual(cohorts["basis"], after["retention_basis"])
        status, _, raw = self.request("PATCH", "/api/v1/workspace", scope="admin",
                                      body={"time_zone": before["time_zone"], "activity_window": before["activity_window"],
                                            "purchase_model": before["purchase_model"], "brand_colour": None})
        self.assertEqual(status, 200, raw)
        self.assertEqual(self.ok("/api/v1/workspace"), before)

    def test_segment_fields(self):
        fields = {f["name"]: f for f in self.ok("/api/v1/segments/fields")["data"]}
        self.assertEqual(fields["revenue_total"]["type"], "money")
        self.assertEqual(fields["last_order_at"]["type"], "time")
        self.assertEqual(fields["consent.email"]["type"], "bool")
        self.assertEqual(fields["rfm_segment"]["type"], "enum")
        self.assertIn("champions", fields["rfm_segment"]["values"])
        self.assertEqual(fields["in_segment"]["kind"], "function")
        for f in fields.values():
            self.assertIn(f["type"], ("number", "money", "time", "duration", "string", "bool", "enum"), f)
            self.assertTrue(f["description"] and f["example"], f)
            # Every example is valid in the segment language.
            status, _, raw = self.request("POST", "/api/v1/segments/preview", body={"expr": f["example"]})
            preview = json.loads(raw)
            if f["name"] != "in_segment":  # refers to a segment "vip" this workspace lacks
                self.assertTrue(preview["valid"], (f, preview))

    def test_segment_export(self):
        segments = {s["name"]: s for s in self.ok("/api/v1/segments")["data"]}
        sid = segments["big"]["id"]
        status, headers, raw = self.request("GET", f"/api/v1/segments/{sid}/export")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertEqual(headers["Content-Disposition"], 'attachment; filename="big.csv"')
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        self.assertEqual([(r["customer_id"], r["email"], r["orders_count"], r["revenue_total"]) for r in rows],
                         [("s-1", "one@shop.example", "2", "40")])
        status, headers, raw = self.request("GET", f"/api/v1/segments/{sid}/export?format=jsonl")
        self.assertEqual((status, headers["Content-Type"]), (200, "application/x-ndjson"))
        lines = [json.loads(line) for line in raw.decode().splitlines()]
        self.assertEqual([(r["customer_id"], r["revenue_total"]) for r in lines], [("s-1", 40)])
        # The same as `treu segment export`.
        self.assertEqual(raw.decode(), cli(self.db, "segment", "export", "big", "--format", "jsonl", workspace="shop"))
        self.problem(f"/api/v1/segments/{sid}/export?format=xml", 400, "/format")


if __name__ == "__main__":
    unittest.main(verbosity=2)
