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
import hashlib
import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

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


# --- the counting proxy -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    status: int
    body: bytes


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
        self._lock = threading.Lock()
        self._local = threading.local()
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}/"
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def _forward(self) -> None:
                proxy._forward(self)

        for method in _METHODS:
            setattr(Handler, f"do_{method}", Handler._forward)
        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
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
        with self._lock:
            self.records.append(Record(handler.command, handler.path, response.status, body))
        handler.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() in _HOP_BY_HOP or key.lower() in ("date", "server"):
                continue
            if self.strip_etag and handler.command == "PUT" and key.lower() == "etag":
                continue
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

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
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(self.direct_url)
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
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password or "")
    return server
