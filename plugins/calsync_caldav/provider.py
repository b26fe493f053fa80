"""The CalDAV provider: calsync's items in one calendar of a CalDAV server (Nextcloud, Fastmail, iCloud, Radicale...).

How it finds its items
    Each item lives at a resource name derived from its UID: ``calsync-<32 hex>.ics`` for calsync's own UIDs
    (``<32 hex>@calsync``), ``calsync-u<40 hex of SHA-256(UID)>.ics`` for any other UID. A listing is a PROPFIND
    Depth 1 (hrefs and ETags only; the content of the user's events is never requested); a resource is calsync's
    when its name has that form and, the first time it is seen or after someone changed it, a calendar-multiget of
    just those resources shows ``X-CALSYNC-MANAGED:1`` and the UID the name was derived from.
How a re-sync stays cheap
    The scan token is the calendar's sync-token (RFC 6578): a ``sync-collection`` REPORT answers "nothing changed"
    in one request, or names the few resources that did. Servers without sync-collection get a CTag comparison
    (one PROPFIND). The discovered calendar URL and its components are kept in ``self.state``.
How it writes
    PUT with ``If-None-Match: *`` to create, PUT/DELETE with ``If-Match: <etag>`` to change: a concurrent edit on
    the user's phone is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.provider import (
    Action,
    Item,
    Outcome,
    Provider,
    RemoteItem,
    Scan,
    Target,
    Written,
    is_managed,
    uid_of,
)
from calsync_caldav import dav

COMPONENTS = {"event": "VEVENT", "todo": "VTODO"}
MULTIGET_CHUNK = 100
MAX_SYNC_ROUNDS = 50
_GONE = (301, 308, 404)  # the calendar is not where the state says: discover it again

_CALSYNC_UID = re.compile(r"^([0-9a-f]{32})@calsync$")
_OUR_NAME = re.compile(r"^calsync-(?:(?P<hex>[0-9a-f]{32})|u[0-9a-f]{40})\.ics$")


def resource_name(uid: str) -> str:
    """The resource name of the item with this UID: the same on every run, safe in any URL."""
    match = _CALSYNC_UID.match(uid)
    if match:
        return f"calsync-{match.group(1)}.ics"
    return f"calsync-u{hashlib.sha256(uid.encode('utf-8')).hexdigest()[:40]}.ics"


def is_our_name(name: str) -> bool:
    return _OUR_NAME.match(name) is not None


def uid_from_name(name: str) -> str | None:
    """The UID a resource name stands for, when the name says it (calsync's own UIDs); else None."""
    match = _OUR_NAME.match(name)
    return f"{match.group('hex')}@calsync" if match and match.group("hex") else None


class _ItemRefused(ProviderError):
    """The server refused one item (bad data, a component it does not take): reported, the sync goes on."""


class _CalendarGone(Exception):
    """The calendar remembered in the state is not there any more."""


class CalDAVProvider(Provider):
    name: ClassVar[str] = "caldav"
    supports_todo: ClassVar[bool] = True

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        component = str(target.option("component", "event")).lower()
        if component not in COMPONENTS:
            raise ProviderError(f'target {target.name}: component must be "event" or "todo", not {component!r}')
        self.component = COMPONENTS[component]
        self.start_url = _normalize_url(target.name, target.option("url"))
        calendar = target.option("calendar")
        self.calendar_option = str(calendar) if calendar not in (None, "") else None
        self.create_missing = bool(target.option("create", False))
        username = target.option("username")
        self.username = str(username) if username not in (None, "") else None
        self.timeout = float(target.option("timeout", 30))
        ca_bundle = target.option("ca_bundle")
        self.verify: bool | str = str(ca_bundle) if ca_bundle else True
        self._conn: dav.Connection | None = None
        self._calendar_url: str | None = None

    # --- connection and discovery ---------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"target {self.target.name}"

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (for tests and the bench)."""
        return self._conn.requests if self._conn is not None else 0

    def _connection(self) -> dav.Connection:
        if self._conn is None:
            from calsync.secrets import get_password

            password = None
            if self.username is not None:
                password = get_password(self.target)
                if password is None:
                    raise ProviderError(
                        f"{self.where}: no password for {self.username!r}: set password_command or password_env, "
                        f"or store it with `keyring set calsync {self.target.name}`"
                    )
            if isinstance(self.verify, str):
                from pathlib import Path

                if not Path(self.verify).expanduser().is_file():
                    raise ProviderError(f"{self.where}: ca_bundle {self.verify} is not a file")
                self.verify = str(Path(self.verify).expanduser())
            self._conn = dav.Connection(
                self.where,
                username=self.username,
                password=password,
                verify=self.verify,
                timeout=self.timeout,
                auth_scheme=str(self.state.get("auth", "basic")),
            )
        return self._conn

    def _fingerprint(self) -> str:
        return json.dumps([self.start_url, self.calendar_option, self.username, self.component])

    def _calendar(self) -> str:
        """The calendar's URL: from the state when this configuration found it before, else discovered now."""
        if self._calendar_url is not None:
            return self._calendar_url
        conn = self._connection()
        if self.state.get("fingerprint") != self._fingerprint():
            self.state.clear()
        url = self.state.get("calendar_url")
        if not url:
            url, components = self._discover(conn)
            self.state.update(fingerprint=self._fingerprint(), calendar_url=url, components=components)
        self._check_component(url, self.state.get("components"))
        if conn.auth_scheme != "basic":
            self.state["auth"] = conn.auth_scheme
        self._calendar_url = url
        return url

    def _forget_calendar(self) -> None:
        self._calendar_url = None
        self.state.pop("calendar_url", None)
        self.state.pop("components", None)

    def _check_component(self, url: str, components: list[str] | None) -> None:
        if components is None or self.component in components:
            return
        kinds = ", ".join(components) or "nothing"
        wanted = "tasks (VTODO)" if self.component == "VTODO" else "events (VEVENT)"
        raise ProviderError(
            f"{self.where}: the calendar {url} does not take {wanted}, only {kinds}: "
            f"choose another calendar (with create = true, a new one) or another component"
        )

    def _discover(self, conn: dav.Connection) -> tuple[str, list[str] | None]:
        props = dav.propfind_body(
            "resourcetype",
            "displayname",
            "current-user-principal",
            "calendar-home-set",
            "supported-calendar-component-set",
        )
        parts = urlsplit(self.start_url)
        candidates = [self.start_url]
        if parts.path in ("", "/"):
            root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
            candidates = [urljoin(root, "/.well-known/caldav"), root]
        response = None
        for url in candidates:
            response = conn.request_following("PROPFIND", url, props, {**dav.XML_HEADERS, "Depth": "0"})
            if response.status == 207:
                break
        assert response is not None
        here = response.url
        if response.status == 404:
            raise ProviderError(f"{self.where}: nothing at {here} (404): check url")
        if response.status == 403:
            raise ProviderError(f"{self.where}: {here} refused access (403): check url and username")
        if response.status != 207:
            raise ProviderError(
                f"{self.where}: {here} is not a CalDAV server (PROPFIND answered {response.status}): check url"
            )
        entry = _entry_for(dav.parse_multistatus(response.content, self.where), here)
        if entry is not None and entry.status == 404:
            raise ProviderError(f"{self.where}: nothing at {here} (404): check url")
        if entry is not None and entry.is_calendar:
            if self.calendar_option is not None and not _matches(self.calendar_option, here, entry):
                raise ProviderError(
                    f"{self.where}: url {here} is a calendar, but calendar = {self.calendar_option!r} names another: "
                    "give the server's address as url, or drop calendar"
                )
            return _as_collection(here), entry.components()
        home = entry.href(dav.CALDAV, "calendar-home-set") if entry is not None else None
        principal = entry.href(dav.DAV, "current-user-principal") if entry is not None else None
        if home is None and principal is not None and not dav.same_path(dav.path_of(principal), urlsplit(here).path):
            principal_url = urljoin(here, principal)
            answer = conn.request_following(
                "PROPFIND", principal_url, dav.propfind_body("calendar-home-set"), {**dav.XML_HEADERS, "Depth": "0"}
            )
            if answer.status == 207:
                found = _entry_for(dav.parse_multistatus(answer.content, self.where), answer.url)
                home = found.href(dav.CALDAV, "calendar-home-set") if found is not None else None
                if home is not None:
                    here = answer.url
        home_url = _as_collection(urljoin(here, home) if home is not None else here)
        return self._find_calendar(conn, home_url)

    def _find_calendar(self, conn: dav.Connection, home_url: str) -> tuple[str, list[str] | None]:
        props = dav.propfind_body("resourcetype", "displayname", "supported-calendar-component-set")
        response = conn.request("PROPFIND", home_url, props, {**dav.XML_HEADERS, "Depth": "1"})
        if response.status != 207:
            raise ProviderError(f"{self.where}: cannot list the calendars at {home_url} ({response.status}): check url")
        calendars = [
            entry
            for entry in dav.parse_multistatus(response.content, self.where).entries
            if entry.is_calendar and not dav.same_path(entry.path, urlsplit(home_url).path)
        ]
        names = ", ".join(sorted(_label(entry) for entry in calendars)) or "none"
        if self.calendar_option is None:
            raise ProviderError(f"{self.where}: set calendar to one of the calendars at {home_url}: {names}")
        found = [entry for entry in calendars if _id_of(entry.path) == self.calendar_option]
        if not found:
            found = [entry for entry in calendars if entry.text(dav.DAV, "displayname") == self.calendar_option]
        if not found:
            wanted = self.calendar_option.casefold()
            found = [entry for entry in calendars if (entry.text(dav.DAV, "displayname") or "").casefold() == wanted]
        if len(found) > 1:
            ids = ", ".join(_id_of(entry.path) for entry in found)
            raise ProviderError(
                f"{self.where}: {len(found)} calendars are named {self.calendar_option!r} ({ids}): "
                "set calendar to the id of one"
            )
        if found:
            entry = found[0]
            return _as_collection(urljoin(home_url, entry.path)), entry.components()
        if not self.create_missing:
            raise ProviderError(
                f"{self.where}: no calendar {self.calendar_option!r} at {home_url} (there: {names}); "
                "set create = true to create it"
            )
        return self._make_calendar(conn, home_url, calendars)

    def _make_calendar(
        self, conn: dav.Connection, home_url: str, existing: list[dav.Entry]
    ) -> tuple[str, list[str] | None]:
        assert self.calendar_option is not None
        base = re.sub(r"[^a-z0-9]+", "-", self.calendar_option.lower()).strip("-") or "calsync"
        taken = {_id_of(entry.path) for entry in existing}
        slug = base
        counter = 2
        while slug in taken:
            slug = f"{base}-{counter}"
            counter += 1
        url = urljoin(home_url, quote(slug) + "/")
        body = dav.mkcalendar_body(self.calendar_option, [self.component])
        response = conn.request("MKCALENDAR", url, body, dav.XML_HEADERS)
        if response.status in (200, 201):
            return url, [self.component]
        if response.status == 403:
            raise ProviderError(f"{self.where}: the server does not let {self.username or 'you'} create calendars")
        raise ProviderError(
            f"{self.where}: could not create the calendar {self.calendar_option!r} at {url} "
            f"(MKCALENDAR answered {response.status})"
        )

    # --- listing ----------------------------------------------------------------------------------------------

    def list_items(self) -> Iterable[RemoteItem]:
        return list(self.scan({}, None).items.values())

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
        for _attempt in range(2):
            calendar = self._calendar()
            saved = self._parse_token(token, calendar)
            try:
                if saved is not None and "sync" in saved:
                    result = self._scan_sync(calendar, known, saved["sync"])
                    if result is not None:
                        return result
                elif saved is not None and "ctag" in saved and self._ctag(calendar) == saved["ctag"]:
                    return Scan(dict(known), token)
                return self._scan_all(calendar, known)
            except _CalendarGone:
                self._forget_calendar()
                token = None
        raise ProviderError(f"{self.where}: the calendar disappeared twice while listing it")

    def _parse_token(self, token: str | None, calendar: str) -> dict[str, str] | None:
        if not token:
            return None
        try:
            saved = json.loads(token)
        except ValueError:
            return None
        if not isinstance(saved, dict) or saved.get("calendar") != calendar:
            return None
        return saved

    def _token(self, calendar: str, sync: str | None, ctag: str | None) -> str | None:
        if sync:
            return json.dumps({"calendar": calendar, "sync": sync})
        if ctag:
            return json.dumps({"calendar": calendar, "ctag": ctag})
        return None

    def _scan_sync(self, calendar: str, known: Mapping[str, RemoteItem], sync_token: str) -> Scan | None:
        """Apply what changed since ``sync_token`` to ``known``; None when the server no longer knows the token."""
        conn = self._connection()
        changed: dict[str, str | None] = {}
        removed: set[str] = set()
        for _round in range(MAX_SYNC_ROUNDS):
            response = conn.request(
                "REPORT", calendar, dav.sync_collection_body(sync_token), {**dav.XML_HEADERS, "Depth": "0"}
            )
            if response.status in _GONE:
                raise _CalendarGone
            if response.status != 207:
                return None  # an expired or foreign token (403/409/412 valid-sync-token): list everything
            status = dav.parse_multistatus(response.content, self.where)
            truncated = False
            for entry in status.entries:
                if dav.same_path(entry.path, urlsplit(calendar).path):
                    truncated = entry.status == 507
                    continue
                name = dav.child_name(urlsplit(calendar).path, entry.path)
                if name is None or not is_our_name(name):
                    continue
                href = self._href(calendar, name)
                if entry.status == 404:
                    removed.add(href)
                    changed.pop(href, None)
                else:
                    changed[href] = entry.text(dav.DAV, "getetag")
                    removed.discard(href)
            if not status.sync_token:
                return None
            sync_token = status.sync_token
            if not truncated:
                break
        new_token = self._token(calendar, sync_token, None)
        if not changed and not removed:
            return Scan(dict(known), new_token)
        by_href = {item.href: item for item in known.values()}
        for href in removed:
            by_href.pop(href, None)
        return Scan(self._merge(calendar, by_href, changed), new_token)

    def _ctag(self, calendar: str) -> str | None:
        response = self._connection().request(
            "PROPFIND", calendar, dav.propfind_body("getctag"), {**dav.XML_HEADERS, "Depth": "0"}
        )
        if response.status in _GONE:
            raise _CalendarGone
        if response.status != 207:
            return None
        entry = _entry_for(dav.parse_multistatus(response.content, self.where), calendar)
        return entry.text(dav.CS, "getctag") if entry is not None else None

    def _scan_all(self, calendar: str, known: Mapping[str, RemoteItem]) -> Scan:
        props = dav.propfind_body("resourcetype", "getetag", "sync-token", "getctag")
        response = self._connection().request("PROPFIND", calendar, props, {**dav.XML_HEADERS, "Depth": "1"})
        if response.status in _GONE:
            raise _CalendarGone
        if response.status != 207:
            raise ProviderError(f"{self.where}: cannot list {calendar} (PROPFIND answered {response.status})")
        path = urlsplit(calendar).path
        sync = ctag = None
        present: dict[str, str | None] = {}
        entries = dav.parse_multistatus(response.content, self.where).entries
        own = next((entry for entry in entries if dav.same_path(entry.path, path)), None)
        if own is None or own.status == 404:  # some servers say 404 inside a 207
            raise _CalendarGone
        for entry in entries:
            if entry is own:
                sync, ctag = entry.text(dav.DAV, "sync-token"), entry.text(dav.CS, "getctag")
                continue
            name = dav.child_name(path, entry.path)
            if name is None or entry.is_collection or not is_our_name(name):
                continue
            present[self._href(calendar, name)] = entry.text(dav.DAV, "getetag")
        by_href = {item.href: item for item in known.values() if item.href in present}
        return Scan(self._merge(calendar, by_href, present), self._token(calendar, sync, ctag))

    def _merge(
        self, calendar: str, by_href: dict[str, RemoteItem], seen: Mapping[str, str | None]
    ) -> dict[str, RemoteItem]:
        """``by_href`` updated with the resources ``seen`` (href → ETag): those already known with the same ETag
        are kept as they are; new or changed ones are fetched (only they) to check they still are calsync's."""
        to_check = [
            href
            for href, etag in seen.items()
            if not (href in by_href and etag is not None and by_href[href].etag == etag)
        ]
        for href in to_check:
            by_href.pop(href, None)
        for item in self._fetch_managed(calendar, to_check, seen):
            by_href[item.href] = item
        return {item.uid: item for item in by_href.values()}

    def _fetch_managed(self, calendar: str, hrefs: list[str], etags: Mapping[str, str | None]) -> Iterator[RemoteItem]:
        import icalendar

        conn = self._connection()
        path = urlsplit(calendar).path
        for start in range(0, len(hrefs), MULTIGET_CHUNK):
            chunk = hrefs[start : start + MULTIGET_CHUNK]
            response = conn.request("REPORT", calendar, dav.multiget_body(chunk), dav.XML_HEADERS)
            if response.status in _GONE:
                raise _CalendarGone
            if response.status != 207:
                raise ProviderError(
                    f"{self.where}: cannot read calsync's items in {calendar} (multiget answered {response.status})"
                )
            for entry in dav.parse_multistatus(response.content, self.where).entries:
                name = dav.child_name(path, entry.path)
                data = entry.text(dav.CALDAV, "calendar-data")
                if name is None or data is None or not is_our_name(name):
                    continue
                try:
                    parsed = icalendar.Calendar.from_ical(data)
                except ValueError:
                    continue
                components = [sub for sub in parsed.subcomponents if sub.name in ("VEVENT", "VTODO")]
                if not components or not all(is_managed(sub) for sub in components):
                    continue
                uid = uid_of(components[0])
                if resource_name(uid) != name:
                    continue
                href = self._href(calendar, name)
                yield RemoteItem(uid, href, entry.text(dav.DAV, "getetag") or etags.get(href))

    # --- writing ----------------------------------------------------------------------------------------------

    def create(self, item: Item) -> Written:
        calendar = self._calendar()
        name = resource_name(item.uid)
        href = self._href(calendar, name)
        response = self._put(href, item, {"If-None-Match": "*"})
        if response.status in (200, 201, 204):
            return Written(href, response.header("ETag") or self._etag(href))
        if response.status == 412:
            raise PreconditionFailed(href, f"an item exists already at {href}")
        if _uid_conflict(response):
            raise PreconditionFailed(href, f"another resource of this calendar holds UID {item.uid}")
        raise self._refusal("create", href, response)

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._check_ours(href)
        if etag is None:
            etag = self._etag(href)
            if etag is None:
                raise NotFound(href)
        response = self._put(href, item, {"If-Match": etag})
        if response.status in (200, 201, 204):
            return Written(href, response.header("ETag") or self._etag(href))
        if response.status == 404:
            raise NotFound(href)
        if response.status == 412:
            raise self._conflict(href)
        raise self._refusal("update", href, response)

    def delete(self, href: str, etag: str | None) -> None:
        self._check_ours(href)
        if etag is None:
            etag = self._etag(href)
            if etag is None:
                raise NotFound(href)
        response = self._connection().request("DELETE", self._url(href), None, {"If-Match": etag})
        if response.status in (200, 202, 204):
            return
        if response.status == 404:
            raise NotFound(href)
        if response.status == 412:
            raise self._conflict(href)
        raise self._refusal("delete", href, response)

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        for action in actions:
            try:
                yield self.apply_one(action)
            except _ItemRefused as exc:
                yield Outcome(action, error=exc)

    def _put(self, href: str, item: Item, condition: dict[str, str]) -> dav.Response:
        headers = {"Content-Type": dav.ICS_CONTENT_TYPE, **condition}
        return self._connection().request("PUT", self._url(href), item.ical, headers)

    def _etag(self, href: str) -> str | None:
        """The current ETag of one resource (None when it is gone): for servers that send none after a PUT."""
        response = self._connection().request(
            "PROPFIND", self._url(href), dav.propfind_body("getetag"), {**dav.XML_HEADERS, "Depth": "0"}
        )
        if response.status != 207:
            return None
        entry = _entry_for(dav.parse_multistatus(response.content, self.where), self._url(href))
        if entry is None or entry.status == 404:
            return None
        return entry.text(dav.DAV, "getetag")

    def _conflict(self, href: str) -> Exception:
        """A failed If-Match: the item was edited (PreconditionFailed) or deleted (NotFound) meanwhile."""
        if self._etag(href) is None:
            return NotFound(href)
        return PreconditionFailed(href, f"{href} was changed on the server since calsync last wrote it")

    def _refusal(self, verb: str, href: str, response: dav.Response) -> ProviderError:
        reason = dav.error_condition(response.content)
        detail = f" ({reason})" if reason else ""
        if response.status >= 500:
            return ProviderError(f"{self.where}: the server failed to {verb} {href}: {response.status}{detail}")
        return _ItemRefused(f"{self.where}: the server refused to {verb} {href}: {response.status}{detail}")

    def _check_ours(self, href: str) -> None:
        calendar = self._calendar()
        name = dav.child_name(urlsplit(calendar).path, href)
        if name is None or not is_our_name(name):
            raise ProviderError(f"{self.where}: refusing to write {href}: not a calsync item of {calendar}")

    def _href(self, calendar: str, name: str) -> str:
        return urlsplit(calendar).path + name

    def _url(self, href: str) -> str:
        return urljoin(self._calendar(), href)

    # --- the rest ---------------------------------------------------------------------------------------------

    def describe(self) -> str:
        return self._calendar_url or str(self.state.get("calendar_url") or self.start_url)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _normalize_url(target_name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ProviderError(f"target {target_name}: url is required (the server, principal or calendar address)")
    url = raw.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderError(f"target {target_name}: url {raw!r} is not an http(s) address")
    if parts.password is not None:
        raise ProviderError(
            f"target {target_name}: url must not hold a password: use password_command, password_env or the keyring"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _as_collection(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _entry_for(status: dav.Multistatus, url: str) -> dav.Entry | None:
    path = urlsplit(url).path
    for entry in status.entries:
        if dav.same_path(entry.path, path):
            return entry
    return status.entries[0] if len(status.entries) == 1 else None


def _id_of(path: str) -> str:
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def _label(entry: dav.Entry) -> str:
    display = entry.text(dav.DAV, "displayname")
    ident = _id_of(entry.path)
    return f"{display!r} ({ident})" if display and display != ident else repr(ident)


def _matches(wanted: str, url: str, entry: dav.Entry) -> bool:
    display = entry.text(dav.DAV, "displayname") or ""
    return wanted in (_id_of(urlsplit(url).path), display) or wanted.casefold() == display.casefold()


def _uid_conflict(response: dav.Response) -> bool:
    return response.status in (403, 409) and dav.error_condition(response.content) == "no-uid-conflict"
