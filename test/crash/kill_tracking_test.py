#!/usr/bin/python3
"""Acknowledged tracking data survives kill -9.

Four clients stream /v1/batch calls at once and record every messageId answered with 200.
The server is killed with SIGKILL mid-stream and restarted on the same database; each client
retries the call it had in flight (as Segment clients do). Every acknowledged messageId must be
stored exactly once. CRASH_ITERATIONS (default 3) sets how many kills.

Usage: kill_tracking_test.py [sqlite|postgres]   (postgres needs TREU_TEST_PG_URL)
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from crashlib import TREU, free_port, fresh_db, start

ITERATIONS = int(os.environ.get("CRASH_ITERATIONS", "3"))
CLIENTS = 4  # concurrent streams, so kills also hit groups of calls
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"


def post(port, key, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/batch", data=json.dumps(body).encode(),
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{key}:".encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status


def main():
    tmp = tempfile.TemporaryDirectory()
    db, path = fresh_db(BACKEND, tmp.name)
    subprocess.run([TREU, "--db", db, "workspace", "create", "shop", "--currency", "EUR"],
                   check=True, capture_output=True)
    key = subprocess.run([TREU, "--db", db, "--workspace", "shop", "key", "create", "--scope", "tracking"],
                         check=True, capture_output=True, text=True).stdout.split()[-1]
    acked = []
    next_seq = [0] * CLIENTS
    for it in range(ITERATIONS):
        port = free_port()
        proc = start(db, port)
        # PostgreSQL opens a connection per event loop first, so give it longer.
        delay = (1.0 if BACKEND == "postgres" else 0.3) + 0.1 * (it % 10)
        killer = threading.Timer(delay, lambda: proc.send_signal(signal.SIGKILL))
        killer.start()
        pending = [None] * CLIENTS

        def client(c):
            # Each client streams its own messageIds; concurrent calls share group commits.
            while proc.poll() is None:
                seq = next_seq[c]
                ids = [f"m-{c}-{seq + i}" for i in range(20)]
                pending[c] = {"batch": [{"type": "track", "userId": f"u-{(seq + i) % 97}",
                                         "event": "Clicked", "messageId": m, "properties": {"n": seq + i}}
                                        for i, m in enumerate(ids)]}
                try:
                    if post(port, key, pending[c]) == 200:
                        acked.extend(ids)
                        pending[c] = None
                        next_seq[c] += 20
                except (urllib.error.URLError, ConnectionError, OSError):
                    return

        clients = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        killer.join()
        proc.wait()
        # Restart and retry the calls that were in flight.
        proc = start(db, port)
        for c in range(CLIENTS):
            if pending[c] is not None:
                assert post(port, key, pending[c]) == 200
                acked.extend(m["messageId"] for m in pending[c]["batch"])
                next_seq[c] += 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        print(f"iteration {it + 1}: {len(acked)} messageIds acknowledged so far", flush=True)
    query = ["sqlite3", path] if BACKEND == "sqlite" else ["psql", "-qtA", db, "-c"]
    out = subprocess.run(query + ["SELECT message_id FROM events"], check=True,
                         capture_output=True, text=True).stdout.split()
    stored = set(out)
    assert len(out) == len(stored), "a messageId is stored twice"
    missing = [m for m in acked if m not in stored]
    assert not missing, f"{len(missing)} acknowledged messageIds lost, e.g. {missing[:3]}"
    assert len(acked) == len(set(acked))
    if BACKEND == "sqlite":
        integrity = subprocess.run(["sqlite3", path, "PRAGMA integrity_check"], capture_output=True,
                                   text=True).stdout.strip()
        assert integrity == "ok", integrity
    print(f"PASS ({BACKEND}): {len(acked)} acknowledged, {len(stored)} stored, none lost or doubled")
    tmp.cleanup()


if __name__ == "__main__":
    main()
