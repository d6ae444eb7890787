#!/usr/bin/python3
"""A campaign's planned messages rendered into the outbox under kill -9.

100,000 customers; `treu campaign launch` plans a message for each and renders the first 10,000
into the outbox. `treu campaign run-due` renders the rest and is killed with SIGKILL once the
outbox holds 20,000 of them. A second `treu campaign run-due` finishes the job. Then every member
has exactly one message in the outbox, due at the member's send time, and none is still planned:
nothing was lost and nothing was rendered twice.

Usage: kill_campaign_test.py [sqlite|postgres]   (postgres needs TREU_TEST_PG_URL)
"""
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from crashlib import TREU, fresh_db

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
CUSTOMERS = 100_000


def cli(db, *args):
    return subprocess.run([TREU, "--db", db, "--workspace", "shop", *args], check=True, capture_output=True,
                          text=True).stdout


def query(db, path, sql):
    if path is not None:
        with sqlite3.connect(path, timeout=30) as conn:
            return conn.execute(sql).fetchall()
    out = subprocess.run(["psql", "-At", "-q", db, "-c", sql], check=True, capture_output=True, text=True).stdout
    return [tuple(int(v) for v in line.split("|")) for line in out.splitlines() if line]


def count(db, path, sql):
    return int(query(db, path, sql)[0][0])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TREU_SECRET_FILE"] = os.path.join(tmp, "treu.secret")
        os.environ["TREU_MAIL_DIR"] = os.path.join(tmp, "mail")
        db, path = fresh_db(BACKEND, tmp)
        cli(db, "workspace", "create", "shop", "--currency", "EUR")
        csv = os.path.join(tmp, "customers.csv")
        with open(csv, "w") as f:
            f.write("customer_id,email,name,consent.email\n")
            for i in range(CUSTOMERS):
                f.write(f"c{i},c{i}@shop.example,Kunde {i},true\n")
        cli(db, "import", "customers", csv)
        html = os.path.join(tmp, "t.html")
        with open(html, "w") as f:
            f.write("<p>Hallo {{ customer.first_name }},</p><p><a href=\"https://shop.example/\">Shop</a></p>")
        cli(db, "template", "save", "hello", "--subject", "Hallo {{ customer.name }}", "--html", html)
        cli(db, "campaign", "save", "big", "--template", "hello", "--where", "orders_count >= 0")
        cli(db, "campaign", "launch", "big")

        in_outbox = "SELECT count(*) FROM outbox WHERE campaign = 'big'"
        planned = "SELECT count(*) FROM campaign_members WHERE planned"
        assert count(db, path, in_outbox) == 10_000, count(db, path, in_outbox)
        assert count(db, path, planned) == CUSTOMERS - 10_000, count(db, path, planned)

        # kill -9 while the rest is being rendered.
        proc = subprocess.Popen([TREU, "--db", db, "--workspace", "shop", "campaign", "run-due"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while count(db, path, in_outbox) < 20_000:
            if proc.poll() is not None:
                raise SystemExit("run-due finished before it could be killed: " + proc.stderr.read())
            if time.time() > deadline:
                raise SystemExit("run-due did not get going")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = count(db, path, in_outbox)
        planned_at_kill = count(db, path, planned)
        assert planned_at_kill > 0, "nothing was left to render at the kill"

        out = cli(db, "campaign", "run-due")
        assert "0 failed" in out, out
        assert count(db, path, planned) == 0
        rows = count(db, path, in_outbox)
        customers = count(db, path, "SELECT count(DISTINCT customer_id) FROM outbox WHERE campaign = 'big'")
        assert (rows, customers) == (CUSTOMERS, CUSTOMERS), (rows, customers)
        mismatched = count(db, path, "SELECT count(*) FROM campaign_members m JOIN campaigns c ON c.id = m.campaign_id "
                                     "LEFT JOIN outbox o ON o.campaign = c.name AND o.customer_id = m.customer_id "
                                     "WHERE o.id IS NULL OR o.next_attempt_at <> m.due OR m.outcome <> 'queued'")
        assert mismatched == 0, f"{mismatched} members without their one message at their send time"
        print(f"kill -9 with {at_kill:,} of {CUSTOMERS:,} messages in the outbox and {planned_at_kill:,} members "
              f"still planned: after a second run every member has exactly one message, none planned")


if __name__ == "__main__":
    main()
