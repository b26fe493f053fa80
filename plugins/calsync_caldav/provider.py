"""The CalDAV provider: calsync's items in one calendar of a CalDAV server (Nextcloud, Fastmail, iCloud, Radicale...).

Built on the ``caldav`` library: one ``caldav.DAVClient`` per provider (dav.py) carries every request; discovery
goes through its principal, calendar home set and calendars (discovery.py). The library is imported when a caldav
target is first used, never when the plugin loads.

How it finds its items
    Each item lives at a resource name derived from its UID: ``calsync-<32 hex>.ics`` for calsync's own UIDs
    (``<32 hex>@calsync``), ``calsync-u<40 hex of SHA-256(UID)>.ics`` for any other UID. A listing is a PROPFIND
    Depth 1 (hrefs and ETags only; the content of the user's events is never requested); a resource is calsync's
    when its name has that form and, the first time it is seen or after someone changed it, a calendar-multiget of
    just those resources shows ``X-CALSYNC-MANAGED:1`` and the UID the name was derived from.
How a re-sync stays cheap
    The scan token is the calendar's sync-token (RFC 6578): a ``sync-collection`` REPORT answers "nothing changed"
    in one request, or names the few resources that did. Servers without sync-collection get a CTag comparison
    (one PROPFIND). The discovered calendar URL, its components and the login scheme are kept in ``self.state``.
How it writes
    PUT with ``If-None-Match: *`` to create, PUT/DELETE with ``If-Match: <etag>`` to change: a concurrent edit on
    the user's phone is never overwritten. They go out as they are (the library's higher-level save() would first
    search the calendar for the UID), on the standard library (``light.Writer``: a keep-alive ``http.client``
    connection, a fraction of the library's client work per request) when it sends what the session would; what
    only the session words (a login to refuse or switch to Digest, a redirect, 429/503, a lost connection) goes
    through ``DAVClient.request``. The next write is in flight while the engine records the last outcome.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from calsync.errors import ItemRefused, NotFound, PreconditionFailed, ProviderError
from calsync.options import Option
from calsync.provider import (
    Action,
    Fetched,
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

if TYPE_CHECKING:
    from calsync_caldav.dav import Reply, Session

COMPONENTS = {"event": "VEVENT", "todo": "VTODO"}
MULTIGET_CHUNK = 100
MAX_SYNC_ROUNDS = 50
#: Writes in flight at once: one. With two, a first sync of 300 took half the time on Radicale (15.3 s against
#: 29.6 s) and the same on Xandikos, but Xandikos answers concurrent updates with 423 Locked (its git store takes one
#: write at a time): with several in flight, such a write is sent again (LOCKED_TRIES), which is untested at scale
#: (bench/README.md, "CalDAV and Google").
DEFAULT_CONNECTIONS = 1
LOCKED_TRIES = 6  # a write answered 423 Locked while others are in flight is sent again (waits 0.05 s to 1.6 s)
MAX_CONNECTIONS = 8
_GONE = (301, 308, 404)  # the calendar is not where the state says: discover it again
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"

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


MANAGED_MARK = b"X-CALSYNC-MANAGED:1"


class _CalendarGone(Exception):
    """The calendar remembered in the state is not there any more."""


class CalDAVProvider(Provider):
    name: ClassVar[str] = "caldav"
    supports_todo: ClassVar[bool] = True
    options = (
        Option("url", str, required=True, url=True, help="the server, the principal or the calendar URL"),
        Option("calendar", str, None, help="the calendar's name or path (default: the first one found)"),
        Option("create", bool, False, help="create the calendar when it does not exist"),
        Option("username", str, None, help="the login (the password comes from password_command, password_env "
               "or the keyring)"),
        Option("password_command", str, None, help="a command printing the password"),
        Option("password_env", str, None, help="an environment variable holding the password"),
        Option("timeout", (int, float), 30, minimum=0, help="seconds to wait for the server"),
        Option("ca_bundle", str, None, path=True, help="a CA certificate file for a private server"),
        Option("max_wait", (int, float), 60, minimum=0, help="longest wait, in seconds, when the server asks to "
               "slow down (429, 503 with Retry-After)"),
        Option("connections", int, DEFAULT_CONNECTIONS, minimum=1, help="writes in flight at once (1: one after "
               "the other)"),
    )  # fmt: skip
    can_read: ClassVar[bool] = True

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.component = COMPONENTS[target.choice("component", "event", tuple(COMPONENTS))]
        self.start_url = _normalize_url(target.name, target.option("url"))
        self.calendar_option = target.text("calendar") or None
        self.create_missing = target.flag("create")
        self.username = target.text("username") or None
        self.timeout = target.number("timeout", 30.0, low=1, high=3600)
        # the longest wait in all for one request that the server asks to retry later (429, 503 + Retry-After)
        self.max_wait = target.number("max_wait", 60.0, low=0, high=3600)
        self.connections = target.number("connections", DEFAULT_CONNECTIONS, low=1, high=MAX_CONNECTIONS, whole=True)
        ca_bundle = target.text("ca_bundle")
        self.verify: bool | str = ca_bundle if ca_bundle else True
        self._session: Session | None = None
        self._calendar_url: str | None = None
        self._password: str | None = None
        self._light_requests = 0  # sent by the no-change check on the standard library (light.py)
        self._writer: Any = None  # light.Writer once the first write asks for it; False when it cannot be used

    # --- connection and discovery ---------------------------------------------------------------------------

    @property
    def where(self) -> str:
        return f"target {self.target.name}"

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent so far (for tests and the bench)."""
        written = self._writer.sent if self._writer else 0
        return self._light_requests + written + (self._session.requests if self._session is not None else 0)

    def _dav(self) -> Session:
        """The target's caldav.DAVClient session, made on first use (this is where the library is imported)."""
        if self._session is None:
            if self.state.get("fingerprint") != self._fingerprint():
                self.state.clear()  # another server, calendar or login: nothing remembered applies
            password, verify = self._login()
            from calsync_caldav.dav import Session

            self._session = Session(
                self.where,
                self.start_url,
                username=self.username,
                password=password,
                verify=verify,
                timeout=self.timeout,
                auth_type=str(self.state.get("auth", "basic")),
                max_wait=self.max_wait,
            )
        return self._session

    def _login(self) -> tuple[str | None, bool | str]:
        """The password (asked once per run: password_command may prompt) and the TLS verification setting."""
        if self._password is None and self.username is not None:
            from calsync.secrets import get_password

            self._password = get_password(self.target)
            if self._password is None:
                raise ProviderError(
                    f"{self.where}: no password for {self.username!r}: set password_command or password_env, "
                    f"or store it with `keyring set calsync {self.target.name}`"
                )
        if isinstance(self.verify, str):
            from pathlib import Path

            if not Path(self.verify).expanduser().is_file():
                raise ProviderError(f"{self.where}: ca_bundle {self.verify} is not a file")
            self.verify = str(Path(self.verify).expanduser())
        return self._password, self.verify

    def _fingerprint(self) -> str:
        return json.dumps([self.start_url, self.calendar_option, self.username, self.component])

    def _calendar(self) -> str:
        """The calendar's URL: from the state when this configuration found it before, else discovered now."""
        if self._calendar_url is not None:
            return self._calendar_url
        url = self.state.get("calendar_url")
        if url and self._session is None and self.state.get("fingerprint") == self._fingerprint():
            # known: the writes can go without the library (light.Writer), which is loaded only if one needs it
            self._check_component(url, self.state.get("components"))
            self._calendar_url = url
            return url
        session = self._dav()
        if not url:
            from calsync_caldav.discovery import Wanted, discover

            wanted = Wanted(
                self.where, self.start_url, self.calendar_option, self.create_missing, self.component, self.username
            )
            url, components = discover(session, wanted)
            self.state.update(fingerprint=self._fingerprint(), calendar_url=url, components=components)
        self._check_component(url, self.state.get("components"))
        self._remember_auth(session)
        self._calendar_url = url
        return url

    def _remember_auth(self, session: Session) -> None:
        if session.auth_type not in (None, "basic"):
            self.state["auth"] = session.auth_type  # Digest: chosen up front on the next run

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

    def _request(self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Reply:
        session = self._dav()
        reply = session.request(method, url, body, headers)
        self._remember_auth(session)
        return reply

    def _write(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """A PUT or DELETE: on the light writer when it can send it as the session would, else (and for any answer
        the writer leaves to the session) through the session."""
        from calsync_caldav import light

        writer = self._light_writer()
        repeat = False
        if writer is not None:
            try:
                answer = writer.send(method, url, body, headers)
            except light.NotSent as failed:
                repeat = failed.maybe_done
            else:
                if answer.status not in light.SESSION_STATUSES:
                    return answer  # type: ignore[return-value]  (read as a Reply is)
        reply = self._request(method, url, body, headers)
        reply.repeated = reply.repeated or repeat
        return reply

    def _light_writer(self) -> Any:
        """The light writer, made on first use; None where writes must go through the session (Digest, a proxy
        variable, ~/.netrc without a username, unverified TLS)."""
        from calsync_caldav import light

        if self._session is not None and self._session.auth_type not in (None, "basic"):
            return None
        if self._session is None and self.username is not None and self.state.get("auth", "basic") != "basic":
            return None  # Digest, remembered from an earlier run
        if self._writer is None:
            calendar = self._calendar()
            self._writer = False
            if light.usable(calendar, self.username):
                # TLS settings the standard library cannot take (a bad ca_bundle): the session words it
                with contextlib.suppress(OSError, ValueError):
                    self._writer = light.Writer(calendar, **self._light_options())
        return self._writer or None

    def _light_options(self) -> dict[str, Any]:
        """How light.py connects: the login, the TLS check, the timeout, calsync's User-Agent."""
        from calsync import __version__

        password, verify = self._login()
        return {
            "username": self.username,
            "password": password,
            "verify": verify,
            "timeout": self.timeout,
            "user_agent": f"calsync/{__version__}",
        }

    # --- listing ----------------------------------------------------------------------------------------------

    def list_items(self) -> Iterable[RemoteItem]:
        return list(self.scan({}, None).items.values())

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
        unchanged = self._unchanged(known, token)
        if unchanged is not None:
            return unchanged
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

    def _unchanged(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan | None:
        """The no-change answer through light.py (one request, no caldav import), when the state knows the calendar
        and the saved token says nothing of calsync's changed -- or, after calsync's own writes, that what changed
        of calsync's is exactly what ``known`` holds (same ETags); None when the full session must look."""
        from calsync_caldav import light

        calendar = self.state.get("calendar_url")
        if not calendar or self.state.get("fingerprint") != self._fingerprint():
            return None
        if self._session is not None and self._session.auth_type not in (None, "basic"):
            return None  # Digest: the session's
        saved = self._parse_token(token, calendar)
        if saved is None or not ("sync" in saved or "ctag" in saved):
            return None
        if self.username is not None and self.state.get("auth", "basic") != "basic":
            return None  # Digest: the session's
        if not light.usable(calendar, self.username):
            return None
        self._check_component(calendar, self.state.get("components"))
        method = "REPORT" if "sync" in saved else "PROPFIND"
        body = light.sync_body(saved["sync"]) if "sync" in saved else light.CTAG_BODY
        answer = self._light_ask(method, calendar, body)
        if answer is None or answer[0] != 207:
            return None
        if "sync" in saved:
            path = urlsplit(calendar).path
            etags = {_child_name(path, item.href): item.etag for item in known.values()}

            def changed(member: str, etag: str | None) -> bool:
                name = _child_name(path, member)
                if name is None or not is_our_name(name):
                    return False  # the user's own: only the token moves
                return etag is None or etags.get(name) != normalize_etag(etag)

            new_token = light.unchanged_token(answer[1], changed)
            return Scan(dict(known), self._token(calendar, new_token, None)) if new_token else None
        return Scan(dict(known), token) if light.ctag(answer[1]) == saved["ctag"] else None

    def _light_ask(self, method: str, calendar: str, body: bytes) -> tuple[int, bytes] | None:
        """One Depth 0 question on the standard library: on the writer's connection when this run has written
        (the token asked for after the writes), else on a connection of its own."""
        from calsync_caldav import light

        headers = {"Depth": "0", "Content-Type": light.XML}
        if self._writer:
            try:
                answer = self._writer.send(method, calendar, body, headers)
            except light.NotSent:
                return None
            return answer.status, answer.raw
        self._light_requests += 1
        return light.request(method, calendar, body, **self._light_options())

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
        from calsync_caldav import dav

        path = urlsplit(calendar).path
        changed: dict[str, str | None] = {}
        removed: set[str] = set()
        for _round in range(MAX_SYNC_ROUNDS):
            reply = self._request("REPORT", calendar, dav.sync_collection_body(sync_token), {"Depth": "0"})
            if reply.status in _GONE:
                raise _CalendarGone
            if reply.status != 207 or reply.response is None:
                return None  # an expired or foreign token (403/409/412 valid-sync-token): list everything
            result = dav.sync_results(self.where, reply.response)
            for href in result.deleted:
                name = _child_name(path, href)
                if name is not None and is_our_name(name):
                    removed.add(self._href(calendar, name))
                    changed.pop(self._href(calendar, name), None)
            for member in result.changed:
                name = _child_name(path, member.href)
                if name is not None and is_our_name(name):
                    changed[self._href(calendar, name)] = normalize_etag(member.etag)
                    removed.discard(self._href(calendar, name))
            if not result.sync_token:
                return None
            sync_token = result.sync_token
            if not result.truncated:
                break
        new_token = self._token(calendar, sync_token, None)
        if not changed and not removed:
            return Scan(dict(known), new_token)
        by_href = {item.href: item for item in known.values()}
        for href in removed:
            by_href.pop(href, None)
        return Scan(self._merge(calendar, by_href, changed), new_token)

    def _ctag(self, calendar: str) -> str | None:
        from calsync_caldav import dav

        reply = self._request("PROPFIND", calendar, dav.propfind_body(dav.GetCTag()), {"Depth": "0"})
        if reply.status in _GONE:
            raise _CalendarGone
        if reply.status != 207:
            return None
        own = _result_for(reply.results(self.where), calendar)
        return dav.text(own, dav.GetCTag) if own is not None else None

    def _scan_all(self, calendar: str, known: Mapping[str, RemoteItem]) -> Scan:
        from caldav.elements import dav as elements

        from calsync_caldav import dav

        body = dav.propfind_body(elements.ResourceType(), elements.GetEtag(), elements.SyncToken(), dav.GetCTag())
        reply = self._request("PROPFIND", calendar, body, {"Depth": "1"})
        if reply.status in _GONE:
            raise _CalendarGone
        if reply.status != 207:
            raise ProviderError(f"{self.where}: cannot list {calendar} (PROPFIND answered {reply.status})")
        path = urlsplit(calendar).path
        results = reply.results(self.where)
        own = next((result for result in results if _same_path(result.href, path)), None)
        if own is None or own.status == 404:  # some servers say 404 inside a 207
            raise _CalendarGone
        present: dict[str, str | None] = {}
        for result in results:
            name = _child_name(path, result.href)
            if result is own or name is None or not is_our_name(name):
                continue
            if elements.Collection.tag in dav.resource_types(result):
                continue
            present[self._href(calendar, name)] = normalize_etag(dav.text(result, elements.GetEtag))
        by_href = {item.href: item for item in known.values() if item.href in present}
        token = self._token(calendar, dav.text(own, elements.SyncToken), dav.text(own, dav.GetCTag))
        return Scan(self._merge(calendar, by_href, present), token)

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

        from calsync_caldav import dav

        path = urlsplit(calendar).path
        for start in range(0, len(hrefs), MULTIGET_CHUNK):
            chunk = hrefs[start : start + MULTIGET_CHUNK]
            reply = self._request("REPORT", calendar, dav.multiget_body(chunk))
            if reply.status in _GONE:
                raise _CalendarGone
            if reply.status != 207 or reply.response is None:
                raise ProviderError(
                    f"{self.where}: cannot read calsync's items in {calendar} (multiget answered {reply.status})"
                )
            for member in dav.multiget_results(self.where, reply.response):
                name = _child_name(path, member.href)
                if name is None or not member.calendar_data or not is_our_name(name):
                    continue
                try:
                    parsed = icalendar.Calendar.from_ical(member.calendar_data)
                except ValueError:
                    continue
                components = [sub for sub in parsed.subcomponents if sub.name in ("VEVENT", "VTODO")]
                if not components or not all(is_managed(sub) for sub in components):
                    continue
                uid = uid_of(components[0])
                if resource_name(uid) != name:
                    continue
                href = self._href(calendar, name)
                yield RemoteItem(uid, href, normalize_etag(member.etag) or etags.get(href))

    def read(self, href: str) -> Fetched:
        name = _child_name(urlsplit(self._calendar()).path, href)
        if name is None or not is_our_name(name):
            raise NotFound(href)  # not a name calsync gives: the user's, never read as ours
        reply = self._request("GET", self._url(href))
        if reply.status in (404, 410):
            raise NotFound(href)
        if reply.status != 200 or reply.response is None:
            raise ProviderError(f"{self.where}: cannot read {href} (GET answered {reply.status})")
        data = reply.body
        if MANAGED_MARK not in data:
            raise NotFound(href)  # replaced by something that is not calsync's: not ours to read
        return Fetched(href, data, normalize_etag(reply.header("ETag")) or self._etag(href))

    # --- writing ----------------------------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        """The actions on a bounded pool of ``connections`` threads (1: one write after the other, on one thread),
        one action more queued than are in flight: the next write is on its way while the engine records the last
        outcome (a first sync of 1,000 no longer waits for each record before its next request). Outcomes come
        back in the order of ``actions`` (the engine records each as it arrives, in this thread); when a write fails
        for the whole target, the writes already in flight are waited for and reported before the error, so none
        that landed goes unrecorded."""
        if len(actions) < 2:
            yield from super().apply(actions)
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self._calendar()  # discovery, once, on this thread
        self._light_writer()
        one = self.apply_one if self.connections <= 1 else self._apply_unlocked
        pending: deque = deque()
        with ThreadPoolExecutor(self.connections, thread_name_prefix="calsync-caldav") as pool:
            try:
                for action in actions:
                    pending.append(pool.submit(one, action))
                    if len(pending) > self.connections:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            except Exception:
                for future in pending:
                    if future.cancel() or future.exception() is not None:
                        continue
                    yield future.result()  # landed while the failing one was in flight: recorded all the same
                raise
            finally:
                for future in pending:
                    future.cancel()

    def _apply_unlocked(self, action: Action) -> Outcome:
        """One action of several in flight. A server that stores one write at a time may answer the others 423
        Locked (Xandikos) without doing them: such a write is sent again after a short wait."""
        import time

        for attempt in range(LOCKED_TRIES):
            outcome = self.apply_one(action)
            if not (isinstance(outcome.error, ItemRefused) and outcome.error.status == 423):
                break
            time.sleep(0.05 * 2**attempt)
        return outcome

    def create(self, item: Item) -> Written:
        calendar = self._calendar()
        name = resource_name(item.uid)
        href = self._href(calendar, name)
        reply = self._put(href, item, {"If-None-Match": "*"})
        if reply.status in (200, 201, 204):
            return Written(href, normalize_etag(reply.header("ETag")) or self._etag(href))
        if reply.status == 412:
            if reply.repeated and self._holds(href, item):
                return Written(href, self._etag(href))  # the first try landed; its answer was lost
            raise PreconditionFailed(href, f"an item exists already at {href}")
        if reply.status in (403, 409) and reply.condition == "no-uid-conflict":
            holder = _conflicting_href(reply)
            if holder is not None and _child_name(urlsplit(calendar).path, holder) is None:
                # iCloud, Fastmail: one UID per account, and another calendar has it
                raise ItemRefused(
                    href,
                    f"the server refused to create it: {reply.status} no-uid-conflict: another calendar of this "
                    f"account ({posixpath.dirname(holder.rstrip('/'))}/) holds UID {item.uid} (give one of the two "
                    "targets a uid_suffix)",
                    reply.status,
                )
            raise PreconditionFailed(href, f"another resource of this calendar holds UID {item.uid}")
        raise self._refusal("create", href, reply)

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._check_ours(href)
        if etag is None:
            etag = self._etag(href)
            if etag is None:
                raise NotFound(href)
        reply = self._put(href, item, {"If-Match": etag})
        if reply.status == 412 and not reply.repeated:
            reply = self._in_the_servers_form(href, etag, reply, lambda raw: self._put(href, item, {"If-Match": raw}))
        if reply.status in (200, 201, 204):
            return Written(href, normalize_etag(reply.header("ETag")) or self._etag(href))
        if reply.status == 404:
            raise NotFound(href)
        if reply.status == 412:
            if reply.repeated and self._holds(href, item):
                return Written(href, self._etag(href))
            raise self._conflict(href)
        raise self._refusal("update", href, reply)

    def delete(self, href: str, etag: str | None) -> None:
        self._check_ours(href)
        if etag is None:
            etag = self._etag(href)
            if etag is None:
                raise NotFound(href)
        url = self._url(href)
        reply = self._write("DELETE", url, b"", {"If-Match": etag})
        if reply.status == 412 and not reply.repeated:
            reply = self._in_the_servers_form(
                href, etag, reply, lambda raw: self._write("DELETE", url, b"", {"If-Match": raw})
            )
        if reply.status in (200, 202, 204) or (reply.status in (404, 412) and reply.repeated and not self._etag(href)):
            return
        if reply.status == 404:
            raise NotFound(href)
        if reply.status == 403 and self._etag(href) is None:
            raise NotFound(href)  # a second DELETE of an item in a trash bin (Nextcloud answers 403): gone
        if reply.status == 412:
            raise self._conflict(href)
        raise self._refusal("delete", href, reply)

    def _in_the_servers_form(self, href: str, etag: str, reply: Reply, again: Any) -> Reply:
        """After a 412 to ``If-Match: <normalised ETag>``: when the server's own form of the ETag (weak, unquoted,
        percent-encoded) is the same tag, send once more with that form instead of seeing a conflict."""
        raw = self._raw_etag(href)
        if raw is None or raw == etag or normalize_etag(raw) != etag:
            return reply
        return again(raw)

    def _put(self, href: str, item: Item, condition: dict[str, str]) -> Reply:
        return self._write("PUT", self._url(href), item.ical, {"Content-Type": ICS_CONTENT_TYPE, **condition})

    def _holds(self, href: str, item: Item) -> bool:
        """Whether the resource shows what ``item`` does: after a resent write, tells "our first try landed" from
        "someone else changed it"."""
        from calsync.sync.content import same_content

        reply = self._request("GET", self._url(href))
        return reply.status == 200 and item.uid.encode() in reply.body and same_content(item.ical, reply.body)

    def _etag(self, href: str) -> str | None:
        """The current ETag of one resource, normalised (None when it is gone): for servers that send none after
        a PUT."""
        return normalize_etag(self._raw_etag(href))

    def _raw_etag(self, href: str) -> str | None:
        from caldav.elements import dav as elements

        from calsync_caldav import dav

        url = self._url(href)
        reply = self._request("PROPFIND", url, dav.propfind_body(elements.GetEtag()), {"Depth": "0"})
        if reply.status != 207:
            return None
        result = _result_for(reply.results(self.where), url)
        if result is None or result.status == 404:
            return None
        return dav.text(result, elements.GetEtag)

    def _conflict(self, href: str) -> Exception:
        """A failed If-Match: the item was edited (PreconditionFailed) or deleted (NotFound) meanwhile."""
        if self._etag(href) is None:
            return NotFound(href)
        return PreconditionFailed(href, f"{href} was changed on the server since calsync last wrote it")

    def _refusal(self, verb: str, href: str, reply: Reply) -> Exception:
        """A write the server answered with an error: about this item alone (ItemRefused: a 4xx, or 507 Insufficient
        Storage), or a server failure (ProviderError: the target stops)."""
        detail = _server_reason(reply)
        if reply.status >= 500 and reply.status != 507:
            return ProviderError(f"{self.where}: the server failed to {verb} {href}: {reply.status}{detail}")
        retry_after = _seconds(reply.header("Retry-After"))
        return ItemRefused(href, f"the server refused to {verb} it: {reply.status}{detail}", reply.status, retry_after)

    def _check_ours(self, href: str) -> None:
        calendar = self._calendar()
        name = _child_name(urlsplit(calendar).path, href)
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
        if self._writer:
            self._writer.close()
            self._writer = None
        if self._session is not None:
            self._session.close()
            self._session = None


def _normalize_url(target_name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ProviderError(f"target {target_name}: url is required (the server, principal or calendar address)")
    from calsync.options import url_problem

    problem = url_problem(raw)
    if problem:
        raise ProviderError(f"target {target_name}: url: {problem}")
    url = raw.strip()
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.password is not None:
        raise ProviderError(
            f"target {target_name}: url must not hold a password: use password_command, password_env or the keyring"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def normalize_etag(value: str | None) -> str | None:
    """One form for one ETag, however the server wrote it: weak (``W/"x"``) or strong, quoted or not, with its quotes
    percent-encoded (``%22x%22``), with blanks around: always ``"x"``. None when empty. (GMX gives a weak ETag on PUT
    and a strong one in listings; Bedework and others unquoted or encoded ones.)"""
    if not value:
        return None
    tag = value.strip()
    if tag[:2].upper() == "W/":
        tag = tag[2:].strip()
    if tag[:3].upper() == "%22" and tag[-3:].upper() == "%22":
        tag = unquote(tag)
    if len(tag) >= 2 and tag[0] == tag[-1] == '"':
        tag = tag[1:-1]
    return f'"{tag}"' if tag else None


def _server_reason(reply: Any) -> str:
    """What the server said about a refusal, in a few words: the status's phrase, a DAV precondition, SabreDAV's
    ``<s:message>``, or the first line of a plain-text body."""
    parts = []
    from http import HTTPStatus

    phrase = getattr(reply.response, "reason", None) if reply.response is not None else getattr(reply, "reason", None)
    if not phrase and reply.status in HTTPStatus._value2member_map_:
        phrase = HTTPStatus(reply.status).phrase
    if phrase:
        parts.append(str(phrase))
    if reply.condition:
        parts.append(reply.condition)
    body = reply.body[:4000].decode("utf-8", "replace")
    message = re.search(r"<(?:\w+:)?message>([^<]{1,300})</", body)
    if message:
        parts.append(message.group(1).strip())
    elif body.strip() and "<" not in body[:100]:
        parts.append(body.strip().splitlines()[0][:150])
    return (" " + ": ".join(parts)) if parts else ""


def _conflicting_href(reply: Any) -> str | None:
    """The resource a ``no-uid-conflict`` names (RFC 4791 5.3.2.1), when the body says."""
    found = re.search(r"no-uid-conflict[^>]*>\s*<(?:\w+:)?href>([^<]+)</", reply.body.decode("utf-8", "replace"))
    return unquote(urlsplit(found.group(1).strip()).path) if found else None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _same_path(a: str, b: str) -> bool:
    return unquote(a).rstrip("/") == unquote(b).rstrip("/")


def _child_name(parent: str, path: str) -> str | None:
    """The member name when ``path`` is a direct child of the collection ``parent``, else None."""
    parent_u, path_u = unquote(parent).rstrip("/"), unquote(urlsplit(path).path)
    if path_u.endswith("/"):
        return None
    head, name = posixpath.split(path_u)
    return name if head == parent_u and name else None


def _result_for(results: list[Any], url: str) -> Any:
    """The ``<response>`` about ``url`` (or the only one: RFC 4918 9.1 lets the href differ)."""
    path = urlsplit(url).path
    for result in results:
        if _same_path(result.href, path):
            return result
    return results[0] if len(results) == 1 else None
