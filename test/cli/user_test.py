#!/usr/bin/python3
"""`treu user …`: dashboard users created with a generated password (printed once, as the last
word) or one from stdin, listed, given a new password and deleted, per workspace; and the demo
login of `treu demo --demo-password`."""
import os
import sqlite3
import subprocess
import tempfile
import unittest

TREU = os.environ["TREU"]


class UserCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "u.db")
        self.db = "sqlite:" + self.path

    def tearDown(self):
        self.tmp.cleanup()

    def treu(self, *args, workspace="shop", stdin=None, check=True):
        return subprocess.run([TREU, "--db", self.db, "--workspace", workspace, *args], input=stdin,
                              capture_output=True, text=True, check=check)

    def hash_of(self, email):
        with sqlite3.connect(self.path) as c:
            return c.execute("SELECT password_hash FROM dashboard_users WHERE email = ?", (email,)).fetchone()[0]

    def test_create_list_passwd_delete(self):
        out = self.treu("user", "create", "Ana@Shop.example", "--role", "admin", "--name", "Ana").stdout
        self.assertIn("created admin user ana@shop.example in workspace shop", out)
        password = out.split()[-1]
        self.assertEqual(len(password), 20)
        self.assertTrue(self.hash_of("ana@shop.example").startswith("$argon2id$"))
        self.assertNotIn(password, self.hash_of("ana@shop.example"))

        out = self.treu("user", "create", "bob@shop.example", "--role", "viewer", "--locale", "de",
                        "--password-stdin", stdin="a long password\n").stdout
        self.assertNotIn("a long password", out)
        self.assertIn("created viewer user bob@shop.example", out)
        self.treu("user", "create", "bob@shop.example", "--role", "admin", workspace="other")

        listed = self.treu("user", "list").stdout.splitlines()
        self.assertEqual(listed[0].split(), ["ID", "EMAIL", "ROLE", "LOCALE", "LAST", "LOGIN", "NAME"])
        self.assertEqual([line.split()[1:4] for line in listed[1:]],
                         [["ana@shop.example", "admin", "en"], ["bob@shop.example", "viewer", "de"]])
        self.assertEqual(len(self.treu("user", "list", workspace="other").stdout.splitlines()), 2)

        before = self.hash_of("ana@shop.example")
        out = self.treu("user", "passwd", "ANA@shop.example").stdout
        self.assertNotEqual(out.split()[-1], password)
        self.assertNotEqual(self.hash_of("ana@shop.example"), before)
        self.treu("user", "passwd", "ana@shop.example", "--password-stdin", stdin="another password\n")

        self.assertIn("deleted user bob@shop.example", self.treu("user", "delete", "bob@shop.example").stdout)
        self.assertEqual(len(self.treu("user", "list").stdout.splitlines()), 2)
        self.assertEqual(len(self.treu("user", "list", workspace="other").stdout.splitlines()), 2)

    def test_bad_input_is_refused(self):
        self.treu("user", "create", "ana@shop.example", "--role", "admin")
        for args, stdin, message in (
                (("user", "create", "ana@shop.example", "--role", "admin"), None, "already exists"),
                (("user", "create", "not-an-email", "--role", "admin"), None, "email"),
                (("user", "create", "x@shop.example"), None, "--role"),
                (("user", "create", "x@shop.example", "--role", "viewer", "--password-stdin"), "short\n",
                 "at least 10"),
                (("user", "delete", "nobody@shop.example"), None, "no such user"),
                (("user", "passwd", "nobody@shop.example"), None, "no such user")):
            r = self.treu(*args, stdin=stdin, check=False)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(message, r.stderr, args)
        r = self.treu("user", "create", "x@shop.example", "--role", "owner", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_demo_prints_the_dashboard_login(self):
        r = subprocess.run([TREU, "--db", self.db, "demo", "--no-serve", "--demo-password", "demo password 1"],
                           capture_output=True, text=True, check=True, cwd=self.tmp.name)
        last = r.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith("dashboard "), last)
        self.assertTrue(last.endswith("login demo@treu.local / demo password 1"), last)
        self.assertIn("admin", self.treu("user", "list", workspace="demo").stdout)
        # Run again, the demo gives the login a fresh password.
        r = subprocess.run([TREU, "--db", self.db, "demo", "--no-serve"], capture_output=True, text=True,
                           check=True, cwd=self.tmp.name)
        password = r.stdout.strip().split()[-1]
        self.assertEqual(len(password), 20)
        self.assertEqual(len(self.treu("user", "list", workspace="demo").stdout.splitlines()), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
