"""The little WebDAV/CalDAV a sync needs: one keep-alive HTTP session, request bodies, multistatus parsing.

The HTTP library is the one the ``caldav`` package depends on (niquests, or requests for old caldav versions),
imported when the first connection opens, never at plugin load.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from xml.sax.saxutils import escape

from calsync import __version__
from calsync.errors import ProviderError

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"

XML_HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
MAX_REDIRECTS = 5


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


# --- request bodies --------------------------------------------------------------------------------------------

_PROPS = {
    "resourcetype": "<d:resourcetype/>",
    "displayname": "<d:displayname/>",
    "getetag": "<d:getetag/>",
    "sync-token": "<d:sync-token/>",
    "current-user-principal": "<d:current-user-principal/>",
    "calendar-home-set": "<c:calendar-home-set/>",
    "supported-calendar-component-set": "<c:supported-calendar-component-set/>",
    "getctag": "<cs:getctag/>",
}
_NAMESPACES = f'xmlns:d="{DAV}" xmlns:c="{CALDAV}" xmlns:cs="{CS}"'


def propfind_body(*names: str) -> bytes:
    props = "".join(_PROPS[name] for name in names)
    head = f'<?xml version="1.0" encoding="utf-8"?><d:propfind {_NAMESPACES}>'
    return f"{head}<d:prop>{props}</d:prop></d:propfind>".encode()


def sync_collection_body(token: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection {_NAMESPACES}>'
        f"<d:sync-token>{escape(token)}</d:sync-token><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    ).encode()


def multiget_body(hrefs: list[str]) -> bytes:
    listed = "".join(f"<d:href>{escape(href)}</d:href>" for href in hrefs)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget {_NAMESPACES}>'
        f"<d:prop><d:getetag/><c:calendar-data/></d:prop>{listed}</c:calendar-multiget>"
    ).encode()


def mkcalendar_body(display_name: str, components: list[str]) -> bytes:
    comps = "".join(f'<c:comp name="{name}"/>' for name in components)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><c:mkcalendar {_NAMESPACES}><d:set><d:prop>'
        f"<d:displayname>{escape(display_name)}</d:displayname>"
        f"<c:supported-calendar-component-set>{comps}</c:supported-calendar-component-set>"
        "</d:prop></d:set></c:mkcalendar>"
    ).encode()


# --- multistatus -----------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One ``<response>`` of a multistatus: its path, its own status (a removed member in a sync report) and the
    properties found (status 200)."""

    path: str
    status: int | None
    props: dict[str, ET.Element] = field(default_factory=dict)

    def text(self, namespace: str, name: str) -> str | None:
        element = self.props.get(tag(namespace, name))
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def href(self, namespace: str, name: str) -> str | None:
        """The first ``<href>`` inside a property (current-user-principal, calendar-home-set)."""
        element = self.props.get(tag(namespace, name))
        if element is None:
            return None
        found = element.find(tag(DAV, "href"))
        if found is None or not (found.text or "").strip():
            return None
        return found.text.strip()

    def resource_types(self) -> set[str]:
        element = self.props.get(tag(DAV, "resourcetype"))
        return {child.tag for child in element} if element is not None else set()

    @property
    def is_collection(self) -> bool:
        return tag(DAV, "collection") in self.resource_types()

    @property
    def is_calendar(self) -> bool:
        return tag(CALDAV, "calendar") in self.resource_types()

    def components(self) -> list[str] | None:
        """The supported-calendar-component-set, or None when the server did not say (any component)."""
        element = self.props.get(tag(CALDAV, "supported-calendar-component-set"))
        if element is None:
            return None
        names = [comp.get("name", "").upper() for comp in element.iter(tag(CALDAV, "comp"))]
        return [name for name in names if name] or None


@dataclass
class Multistatus:
    entries: list[Entry]
    sync_token: str | None = None


_STATUS = re.compile(r"^\S+\s+(\d{3})")


def _status(element: ET.Element | None) -> int | None:
    if element is None or element.text is None:
        return None
    match = _STATUS.match(element.text.strip())
    return int(match.group(1)) if match else None


def path_of(href: str) -> str:
    """The path of an href, which servers give either as a path or as a full URL."""
    return urlsplit(href.strip()).path


def parse_multistatus(body: bytes, where: str) -> Multistatus:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise ProviderError(f"{where}: the server answered with malformed XML") from None
    if root.tag != tag(DAV, "multistatus"):
        raise ProviderError(f"{where}: the server answered with something other than a WebDAV multistatus")
    entries = []
    for response in root.findall(tag(DAV, "response")):
        href = response.find(tag(DAV, "href"))
        if href is None or not (href.text or "").strip():
            continue
        entry = Entry(path_of(href.text), _status(response.find(tag(DAV, "status"))))
        for propstat in response.findall(tag(DAV, "propstat")):
            status = _status(propstat.find(tag(DAV, "status")))
            prop = propstat.find(tag(DAV, "prop"))
            if prop is None or (status is not None and not 200 <= status < 300):
                continue
            for element in prop:
                entry.props[element.tag] = element
        entries.append(entry)
    token = root.find(tag(DAV, "sync-token"))
    sync_token = token.text.strip() if token is not None and token.text else None
    return Multistatus(entries, sync_token)


def error_condition(body: bytes) -> str | None:
    """The precondition named in a ``<DAV:error>`` body (``valid-sync-token``, ``no-uid-conflict``, ...)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != tag(DAV, "error"):
        return None
    for child in root:
        name = child.tag.rsplit("}", 1)[-1]
        if name != "responsedescription":
            return name
    return None


def same_path(a: str, b: str) -> bool:
    return unquote(a).rstrip("/") == unquote(b).rstrip("/")


def child_name(parent: str, path: str) -> str | None:
    """The member name when ``path`` is a direct child of the collection ``parent``, else None."""
    parent_u, path_u = unquote(parent).rstrip("/"), unquote(path)
    if path_u.endswith("/"):
        return None
    head, name = posixpath.split(path_u)
    return name if head == parent_u and name else None


# --- HTTP ------------------------------------------------------------------------------------------------------


class Response:
    """What calsync keeps of an HTTP response."""

    def __init__(self, status: int, headers: Any, content: bytes, url: str) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.url = url

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Connection:
    """A keep-alive session to one server, with authentication and one-line errors.

    ``where`` prefixes every error message (the target's name). ``auth_scheme`` is "basic" (sent up front, no
    extra round trip) or "digest" (chosen when a server challenges only with Digest).
    """

    def __init__(
        self,
        where: str,
        *,
        username: str | None,
        password: str | None,
        verify: bool | str = True,
        timeout: float = 30.0,
        auth_scheme: str = "basic",
    ) -> None:
        try:
            import niquests as http
        except ImportError:  # caldav < 2 depends on requests instead
            import requests as http  # type: ignore[no-redef]
        self._http = http
        self.where = where
        self.username = username
        self._password = password
        self.verify = verify
        self.timeout = timeout
        self.auth_scheme = auth_scheme
        self.session = http.Session()
        self.session.headers["User-Agent"] = f"calsync/{__version__}"
        self._auth = self._make_auth()
        self.requests = 0

    def _make_auth(self) -> Any:
        if self.username is None:
            return None
        if self.auth_scheme == "digest":
            return self._http.auth.HTTPDigestAuth(self.username, self._password or "")
        return self._http.auth.HTTPBasicAuth(self.username, self._password or "")

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One request, no redirects followed. Raises ProviderError for transport failures and refused logins."""
        for _attempt in range(2):
            response = self._send(method, url, body, headers)
            if response.status != 401:
                return response
            challenge = (response.header("WWW-Authenticate") or "").lower()
            digest_only = "digest" in challenge and "basic" not in challenge
            if self.username is not None and self.auth_scheme == "basic" and digest_only:
                self.auth_scheme = "digest"
                self._auth = self._make_auth()
                continue
            break
        host = _host(url)
        if self.username is None:
            raise ProviderError(f"{self.where}: {host} asks for a login (401): set username and a password")
        raise ProviderError(
            f"{self.where}: {host} refused the login of {self.username!r} (401): check the username and password"
        )

    def request_following(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        """A request that follows redirects with the same method and body (discovery: /.well-known/caldav)."""
        for _hop in range(MAX_REDIRECTS + 1):
            response = self.request(method, url, body, headers)
            location = response.header("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                target = urljoin(url, location)
                if urlsplit(target).scheme not in ("http", "https"):
                    break
                if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
                    raise ProviderError(f"{self.where}: {url} redirects to plain HTTP ({target}): refusing")
                url = target
                continue
            return response
        raise ProviderError(f"{self.where}: too many redirects from {url}")

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None) -> Response:
        http = self._http
        self.requests += 1
        try:
            raw = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                auth=self._auth,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
            content = raw.content or b""
        except http.exceptions.SSLError as exc:
            raise ProviderError(f"{self.where}: {_tls_message(_host(url), exc)}") from None
        except http.exceptions.Timeout:
            raise ProviderError(f"{self.where}: {_host(url)} did not answer within {self.timeout:g} s") from None
        except http.exceptions.ConnectionError as exc:
            raise ProviderError(f"{self.where}: cannot reach {_host(url)} ({_connection_reason(exc)})") from None
        except http.exceptions.RequestException as exc:
            raise ProviderError(f"{self.where}: {method} {url} failed: {_one_line(str(exc))}") from None
        return Response(raw.status_code, raw.headers, content, url)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack and len(seen) < 20:
        current = stack.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(linked, BaseException):
                stack.append(linked)
    return seen


def _connection_reason(exc: BaseException) -> str:
    import socket

    chain = _chain(exc)
    text = " ".join(str(item) for item in chain).lower()
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "refused" in text:
        return "connection refused: is the server running and the port right?"
    if any(isinstance(item, socket.gaierror) for item in chain) or "name resolution" in text or "not known" in text:
        return "unknown host name"
    if any(isinstance(item, TimeoutError) for item in chain) or "timed out" in text:
        return "timed out"
    if "reset" in text:
        return "connection reset"
    return _one_line(str(exc), 120)


def _tls_message(host: str, exc: BaseException) -> str:
    text = " ".join(str(item) for item in _chain(exc))
    match = re.search(r"certificate verify failed: ([^(]+?)\s*\(", text)
    if match:
        return (
            f"TLS certificate of {host} not trusted ({match.group(1).strip()}): "
            "set ca_bundle to the CA certificate that signed it"
        )
    return f"TLS handshake with {host} failed: {_one_line(text, 150)}"
