"""Session fixtures: real CalDAV servers (Radicale, Xandikos) on 127.0.0.1.

* ``radicale_server``: Radicale with htpasswd authentication (plain-text entries: no bcrypt needed).
* ``radicale_noauth_server``: Radicale with ``[auth] type = none`` (any password is accepted).
* ``xandikos_server``: Xandikos over HTTPS (a throw-away CA made here; ``ca_bundle`` points at it) with Basic
  authentication from an htpasswd ``{SHA}`` entry.
* ``caldav_server``: parametrized over Radicale and Xandikos; every provider test that takes it runs on both.

Each server sits behind a :class:`CountingProxy`: a small keep-alive reverse proxy in the test process that records
every request (method, path, status, body), so tests count what a sync costs. ``Server.url`` goes through the proxy
(plain HTTP); ``Server.direct_url`` reaches the server itself. Helpers on :class:`Server` (``put``, ``get``,
``make_calendar``...) talk to the server directly, the way the user's phone would, and are never counted.

Nothing listens beyond 127.0.0.1; storage lives in pytest's temporary directories; the servers are stopped at the
end of the session.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import posixpath
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from reliability import count

HOST = "127.0.0.1"
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
STARTUP_SECONDS = 30

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_METHODS = ("GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS", "PROPFIND", "PROPPATCH", "REPORT", "MKCALENDAR", "MKCOL")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"server exited with {process.returncode}:\n{output}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on {HOST}:{port} within {STARTUP_SECONDS} s")


# --- faults on demand -------------------------------------------------------------------------------------------

_UID_LINE = re.compile(rb"^UID:(.*?)\r?$", re.MULTILINE)


def body_uid(body: bytes) -> str | None:
    found = _UID_LINE.search(body)
    return found.group(1).strip().decode() if found else None


@dataclass
class Faults:
    """How the proxy misbehaves, like real servers do. Every field off by default; tests set what they need.

    ``refuse``
        marker (bytes found in a PUT's body: a UID, a SUMMARY) -> status: that PUT is answered with the status (400,
        403, 409, 413...) and a short plain-text reason, and never reaches the server.
    ``etag_form``
        "weak", "unquoted" or "percent": the ETag of PUT answers rewritten so (GMX, Bedework...).
    ``trash_bin``
        Nextcloud's trash bin: a PUT re-creating (If-None-Match) a UID deleted through the proxy gets 400; a DELETE
        of a resource already deleted gets 403.
    ``unique_uids``
        iCloud, Fastmail: a PUT of a UID that another calendar holds (as written through the proxy) gets 409 with
        ``no-uid-conflict`` naming that resource.
    ``busy``
        the next requests answered with these statuses (429, 503) and ``Retry-After: 1``, one each.
    ``drop``
        N writes (PUT, DELETE) are forwarded, then the connection is closed without an answer (never two writes
        in a row: the write sent again goes through).
    ``slow``
        (N, seconds): the next N requests answered that much later.
    ``chance``
        with a random.Random, (rng, p): every request meets one fault from ``busy`` / ``drop`` kinds with
        probability p (at most ``budget`` in all).
    """

    refuse: dict[bytes, int] = field(default_factory=dict)
    etag_form: str | None = None
    trash_bin: bool = False
    trash_status: int = 400  # Nextcloud; SOGo answers 409
    unique_uids: bool = False
    busy: list[int] = field(default_factory=list)
    drop: int = 0
    slow: tuple[int, float] = (0, 0.0)
    chance: tuple[random.Random, float] | None = None
    budget: int = 0
    injected: list[str] = field(default_factory=list)
    dropped_last: bool = False
    trashed: set[str] = field(default_factory=set)
    trashed_paths: set[str] = field(default_factory=set)
    homes: dict[str, str] = field(default_factory=dict)  # UID -> resource path, as written through the proxy
    uids: dict[str, str] = field(default_factory=dict)  # resource path -> UID

    def note(self, kind: str) -> None:
        self.injected.append(kind)
        count("faults", kind)


def _reform(etag: str, form: str) -> str:
    bare = etag.strip()
    if bare.upper().startswith("W/"):
        bare = bare[2:]
    bare = bare.strip('"')
    return {"weak": f'W/"{bare}"', "unquoted": bare, "percent": f"%22{bare}%22"}[form]


# --- the counting proxy -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    status: int
    body: bytes
    #: how long the server took to answer (the upstream round trip; 0 for answers made up by the proxy)
    seconds: float = 0.0
    #: the client's port: requests with the same one came on the same connection
    client: int = 0
    #: when the proxy sent it on (``time.perf_counter()`` of the process running the proxy; 0 for made-up answers)
    at: float = 0.0


class CountingProxy:
    """A reverse proxy on 127.0.0.1 that forwards to one upstream server and records every request.

    ``strip_etag`` drops the ETag header of PUT responses (a server that does not tell the new ETag).
    ``fake(method, status, times)`` answers the next ``times`` requests of ``method`` with ``status`` without
    forwarding them (a server or middlebox in trouble: a spurious 404).
    """

    def __init__(self, upstream: str, ssl_context: ssl.SSLContext | None = None) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or HOST
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl_context = ssl_context if parts.scheme == "https" else None
        self.records: list[Record] = []
        self.strip_etag = False
        self.faked: dict[str, list[int]] = {}
        self.faults = Faults()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # an answer's head and body leave in one write, as servers send them: written apart, the body waits
            # for the client's delayed ACK of the head (Nagle), 40 ms that no real server adds to each answer
            wbufsize = 1 << 16

            def log_message(self, format, *args):  # quiet
                pass

            def _forward(self) -> None:
                proxy._forward(self)

        for method in _METHODS:
            setattr(Handler, f"do_{method}", Handler._forward)

        class Quiet(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that gave up (a fault test): not news
                pass

        self._server = Quiet((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _upstream(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.ssl_context is not None:
                conn = http.client.HTTPSConnection(
                    self.upstream_host, self.upstream_port, context=self.ssl_context, timeout=60
                )
            else:
                conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
            self._local.conn = conn
        return conn

    def fake(self, method: str, status: int, times: int = 1) -> None:
        with self._lock:
            self.faked[method] = [status] * times

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            faked = self.faked.get(handler.command)
            status = faked.pop() if faked else None
            if status is not None:
                self.records.append(Record(handler.command, handler.path, status, body))
        if status is not None:
            handler.send_response_only(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body or handler.command in ("PUT", "POST", "PROPFIND", "REPORT", "PROPPATCH", "MKCALENDAR"):
            headers["Content-Length"] = str(len(body))
        method, path = handler.command, urlsplit(handler.path).path
        early = self._fault_before(handler, method, path, body)
        if early is not None:
            status, extra, payload = early
            with self._lock:
                self.records.append(Record(method, handler.path, status, body))
            self._answer(handler, status, http.client.responses.get(status, ""), extra, payload)
            return
        started = time.perf_counter()
        for attempt in range(2):
            conn = self._upstream()
            try:
                conn.request(handler.command, handler.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        if response.will_close:
            conn.close()
        seconds = time.perf_counter() - started
        with self._lock:
            self.records.append(
                Record(
                    handler.command, handler.path, response.status, body, seconds, handler.client_address[1], started
                )
            )
        self._after(method, path, body, response.status)
        if self._drop(method):
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        out = []
        for key, value in response.getheaders():
            if key.lower() in _HOP_BY_HOP or key.lower() in ("date", "server"):
                continue
            if handler.command == "PUT" and key.lower() == "etag":
                if self.strip_etag:
                    continue
                if self.faults.etag_form:
                    self.faults.note(f"etag-{self.faults.etag_form}")
                    value = _reform(value, self.faults.etag_form)
            out.append((key, value))
        self._answer(handler, response.status, response.reason, out, payload)

    def _answer(self, handler, status: int, reason: str, headers, payload: bytes) -> None:
        handler.send_response_only(status, reason)
        for key, value in headers:
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _fault_before(self, handler, method: str, path: str, body: bytes):
        """An answer made up here instead of the server's: (status, headers, body), or None to forward."""
        faults = self.faults
        with self._lock:
            slow_n, slow_s = faults.slow
            if slow_n:
                faults.slow = (slow_n - 1, slow_s)
        if slow_n:
            faults.note("slow")
            time.sleep(slow_s)
        with self._lock:
            status = faults.busy.pop(0) if faults.busy else None
            if status is None and faults.chance is not None and faults.budget > 0:
                rng, probability = faults.chance
                if rng.random() < probability:
                    kind = rng.choice(["429", "503", "drop"])
                    faults.budget -= 1
                    if kind == "drop":
                        faults.drop += 1 if method in ("PUT", "DELETE") else 0
                    else:
                        status = int(kind)
        if status is not None:
            faults.note(str(status))
            return status, [("Retry-After", "1")], b"slow down\n"
        if method == "PUT":
            uid = body_uid(body)
            for marker, refused in faults.refuse.items():
                if marker in body:
                    faults.note(f"refuse-{refused}")
                    return refused, [("Content-Type", "text/plain")], b"refused by the test proxy: too large\n"
            if faults.trash_bin and uid in faults.trashed and handler.headers.get("If-None-Match") == "*":
                faults.note("trash-bin-put")
                message = b'<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
                message += b"<s:message>Deleted calendar object with uid already exists in this calendar "
                message += b"collection.</s:message></d:error>"
                return faults.trash_status, [("Content-Type", "application/xml")], message
            home = faults.homes.get(uid or "")
            if faults.unique_uids and home and posixpath.dirname(home) != posixpath.dirname(path):
                faults.note("uid-in-another-calendar")
                message = (
                    '<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                    f"<C:no-uid-conflict><D:href>{home}</D:href></C:no-uid-conflict></D:error>"
                ).encode()
                return 409, [("Content-Type", "application/xml")], message
        if method == "DELETE" and faults.trash_bin and path in faults.trashed_paths:
            faults.note("trash-bin-delete")
            return 403, [("Content-Type", "text/plain")], b"forbidden\n"
        return None

    def _after(self, method: str, path: str, body: bytes, status: int) -> None:
        """What the fault modes remember of a request the server answered."""
        faults = self.faults
        with self._lock:
            if method == "PUT" and status in (200, 201, 204):
                uid = body_uid(body)
                if uid:
                    faults.homes[uid] = path
                    faults.uids[path] = uid
                    faults.trashed.discard(uid)
                    faults.trashed_paths.discard(path)
            elif method == "DELETE" and status in (200, 204):
                uid = faults.uids.pop(path, None)
                if uid is not None:
                    faults.homes.pop(uid, None)
                    faults.trashed.add(uid)
                faults.trashed_paths.add(path)

    def _drop(self, method: str) -> bool:
        """Whether to drop this write's answer: one write in two at most (a resent write goes through)."""
        faults = self.faults
        with self._lock:
            if method not in ("PUT", "DELETE"):
                return False
            if faults.drop and not faults.dropped_last:
                faults.drop -= 1
                faults.dropped_last = True
                faults.note("drop")
                return True
            faults.dropped_last = False
        return False

    # --- counting -------------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.records.clear()

    def count(self, *methods: str) -> int:
        with self._lock:
            return sum(1 for record in self.records if not methods or record.method in methods)

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- servers ----------------------------------------------------------------------------------------------------


@dataclass
class Server:
    """A running CalDAV server. Helpers talk to it directly (not through the proxy): the user's other clients."""

    kind: str
    url: str
    direct_url: str
    username: str | None
    password: str | None
    home: str
    proxy: CountingProxy
    ca_bundle: str | None = None
    ssl_context: ssl.SSLContext | None = None

    def options(self, calendar: str, **extra) -> dict:
        """Target options for the provider, through the counting proxy; the password comes from the environment."""
        options = {"url": self.url, "calendar": calendar}
        if self.username is not None:
            options.update(username=self.username, password_env="CALSYNC_TEST_CALDAV_PASSWORD")
        options.update(extra)
        return options

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, proxied: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """One request to the server (``proxied``: through the proxy, so that its fault modes see it)."""
        parts = urlsplit(self.url if proxied else self.direct_url)
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=self.ssl_context, timeout=60)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        all_headers = dict(headers or {})
        if self.username is not None:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            all_headers["Authorization"] = f"Basic {token}"
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def unique_name(self, prefix: str = "cal") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    def make_calendar(self, display_name: str, components: tuple[str, ...] = ("VEVENT", "VTODO")) -> str:
        """Create a calendar (id = display name) in the home set; returns its path."""
        path = f"{self.home}{display_name}/"
        comps = "".join(f'<C:comp name="{name}"/>' for name in components)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{display_name}</D:displayname>"
            f"<C:supported-calendar-component-set>{comps}</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>"
        ).encode()
        status, _, content = self.request("MKCALENDAR", path, body, {"Content-Type": "application/xml"})
        assert status in (200, 201), (status, content)
        return path

    def put(self, path: str, ics: bytes, headers: dict | None = None) -> tuple[int, str | None]:
        status, response_headers, _ = self.request(
            "PUT", path, ics, {"Content-Type": "text/calendar; charset=utf-8", **(headers or {})}
        )
        return status, response_headers.get("etag")

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, content = self.request("GET", path)
        return status, content

    def delete(self, path: str) -> int:
        return self.request("DELETE", path)[0]

    def members(self, calendar_path: str) -> dict[str, str]:
        """Every resource in a calendar: path → ETag (PROPFIND Depth 1)."""
        import xml.etree.ElementTree as ET

        body = b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>'
        status, _, content = self.request(
            "PROPFIND", calendar_path, body, {"Depth": "1", "Content-Type": "application/xml"}
        )
        assert status == 207, status
        found = {}
        for response in ET.fromstring(content).findall("{DAV:}response"):
            href = urlsplit(response.findtext("{DAV:}href").strip()).path
            etag = response.findtext(".//{DAV:}getetag")
            if not href.endswith("/"):
                found[href] = etag
        return found


def _start(command: list[str], log: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    handle = log.open("wb")
    process = subprocess.Popen(
        command,
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    handle.close()
    try:
        wait_for_port(port, process, log)
    except Exception:
        process.kill()
        raise
    return process


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _radicale(tmp: Path, auth: bool) -> Iterator[Server]:
    port = free_port()
    config = tmp / "radicale.conf"
    lines = [
        "[server]",
        f"hosts = {HOST}:{port}",
        "[storage]",
        f"filesystem_folder = {tmp / 'collections'}",
        "[logging]",
        "level = warning",
        "mask_passwords = True",
        "[auth]",
        "delay = 0",
    ]
    if auth:
        htpasswd = tmp / "htpasswd"
        htpasswd.write_text(f"{USERNAME}:{PASSWORD}\n")
        lines += ["type = htpasswd", f"htpasswd_filename = {htpasswd}", "htpasswd_encryption = plain"]
    else:
        lines += ["type = none"]
    config.write_text("\n".join(lines) + "\n")
    process = _start([sys.executable, "-m", "radicale", "-C", str(config)], tmp / "radicale.log", port)
    direct = f"http://{HOST}:{port}/"
    proxy = CountingProxy(direct)
    password = PASSWORD if auth else "anything"
    try:
        yield Server(
            "radicale" if auth else "radicale-noauth", proxy.url, direct, USERNAME, password, f"/{USERNAME}/", proxy
        )
    finally:
        proxy.close()
        _stop(process)


def _make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, server.crt, server.key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calsync test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=400))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "selfsigned.crt", directory / "selfsigned.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def _xandikos(tmp: Path) -> Iterator[Server]:
    port = free_port()
    state = tmp / "state"
    ca_path, _, _ = _make_certificate(state / "certs")  # --autocert reuses a valid certificate found there
    htpasswd = tmp / "htpasswd"
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    htpasswd.write_text(f"{USERNAME}:{{SHA}}{digest}\n")
    command = [
        sys.executable, "-m", "xandikos", "serve",
        "--defaults", "-d", str(tmp / "data"), "--state-dir", str(state),
        "-l", HOST, "-p", str(port), "--autocert", "--htpasswd", str(htpasswd),
    ]  # fmt: skip
    process = _start(command, tmp / "xandikos.log", port)
    context = ssl.create_default_context(cafile=str(ca_path))
    direct = f"https://{HOST}:{port}/"
    proxy = CountingProxy(direct, context)
    try:
        yield Server(
            "xandikos", proxy.url, direct, USERNAME, PASSWORD, "/user/calendars/", proxy, str(ca_path), context
        )
    finally:
        proxy.close()
        _stop(process)


@pytest.fixture(scope="session")
def radicale_server(tmp_path_factory) -> Iterator[Server]:
    yield from _radicale(tmp_path_factory.mktemp("radicale"), auth=True)


@pytest.fixture(scope="session")
def radicale_noauth_server(tmp_path_factory) -> Iterator[Server]:
    yield from _radicale(tmp_path_factory.mktemp("radicale-noauth"), auth=False)


@pytest.fixture(scope="session")
def xandikos_server(tmp_path_factory) -> Iterator[Server]:
    pytest.importorskip("cryptography", reason="xandikos --autocert needs cryptography")
    yield from _xandikos(tmp_path_factory.mktemp("xandikos"))


@pytest.fixture(params=["radicale", "xandikos"])
def caldav_server(request, monkeypatch) -> Server:
    """Each server in turn, its proxy's counters reset, its password in CALSYNC_TEST_CALDAV_PASSWORD."""
    server: Server = request.getfixturevalue(f"{request.param}_server")
    server.proxy.reset()
    server.proxy.strip_etag = False
    server.proxy.faked.clear()
    server.proxy.faults = Faults()
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password or "")
    return server
