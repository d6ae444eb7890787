#!/usr/bin/python3
"""An SMTP server for tests and benchmarks, on Debian's aiosmtpd.

Listens on 127.0.0.1 (port 0: any free port), prints "PORT <n>" once it accepts connections
(and writes the number to --port-file), and for every accepted message writes into --out:

  <n>.eml   the message as received
  <n>.json  a summary made by Python's email package (email.policy.default): envelope,
            decoded headers, content types, charsets and decoded text of the parts, MIME
            defects, the longest line, and the DKIM verification result (dkimpy) when
            --dkim-public-key is given
  stats.json  {"connections": ..., "messages": ..., "refused": ...}, rewritten after each
            message (--fast: every half second and at exit)

Files are written under a temporary name and renamed, so a file that exists is complete.

Options:
  --tls-cert/--tls-key   offer STARTTLS (and require it before MAIL); with --implicit-tls
                         TLS from the first byte instead
  --auth USER:PASSWORD   require AUTH (LOGIN or PLAIN, only after TLS)
  --reject 'bounce@*=550'  refuse RCPT TO for addresses matching the pattern (fnmatch,
                         case-insensitive) with that code; repeatable
  --defer 'later@*=451'  the same with a temporary code
  --reject-data 'spam@*=554'  accept RCPT TO but refuse the message after DATA
  --dkim-public-key FILE  the key dkimpy verifies DKIM signatures with, whatever DNS name it
                         asks for: a DNS TXT record ("v=DKIM1; k=rsa; p=...") or a PEM
                         public key (RSA or Ed25519)
  --ids FILE             append the Message-ID of every accepted message to FILE, one a line
  --fast                 only count messages (for benchmarks)
  --raw                  with --fast: answer with a minimal SMTP responder instead of
                         aiosmtpd (no TLS, AUTH or rules), to measure clients beyond what
                         aiosmtpd's per-command cost allows
  --quit-after N         exit after N accepted messages
  --reuse-port           SO_REUSEPORT, so several sink processes share one port

SIGTERM and SIGINT stop it cleanly (stats written, exit status 0).
"""

import argparse
import base64
import asyncio
import email
import email.policy
import fnmatch
import json
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_rules(values, kind):
    rules = []
    for value in values or []:
        pattern, _, code = value.rpartition("=")
        if not pattern or not code.isdigit() or len(code) != 3:
            sys.exit(f"--{kind} expects PATTERN=CODE, e.g. 'bounce@*=550', not {value!r}")
        rules.append((pattern.lower(), int(code)))
    return rules


def match(rules, address):
    for pattern, code in rules:
        if fnmatch.fnmatchcase(address.lower(), pattern):
            return code
    return None


def write_atomically(path, data):
    temp = path + ".tmp"
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, path)


class Stats:
    def __init__(self, out):
        self.out = out
        self.connections = 0
        self.messages = 0
        self.refused = 0
        self.dirty = False

    def write(self):
        if self.out is None:
            return
        data = {"connections": self.connections, "messages": self.messages, "refused": self.refused}
        write_atomically(os.path.join(self.out, "stats.json"), json.dumps(data).encode())
        self.dirty = False


def summarize(raw, envelope, connection, dkim_record):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    headers = {}
    defects = [str(d) for d in msg.defects]
    for name in ("Subject", "From", "To", "Reply-To", "Message-ID", "Date", "MIME-Version",
                 "List-Unsubscribe", "List-Unsubscribe-Post"):
        value = msg.get(name)
        if value is not None:
            headers[name] = str(value)
            defects += [f"{name}: {d}" for d in getattr(value, "defects", [])]
    addresses = {}
    for name in ("From", "To", "Reply-To"):
        value = msg.get(name)
        if value is not None:
            addresses[name] = [{"display_name": a.display_name, "addr_spec": a.addr_spec}
                               for a in value.addresses]
    parts = []
    for part in msg.walk():
        defects += [str(d) for d in part.defects] if part is not msg else []
        if part.is_multipart():
            continue
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "transfer_encoding": part.get("Content-Transfer-Encoding"),
            "text": part.get_content(),
        })
    lines = raw.split(b"\r\n")
    summary = {
        "envelope": {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)},
        "connection": connection,
        "headers": headers,
        "addresses": addresses,
        "dkim_signature_present": msg.get("DKIM-Signature") is not None,
        "content_type": msg.get_content_type(),
        "boundary": msg.get_boundary(),
        "parts": parts,
        "defects": defects,
        "max_line_length": max(len(line) for line in lines),
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    }
    if dkim_record is not None:
        import dkim  # dkimpy (Debian python3-dkim)
        asked = []

        def dnsfunc(name, timeout=5):
            asked.append(name.decode() if isinstance(name, bytes) else name)
            return dkim_record.encode()

        result = {"verified": False, "error": None}
        try:
            result["verified"] = bool(dkim.DKIM(raw).verify(dnsfunc=dnsfunc))
        except Exception as e:  # dkimpy raises for malformed signatures
            result["error"] = f"{type(e).__name__}: {e}"
        result["dns_names"] = asked
        summary["dkim"] = result
    return summary


def dkim_record(text):
    """The DNS TXT record of a key file holding a record or a PEM public key."""
    text = text.strip()
    if not text.startswith("-----BEGIN PUBLIC KEY-----"):
        return text
    der_b64 = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    der = base64.b64decode(der_b64)
    # An Ed25519 SubjectPublicKeyInfo is 44 bytes: a 12-byte prefix and the raw key, which is
    # what RFC 8463 puts in p=.
    if len(der) == 44 and der[:12] == bytes.fromhex("302a300506032b6570032100"):
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[12:]).decode()
    return "v=DKIM1; k=rsa; p=" + der_b64


MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>\r\n]+)>", re.IGNORECASE | re.MULTILINE)


class Handler:
    def __init__(self, args, stats, stop):
        self.args = args
        self.stats = stats
        self.stop = stop
        self.reject = parse_rules(args.reject, "reject")
        self.defer = parse_rules(args.defer, "defer")
        self.reject_data = parse_rules(args.reject_data, "reject-data")
        self.dkim_record = None
        # --ids: the Message-ID of every accepted message, one per line, written as it is accepted
        # (crash tests count deliveries per message with it).
        self.ids = open(args.ids, "a") if args.ids else None
        if args.dkim_public_key:
            with open(args.dkim_public_key) as f:
                self.dkim_record = dkim_record(f.read())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = match(self.reject, address)
        if code is not None:
            self.stats.refused += 1
            return f"{code} 5.1.1 <{address}>: mailbox unavailable (test rule)"
        code = match(self.defer, address)
        if code is not None:
            self.stats.refused += 1
            return f"{code} 4.2.1 <{address}>: try again later (test rule)"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for address in envelope.rcpt_tos:
            code = match(self.reject_data, address)
            if code is not None:
                self.stats.refused += 1
                return f"{code} 5.7.1 message refused (test rule)"
        self.stats.messages += 1
        n = self.stats.messages
        if self.ids is not None:
            raw = envelope.original_content or envelope.content
            found = MESSAGE_ID.search(raw)
            self.ids.write((found.group(1).decode() if found else "-") + "\n")
            self.ids.flush()
        if not self.args.fast:
            raw = envelope.original_content or envelope.content
            base = os.path.join(self.args.out, str(n))
            summary = summarize(raw, envelope, session.connection_number, self.dkim_record)
            write_atomically(base + ".eml", raw)
            write_atomically(base + ".json", json.dumps(summary, indent=1).encode())
            self.stats.write()
        else:
            self.stats.dirty = True
        if self.args.quit_after and n >= self.args.quit_after:
            asyncio.get_running_loop().call_soon(self.stop.set)
        return "250 2.0.0 OK: queued"


class RawSmtp(asyncio.Protocol):
    """The least SMTP a client needs: every command accepted, messages counted."""

    def __init__(self, stats):
        self.stats = stats
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport):
        self.transport = transport
        self.stats.connections += 1
        self.stats.dirty = True
        transport.write(b"220 smtp-sink.test ESMTP\r\n")

    def data_received(self, data):
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                self.buffer = self.buffer[end + 5:]
                self.in_data = False
                self.stats.messages += 1
                self.stats.dirty = True
                replies.append(b"250 2.0.0 OK: queued\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            verb = self.buffer[:4].upper()
            self.buffer = self.buffer[end + 2:]
            if verb == b"EHLO":
                replies.append(b"250-smtp-sink.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.in_data = True
                # The body follows the DATA line; "\r\n.\r\n" ends it.
                self.buffer = b"\r\n" + self.buffer
                replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            else:
                replies.append(b"250 OK\r\n")
        if replies:
            self.transport.write(b"".join(replies))


def make_protocol_factory(args, handler, stats, tls_context, loop):
    if args.raw:
        return lambda: RawSmtp(stats)
    authenticator = None
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False: aiosmtpd answers 535 itself on failure.
            return AuthResult(success=ok, handled=False)

    class CountingSMTP(SMTP):
        def connection_made(self, transport):
            # Called again on the TLS transport after STARTTLS: the same connection.
            if getattr(self, "_original_transport", None) is None:
                stats.connections += 1
                stats.dirty = True
                self.connection_number = stats.connections
            super().connection_made(transport)
            self.session.connection_number = self.connection_number

    def factory():
        return CountingSMTP(
            handler,
            hostname="smtp-sink.test",
            loop=loop,
            tls_context=tls_context if not args.implicit_tls else None,
            require_starttls=tls_context is not None and not args.implicit_tls,
            auth_required=bool(args.auth),
            # With implicit TLS aiosmtpd doesn't know the connection is encrypted.
            auth_require_tls=not args.implicit_tls,
            authenticator=authenticator,
            data_size_limit=64 * 1024 * 1024,
        )
    return factory


async def main(args):
    loop = asyncio.get_running_loop()
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    elif not args.fast:
        sys.exit("--out is required unless --fast")
    stats = Stats(args.out)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    handler = Handler(args, stats, stop)
    server = await loop.create_server(
        make_protocol_factory(args, handler, stats, tls_context, loop),
        host="127.0.0.1", port=args.port, reuse_port=args.reuse_port or None,
        ssl=tls_context if args.implicit_tls else None)
    port = server.sockets[0].getsockname()[1]
    stats.write()
    if args.port_file:
        write_atomically(args.port_file, str(port).encode())
    print(f"PORT {port}", flush=True)

    async def flush_stats():
        while True:
            await asyncio.sleep(0.5)
            if stats.dirty:
                stats.write()
    flusher = loop.create_task(flush_stats())
    await stop.wait()
    flusher.cancel()
    server.close()
    stats.write()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--out")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--ids")
    parser.add_argument("--reject", action="append")
    parser.add_argument("--defer", action="append")
    parser.add_argument("--reject-data", action="append")
    parser.add_argument("--dkim-public-key")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--quit-after", type=int, default=0)
    parser.add_argument("--reuse-port", action="store_true")
    parser.add_argument("--raw", action="store_true")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.exit("--tls-cert and --tls-key go together")
    if args.raw and not args.fast:
        sys.exit("--raw goes with --fast")
    if args.implicit_tls and not args.tls_cert:
        sys.exit("--implicit-tls needs --tls-cert and --tls-key")
    asyncio.run(main(args))
