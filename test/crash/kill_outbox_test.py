#!/usr/bin/python3
"""The outbox under kill -9, and two treu processes sharing one outbox.

1. 10,000 personalised emails are queued (`treu send`). `treu outbox deliver` sends them to a real
   SMTP server (test/messaging/smtp_sink.py, which logs each accepted message's Message-ID) and
   is killed with SIGKILL once about 3,000 have arrived. The messages claimed but not finished at
   that moment are read from the database: they were "in flight". A new process delivers the
   rest (`--until-empty`; claims of the dead process lapse after --lease). Then every message is
   sent, every one arrived at least once, and only messages in flight at the kill arrived twice.
2. 2,000 more emails are delivered by two `treu outbox deliver` processes at once on the same
   database: each arrives exactly once.

Usage: kill_outbox_test.py [sqlite|postgres]   (postgres needs TREU_TEST_PG_URL)
"""
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from crashlib import TREU, fresh_db

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "messaging", "smtp_sink.py")
MESSAGES = 10000
SECOND = 2000


def cli(db, *args, workspace="shop"):
    return subprocess.run([TREU, "--db", db, "--workspace", workspace, *args], check=True, capture_output=True,
                          text=True).stdout


def query(db, path, sql):
    if path is not None:
        with sqlite3.connect(path) as conn:
            return conn.execute(sql).fetchall()
    out = subprocess.run(["psql", "-At", "-q", db, "-c", sql], check=True, capture_output=True, text=True).stdout
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def start_sink(tmp, name):
    port_file = os.path.join(tmp, name + ".port")
    ids = os.path.join(tmp, name + ".ids")
    proc = subprocess.Popen(["/usr/bin/python3", SINK, "--port", "0", "--port-file", port_file, "--out",
                             os.path.join(tmp, name), "--fast", "--ids", ids],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1000):
        if os.path.exists(port_file):
            return proc, int(open(port_file).read()), ids
        time.sleep(0.02)
    raise SystemExit("smtp_sink.py did not start")


def received(ids_file):
    """Deliveries per outbox message id (Message-ID <workspace>.<id>.<digest>@domain)."""
    counts = collections.Counter()
    if os.path.exists(ids_file):
        with open(ids_file) as f:
            for line in f:
                parts = line.strip().split(".")
                if len(parts) >= 3 and parts[1].isdigit():
                    counts[int(parts[1])] += 1
    return counts


def deliver(db, workspace, *extra):
    return subprocess.Popen([TREU, "--db", db, "--workspace", workspace, "outbox", "deliver", "--threads", "4",
                             "--lease", "2", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def setup_workspace(db, tmp, workspace, customers, port):
    cli(db, "workspace", "create", workspace, "--currency", "EUR", workspace=workspace)
    csv = os.path.join(tmp, workspace + ".csv")
    with open(csv, "w") as f:
        f.write("customer_id,email,name,consent.email\n")
        for i in range(customers):
            f.write(f"{workspace}-{i},c{i}@{workspace}.example,Kunde {i},true\n")
    cli(db, "import", "customers", csv, workspace=workspace)
    html = os.path.join(tmp, "t.html")
    with open(html, "w") as f:
        f.write("<p>Hallo {{ customer.first_name }},</p><p>{% if customer.orders_count > 0 %}danke!"
                "{% else %}schau mal rein:{% endif %}</p><p><a href=\"https://shop.example/\">Shop</a></p>")
    cli(db, "template", "save", "hello", "--subject", "Hallo {{ customer.name }}", "--html", html, workspace=workspace)
    cli(db, "messaging", "set", "--from-address", "news@shop.example", "--transport", "smtp", "--smtp-url",
        f"smtp://127.0.0.1:{port}", "--smtp-tls", "none", workspace=workspace)
    out = cli(db, "send", "hello", "--where", "orders_count >= 0", "--key", "crash", workspace=workspace)
    assert f"queued {customers:,}" in out, out


def main():
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["TREU_SECRET_FILE"] = os.path.join(tmp, "treu.secret")
        db, path = fresh_db(BACKEND, tmp)
        sink, port, ids = start_sink(tmp, "sink")
        try:
            setup_workspace(db, tmp, "shop", MESSAGES, port)

            # 1. kill -9 mid-delivery, then finish with a new process.
            proc = deliver(db, "shop")
            deadline = time.time() + 180
            while sum(received(ids).values()) < 3000:
                if time.time() > deadline or proc.poll() is not None:
                    raise SystemExit("delivery did not get going: " + (proc.stderr.read() if proc.poll() is not None else ""))
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            in_flight = {int(r[0]) for r in query(db, path, "SELECT id FROM outbox WHERE state = 'sending'")}
            at_kill = sum(received(ids).values())
            rest = deliver(db, "shop", "--until-empty", "--max-seconds", "300")
            out, err = rest.communicate(timeout=400)
            assert rest.returncode == 0, err
            states = dict(query(db, path, "SELECT state, count(*) FROM outbox GROUP BY state"))
            assert {k: int(v) for k, v in states.items()} == {"sent": MESSAGES}, states
            all_ids = {int(r[0]) for r in query(db, path, "SELECT id FROM outbox")}
            got = received(ids)
            missing = all_ids - set(got)
            assert not missing, f"{len(missing)} messages never arrived, e.g. {sorted(missing)[:5]}"
            twice = {m for m, n in got.items() if n > 1}
            assert twice <= in_flight, f"arrived twice but not in flight at the kill: {sorted(twice - in_flight)[:10]}"
            assert max(got.values()) <= 2, "a message arrived three times"
            print(f"kill -9 after {at_kill} deliveries: {len(in_flight)} in flight, {len(twice)} of them arrived "
                  f"twice; all {MESSAGES} sent, none lost")

            # 2. two processes share the outbox: nothing twice.
            sink2, port2, ids2 = start_sink(tmp, "sink2")
            try:
                setup_workspace(db, tmp, "two", SECOND, port2)
                a = deliver(db, "two", "--until-empty", "--max-seconds", "300")
                b = deliver(db, "two", "--until-empty", "--max-seconds", "300")
                for p in (a, b):
                    _, err = p.communicate(timeout=400)
                    assert p.returncode == 0, err
                got2 = received(ids2)
                assert len(got2) == SECOND, f"{len(got2)} of {SECOND} arrived"
                assert max(got2.values()) == 1, [m for m, n in got2.items() if n > 1][:10]
                print(f"two processes delivered {SECOND} messages, each exactly once")
            finally:
                sink2.send_signal(signal.SIGTERM)
                sink2.wait()
        finally:
            sink.send_signal(signal.SIGTERM)
            sink.wait()


if __name__ == "__main__":
    main()
