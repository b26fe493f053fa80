"""GoogleProvider: calsync's follow-ups as events of a Google calendar, through the Calendar v3 API.

Design, in short:

* Identity. Every event gets a client-chosen id derived from the follow-up's UID (:func:`events.event_id`). We insert
  with that id rather than use ``events.import`` with ``iCalUID``: the href is known before the write, so a retried
  insert whose first attempt did land (a dropped connection) comes back as 409 and is recognised, an event the user
  deleted (Google keeps its id, status "cancelled") is restored in place by an update, and no write depends on
  import's organizer/iCalUID matching rules. A 409 is reconciled with a get, then an update when the event is ours.
* Tombstones. Google may refuse to restore a deleted event (403), and a purged one answers 404 while its id stays
  taken (insert: 409). Then the item moves to the id of the next generation (``events.event_id(uid, n)``); the
  generation is kept in ``self.state["generations"]`` and in the event's private properties.
* Pacing. Every call, in a batch or not, takes a token from a :class:`pacing.Pacer` (``calls_per_minute``, default
  500, under Google's per-user 600); batches hold ``batch_size`` calls (default 50). A failed call is retried on its
  own, after its own exponential backoff with jitter (at least the server's Retry-After), with the next batch that
  is due. ``quotaExceeded`` ("Calendar usage limits exceeded": the calendar is read-only for a while) stops the sync
  with :class:`WritesPaused` once every finished write is yielded, so the engine has recorded it.
* Listing. ``scan`` with a token is one incremental ``events.list`` (``syncToken``, ``showDeleted``); otherwise one
  listing filtered by ``privateExtendedProperty=calsync=1`` with deleted events. With nothing known (a first sync, a
  lost state database) that listing adopts the events already there by the UID in their private properties, and
  remembers those the user deleted, so that they stay deleted.
* Failures. One item refused (400, 403, 409…) is an ``Outcome`` with :class:`ItemRefused`; a failure that concerns
  the whole target (authentication, the connection, the project's quota, a missing calendar) is a ProviderError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import heapq
import itertools
import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin

from calsync.errors import ItemRefused, NotFound, PreconditionFailed, ProviderError, UserError, WritesRefused
from calsync.options import Option
from calsync.provider import (
    Action,
    Create,
    Delete,
    Fetched,
    Item,
    Outcome,
    Provider,
    RemoteItem,
    Scan,
    Target,
    Update,
    Written,
)
from calsync_google import auth
from calsync_google.events import (
    MARK_FILTER,
    event_id,
    from_event,
    is_ours,
    marked_generation,
    marked_uid,
    same_content,
    to_event,
)
from calsync_google.pacing import Clock, Pacer, SystemClock, backoff

GOOGLE_ROOT = "https://www.googleapis.com/"
RETRYABLE_403 = {"rateLimitExceeded", "userRateLimitExceeded"}
#: 403 reasons that concern every call to the target, not one item: stop the target at once.
WHOLE_TARGET_403 = {"dailyLimitExceeded", "insufficientPermissions", "accessNotConfigured", "requiredAccessLevel"}
LIST_FIELDS = "items(id,etag,status,iCalUID,extendedProperties),nextPageToken,nextSyncToken"
#: A full listing also reads what calsync writes, so an event it adopts needs no rewrite when it already says that.
FULL_LIST_FIELDS = (
    "items(id,etag,status,iCalUID,extendedProperties,summary,description,location,start,end,sequence,reminders,"
    "transparency),nextPageToken,nextSyncToken"
)
PAGE_SIZE = 2500  # Google's maximum for events.list
#: How many fresh ids one item may move through in one sync before it is reported as refused.
MAX_GENERATION_MOVES = 3


@dataclass
class Failure:
    """A failed HTTP call, reduced to what decides the next move."""

    status: int | None  # None: the connection failed
    reason: str = ""
    message: str = ""
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        if self.status is None or self.status == 429 or self.status >= 500:
            return True
        return self.status == 403 and self.reason in RETRYABLE_403

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or (self.status == 403 and self.reason in RETRYABLE_403)

    @property
    def paused(self) -> bool:
        """Calendar usage limits: Google makes the calendar read-only for hours; retrying now cannot help."""
        return self.status == 403 and (self.reason == "quotaExceeded" or "usage limits" in self.message.lower())

    def describe(self) -> str:
        if self.status is None:
            return f"connection failed ({self.message})"
        detail = f"{self.status} {self.reason}".strip()
        return f"{self.message} ({detail})" if self.message else detail


class CallFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


class WritesPaused(WritesRefused):
    """Google answered ``quotaExceeded`` (Calendar usage limits exceeded): it has paused writes to the calendar."""


@dataclass
class _Step:
    """One HTTP call of an action; ``done`` turns its answer into an Outcome or the action's next step."""

    action: Action
    build: Callable[[], Any]
    done: Callable[[Any, Failure | None], Outcome | _Step]
    attempts: int = 0


def _option(target: Target, key: str, default: float, low: float, high: float, kind: type = float) -> Any:
    """A number option in its bounds; otherwise an error naming the config's line (see Target.number)."""
    return kind(target.number(key, default, low=low, high=high, whole=kind is int))


class GoogleProvider(Provider):
    name = "google"
    # Google Calendar stores events only; a VTODO is refused with a ProviderError (see events.to_event) rather than
    # silently turned into an event.
    supports_todo = False
    create_reconciles = True  # event ids derive from UIDs and outlive deletion: a 409 is reconciled
    options = (
        Option("calendar", str, "primary", help="the calendar id, or a calendar's name"),
        Option("create", bool, False, help="create the calendar when it does not exist"),
        Option("auth", str, "oauth", choices=("oauth", "service_account"), help="how calsync signs in"),
        Option("client_secrets", str, None, path=True, help="the OAuth client JSON (for calsync auth)"),
        Option("token_file", str, None, path=True, help="where the OAuth token is kept (default: the state dir)"),
        Option("key_file", str, None, path=True, help="a service account's key JSON"),
        Option("subject", str, None, help="the user a service account acts for (domain-wide delegation)"),
        Option("token_uri", str, None, url=True, help="the OAuth token endpoint (tests and proxies only)"),
        Option("api_endpoint", str, None, url=True, help="the Calendar API root (tests and proxies only)"),
        Option("timeout", (int, float), 60.0, minimum=1, help="seconds to wait for Google"),
        Option("calls_per_minute", (int, float), 500, minimum=1, help="the pace of requests (Google's per-user quota)"),
        Option("batch_size", int, 50, minimum=1, help="requests per batch (at most 1000, and a tenth of the pace)"),
        Option("max_retries", int, 6, minimum=0, help="retries of a rate-limited or failed request"),
        Option("backoff_base", (int, float), 1.0, minimum=0, help="seconds before the first retry"),
        Option("max_backoff", (int, float), 64.0, minimum=0, help="longest wait between retries"),
    )  # fmt: skip
    can_read = True
    #: Where a new provider reads the time and waits; tests hand it the emulator's clock.
    clock_factory: ClassVar[Callable[[], Clock]] = SystemClock

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.calendar = target.text("calendar") or "primary"
        self.create_calendar = target.flag("create")
        # The engine renders alarm_minutes into the VALARM; the reminders are read from there.
        self.alarm_minutes = None
        self.backoff_base = _option(target, "backoff_base", 1.0, 0.0, 3600.0)
        self.max_backoff = _option(target, "max_backoff", 64.0, 0.0, 3600.0)
        self.max_retries = _option(target, "max_retries", 6, 0, 100, int)
        self.calls_per_minute = _option(target, "calls_per_minute", 500, 1, 1_000_000)
        # A batch is at most six seconds' worth of calls: one batch sent at once never bursts over the quota.
        self.batch_size = min(_option(target, "batch_size", 50, 1, 1000, int), max(1, int(self.calls_per_minute // 10)))
        self.timeout = _option(target, "timeout", 60.0, 1.0, 3600.0)
        endpoint = target.text("api_endpoint")
        self.api_root = (str(endpoint).rstrip("/") + "/") if endpoint else GOOGLE_ROOT
        self.clock: Clock = type(self).clock_factory()
        self.rng = random.Random()
        self._pacer: Pacer | None = None
        self._service: Any = None
        self._http: Any = None
        self._creds: Any = None
        self._saved_token: str | None = None
        # What a listing of a calendar unknown to the state found: ids of our events deleted there (by the user),
        # and our live events as they are (href -> event), so that one already saying what we would write stays.
        self._deleted_seen: set[str] = set()
        self._adopted: dict[str, dict[str, Any]] = {}
        # The same events for read(): the engine reads back every item a lost state does not know, and the listing
        # that adopts them holds what a get would return (FULL_LIST_FIELDS); each answers one read, before any write.
        self._listed: dict[str, dict[str, Any]] = {}
        self._adopting = False  # this sync started from nothing known: our deleted events stay deleted
        self.light_requests = 0  # sent by the no-change check on the standard library (light.py)

    # --- plumbing ---------------------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"google calendar {self.calendar!r}"

    def authorize(self, *, echo: Callable[[str], None], open_browser: bool, port: int = 0) -> None:
        """The installed-app OAuth flow (a browser consent, a local redirect), the token stored 0600."""
        if self.target.option("auth", "oauth") == "service_account":
            raise UserError(f"target {self.target.name!r} uses a service account: it needs no `calsync auth`")
        auth.run_flow(self.target, open_browser=open_browser, echo=echo, port=port)

    @property
    def pacer(self) -> Pacer:
        if self._pacer is None or self._pacer.clock is not self.clock:
            self._pacer = Pacer(self.calls_per_minute, self.batch_size, self.clock)
        return self._pacer

    def service(self) -> Any:
        if self._service is None:
            import google_auth_httplib2
            import googleapiclient
            import httplib2
            from googleapiclient.discovery import build_from_document

            self._creds = auth.load_credentials(self.target)
            self._saved_token = self._creds.token
            self._http = google_auth_httplib2.AuthorizedHttp(
                self._creds, http=httplib2.Http(timeout=self.timeout), max_refresh_attempts=1
            )
            # The discovery document bundled with the client: never fetched from the network.
            doc = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
            options = None
            if self.api_root != GOOGLE_ROOT:
                # api_endpoint replaces rootUrl + servicePath in the client.
                options = {"api_endpoint": urljoin(self.api_root, "calendar/v3/")}
            self._service = build_from_document(
                doc.read_text(encoding="utf-8"), http=self._http, client_options=options
            )
        return self._service

    def batch_uri(self) -> str:
        # service.new_batch_http_request() ignores a custom endpoint: the batch URI is built here.
        return urljoin(self.api_root, "batch/calendar/v3")

    def _persist_token(self) -> None:
        """Rewrite the token file when google-auth refreshed the access token (OAuth only)."""
        creds = self._creds
        if creds is None or self.target.option("auth", "oauth") != "oauth":
            return
        if creds.token and creds.token != self._saved_token:
            auth.write_token(auth.token_path(self.target), creds.to_json())
            self._saved_token = creds.token

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        return backoff(attempt, self.backoff_base, self.max_backoff, retry_after, self.rng)

    def _failure(self, exc: BaseException) -> Failure:
        """What went wrong, or a ProviderError raised at once for what no retry can fix."""
        import httplib2
        from google.auth import exceptions as auth_exceptions
        from googleapiclient.errors import HttpError

        if isinstance(exc, auth_exceptions.RefreshError):
            raise ProviderError(auth.refresh_error_message(self.target, exc)) from None
        if isinstance(exc, HttpError):
            return self._without_secrets(_http_failure(exc.resp, exc.content))
        if isinstance(exc, auth_exceptions.TransportError | httplib2.HttpLib2Error | OSError):
            return Failure(None, "transport", type(exc).__name__)
        import http.client

        if isinstance(exc, http.client.HTTPException):
            return Failure(None, "transport", type(exc).__name__)
        raise exc

    def _without_secrets(self, failure: Failure) -> Failure:
        """The failure with any credential the server repeated in its message (an access or refresh token, the
        client secret) cut out: the message is printed."""
        creds = self._creds
        secrets = [getattr(creds, name, None) for name in ("token", "refresh_token", "client_secret")]
        message, reason = failure.message, failure.reason
        for secret in secrets:
            if isinstance(secret, str) and len(secret) >= 6:
                message, reason = message.replace(secret, "[redacted]"), reason.replace(secret, "[redacted]")
        return dataclasses.replace(failure, message=message, reason=reason)

    def _whole_target_error(self, failure: Failure) -> ProviderError | None:
        """The ProviderError for a failure that no other item would escape, or None for one about this item."""
        name = self.target.name
        if failure.status == 401:
            what = (
                "the service account's token"
                if self.target.option("auth", "oauth") == "service_account"
                else f"the stored authorization: run `calsync auth {name}` again"
            )
            return ProviderError(f"target {name!r}: Google rejected {what}")
        if failure.paused:
            return self._paused()
        if failure.status is None:
            return ProviderError(f"target {name!r}: could not reach Google Calendar: {failure.describe()}")
        if failure.status == 403 and failure.reason == "dailyLimitExceeded":
            return ProviderError(
                f"target {name!r}: the project's daily Calendar API quota is used up; try again tomorrow, "
                "or raise the quota in the Google Cloud console"
            )
        if failure.status == 403 and failure.reason == "insufficientPermissions":
            return ProviderError(
                f"target {name!r}: the authorization lacks a scope this calendar needs (calsync's own scopes reach "
                f"only calendars it created when create = true): run `calsync auth {name}` again"
            )
        if failure.status == 403 and failure.reason in WHOLE_TARGET_403:
            return ProviderError(
                f"target {name!r}: Google does not let this account write to calendar {self.calendar!r}: "
                f"{failure.describe()}"
            )
        return None

    def _paused(self) -> WritesPaused:
        return WritesPaused(
            f"target {self.target.name!r}: Google has paused writes to calendar {self.calendar!r} for a while "
            "(Calendar usage limits exceeded); what was written is recorded, and the next sync continues"
        )

    def _retrying(self, send: Callable[[], Any], cost: int = 1) -> Any:
        """``send()`` (``cost`` calls against the quota), paced, retried with backoff while it fails transiently.
        Raises CallFailed otherwise."""
        attempt = 0
        while True:
            self.pacer.take(cost)
            try:
                return send()
            except Exception as exc:
                failure = self._failure(exc)
                if failure.rate_limited:
                    self.pacer.slow_down()
                if failure.retryable and attempt < self.max_retries:
                    self.clock.sleep(self._delay(attempt, failure.retry_after))
                    attempt += 1
                    continue
                if failure.status == 401 or failure.paused:
                    raise self._whole_target_error(failure) from None  # type: ignore[misc]
                raise CallFailed(failure) from None
            finally:
                self._persist_token()

    def call(self, build: Callable[[], Any]) -> Any:
        """One request, paced, retried while the failure is transient. Raises CallFailed otherwise."""
        self.service()
        return self._retrying(lambda: build().execute())

    def _batch(self, steps: list[_Step]) -> list[tuple[_Step, Any, Failure | None]]:
        """One batch request for ``steps``; the whole request is retried while it fails transiently."""
        from googleapiclient.http import BatchHttpRequest

        answers: dict[str, tuple[Any, BaseException | None]] = {}

        def send() -> None:
            answers.clear()
            batch = BatchHttpRequest(callback=_collector(answers), batch_uri=self.batch_uri())
            for n, step in enumerate(steps):
                batch.add(step.build(), request_id=str(n))
            batch.execute(http=self._http)

        try:
            self._retrying(send, cost=len(steps))
        except CallFailed as exc:
            raise self._whole_target_error(exc.failure) or ProviderError(
                f"target {self.target.name!r}: Google Calendar batch request failed: {exc}"
            ) from None
        results = []
        for n, step in enumerate(steps):
            response, exception = answers.get(str(n), (None, OSError("no answer in the batch response")))
            results.append((step, response, self._failure(exception) if exception is not None else None))
        return results

    # --- the calendar -------------------------------------------------------------------------------------------

    def calendar_id(self) -> str:
        if self.state.get("calendar") == self.calendar and self.state.get("calendar_id"):
            return str(self.state["calendar_id"])
        if self.calendar == "primary" or "@" in self.calendar:
            found = self.calendar
        else:
            found = self._find_calendar(self.calendar)
        self.state["calendar"] = self.calendar
        self.state["calendar_id"] = found
        return found

    def _find_calendar(self, name: str) -> str:
        svc = self.service()
        page: str | None = None
        while True:
            try:
                answer = self.call(lambda page=page: svc.calendarList().list(pageToken=page, maxResults=250))
            except CallFailed as exc:
                raise ProviderError(f"could not list the Google calendars: {exc}") from None
            for entry in answer.get("items", []):
                if name in (entry.get("summary"), entry.get("summaryOverride"), entry.get("id")):
                    return str(entry["id"])
            page = answer.get("nextPageToken")
            if not page:
                break
        if not self.create_calendar:
            raise ProviderError(
                f"target {self.target.name!r}: no Google calendar named {name!r}; "
                "set create = true to have calsync create it"
            )
        try:
            made = self.call(lambda: svc.calendars().insert(body={"summary": name}))
        except CallFailed as exc:
            raise ProviderError(f"could not create the Google calendar {name!r}: {exc}") from None
        return str(made["id"])

    # --- generations ------------------------------------------------------------------------------------------

    def generation(self, uid: str) -> int:
        return int((self.state.get("generations") or {}).get(uid, 0))

    def _set_generation(self, uid: str, generation: int) -> None:
        generations = dict(self.state.get("generations") or {})
        if generation:
            generations[uid] = generation
        else:
            generations.pop(uid, None)
        self.state["generations"] = generations

    # --- reading ------------------------------------------------------------------------------------------------

    def read(self, href: str) -> Fetched:
        listed = self._listed.pop(href, None)
        if listed is not None and marked_uid(listed) is not None:
            return Fetched(href, from_event(listed, str(marked_uid(listed))), listed.get("etag"))
        cal = self.calendar_id()
        try:
            event = self.call(lambda: self.service().events().get(calendarId=cal, eventId=href))
        except CallFailed as exc:
            if exc.failure.status in (404, 410):
                raise NotFound(href) from None
            raise ProviderError(f"Google Calendar: cannot read event {href}: {exc}") from None
        uid = marked_uid(event)
        if uid is None or event.get("status") == "cancelled":
            raise NotFound(href)  # deleted (Google keeps it, cancelled), or not calsync's
        return Fetched(href, from_event(event, uid), event.get("etag"))

    def list_items(self) -> list[RemoteItem]:
        return list(self._full_scan(self.calendar_id(), {}, adopting=False).items.values())

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
        unchanged = self._unchanged(known, token)
        if unchanged is not None:
            return unchanged
        cal = self.calendar_id()
        prefix = f"{cal} "
        if token and token.startswith(prefix):
            try:
                changed, next_token = self._list(cal, sync_token=token[len(prefix) :])
            except CallFailed as exc:
                if exc.failure.status != 410:
                    raise self._list_error(exc) from None
                # The sync token expired (410 Gone): list everything again; the engine matches by UID.
            else:
                items = dict(known)
                by_href = {remote.href: uid for uid, remote in known.items()}
                for event in changed:
                    uid = marked_uid(event) or by_href.get(event.get("id", ""))
                    if uid is None:
                        continue  # the user's own event
                    remote = _reported(event, uid, known)
                    if remote is not None:
                        items[uid] = remote
                    elif uid in items and items[uid].href == event.get("id"):
                        items.pop(uid)  # an older generation's tombstone changing says nothing of the current
                return Scan(items, prefix + next_token if next_token else None)
        # Nothing known and no token: a first sync, or a state database lost. The listing adopts what is there.
        self._adopting = not known and token is None
        return self._full_scan(cal, known, adopting=self._adopting)

    def _unchanged(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan | None:
        """The no-change answer through light.py (one request, no Google client import), when the state knows the
        calendar, the token file's access token is good and nothing of calsync's changed; None when the client must
        look (it then asks again, from the same sync token)."""
        from calsync_google import light

        cal = self.state.get("calendar_id")
        if self._service is not None or not token or self.state.get("calendar") != self.calendar or not cal:
            return None
        prefix = f"{cal} "
        if not token.startswith(prefix) or self.target.option("auth", "oauth") != "oauth":
            return None
        if not light.usable(self.api_root):
            return None
        access = light.access_token(auth.token_path(self.target))
        if access is None:
            return None
        params = {
            "maxResults": PAGE_SIZE,
            "showDeleted": True,
            "syncToken": token[len(prefix) :],
            "fields": LIST_FIELDS,
        }
        self.pacer.take(1)
        self.light_requests += 1
        answer = light.list_changes(self.api_root, str(cal), params, access, self.timeout)
        if answer is None or answer[0] != 200:
            return None
        hrefs = {remote.href for remote in known.values()}
        next_token = light.unchanged_token(
            answer[1], lambda event: marked_uid(event) is not None or event.get("id") in hrefs
        )
        return Scan(dict(known), prefix + next_token) if next_token else None

    def _full_scan(self, cal: str, known: Mapping[str, RemoteItem], *, adopting: bool) -> Scan:
        try:
            listed, next_token = self._list(cal, sync_token=None)
        except CallFailed as exc:
            raise self._list_error(exc) from None
        items: dict[str, RemoteItem] = {}
        for event in listed:
            uid = marked_uid(event)
            if uid is None:
                continue
            if marked_generation(event) > self.generation(uid):
                self._set_generation(uid, marked_generation(event))
            remote = _reported(event, uid, known)
            if remote is None:
                if adopting and event.get("status") == "cancelled":
                    self._deleted_seen.add(str(event.get("id", "")))
                continue
            if adopting:
                self._adopted[remote.href] = self._listed[remote.href] = event
            current = items.get(uid)
            if current is None or marked_generation(event) >= self._generation_of(uid, current.href):
                items[uid] = remote
        return Scan(items, f"{cal} {next_token}" if next_token else None)

    def _generation_of(self, uid: str, href: str) -> int:
        return next((n for n in range(self.generation(uid) + 1) if event_id(uid, n) == href), 0)

    def _list_error(self, exc: CallFailed) -> ProviderError:
        if exc.failure.status == 404:
            return ProviderError(f"target {self.target.name!r}: Google calendar {self.calendar!r} not found")
        return ProviderError(f"could not list Google calendar {self.calendar!r}: {exc}")

    def _list(self, cal: str, sync_token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        svc = self.service()
        # Deleted events too: with a token they say what the user deleted; without, which ids are taken.
        params: dict[str, Any] = {"calendarId": cal, "maxResults": PAGE_SIZE, "showDeleted": True}
        if sync_token:
            # Google refuses privateExtendedProperty with syncToken: the changes are filtered here instead.
            params["syncToken"] = sync_token
            params["fields"] = LIST_FIELDS
        else:
            params["privateExtendedProperty"] = MARK_FILTER
            params["fields"] = FULL_LIST_FIELDS
        events: list[dict[str, Any]] = []
        page: str | None = None
        while True:
            extra = {"pageToken": page} if page else {}
            answer = self.call(lambda extra=extra: svc.events().list(**params, **extra))
            events.extend(answer.get("items", []))
            page = answer.get("nextPageToken")
            if not page:
                return events, answer.get("nextSyncToken")

    # --- writing ------------------------------------------------------------------------------------------------

    def create(self, item: Item) -> Written:
        return self._single(Create(item.uid, item)).written  # type: ignore[return-value]

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        return self._single(Update(item.uid, href, etag, item)).written  # type: ignore[return-value]

    def delete(self, href: str, etag: str | None) -> None:
        self._single(Delete("", href, etag))

    def _single(self, action: Action) -> Outcome:
        (outcome,) = list(self.apply([action]))
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        """Run ``actions`` in paced batches, yielding each Outcome as it is known. A call that fails transiently
        waits out its own backoff and goes with the next batch; the others go on meanwhile."""
        self._listed.clear()  # after a write, a read asks Google again
        if not actions:
            return
        firsts = [self._first_step(action) for action in actions]  # bodies first: a bad item fails before any call
        self.service()
        ready: deque[_Step] = deque()
        for first in firsts:
            if isinstance(first, Outcome):
                yield first
            else:
                ready.append(first)
        waiting: list[tuple[float, int, _Step]] = []  # (due time, order, step): retries waiting out their backoff
        order = itertools.count()
        while ready or waiting:
            now = self.clock.now()
            while waiting and waiting[0][0] <= now:
                ready.append(heapq.heappop(waiting)[2])
            if not ready:
                self.clock.sleep(waiting[0][0] - now)
                continue
            size = min(self.batch_size, max(1, int(self.pacer.per_minute // 10)))  # the pace may have slowed
            chunk = [ready.popleft() for _ in range(min(len(ready), size))]
            stop: ProviderError | None = None
            answers = self._batch(chunk)
            if any(failure is not None and failure.rate_limited for _, _, failure in answers):
                self.pacer.slow_down()
            else:
                self.pacer.settle()
            for step, response, failure in answers:
                if failure is not None and failure.retryable and step.attempts < self.max_retries:
                    due = self.clock.now() + self._delay(step.attempts, failure.retry_after)
                    step.attempts += 1
                    heapq.heappush(waiting, (due, next(order), step))
                    continue
                try:
                    if failure is not None and (fatal := self._whole_target_error(failure)) is not None:
                        raise fatal
                    result = step.done(response, failure)
                except ProviderError as exc:
                    stop = stop or exc  # the rest of this batch is still reported before stopping
                    continue
                if isinstance(result, Outcome):
                    yield result
                else:
                    ready.append(result)
            if stop is not None:
                raise stop

    def _first_step(self, action: Action) -> _Step | Outcome:
        cal = self.calendar_id()
        if isinstance(action, Delete):
            return self._delete_step(action, cal)
        generation = self.generation(action.uid)
        try:
            body = to_event(action.item, alarm_minutes=self.alarm_minutes, generation=generation)
        except ProviderError as exc:
            if action.item.component.name != "VEVENT":
                raise  # a to-do target: nothing of it can go to Google
            href = action.href if isinstance(action, Update) else event_id(action.uid, generation)
            return Outcome(action, error=ItemRefused(href, str(exc)))  # this follow-up alone cannot be an event
        if isinstance(action, Create):
            if body["id"] in self._deleted_seen:
                return Outcome(action, error=NotFound(body["id"]))  # deleted by the user: it stays deleted
            return self._insert_step(action, cal, generation, 0)
        if isinstance(action, Update):
            there = self._adopted.get(action.href)
            if there is not None and there.get("etag") == action.etag and same_content(there, body):
                # Adopted after a lost state, and it already is what this update would write: no call.
                return Outcome(action, written=Written(action.href, action.etag))
            return self._update_step(action, cal, action.href, body, action.etag)
        raise TypeError(f"unknown action {action!r}")

    def _request(self, build: Callable[[Any], Any], etag: str | None = None) -> Callable[[], Any]:
        def make() -> Any:
            request = build(self.service().events())
            if etag:
                request.headers["If-Match"] = etag
            return request

        return make

    def _written(self, action: Action, event: Any) -> Outcome:
        return Outcome(action, written=Written(event["id"], event.get("etag")))

    def _insert_step(self, action: Create, cal: str, generation: int, moves: int) -> _Step:
        body = to_event(action.item, alarm_minutes=self.alarm_minutes, generation=generation)
        href = body["id"]

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None:
                return self._written(action, event)
            if failure.status == 409:
                # The id is taken: an earlier attempt landed, or the event was deleted (ids outlive deletion).
                return self._reconcile_step(action, cal, body, generation, moves)
            if failure.status == 404:
                raise ProviderError(f"target {self.target.name!r}: Google calendar {self.calendar!r} not found")
            return self._failed(action, href, failure)

        return _Step(action, self._request(lambda ev: ev.insert(calendarId=cal, body=body)), done)

    def _reconcile_step(self, action: Create, cal: str, body: dict[str, Any], generation: int, moves: int) -> _Step:
        href = body["id"]

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is not None and failure.status in (404, 410):
                # Purged: the event is gone for good, yet Google keeps its id taken.
                return self._next_generation(action, cal, href, generation, moves)
            if failure is not None:
                return self._failed(action, href, failure)
            if not is_ours(event, action.uid):
                return Outcome(action, error=PreconditionFailed(href, f"event {href} exists and is not calsync's"))
            if self._adopting and event.get("status") == "cancelled":
                # Nothing was known of this calendar, and one of our events is deleted there: the user deleted it
                # (a listing need not have said so: Google guarantees only the id of a deleted event).
                return Outcome(action, error=NotFound(href))
            # Ours: rewrite it in place (this restores a deleted one: the body says status "confirmed").
            return self._update_step(
                action,
                cal,
                href,
                body,
                event.get("etag"),
                sequence_floor=event.get("sequence"),
                restoring=event.get("status") == "cancelled",
                generation=generation,
                moves=moves,
            )

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _next_generation(self, action: Action, cal: str, href: str, generation: int, moves: int) -> Outcome | _Step:
        """Google will not let this item live at ``href`` again: move it to the next generation's id."""
        if moves >= MAX_GENERATION_MOVES:
            reason = f"Google keeps refusing the ids of this follow-up ({moves} tried in this sync)"
            return Outcome(action, error=ItemRefused(href, reason))
        self._set_generation(action.uid, generation + 1)
        create = action if isinstance(action, Create) else Create(action.uid, action.item)  # type: ignore[union-attr]
        step = self._insert_step(create, cal, generation + 1, moves + 1)
        if create is action:
            return step
        # An Update carried on by an insert: its Outcome still answers the Update the engine asked for.
        return _Step(action, step.build, _as_outcome_of(action, step.done))

    def _update_step(
        self,
        action: Action,
        cal: str,
        href: str,
        body: dict[str, Any],
        etag: str | None,
        sequence_floor: int | None = None,
        refetched: bool = False,
        restoring: bool = False,
        generation: int | None = None,
        moves: int = 0,
    ) -> _Step:
        if sequence_floor is not None and int(sequence_floor) > int(body.get("sequence", 0)):
            body = {**body, "sequence": int(sequence_floor)}
        body = {**body, "id": href}

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None:
                return self._written(action, event)
            gen = self._generation_of(action.uid, href) if generation is None else generation
            if failure.status == 412 and not isinstance(action, Create):
                return self._changed_or_gone_step(action, cal, href)
            if failure.status == 412:
                return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))
            if failure.status in (404, 410) and isinstance(action, Create):
                return self._next_generation(action, cal, href, gen, moves)  # purged since the get
            if failure.status in (404, 410):
                return Outcome(action, error=NotFound(href))
            if failure.status == 403 and restoring:
                # Google refuses to bring this deleted event back: the follow-up gets a fresh id.
                return self._next_generation(action, cal, href, gen, moves)
            if failure.status == 403 and isinstance(action, Update) and action.item.cancelled is False:
                return self._forbidden_step(action, cal, href, gen, moves, failure)
            if failure.status == 400 and "sequence" in failure.message.lower() and not refetched:
                # Google refuses a SEQUENCE below the stored one: take the stored one (same ETag check).
                return self._sequence_step(action, cal, href, body, etag, restoring, generation, moves)
            return self._failed(action, href, failure)

        build = self._request(lambda ev: ev.update(calendarId=cal, eventId=href, body=body), etag)
        return _Step(action, build, done)

    def _forbidden_step(
        self, action: Update, cal: str, href: str, generation: int, moves: int, refused: Failure
    ) -> _Step:
        """An update answered 403: if it was bringing back one of our deleted events, that event is a tombstone
        Google will not revive, and the follow-up moves to a fresh id; otherwise the item is refused."""

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None and event.get("status") == "cancelled" and is_ours(event, action.uid):
                return self._next_generation(action, cal, href, generation, moves)
            return self._failed(action, href, refused)

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _sequence_step(
        self,
        action: Action,
        cal: str,
        href: str,
        body: dict[str, Any],
        etag: str | None,
        restoring: bool,
        generation: int | None,
        moves: int,
    ) -> _Step:
        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is not None:
                return self._failed(action, href, failure)
            if etag and event.get("etag") != etag:
                return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))
            return self._update_step(
                action,
                cal,
                href,
                body,
                event.get("etag"),
                sequence_floor=event.get("sequence"),
                refetched=True,
                restoring=restoring,
                generation=generation,
                moves=moves,
            )

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _delete_step(self, action: Delete, cal: str) -> _Step:
        href = action.href

        def done(_: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None:
                return Outcome(action)
            if failure.status in (404, 410):
                return Outcome(action, error=NotFound(href))
            if failure.status == 412:
                return self._changed_or_gone_step(action, cal, href)
            return self._failed(action, href, failure)

        build = self._request(lambda ev: ev.delete(calendarId=cal, eventId=href), action.etag)
        return _Step(action, build, done)

    def _changed_or_gone_step(self, action: Action, cal: str, href: str) -> _Step:
        """After a 412: a deleted event (Google keeps it, cancelled, under a new ETag) is NotFound, as on every
        other target; anything else was changed by the user (or only its ETag moved: Google's spurious 412s)."""

        def done(event: Any, failure: Failure | None) -> Outcome:
            if (failure is not None and failure.status in (404, 410)) or (event or {}).get("status") == "cancelled":
                return Outcome(action, error=NotFound(href))
            return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _failed(self, action: Action, href: str, failure: Failure) -> Outcome:
        """This item's failure: an ItemRefused Outcome, or a ProviderError raised when it concerns the target."""
        fatal = self._whole_target_error(failure)
        if fatal is not None:
            raise fatal
        hint = ""
        if failure.status == 403 and not failure.retryable:
            hint = ": the account may not write this event"
        elif failure.retryable:
            hint = f": still failing after {self.max_retries} retries, the next sync tries again"
        reason = f"Google Calendar refused to {action.verb} it: {failure.describe()}{hint}"
        return Outcome(action, error=ItemRefused(href, reason, failure.status, failure.retry_after))

    def close(self) -> None:
        if self._service is not None:
            self._persist_token()
            with contextlib.suppress(Exception):  # closing is best effort
                self._service.close()
            self._service = None


def _as_outcome_of(action: Action, done: Callable[[Any, Failure | None], Outcome | _Step]) -> Callable:
    """Wrap a step's ``done`` so that its Outcome reports ``action`` (an Update carried on by an insert)."""

    def wrapped(event: Any, failure: Failure | None) -> Outcome | _Step:
        result = done(event, failure)
        if isinstance(result, Outcome):
            return Outcome(action, written=result.written, error=result.error)
        return _Step(action, result.build, _as_outcome_of(action, result.done), result.attempts)

    return wrapped


def _collector(answers: dict[str, tuple[Any, BaseException | None]]) -> Callable[[str, Any, Any], None]:
    def collect(request_id: str, response: Any, exception: BaseException | None) -> None:
        answers[request_id] = (response, exception)

    return collect


def _reported(event: dict[str, Any], uid: str, known: Mapping[str, RemoteItem]) -> RemoteItem | None:
    """The RemoteItem to report for one of our events, or None when it counts as gone.

    A live event is reported. A cancelled one (Google keeps deleted events, status "cancelled") is reported only
    while it still is what calsync wrote: the ETag the engine knows (or None: it never learnt one). Then a follow-up
    calsync cancelled stays in sync, and an event someone deleted, or calsync deleted, counts as absent.
    """
    remote = RemoteItem(uid, str(event.get("id", "")), event.get("etag"))
    mine = known.get(uid)
    if remote.href != event_id(uid, marked_generation(event)) and not (mine is not None and mine.href == remote.href):
        return None  # a copy of ours under another id (a duplicated event): the user's
    if event.get("status") != "cancelled":
        return remote
    if mine is not None and mine.href == remote.href and (mine.etag is None or mine.etag == remote.etag):
        return remote
    return None


def _http_failure(resp: Any, content: bytes | str | None) -> Failure:
    status = int(getattr(resp, "status", 0) or 0)
    reason = ""
    message = ""
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else (content or "")
        data = json.loads(text) if text else {}
        error = data.get("error", {}) if isinstance(data, dict) else {}
        if isinstance(error, dict):
            message = str(error.get("message", ""))
            errors = error.get("errors") or []
            if errors and isinstance(errors[0], dict):
                reason = str(errors[0].get("reason", ""))
            if not reason:
                reason = str(error.get("status", ""))
    except (ValueError, UnicodeDecodeError):
        pass
    return Failure(status, reason, message[:300], _retry_after(resp))


def _retry_after(resp: Any) -> float | None:
    try:
        raw = resp.get("retry-after") if resp is not None else None
    except AttributeError:
        return None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
