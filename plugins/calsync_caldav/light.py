"""The no-change check on the standard library: one REPORT or PROPFIND through ``http.client``, no ``caldav``.

A re-sync run from cron mostly finds nothing changed, and that answer takes one request; importing the ``caldav``
library and its HTTP stack (niquests, urllib3, lxml) costs more than the request itself. So when the provider already
knows the calendar and holds a token, it asks here first, and answers only when this path is sure:

* Sure: a 207 whose multistatus names none of calsync's resources (the user's own changes only move the token) and
  is not truncated; or a CTag equal to the saved one.
* Not sure (None): any other status (a refused login, a redirect, an expired token), a change of calsync's items, a
  body it cannot read, a failed connection or TLS handshake. The provider then asks again through its full session,
  which does what it always did and words any error the usual way; the cost of a light path that could not answer is
  one request more, never a different outcome.

It is used only where it sends what the full session would: Basic or no login (Digest goes through the session), no
proxy variable in the environment and, without a username, no ``~/.netrc`` (the session's HTTP library honours both).
TLS is verified as the session does: the system's trust store, or ``ca_bundle`` (or ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE``, which the session's library also honours) alone.

Writes (:class:`Writer`) go the same way once the session has found the calendar: a PUT or DELETE on a keep-alive
``http.client`` connection costs a fraction of the library's client work per request, which a first sync of a
thousand items pays a thousand times. The writer answers only what it can word as the session would (a 2xx, a
refusal, a failed precondition); a refused login, a redirect, a request to slow down (429, 503) or a failed
connection go to the session, which sends the write again and does what it always did.
"""

from __future__ import annotations

import base64
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
XML = "application/xml; charset=utf-8"


def usable(url: str, username: str | None) -> bool:
    """Whether a request sent here goes out as the full session would send it."""
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    if any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES):
        return False
    return not (username is None and (os.environ.get("NETRC") or os.path.exists(os.path.expanduser("~/.netrc"))))


def request(
    method: str,
    url: str,
    body: bytes,
    *,
    username: str | None,
    password: str | None,
    verify: bool | str,
    timeout: float,
    user_agent: str,
) -> tuple[int, bytes] | None:
    """One request with ``Depth: 0``: (status, body), or None when it could not be made or its answer not read (the
    connection, TLS, an answer in a form read here with doubt). Straight on a socket, ``Connection: close``:
    ``http.client`` would cost more to import (it loads ``email`` and ``ssl``) than this request takes."""
    import socket

    parts = urlsplit(url)
    headers = {"Depth": "0", "Content-Type": XML, "Accept-Encoding": "identity"}
    headers.update(_login_headers(username, password, user_agent))
    head = _head(method, parts, headers, len(body))
    if head is None:
        return None
    try:
        with socket.create_connection((parts.hostname or "", parts.port or _PORTS[parts.scheme]), timeout) as raw:
            sock = raw
            if parts.scheme == "https":
                sock = _tls(verify).wrap_socket(raw, server_hostname=parts.hostname)
            with sock, sock.makefile("rb") as answer:
                sock.sendall(head + body)
                return _read_answer(answer, method)
    except (OSError, ValueError):
        return None


_PORTS = {"http": 80, "https": 443}
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MAX_LINE = 65536
_MAX_BODY = 64 << 20


def _head(method: str, parts, headers: dict[str, str], length: int) -> bytes | None:
    """The request line and headers, or None when something in them could not go out as is (a blank in the path,
    a control character, a character beyond ASCII: the full session words that)."""
    path = _path(parts)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc.rsplit('@', 1)[-1]}", "Connection: close"]
    lines += [f"Content-Length: {length}", *(f"{key}: {value}" for key, value in headers.items())]
    if " " in path or any(ord(char) < 32 or ord(char) > 126 for line in lines for char in line if char != " "):
        return None
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _read_answer(answer, method: str) -> tuple[int, bytes]:
    """(status, body) of an HTTP/1.x answer (RFC 9112): informational answers skipped, the body by
    Content-Length, chunked, or up to the close. Raises ValueError on anything else."""
    while True:
        status_line = answer.readline(_MAX_LINE)
        version, _, rest = status_line.decode("latin-1").partition(" ")
        code = rest[:3]
        if not (version.startswith("HTTP/1.") and code.isdigit() and status_line.endswith(b"\n")):
            raise ValueError("not an HTTP/1.x answer")
        fields: dict[str, str] = {}
        while True:
            line = answer.readline(_MAX_LINE)
            if not line.endswith(b"\n"):
                raise ValueError("a header line cut short")
            if line in (b"\r\n", b"\n"):
                break
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name or not set(name) <= _TOKEN_CHARS:
                raise ValueError("a malformed header line")
            key = name.lower()
            if key in fields and key in ("content-length", "transfer-encoding"):
                raise ValueError(f"{key} given twice")
            fields[key] = value.strip()
        status = int(code)
        if 100 <= status < 200:
            continue
        break
    if method == "HEAD" or status in (204, 304):
        return status, b""
    coding = fields.get("transfer-encoding", "").lower()
    if coding:
        if coding != "chunked":
            raise ValueError(f"transfer-encoding {coding}")
        return status, _chunked(answer)
    if "content-length" in fields:
        length = int(fields["content-length"])
        if not 0 <= length <= _MAX_BODY:
            raise ValueError("content-length out of range")
        body = answer.read(length)
        if len(body) != length:
            raise ValueError("the answer was cut short")
        return status, body
    return status, answer.read(_MAX_BODY)  # delimited by the close (Connection: close was asked for)


def _chunked(answer) -> bytes:
    body = bytearray()
    while True:
        size_line = answer.readline(_MAX_LINE)
        if not size_line.endswith(b"\n"):
            raise ValueError("a chunk size cut short")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size < 0 or len(body) + size > _MAX_BODY:
            raise ValueError("a chunk out of range")
        if size == 0:
            while answer.readline(_MAX_LINE) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields, not needed
            return bytes(body)
        chunk = answer.read(size)
        if len(chunk) != size or answer.readline(_MAX_LINE) not in (b"\r\n", b"\n"):
            raise ValueError("a chunk cut short")
        body += chunk


def _login_headers(username: str | None, password: str | None, user_agent: str) -> dict[str, str]:
    headers = {"User-Agent": user_agent}
    if username is not None:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def _path(parts) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _connect(url: str, verify: bool | str, timeout: float, context=None):
    """An unopened ``http.client`` connection to the URL's host (TLS as the session verifies it, or ``context``)."""
    import http.client

    parts = urlsplit(url)
    if parts.scheme == "https":
        context = context or _tls(verify)
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)


def _tls(verify: bool | str):
    import ssl

    if verify is False:
        raise ValueError("unverified TLS goes through the full session")
    from_env = next((os.environ[name] for name in _CA_VARIABLES if os.environ.get(name)), None)
    cafile = verify if isinstance(verify, str) else from_env
    return ssl.create_default_context(cafile=cafile)


# --- writes ------------------------------------------------------------------------------------------------------

#: Answers the writer leaves to the session, which sends the write again: a login to refuse or to switch to Digest,
#: a redirect to follow, a request to slow down (the session waits as the server asks). None of them did the write.
SESSION_STATUSES = frozenset({301, 302, 303, 307, 308, 401, 407, 429, 503})


@dataclass
class Answer:
    """A write's answer, read as the session's ``Reply`` is (the provider reads either): status, headers, the body,
    the preconditions of a ``<DAV:error>`` body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    raw: bytes
    conditions: list[str] = field(default_factory=list)
    repeated: bool = False
    response: None = None  # the session's parsed answer; a write's answer needs none

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def condition(self) -> str | None:
        return self.conditions[0] if self.conditions else None

    @property
    def body(self) -> bytes:
        return self.raw


class NotSent(Exception):
    """The writer could not get an answer; ``maybe_done`` when the request went out before the failure (the write
    may have landed: the session's second try is then a repeat)."""

    def __init__(self, maybe_done: bool) -> None:
        super().__init__("the light write got no answer")
        self.maybe_done = maybe_done


class Writer:
    """Writes on keep-alive ``http.client`` connections: one at a time each, kept for the next request when it
    is done (one write in flight: one connection, whichever thread sends on it)."""

    def __init__(
        self, url: str, *, username: str | None, password: str | None, verify: bool | str, timeout: float,
        user_agent: str,
    ) -> None:  # fmt: skip
        # one TLS context for every connection; settings it cannot take (verify=False) fail here, before any write
        self._context = _tls(verify) if urlsplit(url).scheme == "https" else None
        self.url = url
        self.timeout = timeout
        self.headers = _login_headers(username, password, user_agent)
        self.sent = 0
        self._idle: list = []
        self._lock = threading.Lock()

    def send(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """One request; raises NotSent when no answer came (the connection is then closed)."""
        import http.client

        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = _connect(self.url, False, self.timeout, self._context)
            except (OSError, ValueError):
                raise NotSent(maybe_done=False) from None
        went_out = False
        try:
            if conn.sock is None:
                conn.connect()  # a refused connection or a failed handshake: nothing went out
            conn.putrequest(method, _path(urlsplit(url)), skip_accept_encoding=True)
            for key, value in {**self.headers, **headers}.items():
                conn.putheader(key, value)
            conn.putheader("Content-Length", str(len(body)))
            went_out = True  # from here on, some of the request may have reached the server
            with self._lock:
                self.sent += 1
            conn.endheaders(body)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise NotSent(maybe_done=went_out) from None
        if response.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        headers = {key.lower(): value for key, value in response.getheaders()}
        return Answer(response.status, response.reason, headers, raw, _conditions(raw))

    def close(self) -> None:
        with self._lock:
            for conn in self._idle:
                conn.close()
            self._idle.clear()


def _conditions(body: bytes) -> list[str]:
    """The preconditions a ``<DAV:error>`` body names (``no-uid-conflict``...), by local name."""
    if not body.lstrip().startswith(b"<"):
        return []
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return []
    if root.tag != "{DAV:}error":
        return []
    return [child.tag.rsplit("}", 1)[-1] for child in root if isinstance(child.tag, str)]


# --- bodies and answers ---------------------------------------------------------------------------------------


def sync_body(token: str) -> bytes:
    """RFC 6578 sync-collection from ``token``, ETags only (what the full session sends)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<D:sync-collection xmlns:D="DAV:">'
        f"<D:sync-token>{_escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
        "<D:prop><D:getetag/></D:prop></D:sync-collection>"
    ).encode()


def _escape(text: str) -> str:
    # xml.sax.saxutils.escape would import urllib.request (and ssl) for three replacements
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


CTAG_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
    b"<D:prop><CS:getctag/></D:prop></D:propfind>"
)


def _multistatus(body: bytes) -> ET.Element | None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    return root if root.tag == "{DAV:}multistatus" else None


def unchanged_token(body: bytes, changed: Callable[[str, str | None], bool]) -> str | None:
    """The new sync-token when a sync-collection answer is complete and ``changed(path, etag)`` is False for every
    member it names (``etag`` None for a member removed); else None. ``changed`` says whether a member is one of
    calsync's resources, other than the caller knows it."""
    root = _multistatus(body)
    if root is None:
        return None
    for response in root.findall("{DAV:}response"):
        href = (response.findtext("{DAV:}href") or "").strip()
        path = unquote(urlsplit(href).path)
        statuses = [response.findtext("{DAV:}status") or ""]
        etag = None
        for stat in response.findall("{DAV:}propstat"):
            status = stat.findtext("{DAV:}status") or ""
            statuses.append(status)
            if " 200 " in f"{status} ":
                etag = (stat.findtext("{DAV:}prop/{DAV:}getetag") or "").strip() or None
        if changed(path, etag):
            return None
        if any(" 507 " in f"{status} " for status in statuses):
            return None  # a truncated answer (507 on the collection): the full session pages through it
    token = (root.findtext("{DAV:}sync-token") or "").strip()
    return token or None


def ctag(body: bytes) -> str | None:
    """The CTag of a Depth 0 PROPFIND answer about one calendar, None when it holds none."""
    root = _multistatus(body)
    if root is None:
        return None
    responses = root.findall("{DAV:}response")
    if len(responses) != 1:
        return None
    for propstat in responses[0].findall("{DAV:}propstat"):
        if " 200 " not in f"{propstat.findtext('{DAV:}status') or ''} ":
            continue
        value = (propstat.findtext("{DAV:}prop/{http://calendarserver.org/ns/}getctag") or "").strip()
        if value:
            return value
    return None
