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
"""

from __future__ import annotations

import base64
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_XML = "application/xml; charset=utf-8"


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
    """One request with ``Depth: 0``: (status, body), or None when it could not be made (the connection, TLS)."""
    import http.client

    parts = urlsplit(url)
    headers = {"Depth": "0", "Content-Type": _XML, "User-Agent": user_agent, "Accept-Encoding": "identity"}
    if username is not None:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=_tls(verify)
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return None


def _tls(verify: bool | str):
    import ssl

    if verify is False:
        raise ValueError("unverified TLS goes through the full session")
    from_env = next((os.environ[name] for name in _CA_VARIABLES if os.environ.get(name)), None)
    cafile = verify if isinstance(verify, str) else from_env
    return ssl.create_default_context(cafile=cafile)


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


def unchanged_token(body: bytes, ours: Callable[[str], bool]) -> str | None:
    """The new sync-token when a sync-collection answer names none of calsync's resources and is complete; else
    None. ``ours(path)`` says whether a member path is one of calsync's resource names in the calendar."""
    root = _multistatus(body)
    if root is None:
        return None
    for response in root.findall("{DAV:}response"):
        href = (response.findtext("{DAV:}href") or "").strip()
        path = unquote(urlsplit(href).path)
        if ours(path):
            return None
        statuses = [response.findtext("{DAV:}status") or ""] + [
            stat.findtext("{DAV:}status") or "" for stat in response.findall("{DAV:}propstat")
        ]
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
