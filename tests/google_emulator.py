"""A local Google Calendar v3 emulator, enough of it for calsync's google provider.

It serves ``/calendar/v3/…`` (calendarList, calendars, events), the ``/batch/calendar/v3`` multipart endpoint and an
OAuth ``/token`` endpoint, on 127.0.0.1. Request bodies are validated against the Event and Calendar schemas of the
discovery document bundled with google-api-python-client, as Google would: unknown fields, wrong types, a missing
start or end, a bad client-chosen id are 400s. ETags and If-Match (412), duplicate ids (409), deleted events that keep
their id (status "cancelled"), sync tokens (410 once invalidated), paging, fault injection and a request log.

Modes that reproduce what real accounts do, switchable per test (all on the emulator's ``clock``, which a test can
replace with a :class:`ManualClock` that the provider shares, so minutes pass without waiting):

* :meth:`Emulator.enforce_quota`: a sliding per-user limit (every call, batched or not) and a per-calendar write
  rate; calls beyond them answer 403 ``rateLimitExceeded``.
* :meth:`Emulator.lock_writes_after`: after N more writes, writes to the calendar answer 403 ``quotaExceeded``
  ("Calendar usage limits exceeded") for a while.
* ``refuse_restore``: an update that would bring back a deleted event answers 403.
* :meth:`Emulator.purge`: a deleted event disappears (get 404) while its id stays taken (insert 409).
* :meth:`Emulator.drift_etags`: new ETags without a change of content (Google's spurious 412s).
* ``strict_ids``: an insert carrying both ``id`` and ``iCalUID`` is a 400.
* ``bare_deleted``: listings give deleted events with their id, ETag and status only (all Google guarantees).
* The OAuth ``/auth`` endpoint consents at once and redirects with a code; the code grant carries a refresh token
  only at a client's first consent, or when ``prompt=consent`` was asked, as Google does.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
READ_ONLY_EVENT = {"kind", "etag", "htmlLink", "created", "updated", "creator", "hangoutLink", "iCalUID"}


def discovery_document() -> dict[str, Any]:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
    return json.loads(path.read_text(encoding="utf-8"))


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"domain": "global", "reason": self.reason, "message": self.message}],
            }
        }


class SchemaValidator:
    """Checks a JSON body against a schema of the discovery document (types, unknown fields)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.schemas = document["schemas"]

    def check(self, value: Any, schema_name: str) -> None:
        self._check(value, {"$ref": schema_name}, schema_name)

    def _check(self, value: Any, schema: dict[str, Any], where: str) -> None:
        if "$ref" in schema:
            schema = self.schemas[schema["$ref"]]
        kind = schema.get("type")
        if value is None:
            return  # JSON null clears a field
        if kind == "string":
            if not isinstance(value, str):
                raise _bad(f"Invalid value for {where}: expected a string")
            if schema.get("format") == "date-time" and not _is_datetime(value):
                raise _bad(f"Invalid value for {where}: {value!r} is not an RFC 3339 date-time")
            if schema.get("format") == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise _bad(f"Invalid value for {where}: {value!r} is not a date")
        elif kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise _bad(f"Invalid value for {where}: expected an integer")
        elif kind == "boolean":
            if not isinstance(value, bool):
                raise _bad(f"Invalid value for {where}: expected a boolean")
        elif kind == "array":
            if not isinstance(value, list):
                raise _bad(f"Invalid value for {where}: expected an array")
            for n, entry in enumerate(value):
                self._check(entry, schema.get("items", {}), f"{where}[{n}]")
        elif kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                raise _bad(f"Invalid value for {where}: expected an object")
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, sub in value.items():
                if key in props:
                    self._check(sub, props[key], f"{where}.{key}")
                elif extra is not None:
                    self._check(sub, extra, f"{where}.{key}")
                else:
                    raise _bad(f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}'")


def _is_datetime(value: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _bad(message: str, reason: str = "invalid") -> ApiError:
    return ApiError(400, reason, message)


@dataclass
class Calendar:
    id: str
    summary: str
    primary: bool = False
    time_zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    purged: set[str] = field(default_factory=set)  # ids of purged events: gone, yet taken
    writes: deque[float] = field(default_factory=deque)  # times of recent writes, for the per-calendar rate
    lock_countdown: int | None = None  # writes left before a usage-limit lockout
    locked_until: float = float("-inf")
    lock_seconds: float = 0.0


class _SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when someone sleeps on it: the emulator and the provider under test share one."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.time = start
        self.slept = 0.0

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.time += seconds
            self.slept += seconds


@dataclass
class Quota:
    """Google's per-user rate (calls per sliding minute) and a per-calendar write rate (writes per window)."""

    user_per_minute: int = 600
    calendar_writes: int | None = None
    calendar_window: float = 60.0
    calls: deque[float] = field(default_factory=deque)
    refused: int = 0  # calls answered 403 rateLimitExceeded


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    batch: bool = False
    parts: int = 0
    sub: list[tuple[str, str]] = field(default_factory=list)
    at: float = 0.0  # on the emulator's clock


@dataclass
class Fault:
    """One injected failure. ``kind``: "429", "503", "rateLimitExceeded", "quotaExceeded", "forbidden", "drop"
    (close the connection unanswered), "drop_after" (do the work, then close unanswered), "401".
    ``scope``: "request" (a whole HTTP request, e.g. a batch) or "part" (one sub-request of a batch)."""

    kind: str
    scope: str = "request"
    retry_after: str | None = None


class Emulator:
    def __init__(self, *, page_size: int = 250, require_auth: bool = True) -> None:
        self.document = discovery_document()
        self.validator = SchemaValidator(self.document)
        self.page_size = self.default_page_size = page_size
        self.require_auth = require_auth
        self.lock = threading.RLock()
        self.calendars: dict[str, Calendar] = {}
        self.seq = itertools.count(1)
        self.change = 0  # the last change number: sync tokens point into this sequence
        self.epoch = 0  # sync tokens of an earlier epoch are 410 Gone
        self.log: list[Logged] = []
        self.faults: deque[Fault] = deque()
        self.access_tokens: set[str] = {"test-access-token"}
        self.refresh_tokens: dict[str, str] = {"test-refresh-token": "test-client"}
        self.token_requests: list[dict[str, str]] = []
        # A misbehaving token endpoint, for tests of what calsync prints: None (behave), "echo_json" (a 400 whose
        # description and extra fields repeat the request, refresh token and client secret included),
        # "echo_text" (a 500 plain-text body repeating it), "echo_code" (an "error" code that is the refresh token).
        self.token_misbehaviour: str | None = None
        # "echo_auth": every API call fails with a 400 whose message repeats the request's Authorization header.
        self.api_misbehaviour: str | None = None
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.clock: Any = None
        self.quota: Quota | None = None
        self.refuse_restore = False
        self.strict_ids = False
        self.bare_deleted = False
        self.auth_requests: list[dict[str, str]] = []
        self.codes: dict[str, dict[str, str]] = {}
        self.consented: set[str] = set()
        self.reset()

    # --- control, for tests -----------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.calendars = {"primary@example.com": Calendar("primary@example.com", "me@example.com", primary=True)}
            self.log.clear()
            self.faults.clear()
            self.token_requests.clear()
            self.epoch += 1
            self.access_tokens = {"test-access-token"}
            self.refresh_tokens = {"test-refresh-token": "test-client"}
            self.page_size = self.default_page_size
            self.clock = _SystemClock()
            self.quota = None
            self.refuse_restore = False
            self.strict_ids = False
            self.bare_deleted = False
            self.auth_requests.clear()
            self.codes.clear()
            self.consented.clear()
            self.token_misbehaviour = None
            self.api_misbehaviour = None

    def inject(self, kind: str, *, scope: str = "request", count: int = 1, retry_after: str | None = None) -> None:
        with self.lock:
            for _ in range(count):
                self.faults.append(Fault(kind, scope, retry_after))

    def invalidate_sync_tokens(self) -> None:
        with self.lock:
            self.epoch += 1

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()
            self.token_requests.clear()

    def events(self, calendar: str = "primary", *, deleted: bool = False) -> list[dict[str, Any]]:
        cal = self._calendar(calendar)
        return [ev for ev in cal.events.values() if deleted or ev["status"] != "cancelled"]

    def user_edit(self, calendar: str, event_id: str, **changes: Any) -> dict[str, Any]:
        """Change an event as the user would in Google Calendar (new ETag)."""
        with self.lock:
            event = self._calendar(calendar).events[event_id]
            event.update(changes)
            self._touch(event, bump=True)
            return event

    def user_insert(self, calendar: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.insert_event(self._calendar(calendar), dict(body))

    def enforce_quota(
        self, *, user_per_minute: int = 600, calendar_writes: int | None = None, calendar_window: float = 60.0
    ) -> Quota:
        """Answer 403 rateLimitExceeded beyond ``user_per_minute`` calls in any 60 s (every call counts, also each
        one inside a batch), or beyond ``calendar_writes`` writes to one calendar in any ``calendar_window`` s."""
        with self.lock:
            self.quota = Quota(user_per_minute, calendar_writes, calendar_window)
            return self.quota

    def lock_writes_after(self, writes: int, *, calendar: str = "primary", seconds: float = 3 * 3600.0) -> None:
        """After ``writes`` more writes, the calendar refuses writes with 403 quotaExceeded for ``seconds``."""
        with self.lock:
            cal = self._calendar(calendar)
            cal.lock_countdown = writes if writes > 0 else None
            cal.lock_seconds = seconds
            if writes <= 0:
                cal.locked_until = self.clock.now() + seconds

    def purge(self, calendar: str, event_id: str) -> None:
        """The event is gone for good (get: 404), but Google keeps its id taken (insert: 409)."""
        with self.lock:
            cal = self._calendar(calendar)
            del cal.events[event_id]
            cal.purged.add(event_id)

    def drift_etags(self, calendar: str = "primary", ids: list[str] | None = None) -> None:
        """New ETags with the content unchanged, as Google sometimes hands out."""
        with self.lock:
            cal = self._calendar(calendar)
            for event_id in ids if ids is not None else list(cal.events):
                self._touch(cal.events[event_id], bump=False)

    def user_delete(self, calendar: str, event_id: str) -> None:
        with self.lock:
            event = self._calendar(calendar).events[event_id]
            event["status"] = "cancelled"
            self._touch(event, bump=False)

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="google-emulator", daemon=True)
        self.thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # --- model ------------------------------------------------------------------------------------------------

    def _calendar(self, cal_id: str) -> Calendar:
        if cal_id == "primary":
            return next(c for c in self.calendars.values() if c.primary)
        try:
            return self.calendars[cal_id]
        except KeyError:
            raise ApiError(404, "notFound", "Not Found") from None

    def _touch(self, event: dict[str, Any], *, bump: bool) -> None:
        self.change = next(self.seq)
        event["_change"] = self.change
        event["etag"] = f'"{self.change:016d}"'
        event["updated"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        if bump:
            event["sequence"] = int(event.get("sequence", 0)) + 1

    def _validate_event(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("Invalid JSON payload: expected an Event object", "parseError")
        self.validator.check(body, "Event")
        if not body.get("start"):
            raise _bad("Missing start time.", "required")
        if not body.get("end"):
            raise _bad("Missing end time.", "required")
        for edge in ("start", "end"):
            when = body[edge]
            if not when.get("dateTime") and not when.get("date"):
                raise _bad(f"Missing {edge} time.", "required")
            if when.get("dateTime") and not when.get("timeZone") and re.search(r"T[\d:.]+$", when["dateTime"]):
                raise _bad("Missing time zone definition for start time.", "required")
        if body.get("status") not in (None, "confirmed", "tentative", "cancelled"):
            raise _bad(f"Invalid status {body['status']!r}")
        reminders = body.get("reminders") or {}
        for rem in reminders.get("overrides") or []:
            if rem.get("method") not in ("popup", "email") or not 0 <= int(rem.get("minutes", -1)) <= 40320:
                raise _bad("Invalid reminder", "invalid")
        if reminders.get("useDefault") and reminders.get("overrides"):
            raise _bad("Cannot specify both default reminders and overrides at the same time.", "cannotUseDefault")
        return body

    def insert_event(self, cal: Calendar, body: dict[str, Any], *, imported: bool = False) -> dict[str, Any]:
        self._validate_event(body)
        event_id = body.get("id")
        if event_id is not None:
            if not ID_RE.fullmatch(event_id):
                raise _bad("Invalid resource id value.", "invalid")
            if event_id in cal.events or event_id in cal.purged:
                raise ApiError(409, "duplicate", "The requested identifier already exists.")
            if self.strict_ids and body.get("iCalUID") and not imported:
                raise _bad("Specify either id or iCalUID, not both.", "invalid")
        else:
            event_id = uuid.uuid4().hex
        event = {k: v for k, v in body.items() if k not in READ_ONLY_EVENT or (imported and k == "iCalUID")}
        event.update(
            kind="calendar#event",
            id=event_id,
            status=body.get("status") or "confirmed",
            iCalUID=body.get("iCalUID") if imported else f"{event_id}@google.com",
            sequence=int(body.get("sequence") or 0),
            created=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            htmlLink=f"https://calendar.example/event?eid={event_id}",
            creator={"email": cal.summary},
            organizer={"email": cal.id, "self": True},
        )
        if not imported and body.get("iCalUID"):
            event["iCalUID"] = body["iCalUID"]  # Google accepts iCalUID on insert too
        cal.events[event_id] = event
        self._touch(event, bump=False)
        return event

    def replace_event(self, cal: Calendar, event_id: str, body: dict[str, Any], if_match: str | None) -> dict:
        current = self._existing(cal, event_id)
        self._check_etag(current, if_match)
        self._validate_event(body)
        if self.refuse_restore and current["status"] == "cancelled" and body.get("status") != "cancelled":
            raise ApiError(403, "forbidden", "Forbidden")
        if body.get("id") not in (None, event_id):
            raise _bad("The id cannot be changed.", "invalid")
        if body.get("sequence") is not None and int(body["sequence"]) < int(current.get("sequence", 0)):
            raise _bad(
                "Invalid sequence value. The specified sequence number is below the current sequence number of "
                "the resource. Re-fetch the resource and use its next sequence number on the following update.",
                "invalidSequenceValue",
            )
        keep = {k: current[k] for k in ("kind", "id", "created", "htmlLink", "creator", "organizer", "iCalUID")}
        new = {k: v for k, v in body.items() if k not in READ_ONLY_EVENT}
        new.update(keep)
        new["status"] = body.get("status") or "confirmed"
        new["sequence"] = int(body.get("sequence", current.get("sequence", 0)) or 0)
        cal.events[event_id] = new
        self._touch(new, bump=False)
        return new

    def patch_event(self, cal: Calendar, event_id: str, body: dict[str, Any], if_match: str | None) -> dict:
        current = self._existing(cal, event_id)
        self._check_etag(current, if_match)
        self.validator.check(body, "Event")
        merged = json.loads(json.dumps({k: v for k, v in current.items() if not k.startswith("_")}))
        _merge(merged, body)
        return self.replace_event(cal, event_id, merged, None)

    def delete_event(self, cal: Calendar, event_id: str, if_match: str | None) -> None:
        current = self._existing(cal, event_id)
        if current["status"] == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        self._check_etag(current, if_match)
        current["status"] = "cancelled"
        self._touch(current, bump=False)

    def _listed(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.bare_deleted and event["status"] == "cancelled":
            # Google: "deleted events are only guaranteed to have the id field populated".
            return {"kind": "calendar#event", "id": event["id"], "etag": event["etag"], "status": "cancelled"}
        return _public(event)

    def _existing(self, cal: Calendar, event_id: str) -> dict[str, Any]:
        try:
            return cal.events[event_id]  # a purged id is not there: 404
        except KeyError:
            raise ApiError(404, "notFound", "Not Found") from None

    @staticmethod
    def _check_etag(current: dict[str, Any], if_match: str | None) -> None:
        if if_match and if_match != "*" and if_match != current["etag"]:
            raise ApiError(412, "conditionNotMet", "Precondition Failed")

    def list_events(self, cal: Calendar, query: dict[str, list[str]]) -> dict[str, Any]:
        one = {k: v[-1] for k, v in query.items()}
        sync = one.get("syncToken")
        page_token = one.get("pageToken")
        max_results = min(int(one.get("maxResults", 250)), 2500, self.page_size)
        if sync is not None:
            for banned in ("privateExtendedProperty", "sharedExtendedProperty", "q", "timeMin", "timeMax",
                           "iCalUID", "orderBy", "updatedMin"):  # fmt: skip
                if banned in query:
                    raise _bad(f"{banned} is not supported with syncToken", "invalidParameter")
        if page_token:
            state = json.loads(base64.urlsafe_b64decode(page_token))
            since, upto, offset = state["since"], state["upto"], state["offset"]
        else:
            upto, offset = self.change, 0
            since = None
            if sync is not None:
                try:
                    token_cal, epoch, since = base64.urlsafe_b64decode(sync).decode().rsplit("|", 2)
                    since = int(since)
                except ValueError:
                    raise _bad("Invalid sync token value.", "invalid") from None
                if token_cal != cal.id or int(epoch) != self.epoch:
                    raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
        show_deleted = since is not None or one.get("showDeleted") == "true"
        filters = [f.split("=", 1) for f in query.get("privateExtendedProperty", [])]
        chosen = []
        for event in sorted(cal.events.values(), key=lambda e: (e["_change"], e["id"])):
            if event["_change"] > upto:
                continue
            if since is not None and event["_change"] <= since:
                continue
            if event["status"] == "cancelled" and not show_deleted:
                continue
            private = (event.get("extendedProperties") or {}).get("private") or {}
            if any(private.get(k) != v for k, v in filters):
                continue
            chosen.append(event)
        page = chosen[offset : offset + max_results]
        answer: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": cal.summary,
            "timeZone": cal.time_zone,
            "items": [self._listed(e) for e in page],
        }
        if offset + max_results < len(chosen):
            state = {"since": since, "upto": upto, "offset": offset + max_results}
            answer["nextPageToken"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        else:
            answer["nextSyncToken"] = base64.urlsafe_b64encode(f"{cal.id}|{self.epoch}|{upto}".encode()).decode()
        return answer

    # --- dispatch ---------------------------------------------------------------------------------------------

    def dispatch(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> tuple:
        """One API call: (status, headers, JSON body or None)."""
        with self.lock:
            self._authorize(headers)
            parts = [unquote(p) for p in path.strip("/").split("/")]
            writing = method != "GET" and len(parts) >= 5 and parts[2] == "calendars" and parts[4] == "events"
            cal = self._calendar(parts[3]) if writing else None
            self._admit(cal)
            answer = self._route(method, path, query, headers, body)
            if cal is not None:
                self._wrote(cal)
            return answer

    def _admit(self, cal: Calendar | None) -> None:
        """Quotas: the per-user rate for every call; for writes the calendar's rate and its usage-limit lockout."""
        now = self.clock.now()
        if cal is not None and now < cal.locked_until:
            raise ApiError(403, "quotaExceeded", "Calendar usage limits exceeded.")
        quota = self.quota
        if quota is None:
            return
        while quota.calls and quota.calls[0] <= now - 60.0:
            quota.calls.popleft()
        if len(quota.calls) >= quota.user_per_minute:
            quota.refused += 1
            raise ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded")
        if cal is not None and quota.calendar_writes is not None:
            while cal.writes and cal.writes[0] <= now - quota.calendar_window:
                cal.writes.popleft()
            if len(cal.writes) >= quota.calendar_writes:
                quota.refused += 1
                raise ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded")
        quota.calls.append(now)

    def _wrote(self, cal: Calendar) -> None:
        now = self.clock.now()
        cal.writes.append(now)
        if cal.lock_countdown is not None:
            cal.lock_countdown -= 1
            if cal.lock_countdown <= 0:
                cal.lock_countdown = None
                cal.locked_until = now + cal.lock_seconds

    def _route(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes) -> tuple:
        data = None
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise _bad("Invalid JSON payload received.", "parseError") from None
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] != ["calendar", "v3"]:
            raise ApiError(404, "notFound", "Not Found")
        rest = parts[2:]
        if_match = headers.get("If-Match")
        if rest == ["users", "me", "calendarList"] and method == "GET":
            items = [
                {
                    "kind": "calendar#calendarListEntry",
                    "id": c.id,
                    "summary": c.summary,
                    "accessRole": "owner",
                    "primary": c.primary,
                    "timeZone": c.time_zone,
                }
                for c in self.calendars.values()
            ]
            return 200, {}, {"kind": "calendar#calendarList", "items": items}
        if rest == ["calendars"] and method == "POST":
            self.validator.check(data, "Calendar")
            if not (data or {}).get("summary"):
                raise _bad("Missing summary.", "required")
            cal_id = f"{uuid.uuid4().hex}@group.calendar.google.com"
            cal = Calendar(cal_id, data["summary"], time_zone=data.get("timeZone") or "UTC")
            self.calendars[cal_id] = cal
            return 200, {}, {"kind": "calendar#calendar", "id": cal_id, "summary": cal.summary}
        if len(rest) == 2 and rest[0] == "calendars" and method == "GET":
            cal = self._calendar(rest[1])
            return 200, {}, {"kind": "calendar#calendar", "id": cal.id, "summary": cal.summary}
        if len(rest) >= 3 and rest[0] == "calendars" and rest[2] == "events":
            cal = self._calendar(rest[1])
            if len(rest) == 3 and method == "GET":
                return 200, {}, self.list_events(cal, query)
            if len(rest) == 3 and method == "POST":
                return 200, {}, _public(self.insert_event(cal, data))
            if rest[3:] == ["import"] and method == "POST":
                return 200, {}, _public(self._import(cal, data))
            if len(rest) == 4:
                event_id = rest[3]
                if method == "GET":
                    return 200, {}, _public(self._existing(cal, event_id))
                if method == "PUT":
                    return 200, {}, _public(self.replace_event(cal, event_id, data, if_match))
                if method == "PATCH":
                    return 200, {}, _public(self.patch_event(cal, event_id, data, if_match))
                if method == "DELETE":
                    self.delete_event(cal, event_id, if_match)
                    return 204, {}, None
        raise ApiError(404, "notFound", f"No such method: {method} {path}")

    def _import(self, cal: Calendar, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not data.get("iCalUID"):
            raise _bad("Missing iCalUID.", "required")
        for event in cal.events.values():
            if event.get("iCalUID") == data["iCalUID"]:
                return self.replace_event(cal, event["id"], {**data, "id": event["id"]}, None)
        return self.insert_event(cal, data, imported=True)

    def _authorize(self, headers: Any) -> None:
        if not self.require_auth:
            return
        value = headers.get("Authorization") or ""
        if not value.startswith("Bearer ") or value[7:] not in self.access_tokens:
            raise ApiError(401, "authError", "Request had invalid authentication credentials.")

    def authorize(self, query: dict[str, str]) -> str:
        """The consent page, consenting at once: the URL to redirect the browser to, with a code."""
        with self.lock:
            self.auth_requests.append(query)
            code = uuid.uuid4().hex
            self.codes[code] = query
            sep = "&" if "?" in query["redirect_uri"] else "?"
            return f"{query['redirect_uri']}{sep}code={code}&state={query.get('state', '')}&scope={query['scope']}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The OAuth token endpoint: authorization code, refresh_token and JWT-bearer (service account) grants."""
        with self.lock:
            self.token_requests.append(form)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                asked = self.codes.pop(form.get("code", ""), None)
                if asked is None:
                    return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
                client = asked.get("client_id", "")
                access = f"ya29.{uuid.uuid4().hex}"
                self.access_tokens.add(access)
                answer = {"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": asked["scope"]}
                # Google: a refresh token at the first consent only, unless consent is asked for again.
                if client not in self.consented or asked.get("prompt") == "consent":
                    refresh = f"1//{uuid.uuid4().hex}"
                    self.refresh_tokens[refresh] = client
                    answer["refresh_token"] = refresh
                    self.consented.add(client)
                return 200, answer
            if grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                if not form.get("assertion"):
                    return 400, {"error": "invalid_request"}
            else:
                return 400, {"error": "unsupported_grant_type"}
            access = f"ya29.{uuid.uuid4().hex}"
            self.access_tokens.add(access)
            return 200, {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    def take_fault(self, scope: str) -> Fault | None:
        with self.lock:
            if self.faults and self.faults[0].scope == scope:
                return self.faults.popleft()
            return None


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("_")}


def fault_error(fault: Fault) -> ApiError | None:
    if fault.kind == "429":
        return ApiError(429, "rateLimitExceeded", "Rate Limit Exceeded", {"Retry-After": fault.retry_after or "0"})
    if fault.kind == "503":
        return ApiError(503, "backendError", "Backend Error")
    if fault.kind == "rateLimitExceeded":
        return ApiError(403, "rateLimitExceeded", "Rate Limit Exceeded")
    if fault.kind == "userRateLimitExceeded":
        return ApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
    if fault.kind == "quotaExceeded":
        return ApiError(403, "quotaExceeded", "Calendar usage limits exceeded.")
    if fault.kind == "forbidden":
        return ApiError(403, "forbidden", "Forbidden")
    if fault.kind == "401":
        return ApiError(401, "authError", "Request had invalid authentication credentials.")
    return None


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        emu = self.emulator
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        is_batch = split.path.rstrip("/") == "/batch/calendar/v3"
        entry = Logged(self.command, unquote(split.path), query, batch=is_batch, at=emu.clock.now())
        if split.path not in ("/token", "/auth"):
            with emu.lock:
                emu.log.append(entry)
        if split.path == "/auth" and self.command == "GET":
            location = emu.authorize({k: v[-1] for k, v in query.items()})
            self._reply(302, {"Location": location}, b"")
            return
        fault = emu.take_fault("request") if split.path != "/token" else None
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        try:
            if fault is not None and fault.kind != "drop_after":
                raise fault_error(fault) or ApiError(500, "backendError", "unknown fault")
            if split.path == "/token":
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                status, answer = emu.token(form)
                misbehaviour = emu.token_misbehaviour
                if misbehaviour == "echo_text":
                    self._reply(500, {"Content-Type": "text/plain"}, f"token endpoint failed on {body!r}".encode())
                    return
                if misbehaviour == "echo_json":
                    status, answer = 400, {"error": "invalid_grant", "error_description": repr(form), "echo": form}
                elif misbehaviour == "echo_code":
                    status, answer = 400, {"error": form.get("refresh_token", "?"), "error_description": repr(form)}
                self._reply(status, {"Content-Type": "application/json"}, json.dumps(answer).encode())
                return
            if emu.api_misbehaviour == "echo_auth":
                raise ApiError(400, "invalid", f"Bad request with {self.headers.get('Authorization')}")
            if is_batch and self.command == "POST":
                status, headers, payload = self._batch(body, entry)
            else:
                status, headers, data = emu.dispatch(self.command, split.path, query, self.headers, body)
                payload = json.dumps(data).encode() if data is not None else b""
                if data is not None:
                    headers = {**headers, "Content-Type": "application/json; charset=UTF-8"}
        except ApiError as exc:
            status, headers = exc.status, {**exc.headers, "Content-Type": "application/json; charset=UTF-8"}
            payload = json.dumps(exc.body()).encode()
        if fault is not None and fault.kind == "drop_after":
            self.close_connection = True
            return
        self._reply(status, headers, payload)

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _batch(self, body: bytes, entry: Logged) -> tuple[int, dict[str, str], bytes]:
        emu = self.emulator
        ctype = self.headers.get("Content-Type", "")
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        if not message.is_multipart():
            raise _bad("Batch requests must be multipart/mixed.", "badRequest")
        parts = list(message.iter_parts())
        if len(parts) > 1000:
            raise _bad("Too many requests in batch (max 1000).", "tooManyRequests")
        entry.parts = len(parts)
        boundary = f"batch_{uuid.uuid4().hex}"
        out = []
        for part in parts:
            content_id = str(part.get("Content-ID", ""))
            raw = part.get_payload(decode=True) or b""
            method, path, headers, sub_body = _parse_http(raw)
            entry.sub.append((method, unquote(urlsplit(path).path)))
            if not headers.get("Authorization") and self.headers.get("Authorization"):
                headers["Authorization"] = self.headers["Authorization"]
            fault = emu.take_fault("part")
            try:
                if fault is not None:
                    raise fault_error(fault) or ApiError(500, "backendError", "unknown fault")
                split = urlsplit(path)
                status, extra, data = emu.dispatch(method, split.path, parse_qs(split.query), headers, sub_body)
                payload = json.dumps(data) if data is not None else ""
            except ApiError as exc:
                status, extra, payload = exc.status, exc.headers, json.dumps(exc.body())
            lines = [f"HTTP/1.1 {status} {_reason(status)}"]
            if payload:
                lines.append("Content-Type: application/json; charset=UTF-8")
            lines += [f"{k}: {v}" for k, v in extra.items()]
            lines.append(f"Content-Length: {len(payload.encode())}")
            inner = "\r\n".join(lines) + "\r\n\r\n" + payload
            response_id = content_id.replace("<", "<response-", 1) if content_id else ""
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {response_id}\r\n\r\n{inner}\r\n"
            )
        out.append(f"--{boundary}--\r\n")
        return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, "".join(out).encode()


def _parse_http(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    """An application/http request: request line, headers, body."""
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    lines = head.decode("utf-8").split("\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = _Headers()
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip()] = value.strip()
    return method, target, headers, body


class _Headers(dict):
    """Case-insensitive header lookup, like http.server's."""

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
