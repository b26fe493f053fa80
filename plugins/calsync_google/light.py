"""The no-change check on the standard library: one incremental ``events.list`` through ``http.client``.

A re-sync that finds nothing changed takes one request (``events.list`` with the saved sync token); importing the
Google client (googleapiclient, httplib2, google-auth: pyparsing, cryptography) and building the service from its
discovery document costs more than that request. So when the state knows the calendar and the OAuth token file holds
an access token that is still good, the provider asks here first, and this path answers only when it is sure:

* Sure: a 200 whose ``items`` hold none of calsync's events (the user's own changes only move the token), with a
  ``nextSyncToken`` and no further page.
* Not sure (None): anything else (an expired sync token's 410, a refused token's 401, a page token, one of calsync's
  events changed, a failed connection or TLS handshake). The provider then asks again through the Google client,
  which does what it always did and words any error the usual way.

It is used only where it sends what the client would: an OAuth token file (a service account goes through the
client), an access token with more than five minutes left (google-auth refreshes at 3 min 45 s), and no proxy
variable in the environment (httplib2 honours them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")
#: An access token closer than this to its expiry goes through google-auth, which refreshes it.
MARGIN = timedelta(minutes=5)


def access_token(token_file: Path, now: datetime | None = None) -> str | None:
    """The access token of an OAuth token file written by ``calsync auth``, when google-auth would send it as it is
    (no refresh due); None otherwise."""
    try:
        info = json.loads(token_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("token"), str) or not info["token"]:
        return None
    if not info.get("refresh_token") or not info.get("client_id"):
        return None  # google-auth refuses such a file: its error message is the client's
    expiry = info.get("expiry")
    if expiry is not None:
        try:
            when = datetime.fromisoformat(str(expiry).replace("Z", "+00:00"))
        except ValueError:
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if when - MARGIN <= (now or datetime.now(UTC)):
            return None
    return str(info["token"])


def usable(url: str) -> bool:
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    return not any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


def list_changes(
    api_root: str, calendar_id: str, params: Mapping[str, Any], token: str, timeout: float
) -> tuple[int, bytes] | None:
    """GET the calendar's events with ``params``: (status, body), or None when the request could not be made."""
    import http.client

    url = f"{api_root}calendar/v3/calendars/{quote(calendar_id, safe='')}/events"
    parts = urlsplit(url)
    query = urlencode({**{k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}, "alt": "json"})
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Accept-Encoding": "identity"}
    try:
        if parts.scheme == "https":
            import ssl

            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            conn.request("GET", f"{parts.path}?{query}", headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return None


def unchanged_token(body: bytes, ours: Callable[[dict[str, Any]], bool]) -> str | None:
    """The next sync token when an incremental listing is complete and holds none of calsync's events."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    if not isinstance(answer, dict) or answer.get("nextPageToken"):
        return None
    events = answer.get("items", [])
    if not isinstance(events, list) or any(not isinstance(e, dict) or ours(e) for e in events):
        return None
    token = answer.get("nextSyncToken")
    return token if isinstance(token, str) and token else None
