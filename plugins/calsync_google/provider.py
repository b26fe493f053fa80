"""GoogleProvider: calsync's follow-ups as events of a Google calendar, through the Calendar v3 API.

Design, in short:

* Identity. Every event gets a client-chosen id derived from the follow-up's UID (:func:`events.event_id`). We insert
  with that id rather than use ``events.import`` with ``iCalUID``: the href is known before the write, so a retried
  insert whose first attempt did land (a dropped connection) comes back as 409 and is recognised, an event the user
  deleted (Google keeps its id, status "cancelled") is restored in place by an update, and no write depends on
  import's organizer/iCalUID matching rules. A 409 is reconciled with a get, then an update when the event is ours.
* Writes go in batch requests (up to ``batch_size``, default 1,000 calls each); only failed sub-requests are retried.
* ``scan`` with a token is one incremental ``events.list`` with ``syncToken``; a 410 falls back on a full listing
  filtered by ``privateExtendedProperty=calsync=1``. The calendar id lives in ``self.state``.
* Retries: exponential backoff with full jitter (``backoff_base`` seconds, doubled per attempt, at least the
  server's Retry-After) for 429, 403 rate limits, 5xx and transport errors; never for other 4xx.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import json
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from calsync.errors import NotFound, PreconditionFailed, ProviderError
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
from calsync_google.events import MARK_FILTER, from_event, is_ours, marked_uid, to_event

GOOGLE_ROOT = "https://www.googleapis.com/"
RETRYABLE_403 = {"rateLimitExceeded", "userRateLimitExceeded"}
LIST_FIELDS = "items(id,etag,status,iCalUID,extendedProperties),nextPageToken,nextSyncToken"
PAGE_SIZE = 2500  # Google's maximum for events.list


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

    def describe(self) -> str:
        if self.status is None:
            return f"connection failed ({self.message})"
        detail = f"{self.status} {self.reason}".strip()
        return f"{self.message} ({detail})" if self.message else detail


class CallFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


@dataclass
class _Step:
    """One HTTP call of an action; ``done`` turns its answer into an Outcome or the action's next step."""

    action: Action
    build: Callable[[], Any]
    done: Callable[[Any, Failure | None], Outcome | _Step]
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class GoogleProvider(Provider):
    name = "google"
    # Google Calendar stores events only; a VTODO is refused with a ProviderError (see events.to_event) rather than
    # silently turned into an event.
    supports_todo = False
    create_reconciles = True  # event ids derive from UIDs and outlive deletion: a 409 is reconciled
    can_read = True

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.calendar = target.text("calendar") or "primary"
        self.create_calendar = target.flag("create")
        # The engine renders alarm_minutes into the VALARM; the reminders are read from there.
        self.alarm_minutes = None
        self.backoff_base = target.number("backoff_base", 1.0, low=0, high=60)
        self.max_backoff = target.number("max_backoff", 64.0, low=0, high=3600)
        self.max_retries = target.number("max_retries", 6, low=0, high=20, whole=True)
        self.batch_size = target.number("batch_size", 1000, low=1, high=1000, whole=True)
        self.timeout = target.number("timeout", 60.0, low=1, high=3600)
        endpoint = target.text("api_endpoint")
        self.api_root = (str(endpoint).rstrip("/") + "/") if endpoint else GOOGLE_ROOT
        self.sleep: Callable[[float], None] = time.sleep
        self._service: Any = None
        self._http: Any = None
        self._creds: Any = None
        self._saved_token: str | None = None

    # --- plumbing ---------------------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"google calendar {self.calendar!r}"

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
        backoff = random.uniform(0, min(self.max_backoff, self.backoff_base * (2**attempt)))
        return max(backoff, retry_after or 0.0)

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

    def _raise_auth(self, failure: Failure) -> None:
        if failure.status == 401:
            what = (
                "the service account's token"
                if self.target.option("auth", "oauth") == "service_account"
                else f"the stored authorization: run `calsync auth {self.target.name}` again"
            )
            raise ProviderError(f"target {self.target.name!r}: Google rejected {what}")

    def _retrying(self, send: Callable[[], Any]) -> Any:
        """``send()``, retried with backoff while it fails transiently. Raises CallFailed otherwise."""
        attempt = 0
        while True:
            try:
                return send()
            except Exception as exc:
                failure = self._failure(exc)
                if failure.retryable and attempt < self.max_retries:
                    self.sleep(self._delay(attempt, failure.retry_after))
                    attempt += 1
                    continue
                self._raise_auth(failure)
                raise CallFailed(failure) from None
            finally:
                self._persist_token()

    def call(self, build: Callable[[], Any]) -> Any:
        """One request, retried while the failure is transient. Raises CallFailed otherwise."""
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
            self._retrying(send)
        except CallFailed as exc:
            raise ProviderError(f"Google Calendar batch request failed: {exc}") from None
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

    # --- reading ------------------------------------------------------------------------------------------------

    def read(self, href: str) -> Fetched:
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
        self.state["listed"] = self.calendar_id()  # a real listing, never the first-sync shortcut
        return list(self.scan({}, None).items.values())

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
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
                    if remote is None:
                        items.pop(uid, None)
                    else:
                        items[uid] = remote
                return Scan(items, prefix + next_token if next_token else None)
        if not known and token is None and self.state.get("listed") != cal:
            # The very first sync of this calendar: nothing to learn that the writes will not. Event ids follow
            # from the UIDs, so an event that is there already answers the insert with 409 and is reconciled,
            # never duplicated. No token: the next sync lists (one request per 2,500 events) and gets one.
            self.state["listed"] = cal
            return Scan({}, None)
        self.state["listed"] = cal
        try:
            listed, next_token = self._list(cal, sync_token=None)
        except CallFailed as exc:
            raise self._list_error(exc) from None
        items = {}
        for event in listed:
            uid = marked_uid(event)
            if uid is None:
                continue
            remote = _reported(event, uid, known)
            if remote is not None:
                items[uid] = remote
        return Scan(items, prefix + next_token if next_token else None)

    def _list_error(self, exc: CallFailed) -> ProviderError:
        if exc.failure.status == 404:
            return ProviderError(f"target {self.target.name!r}: Google calendar {self.calendar!r} not found")
        return ProviderError(f"could not list Google calendar {self.calendar!r}: {exc}")

    def _list(self, cal: str, sync_token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        svc = self.service()
        params: dict[str, Any] = {"calendarId": cal, "maxResults": PAGE_SIZE, "fields": LIST_FIELDS}
        if sync_token:
            # Google refuses privateExtendedProperty with syncToken: the changes are filtered here instead.
            params["syncToken"] = sync_token
        else:
            params["privateExtendedProperty"] = MARK_FILTER
            params["showDeleted"] = True
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
        if not actions:
            return
        bodies = {
            id(action): to_event(action.item, alarm_minutes=self.alarm_minutes)
            for action in actions
            if isinstance(action, Create | Update)
        }
        self.service()
        cal = self.calendar_id()
        queue: deque[_Step] = deque(self._first_step(action, cal, bodies) for action in actions)
        while queue:
            chunk = [queue.popleft() for _ in range(min(len(queue), self.batch_size))]
            retry: list[_Step] = []
            wait = 0.0
            for step, response, failure in self._batch(chunk):
                if failure is not None and failure.retryable and step.attempts < self.max_retries:
                    wait = max(wait, self._delay(step.attempts, failure.retry_after))
                    step.attempts += 1
                    retry.append(step)
                    continue
                if failure is not None:
                    self._raise_auth(failure)
                result = step.done(response, failure)
                if isinstance(result, Outcome):
                    yield result
                else:
                    queue.append(result)
            if retry:
                self.sleep(wait)
                queue.extendleft(reversed(retry))

    def _first_step(self, action: Action, cal: str, bodies: dict[int, dict[str, Any]]) -> _Step:
        if isinstance(action, Create):
            return self._insert_step(action, cal, bodies[id(action)])
        if isinstance(action, Update):
            return self._update_step(action, cal, action.href, bodies[id(action)], action.etag)
        return self._delete_step(action, cal)

    def _request(self, build: Callable[[Any], Any], etag: str | None = None) -> Callable[[], Any]:
        def make() -> Any:
            request = build(self.service().events())
            if etag:
                request.headers["If-Match"] = etag
            return request

        return make

    def _insert_step(self, action: Create, cal: str, body: dict[str, Any]) -> _Step:
        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None:
                return Outcome(action, written=Written(event["id"], event.get("etag")))
            if failure.status == 409:
                # The id is taken: an earlier attempt landed, or the event was deleted (ids outlive deletion).
                return self._reconcile_step(action, cal, body)
            return self._failed(action, failure)

        return _Step(action, self._request(lambda ev: ev.insert(calendarId=cal, body=body)), done)

    def _reconcile_step(self, action: Create, cal: str, body: dict[str, Any]) -> _Step:
        href = body["id"]

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is not None:
                if failure.status in (404, 410):
                    return Outcome(action, error=PreconditionFailed(href, f"event {href} exists but cannot be read"))
                return self._failed(action, failure)
            if not is_ours(event, action.uid):
                return Outcome(action, error=PreconditionFailed(href, f"event {href} exists and is not calsync's"))
            # Ours: rewrite it in place (this restores a deleted one: the body says status "confirmed").
            return self._update_step(action, cal, href, body, event.get("etag"), sequence_floor=event.get("sequence"))

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _update_step(
        self,
        action: Action,
        cal: str,
        href: str,
        body: dict[str, Any],
        etag: str | None,
        sequence_floor: int | None = None,
        refetched: bool = False,
    ) -> _Step:
        if sequence_floor is not None and int(sequence_floor) > int(body.get("sequence", 0)):
            body = {**body, "sequence": int(sequence_floor)}
        body = {**body, "id": href}

        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is None:
                return Outcome(action, written=Written(event["id"], event.get("etag")))
            if failure.status == 412 and not isinstance(action, Create):
                return self._changed_or_gone_step(action, cal, href)
            if failure.status == 412:
                return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))
            if failure.status in (404, 410) and not isinstance(action, Create):
                return Outcome(action, error=NotFound(href))
            if failure.status == 400 and "sequence" in failure.message.lower() and not refetched:
                # Google refuses a SEQUENCE below the stored one: take the stored one (same ETag check).
                return self._sequence_step(action, cal, href, body, etag)
            return self._failed(action, failure)

        build = self._request(lambda ev: ev.update(calendarId=cal, eventId=href, body=body), etag)
        return _Step(action, build, done)

    def _sequence_step(self, action: Action, cal: str, href: str, body: dict[str, Any], etag: str | None) -> _Step:
        def done(event: Any, failure: Failure | None) -> Outcome | _Step:
            if failure is not None:
                return self._failed(action, failure)
            if etag and event.get("etag") != etag:
                return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))
            return self._update_step(
                action, cal, href, body, event.get("etag"), sequence_floor=event.get("sequence"), refetched=True
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
            return self._failed(action, failure)

        build = self._request(lambda ev: ev.delete(calendarId=cal, eventId=href), action.etag)
        return _Step(action, build, done)

    def _changed_or_gone_step(self, action: Action, cal: str, href: str) -> _Step:
        """After a 412: a deleted event (Google keeps it, cancelled, under a new ETag) is NotFound, as on every
        other target; anything else was changed by the user."""

        def done(event: Any, failure: Failure | None) -> Outcome:
            if (failure is not None and failure.status in (404, 410)) or (event or {}).get("status") == "cancelled":
                return Outcome(action, error=NotFound(href))
            return Outcome(action, error=PreconditionFailed(href, f"event {href} was changed in Google Calendar"))

        return _Step(action, self._request(lambda ev: ev.get(calendarId=cal, eventId=href)), done)

    def _failed(self, action: Action, failure: Failure) -> Outcome:
        hint = ""
        if failure.status == 403 and failure.reason in ("quotaExceeded", "dailyLimitExceeded"):
            hint = ": the project's daily Calendar API quota is used up, try again tomorrow"
        elif failure.status == 403:
            hint = ": the account may not write to this calendar"
        message = f"Google Calendar refused to {action.verb} {action.uid or action.href}: {failure.describe()}{hint}"
        return Outcome(action, error=ProviderError(message))

    def close(self) -> None:
        if self._service is not None:
            self._persist_token()
            with contextlib.suppress(Exception):  # closing is best effort
                self._service.close()
            self._service = None


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
    if event.get("status") != "cancelled":
        return remote
    mine = known.get(uid)
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
