"""A local Microsoft Graph v1.0 emulator, enough of it for calsync's outlook provider, plus the sign-in endpoints
msal talks to.

It serves, over HTTPS on 127.0.0.1 (msal accepts only https authorities):

* ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/devicecode`` and ``…/token``
  (device-code and refresh-token grants, with the failures Microsoft answers: expired refresh token, admin consent,
  unknown tenant, a personal account on an organizations-only app);
* ``/v1.0/me/calendar``, ``/me/calendars``, their ``events`` (with ``$filter`` on calsync's extended property),
  ``calendarView/delta`` with delta links and ``@removed``, ``/me/events/{id}``;
* ``/v1.0/me/todo/lists``, their ``tasks`` (with ``$expand=linkedResources``) and ``tasks/delta``;
* ``/v1.0/$batch`` (JSON batching, at most 20 requests).

Request bodies are checked against the Event, Calendar, TodoTask and TodoTaskList models of the msgraph-sdk package
(their own field lists and enums, not a list typed here): an unknown property, a wrong enum value or a time zone
Graph would not know is a 400. ETags and If-Match (412), transactionId de-duplication, a sliding per-minute
request limit on a controllable clock (429 with Retry-After), injected faults and a request log.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

HOST = "127.0.0.1"
SERVER_MANAGED = {"id", "@odata.etag", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "isCancelled"}


# --- models from the SDK --------------------------------------------------------------------------------------------


def _models() -> dict[str, Any]:
    from msgraph.generated.models.calendar import Calendar
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.linked_resource import LinkedResource
    from msgraph.generated.models.location import Location
    from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
    from msgraph.generated.models.todo_task import TodoTask
    from msgraph.generated.models.todo_task_list import TodoTaskList

    return {
        "Event": Event,
        "Calendar": Calendar,
        "TodoTask": TodoTask,
        "TodoTaskList": TodoTaskList,
        "DateTimeTimeZone": DateTimeTimeZone,
        "ItemBody": ItemBody,
        "Location": Location,
        "SingleValueLegacyExtendedProperty": SingleValueLegacyExtendedProperty,
        "LinkedResource": LinkedResource,
    }


# Which model a nested property holds, and which enum a string property takes: the SDK knows both.
_NESTED = {
    "start": "DateTimeTimeZone",
    "end": "DateTimeTimeZone",
    "dueDateTime": "DateTimeTimeZone",
    "reminderDateTime": "DateTimeTimeZone",
    "startDateTime": "DateTimeTimeZone",
    "completedDateTime": "DateTimeTimeZone",
    "body": "ItemBody",
    "location": "Location",
}
_LISTS = {"singleValueExtendedProperties": "SingleValueLegacyExtendedProperty", "linkedResources": "LinkedResource"}


def _enums() -> dict[str, set[str]]:
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.free_busy_status import FreeBusyStatus
    from msgraph.generated.models.task_status import TaskStatus

    return {
        "showAs": {e.value for e in FreeBusyStatus},
        "status": {e.value for e in TaskStatus},
        "contentType": {e.value for e in BodyType},
    }


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(message or code)
        self.status, self.code, self.message, self.headers = status, code, message or code, headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class Validator:
    def __init__(self) -> None:
        models = _models()
        self.fields = {name: set(model().get_field_deserializers()) for name, model in models.items()}
        self.enums = _enums()

    def check(self, body: Any, model: str, *, creating: bool) -> None:
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "the body must be a JSON object")
        for key, value in body.items():
            if key not in self.fields[model]:
                raise GraphError(400, "RequestBodyRead", f"The property '{key}' does not exist on type '{model}'")
            if key in SERVER_MANAGED and model in ("Event", "TodoTask"):
                raise GraphError(400, "ErrorInvalidProperty", f"The property '{key}' is read-only")
            if key == "transactionId" and not creating:
                raise GraphError(400, "ErrorInvalidProperty", "transactionId can only be set on create")
            if key in self.enums and model != "Location" and value is not None and value not in self.enums[key]:
                raise GraphError(400, "RequestBodyRead", f"'{value}' is not a valid value for '{key}'")
            if key in _NESTED and value is not None:
                self.check(value, _NESTED[key], creating=creating)
                if _NESTED[key] == "DateTimeTimeZone":
                    _check_time(value)
            if key in _LISTS:
                if not isinstance(value, list):
                    raise GraphError(400, "RequestBodyRead", f"'{key}' must be a collection")
                for entry in value:
                    self.check(entry, _LISTS[key], creating=creating)
            if key == "categories" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise GraphError(400, "RequestBodyRead", "categories must be a list of strings")


def _check_time(value: dict[str, Any]) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        datetime.fromisoformat(str(value.get("dateTime")).split(".", 1)[0])
    except ValueError:
        raise GraphError(400, "RequestBodyRead", f"invalid dateTime {value.get('dateTime')!r}") from None
    zone = str(value.get("timeZone") or "")
    if zone != "UTC":
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"A valid TimeZone value must be specified: {zone}"
            raise GraphError(400, "TimeZoneNotSupportedException", message) from None


# --- the store ----------------------------------------------------------------------------------------------------


@dataclass
class Container:
    id: str
    name: str
    kind: str  # "calendar" or "list"
    default: bool = False
    items: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeClock:
    """A clock for pacing and throttling: sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    code: str
    count: int
    retry_after: float | None = None
    after: bool = False  # do the work, then answer the error (an answer lost on the way back)


class Emulator:
    def __init__(self, cert_dir: Path) -> None:
        self.cert_dir = cert_dir
        self.validator = Validator()
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        self.clock: Callable[[], float] = time.monotonic
        self.reset()

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        import ssl

        from caldav_servers import _make_certificate

        self.ca_path, cert, key = _make_certificate(self.cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet
                pass

            def _any(self) -> None:
                emulator._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"https://{HOST}:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.containers: dict[str, Container] = {}
            self._add_container("Calendar", "calendar", default=True)
            self._add_container("Tasks", "list", default=True)
            self.changes: list[tuple[int, str, str]] = []  # (sequence, container id, item id)
            self.seq = itertools.count(1)
            self.epoch = 0  # bumped to expire every delta link
            self.transactions: dict[str, str] = {}
            self.faults: list[Fault] = []
            self.log: list[tuple[str, str]] = []  # (method, path) of every HTTP request and batch part
            self.http_requests = 0
            self.limit_per_minute: int | None = None
            self.recent: list[float] = []
            self.throttled = 0
            # sign-in
            self.tenants = {"common", "consumers", "organizations", "contoso.example"}
            self.refresh_tokens: dict[str, str] = {}
            self.device_scopes: dict[str, str] = {}
            self.token_failure: dict[str, str] | None = None
            self.access_lifetime = 3600
            self.token_requests = 0
            self.approve_device_codes = True
            self.account_kind = "personal"  # or "work"
            self.org_only_app = False

    def _add_container(self, name: str, kind: str, default: bool = False) -> Container:
        container = Container(uuid.uuid4().hex, name, kind, default)
        self.containers[container.id] = container
        return container

    # --- the user's own hand, for tests -------------------------------------------------------------------------

    def container_named(self, name: str, kind: str = "calendar") -> Container:
        for container in self.containers.values():
            if container.name == name and container.kind == kind:
                return container
        raise KeyError(name)

    def user_insert(self, container: Container, resource: dict[str, Any]) -> str:
        with self.lock:
            return self._store(container, dict(resource))["id"]

    def user_edit(self, item_id: str, **changes: Any) -> None:
        with self.lock:
            container, item = self._find(item_id)
            item.update(changes)
            self._touch(container, item)

    def user_delete(self, item_id: str) -> None:
        with self.lock:
            container, _ = self._find(item_id)
            del container.items[item_id]
            self.changes.append((next(self.seq), container.id, item_id))

    def item(self, item_id: str) -> dict[str, Any] | None:
        """One stored item as it is now (a copy), whoever made it; None when there is none."""
        with self.lock:
            for container in self.containers.values():
                if item_id in container.items:
                    return json.loads(json.dumps(container.items[item_id]))
        return None

    def items(self, container: Container) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(json.dumps(item)) for item in container.items.values()]

    def fail(
        self, method: str, pattern: str, status: int, code: str = "", count: int = 1, retry_after=None, after=False
    ) -> None:
        """The next ``count`` requests (or batch parts) matching ``method`` and ``pattern`` answer ``status``;
        with ``after``, only once the request has done its work."""
        fault = Fault(method, re.compile(pattern), status, code or f"Status{status}", count, retry_after, after)
        self.faults.append(fault)

    def expire_deltas(self) -> None:
        self.epoch += 1

    def count(self, method: str | None = None, pattern: str = "") -> int:
        return sum(1 for m, p in self.log if (method is None or m == method) and re.search(pattern, p))

    # --- HTTP ---------------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path
        with self.lock:
            self.http_requests += 1
        try:
            if path.startswith("/v1.0/"):
                self._authorized(handler.headers.get("Authorization", ""))
                if path.split("?", 1)[0] == "/v1.0/$batch":
                    status, headers, body = 200, {}, self._batch(_json(raw))
                else:
                    status, headers, body = self._api(handler.command, path[len("/v1.0") :], raw, dict(handler.headers))
            else:
                status, headers, body = self._identity(handler.command, path, raw)
        except GraphError as exc:
            status, headers, body = exc.status, exc.headers, exc.body()
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _authorized(self, header: str) -> None:
        token = header.removeprefix("Bearer ")
        if not token.startswith("access-"):
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty or invalid")

    def _batch(self, body: Any) -> dict[str, Any]:
        parts = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(parts, list) or not parts:
            raise GraphError(400, "BadRequest", "a batch needs requests")
        if len(parts) > 20:
            raise GraphError(400, "BadRequest", "Too many requests in the batch (at most 20)")
        responses = []
        for part in parts:
            url = str(part.get("url", ""))
            if not url.startswith("/"):
                url = "/" + url
            raw = json.dumps(part["body"]).encode() if part.get("body") is not None else b""
            try:
                status, headers, result = self._api(str(part.get("method")), url, raw, dict(part.get("headers") or {}))
            except GraphError as exc:
                status, headers, result = exc.status, exc.headers, exc.body()
            responses.append({"id": part.get("id"), "status": status, "headers": headers, "body": result})
        return {"responses": responses}

    def _api(self, method: str, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, dict, Any]:
        with self.lock:
            self.log.append((method, path))
            self._throttle()
            late = self._injected(method, path)
            parts = urlsplit(path)
            route = unquote(parts.path).rstrip("/")
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in headers.items()}
            answer = self._route(method, route, query, raw, headers)
            if late is not None:
                raise late
            return answer

    def _throttle(self) -> None:
        if self.limit_per_minute is None:
            return
        now = self.clock()
        self.recent = [t for t in self.recent if now - t < 60.0]
        if len(self.recent) >= self.limit_per_minute:
            self.throttled += 1
            wait = max(1, int(60.0 - (now - self.recent[0])) + 1)
            raise GraphError(429, "TooManyRequests", "Application is over its MailboxConcurrency limit.",
                             {"Retry-After": str(wait)})  # fmt: skip
        self.recent.append(now)

    def _injected(self, method: str, path: str) -> GraphError | None:
        for fault in self.faults:
            if fault.count > 0 and fault.method == method and fault.pattern.search(path):
                fault.count -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                error = GraphError(fault.status, fault.code, f"injected {fault.status}", headers)
                if fault.after:
                    return error
                raise error
        return None

    def _route(self, method: str, route: str, query: dict[str, str], raw: bytes, headers: dict[str, str]):
        m = re.fullmatch
        if route == "/me/calendar" and method == "GET":
            return 200, {}, self._calendar_json(self._default("calendar"))
        if route == "/me/calendars":
            if method == "GET":
                return 200, {}, {"value": [self._calendar_json(c) for c in self._kind("calendar")]}
            body = _json(raw)
            self.validator.check(body, "Calendar", creating=True)
            return 201, {}, self._calendar_json(self._add_container(str(body.get("name")), "calendar"))
        if route == "/me/todo/lists":
            if method == "GET":
                return 200, {}, {"value": [self._list_json(c) for c in self._kind("list")]}
            body = _json(raw)
            self.validator.check(body, "TodoTaskList", creating=True)
            return 201, {}, self._list_json(self._add_container(str(body.get("displayName")), "list"))
        if found := m(r"/me/calendars/([^/]+)/events", route):
            container = self._container(found.group(1), "calendar")
            if method == "POST":
                return self._create(container, _json(raw), "Event")
            return self._collection(container, query, route)
        if found := m(r"/me/todo/lists/([^/]+)/tasks", route):
            container = self._container(found.group(1), "list")
            if method == "POST":
                return self._create(container, _json(raw), "TodoTask")
            return self._collection(container, query, route)
        if found := m(r"/me/calendars/([^/]+)/calendarView/delta", route):
            return self._delta(self._container(found.group(1), "calendar"), query, route)
        if found := m(r"/me/todo/lists/([^/]+)/tasks/delta", route):
            return self._delta(self._container(found.group(1), "list"), query, route)
        if found := m(r"/me/events/([^/]+)", route):
            return self._one(method, found.group(1), "calendar", query, raw, headers)
        if found := m(r"/me/todo/lists/([^/]+)/tasks/([^/]+)", route):
            self._container(found.group(1), "list")
            return self._one(method, found.group(2), "list", query, raw, headers)
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{route}'")

    # --- collections ----------------------------------------------------------------------------------------------

    def _collection(self, container: Container, query: dict[str, str], route: str):
        items = list(container.items.values())
        flt = query.get("$filter")
        if flt:
            prop = re.search(r"ep/id eq '([^']+)'", flt)
            if prop is None:
                raise GraphError(400, "BadRequest", "unsupported $filter")
            items = [item for item in items if _prop(item, prop.group(1)) is not None]
        top = int(query.get("$top", 10))
        skip = int(query.get("$skip", 0))
        page = items[skip : skip + top]
        body: dict[str, Any] = {"value": [self._shape(item, query) for item in page]}
        if skip + top < len(items):
            rest = {**query, "$skip": str(skip + top)}
            body["@odata.nextLink"] = f"{self.url}/v1.0{route}?" + "&".join(
                f"{k}={quote(v, safe='')}" for k, v in rest.items()
            )
        return 200, {}, body

    def _delta(self, container: Container, query: dict[str, str], route: str):
        size = 200
        token, skip = query.get("$deltatoken"), query.get("$skiptoken")
        since, start = "init", 0  # a first round: everything there is now
        if token is not None or skip is not None:
            epoch, _, rest = (token or skip).partition("-")
            if int(epoch) != self.epoch:
                raise GraphError(410, "SyncStateNotFound", "The sync state generation is not valid")
            since, _, offset = rest.partition(".")
            start = int(offset) if skip is not None else 0
        if since == "init":
            entries = [self._shape(item, {}) for item in self._in_window(container, query)]
        else:
            entries = self._delta_entries(container, int(since), query)
        body: dict[str, Any] = {"value": entries[start : start + size]}
        keep = {k: v for k, v in query.items() if k in ("startDateTime", "endDateTime")}
        base = f"{self.url}/v1.0{route}?" + "".join(f"{k}={quote(v, safe='')}&" for k, v in keep.items())
        if start + size < len(entries):
            body["@odata.nextLink"] = f"{base}$skiptoken={self.epoch}-{since}.{start + size}"
        else:
            current = self.changes[-1][0] if self.changes else 0
            body["@odata.deltaLink"] = f"{base}$deltatoken={self.epoch}-{current}"
        return 200, {}, body

    def _delta_entries(self, container: Container, since: int, query: dict[str, str]) -> list[dict[str, Any]]:
        changed = []
        for sequence, container_id, item_id in self.changes:
            if sequence > since and container_id == container.id and item_id not in changed:
                changed.append(item_id)
        entries = []
        for item_id in changed:
            item = container.items.get(item_id)
            if item is None:
                entries.append({"id": item_id, "@removed": {"reason": "deleted"}})
            elif container.kind == "list" or self._in_range(item, query):
                entries.append(self._shape(item, {}))
        return entries

    def _in_window(self, container: Container, query: dict[str, str]) -> list[dict[str, Any]]:
        if container.kind == "list":
            return list(container.items.values())
        return [item for item in container.items.values() if self._in_range(item, query)]

    @staticmethod
    def _in_range(item: dict[str, Any], query: dict[str, str]) -> bool:
        from datetime import datetime

        if "startDateTime" not in query:
            return True
        start = datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00")).replace(tzinfo=None)
        end = datetime.fromisoformat(query["endDateTime"].replace("Z", "+00:00")).replace(tzinfo=None)
        when = datetime.fromisoformat(str((item.get("start") or {}).get("dateTime", "2000-01-01T00:00:00")))
        return start - _day() <= when <= end + _day()  # zone offsets: a day's slack either way

    # --- single items -------------------------------------------------------------------------------------------

    def _create(self, container: Container, body: Any, model: str):
        self.validator.check(body, model, creating=True)
        transaction = body.pop("transactionId", None) if model == "Event" else None
        if transaction and transaction in self.transactions:
            existing = container.items.get(self.transactions[transaction])
            if existing is not None:
                return 201, {}, self._shape(existing, {})
        item = self._store(container, body)
        if transaction:
            self.transactions[transaction] = item["id"]
        return 201, {}, self._shape(item, {})

    def _one(self, method: str, item_id: str, kind: str, query: dict[str, str], raw: bytes, headers: dict[str, str]):
        container, item = self._find(item_id, kind)
        if method == "GET":
            return 200, {}, self._shape(item, query)
        match = headers.get("if-match")
        if match is not None and match != "*" and match != item["@odata.etag"]:
            raise GraphError(412, "ErrorIrresolvableConflict", "The change key passed in the request does not match")
        if method == "DELETE":
            del container.items[item_id]
            self.changes.append((next(self.seq), container.id, item_id))
            return 204, {}, None
        body = _json(raw)
        self.validator.check(body, "Event" if kind == "calendar" else "TodoTask", creating=False)
        props = body.pop("singleValueExtendedProperties", None)
        item.update(body)
        if props:  # as Graph does: the properties named are set, the others kept
            named = {q["id"] for q in props}
            kept = [p for p in item.get("singleValueExtendedProperties") or [] if p["id"] not in named]
            item["singleValueExtendedProperties"] = kept + props
        if kind == "list" and body.get("status") == "completed" and not item.get("completedDateTime"):
            item["completedDateTime"] = {"dateTime": _utc_now(), "timeZone": "UTC"}
        self._touch(container, item)
        return 200, {}, self._shape(item, {})

    def _store(self, container: Container, body: dict[str, Any]) -> dict[str, Any]:
        item = dict(body)
        item["id"] = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        for link in item.get("linkedResources") or []:
            link.setdefault("id", uuid.uuid4().hex)
        container.items[item["id"]] = item
        self._touch(container, item)
        return item

    def _touch(self, container: Container, item: dict[str, Any]) -> None:
        sequence = next(self.seq)
        item["@odata.etag"] = f'W/"{uuid.uuid4().hex[:16]}{sequence}"'
        item["changeKey"] = item["@odata.etag"][3:-1]
        item["lastModifiedDateTime"] = _utc_now()
        self.changes.append((sequence, container.id, item["id"]))

    def _find(self, item_id: str, kind: str | None = None) -> tuple[Container, dict[str, Any]]:
        for container in self.containers.values():
            if (kind is None or container.kind == kind) and item_id in container.items:
                return container, container.items[item_id]
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def _shape(self, item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        """What Graph returns: extended properties and linked resources only when expanded, as Graph does."""
        shaped = {k: v for k, v in item.items() if k not in ("singleValueExtendedProperties", "linkedResources")}
        expand = query.get("$expand", "")
        if "singleValueExtendedProperties" in expand:
            wanted = {found.lower() for found in re.findall(r"id eq '([^']+)'", expand)}
            props = item.get("singleValueExtendedProperties") or []
            shaped["singleValueExtendedProperties"] = [p for p in props if not wanted or p["id"].lower() in wanted]
        if "linkedResources" in expand:
            shaped["linkedResources"] = item.get("linkedResources") or []
        select = query.get("$select")
        if select:
            keep = set(select.split(",")) | {"id", "@odata.etag", "singleValueExtendedProperties", "linkedResources"}
            shaped = {k: v for k, v in shaped.items() if k in keep}
        return shaped

    def _default(self, kind: str) -> Container:
        return next(c for c in self.containers.values() if c.kind == kind and c.default)

    def _kind(self, kind: str) -> list[Container]:
        return [c for c in self.containers.values() if c.kind == kind]

    def _container(self, container_id: str, kind: str) -> Container:
        container = self.containers.get(container_id)
        if container is None or container.kind != kind:
            raise GraphError(404, "ErrorItemNotFound", "The specified folder could not be found in the store.")
        return container

    @staticmethod
    def _calendar_json(container: Container) -> dict[str, Any]:
        return {"id": container.id, "name": container.name, "isDefaultCalendar": container.default, "canEdit": True}

    @staticmethod
    def _list_json(container: Container) -> dict[str, Any]:
        known = "defaultList" if container.default else "none"
        return {"id": container.id, "displayName": container.name, "wellknownListName": known, "isOwner": True}

    # --- sign-in ------------------------------------------------------------------------------------------------

    def _identity(self, method: str, path: str, raw: bytes) -> tuple[int, dict, Any]:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        tenant = segments[0] if segments else ""
        rest = "/".join(segments[1:])
        if tenant not in self.tenants:
            raise GraphError(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        base = f"{self.url}/{tenant}"
        if rest == "v2.0/.well-known/openid-configuration":
            return 200, {}, {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            }  # fmt: skip
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if rest == "oauth2/v2.0/devicecode" and method == "POST":
            code = uuid.uuid4().hex
            self.device_scopes[code] = form.get("scope", "")
            return 200, {}, {
                "device_code": code, "user_code": "CALSYNC1", "verification_uri": f"{self.url}/devicelogin",
                "expires_in": 900, "interval": 0, "message": "To sign in, open the page and enter the code CALSYNC1",
            }  # fmt: skip
        if rest == "oauth2/v2.0/token" and method == "POST":
            return self._token(tenant, form)
        raise GraphError(404, "not_found", path)

    def _token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict, Any]:
        with self.lock:
            self.token_requests += 1
            grant = form.get("grant_type", "")
            if self.token_failure is not None:
                return 400, {}, dict(self.token_failure)
            if self.org_only_app and self.account_kind == "personal":
                return 400, {}, _aad_error("invalid_request", "AADSTS9002331: Application is configured for use "
                                           "by Microsoft Account users only... personal account")  # fmt: skip
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                if not self.approve_device_codes:
                    return 400, {}, _aad_error("authorization_pending", "AADSTS70016: pending")
            elif grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {}, _aad_error("invalid_grant", "AADSTS700082: The refresh token has expired.")
            else:
                return 400, {}, _aad_error("unsupported_grant_type", f"AADSTS70003: {grant}")
            refresh = f"refresh-{uuid.uuid4().hex}"
            self.refresh_tokens[refresh] = form.get("client_id", "")
            scope = form.get("scope") or self.device_scopes.get(form.get("device_code", ""), "")
            return 200, {}, {
                "token_type": "Bearer",
                "scope": " ".join(s for s in scope.split() if s not in ("openid", "profile", "offline_access")),
                "expires_in": self.access_lifetime,
                "ext_expires_in": self.access_lifetime,
                "access_token": f"access-{uuid.uuid4().hex}",
                "refresh_token": refresh,
                "id_token": _id_token(self.url, tenant, form.get("client_id", "")),
                "client_info": _b64({"uid": "user-1", "utid": "tenant-1"}),
            }  # fmt: skip


def _aad_error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description, "error_codes": [int(re.findall(r"\d+", description)[0])]}


def _id_token(root: str, tenant: str, client_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": f"{root}/{tenant}/v2.0", "aud": client_id, "iat": now, "nbf": now, "exp": now + 3600,
        "sub": "subject-1", "oid": "user-1", "tid": "tenant-1", "preferred_username": "jo@outlook.example",
        "name": "Jo Seeker",
    }  # fmt: skip
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.sig"


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None


def _prop(item: dict[str, Any], prop_id: str) -> str | None:
    for prop in item.get("singleValueExtendedProperties") or []:
        if prop.get("id", "").lower() == prop_id.lower():
            return prop.get("value")
    return None


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _day():
    from datetime import timedelta

    return timedelta(days=1)
