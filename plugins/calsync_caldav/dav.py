"""The transport: one ``caldav.DAVClient`` (its keep-alive session) per provider, conditional requests, one-line
errors.

This module imports the ``caldav`` library; the provider imports it only when a caldav target is first used.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from caldav import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error
from caldav.lib.http_sync import requests as http  # niquests, or requests: whichever caldav uses
from caldav.lib.python_utilities import WireBytes
from caldav.response import CalendarQueryResult, DAVResponse, PropfindResult, SyncCollectionResult
from lxml import etree

from calsync import __version__
from calsync.errors import ProviderError

# The library's warnings are not the user's one-line errors: without a handler of its own, Python's last-resort
# handler would print them under the CLI's output. They still reach the root logger when someone configures it.
logging.getLogger("caldav").addHandler(logging.NullHandler())

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
T = TypeVar("T")

#: A 429, or a 503 with Retry-After, is retried by the caldav library itself (its rate-limit handling), sleeping what
#: the server asks but at most ``max_wait`` seconds in all (the ``max_wait`` target option); this is the default.
MAX_WAIT = 60.0
#: The wait after a 429 that gave no Retry-After.
DEFAULT_WAIT = 2
#: Tries of one request when the connection drops or the answer does not come within the timeout: only requests
#: that are safe to repeat (reads, and calsync's writes, which are all conditional).
TRANSPORT_TRIES = 3
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})


class GetCTag(BaseElement):
    """CalendarServer's CTag (for servers without sync-collection): ``caldav.elements`` has no element for it."""

    tag: ClassVar[str] = "{http://calendarserver.org/ns/}getctag"


# --- request bodies (built from caldav.elements) ---------------------------------------------------------------


def _xml(root: BaseElement) -> bytes:
    return etree.tostring(root.xmlelement(), encoding="utf-8", xml_declaration=True)


def propfind_body(*props: BaseElement) -> bytes:
    return _xml(dav.Propfind().append(dav.Prop().append(list(props))))


def sync_collection_body(token: str) -> bytes:
    """RFC 6578 sync-collection asking for ETags only: the content of changed resources is never requested here."""
    prop = dav.Prop().append(dav.GetEtag())
    return _xml(dav.SyncCollection().append([dav.SyncToken(value=token), dav.SyncLevel(value="1"), prop]))


def multiget_body(hrefs: Iterable[str]) -> bytes:
    prop = dav.Prop().append([dav.GetEtag(), cdav.CalendarData()])
    return _xml(cdav.CalendarMultiGet().append([prop, *(dav.Href(value=href) for href in hrefs)]))


# --- answers -----------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """What calsync keeps of one answer: its status and headers, the parsed body (None when the library turned a 403
    into an exception) and the preconditions of a ``<DAV:error>`` body (``no-uid-conflict``, ``valid-sync-token``)."""

    status: int
    headers: Mapping[str, str]
    response: DAVResponse | None
    conditions: list[str] = field(default_factory=list)
    #: True when the request was sent more than once (a dropped connection, a timeout): a conditional write may
    #: then have landed the first time, and its 412 or 404 be about calsync's own write.
    repeated: bool = False
    #: The body of an answer the library turned into an exception (a 403), for the server's reason.
    raw: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def condition(self) -> str | None:
        return self.conditions[0] if self.conditions else None

    @property
    def body(self) -> bytes:
        """The answer's body as sent (for a GET of one calendar resource)."""
        if self.response is None:
            return self.raw
        raw = self.response.raw
        return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)

    def results(self, where: str) -> list[PropfindResult]:
        """The ``<response>`` elements of a PROPFIND answer (hrefs as unquoted paths)."""
        return _parsed(where, lambda: self.response.parse_propfind() if self.response is not None else [])


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _conditions(response: DAVResponse) -> list[str]:
    tree = response.tree
    if tree is None or tree.tag != "{DAV:}error":
        return []
    return [_local(child.tag) for child in tree if isinstance(child.tag, str)]


def _parsed(where: str, parse: Callable[[], T]) -> T:
    try:
        return parse()
    except error.DAVError:  # ResponseError: a status inside the multistatus the library does not accept
        raise ProviderError(f"{where}: the server answered with a multistatus calsync cannot read") from None


def sync_results(where: str, response: DAVResponse) -> SyncCollectionResult:
    """A sync-collection answer: changed hrefs with ETags, removed hrefs, the new token, whether it was truncated."""
    return _parsed(where, response.parse_sync_collection)


def multiget_results(where: str, response: DAVResponse) -> list[CalendarQueryResult]:
    return _parsed(where, response.parse_calendar_query)


def text(result: PropfindResult, element: type[BaseElement]) -> str | None:
    """A property's text (ETag, sync-token, CTag, display name), stripped; None when absent or empty."""
    value = result.properties.get(element.tag)
    return value.strip() or None if isinstance(value, str) else None


def resource_types(result: PropfindResult) -> list[str]:
    # the library gives the child tags of a non-empty resourcetype, and its (blank) text for an empty one
    value = result.properties.get(dav.ResourceType.tag)
    return value if isinstance(value, list) else []


# --- the session ---------------------------------------------------------------------------------------------------


class Session:
    """One ``caldav.DAVClient`` for one target: its keep-alive HTTP session, authentication and one-line errors.

    ``where`` prefixes every error message (the target's name). ``auth_type`` is "basic" (sent up front, no extra
    round trip) or "digest" (chosen when a server challenges with Digest only, then remembered by the provider).
    """

    def __init__(
        self,
        where: str,
        url: str,
        *,
        username: str | None,
        password: str | None,
        verify: bool | str = True,
        timeout: float = 30.0,
        auth_type: str | None = None,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.where = where
        self.timeout = timeout
        self.requests = 0
        self.transport_retries = 0  # requests sent again after a dropped connection or a timeout
        self._challenge: str | None = None
        self.client = DAVClient(
            url=url,
            username=username,
            password=password,
            auth_type=auth_type if username is not None else None,
            ssl_verify_cert=verify,
            timeout=timeout,
            headers={"User-Agent": f"calsync/{__version__}"},
            enable_rfc6764=False,  # discovery.py does the well-known step itself, through this session
            rate_limit_handle=max_wait > 0,
            rate_limit_default_sleep=DEFAULT_WAIT,
            rate_limit_max_sleep=max_wait,  # type: ignore[arg-type]  (seconds; the library sums its sleeps)
        )
        hooks = self.client.session.hooks
        hooks.setdefault("pre_request", []).append(self._count)  # every request sent, redirects included
        hooks["response"].append(self._remember_challenge)

    def _count(self, request: Any, **_: Any) -> None:
        self.requests += 1

    def _remember_challenge(self, response: Any, **_: Any) -> None:
        if response.status_code == 401:
            self._challenge = response.headers.get("WWW-Authenticate")

    @property
    def auth_type(self) -> str | None:
        return self.client.auth_type

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Reply:
        """One request; any status comes back as a Reply. Raises ProviderError for transport failures and refused
        logins. The body is sent byte for byte (the library would otherwise rewrite its line endings)."""

        def send() -> Reply:
            try:
                response = self.client.request(url, method, WireBytes(body) if body else "", headers)
            except error.AuthorizationError as exc:
                if exc.status != 403:
                    raise
                # a 403 is an answer here (no-uid-conflict, valid-sync-token, a read-only calendar), not a login
                raw = exc.body.encode("utf-8") if isinstance(exc.body, str) else bytes(exc.body or b"")
                return Reply(403, {}, None, [_local(tag) for tag in exc.preconditions], raw=raw)
            return Reply(response.status, response.headers, response, _conditions(response))

        repeatable = method in _SAFE_METHODS or any(
            key.lower() in ("if-match", "if-none-match") for key in (headers or {})
        )
        attempt = 0
        while True:
            try:
                reply = self.call(send, url, retry_transient=repeatable and attempt + 1 < TRANSPORT_TRIES)
            except _Transient:
                attempt += 1
                self.transport_retries += 1
                time.sleep(0.25 * 2 ** (attempt - 1))
                continue
            reply.repeated = attempt > 0
            return reply

    def call(self, what: Callable[[], T], url: str, retry_transient: bool = False) -> T:
        """Run a library call (a request, or a discovery step that makes several), with transport failures and
        refused logins as one-line ProviderErrors. Other ``caldav.lib.error`` exceptions are the caller's. With
        ``retry_transient``, a dropped connection or a timeout raises _Transient instead (the caller sends again)."""
        try:
            return what()
        except error.AuthorizationError as exc:
            if exc.status == 401 and self._switch_to_digest():
                return self.call(what, url)
            if exc.status == 401:
                raise ProviderError(self._login_message(url)) from None
            raise
        except error.RateLimitError as exc:
            raise ProviderError(
                f"{self.where}: {host(url)} asks to slow down ({exc.status}): try again later"
            ) from None
        except http.exceptions.SSLError as exc:
            raise ProviderError(f"{self.where}: {_tls_message(host(url), exc)}") from None
        except http.exceptions.Timeout as exc:
            if retry_transient and _transient(exc):
                raise _Transient from exc
            raise ProviderError(f"{self.where}: {host(url)} did not answer within {self.timeout:g} s") from None
        except http.exceptions.ConnectionError as exc:
            if retry_transient and _transient(exc):
                raise _Transient from exc
            raise ProviderError(f"{self.where}: cannot reach {host(url)} ({_connection_reason(exc)})") from None
        except http.exceptions.RequestException as exc:
            raise ProviderError(f"{self.where}: {url} failed: {_one_line(str(exc))}") from None
        except etree.XMLSyntaxError:
            raise ProviderError(f"{self.where}: {host(url)} answered with malformed XML") from None

    def _switch_to_digest(self) -> bool:
        """After a 401 to Basic from a server that offers only Digest: use Digest (once)."""
        challenge = (self._challenge or "").lower()
        client = self.client
        if client.username is None or client.auth_type != "basic" or "digest" not in challenge or "basic" in challenge:
            return False
        client.auth_type = "digest"
        client.build_auth_object()
        return True

    def _login_message(self, url: str) -> str:
        username = self.client.username
        if username is None:
            return f"{self.where}: {host(url)} asks for a login (401): set username and a password"
        return f"{self.where}: {host(url)} refused the login of {username!r} (401): check the username and password"


class _Transient(Exception):
    """A dropped connection or a timeout, on a request that may be sent again."""


def _transient(exc: BaseException) -> bool:
    """A failure that sending again may cure: the connection dropped or the answer was late; not a refused
    connection, an unknown host or a TLS failure."""
    if isinstance(exc, http.exceptions.SSLError | http.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, http.exceptions.Timeout):
        return True
    reason = _connection_reason(exc)
    return reason != "unknown host name" and "refused" not in reason


# --- one-line messages -------------------------------------------------------------------------------------------


def host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def _one_line(message: str, limit: int = 200) -> str:
    line = " ".join(message.split())
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
    message = " ".join(str(item) for item in chain).lower()
    if any(isinstance(item, ConnectionRefusedError) for item in chain) or "refused" in message:
        return "connection refused: is the server running and the port right?"
    if (
        any(isinstance(item, socket.gaierror) for item in chain)
        or "name resolution" in message
        or "not known" in message
    ):
        return "unknown host name"
    if any(isinstance(item, TimeoutError) for item in chain) or "timed out" in message:
        return "timed out"
    if "reset" in message:
        return "connection reset"
    return _one_line(str(exc), 120)


def _tls_message(server: str, exc: BaseException) -> str:
    message = " ".join(str(item) for item in _chain(exc))
    match = re.search(r"certificate verify failed: ([^(]+?)\s*\(", message)
    if match:
        return (
            f"TLS certificate of {server} not trusted ({match.group(1).strip()}): "
            "set ca_bundle to the CA certificate that signed it"
        )
    return f"TLS handshake with {server} failed: {_one_line(message, 150)}"
