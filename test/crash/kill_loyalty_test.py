#!/usr/bin/python3
"""Acknowledged redemptions survive kill -9, exactly once.

Eight clients redeem 100 points at a time for customers with 100,000 points each
(POST /api/v1/loyalty/customers/{id}/transfers, kind redeem, a new Idempotency-Key per
request). The server is killed with SIGKILL mid-burst and restarted on the same database; each
client retries the request it had in flight with the same key (answered with the original if it
was committed). Afterwards every acknowledged redemption is stored exactly once, nothing else
was redeemed, balances equal 100,000 − 100 × acknowledged and `treu loyalty verify` finds the
ledger consistent. CRASH_ITERATIONS (default 3) sets how many kills.

Usage: kill_loyalty_test.py [sqlite|postgres]   (postgres needs TREU_TEST_PG_URL)
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

from crashlib import TREU, free_port, fresh_db, start

ITERATIONS = int(os.environ.get("CRASH_ITERATIONS", "3"))
CLIENTS = 8
CUSTOMERS = 4
START = 100000
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "sqlite"


def redeem(port, key, customer, idem):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/loyalty/customers/{customer}/transfers",
                                 data=json.dumps({"kind": "redeem", "points": 100, "reason": "crash test"}).encode(),
                                 method="POST")
    req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", "Bearer " + key)
    req.add_header("Idempotency-Key", idem)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def main():
    tmp = tempfile.TemporaryDirectory()
    db, _ = fresh_db(BACKEND, tmp.name)

    def cli(*args):
        return subprocess.run([TREU, "--db", db, "--workspace", "shop"] + list(args), check=True,
                              capture_output=True, text=True).stdout

    subprocess.run([TREU, "--db", db, "workspace", "create", "shop", "--currency", "EUR"], check=True,
                   capture_output=True)
    customers = os.path.join(tmp.name, "customers.csv")
    with open(customers, "w") as f:
        f.write("customer_id\n" + "".join(f"c-{i}\n" for i in range(CUSTOMERS)))
    cli("import", "customers", customers)
    program = os.path.join(tmp.name, "program.json")
    with open(program, "w") as f:
        json.dump({"expiry_days": 0}, f)
    cli("loyalty", "program", program)
    for i in range(CUSTOMERS):
        cli("loyalty", "adjust", f"c-{i}", str(START), "--reason", "start", "--key", f"start-{i}")
    key = cli("key", "create", "--scope", "write").split()[-1]
    acked = {}  # idempotency key → customer
    refused = 0
    next_seq = [0] * CLIENTS
    for it in range(ITERATIONS):
        port = free_port()
        proc = start(db, port)
        delay = (1.0 if BACKEND == "postgres" else 0.4) + 0.1 * (it % 10)
        killer = threading.Timer(delay, lambda: proc.send_signal(signal.SIGKILL))
        killer.start()
        pending = [None] * CLIENTS
        lock = threading.Lock()

        def client(c):
            nonlocal refused
            while proc.poll() is None:
                idem = f"k-{c}-{next_seq[c]}"
                customer = f"c-{(c + next_seq[c]) % CUSTOMERS}"
                pending[c] = (idem, customer)
                try:
                    status, body = redeem(port, key, customer, idem)
                except (urllib.error.URLError, ConnectionError, OSError):
                    return
                with lock:
                    if status == 201:
                        acked[idem] = customer
                    elif status == 409 and "insufficient" in body.get("detail", ""):
                        refused += 1
                    else:
                        raise AssertionError(f"{status} {body}")
                pending[c] = None
                next_seq[c] += 1

        clients = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        killer.join()
        proc.wait()
        # Restart; retry what was in flight with the same key: committed before the kill → the
        # original (200, replayed), else a new redemption (201).
        proc = start(db, port)
        for c in range(CLIENTS):
            if pending[c] is None:
                continue
            idem, customer = pending[c]
            status, body = redeem(port, key, customer, idem)
            assert status in (200, 201) or (status == 409 and "insufficient" in body["detail"]), (status, body)
            if status in (200, 201):
                acked[idem] = customer
            next_seq[c] += 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        print(f"iteration {it + 1}: {len(acked)} redemptions acknowledged so far", flush=True)
    verify = subprocess.run([TREU, "--db", db, "--workspace", "shop", "loyalty", "verify"], capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    stored = []
    for i in range(CUSTOMERS):
        history = json.loads(cli("loyalty", "history", f"c-{i}", "--json"))
        redeemed = [t for t in history if t["kind"] == "redeem"]
        stored += [t["id"] for t in redeemed]
        balance = json.loads(cli("loyalty", "balance", f"c-{i}", "--json"))
        mine = sum(1 for k, c in acked.items() if c == f"c-{i}")
        assert balance["available"] == START - 100 * mine, (i, balance, mine)
        assert len(redeemed) == mine, (i, len(redeemed), mine)
    assert len(stored) == len(set(stored)), "a redemption is stored twice"
    missing = [k for k in acked if f"api:{k}" not in stored]
    assert not missing, f"{len(missing)} acknowledged redemptions lost, e.g. {missing[:3]}"
    print(f"PASS ({BACKEND}): {len(acked)} acknowledged redemptions stored exactly once, {refused} refused "
          f"for lack of points; {verify.stdout.strip()}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
