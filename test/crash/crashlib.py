"""What the kill -9 tests share: a database on either backend and a server on a free port."""
import os
import socket
import subprocess

TREU = os.environ["TREU"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db, port):
    """`treu serve` on 127.0.0.1:port, once it says it is listening."""
    proc = subprocess.Popen([TREU, "--db", db, "serve", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "listening" not in proc.stdout.readline():
        raise SystemExit("server did not start")
    return proc


def fresh_db(backend, directory):
    """(db URL, SQLite file path or None): a file in `directory`, or a new PostgreSQL database."""
    if backend == "sqlite":
        path = os.path.join(directory, "crash.db")
        return "sqlite:" + path, path
    base = os.environ.get("TREU_TEST_PG_URL")
    if not base:
        raise SystemExit("TREU_TEST_PG_URL is not set: run under scripts/with-postgres")
    name = "crash_" + os.urandom(6).hex()
    subprocess.run(["psql", "-q", base, "-c", f"CREATE DATABASE {name}"], check=True)
    return base.rsplit("/", 1)[0] + "/" + name, None
