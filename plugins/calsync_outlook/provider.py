"""OutlookProvider: follow-ups as events of an Outlook calendar or tasks of a Microsoft To Do list, through
Microsoft Graph v1.0.

Design, in short:

* Identity. Graph chooses the ids, so the HREF is the event or task id Graph returned. The UID travels in calsync's
  mark (see :mod:`calsync_outlook.convert`). A create carries a ``transactionId`` derived from the UID and revision:
  a POST retried after a lost answer is recognised by Graph instead of making a second event.
* Conditional writes: PATCH and DELETE carry ``If-Match`` with the stored ``@odata.etag``; a 412 is followed by one
  GET, which tells a deleted item (NotFound) from an edited one (PreconditionFailed).
* Scans. The token is a delta link (``calendarView/delta`` over a window around today for events, ``tasks/delta``
  for to-dos): a re-sync that changes nothing is one request. A change to an id calsync does not know costs one
  filtered listing (our items only, filtered by the server), so an item written just before a crash is found, not
  doubled. No token, an expired or invalid one, or a window that no longer covers the coming months: one filtered
  listing, then a new delta round.
* Writes go in JSON batches of at most 20 requests, paced under ``rate_per_minute``; throttled parts are retried
  after Graph's Retry-After (see :mod:`calsync_outlook.graph`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from calsync.errors import ItemRefused, NotFound, PreconditionFailed, ProviderError, UserError
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
from calsync_outlook import convert
from calsync_outlook.graph import GraphClient, GraphFailed, Reply, Request

DEFAULT_API = "https://graph.microsoft.com"
DEFAULT_RATE = 900.0  # requests a minute: under Graph's 1,000, with room for the user's other apps
#: the delta window for events: a year back (late check-ins), two years ahead; renewed when half of it is used
WINDOW_BACK, WINDOW_AHEAD = timedelta(days=365), timedelta(days=730)
#: error codes with which Graph says a delta link can no longer be used
_STALE_DELTA = {"syncstatenotfound", "syncstateinvalid", "resyncrequired", "invaliddeltatoken"}


class OutlookProvider(Provider):
    name: ClassVar[str] = "outlook"
    supports_todo: ClassVar[bool] = True
    can_read: ClassVar[bool] = True
    options = (
        Option("client_id", str, required=True, help="your app registration's Application (client) ID"),
        Option("tenant", str, "common", help='"consumers" (personal), "organizations" (work/school), "common" or a '
               "tenant id"),
        Option("calendar", str, None, help="the calendar's (or To Do list's) name; default: your default one"),
        Option("create", bool, False, help="create the calendar or list when it does not exist"),
        Option("token_file", str, None, path=True, help="the sign-in cache (default: the state dir), kept 0600"),
        Option("api_endpoint", str, None, url=True, help="the root under which /v1.0/ lives (national clouds, tests)"),
        Option("authority", str, None, url=True, help="the sign-in root (national clouds, tests)"),
        Option("rate_per_minute", (int, float), DEFAULT_RATE, minimum=1, help="the pace of requests"),
        Option("timeout", (int, float), 60.0, minimum=1, help="seconds to wait for Microsoft Graph"),
    )  # fmt: skip

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        component = str(target.option("component", "event"))
        self.todo = component == "todo"
        calendar = target.option("calendar")
        self.container_name = str(calendar) if calendar not in (None, "") else None
        self.create_missing = bool(target.option("create", False))
        self.api_root = str(target.option("api_endpoint") or DEFAULT_API).rstrip("/")
        # Graph allows about 10,000 requests per 10 minutes per app and mailbox (each part of a batch counts).
        self.rate_per_minute = _positive(target, "rate_per_minute", DEFAULT_RATE)
        self.timeout = _positive(target, "timeout", 60.0)
        # Injectable for tests and benchmarks, which run on a controlled clock.
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._client: GraphClient | None = None
        self._auth: Any = None

    # --- plumbing -----------------------------------------------------------------------------------------------

    def describe(self) -> str:
        kind = "To Do list" if self.todo else "Outlook calendar"
        return f"{kind} {self.container_name or '(default)'}"

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            from calsync_outlook.auth import Session

            self._auth = Session(self.target)
            self._client = GraphClient(
                self.api_root,
                self._auth.access_token,
                where=f"target {self.target.name!r}",
                rate_per_minute=self.rate_per_minute,
                timeout=self.timeout,
                clock=self.clock,
                sleep=self.sleep,
            )
        return self._client

    @property
    def requests_sent(self) -> int:
        return self._client.requests if self._client is not None else 0

    def authorize(self, *, echo: Callable[[str], None], open_browser: bool, port: int = 0) -> None:
        """``calsync auth TARGET``: sign in with the device code (no browser) or in the browser."""
        from calsync_outlook.auth import Session

        who = Session(self.target).sign_in(device_code=not open_browser, echo=echo, port=port)
        echo(f"Signed in as {who}; calsync can now keep target {self.target.name!r} up to date.")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get(self, path: str) -> Reply:
        return self.client.send(Request("GET", path))

    # --- the calendar or list -----------------------------------------------------------------------------------

    def container(self) -> str:
        """The path of the calendar (``/me/calendars/ID``) or the To Do list (``/me/todo/lists/ID``)."""
        key = ["todo" if self.todo else "event", self.container_name]
        if self.state.get("container_for") == key and self.state.get("container"):
            return str(self.state["container"])
        path = self._find_list() if self.todo else self._find_calendar()
        self.state.update(container_for=key, container=path)
        self.state.pop("delta", None)
        return path

    def _find_calendar(self) -> str:
        if self.container_name is None:
            reply = self._get("/me/calendar")
            if not reply.ok:
                raise self._whole_target_error("find your default calendar", reply)
            return f"/me/calendars/{reply.body['id']}"
        names = []
        for page in self.client.pages("/me/calendars?$select=id,name&$top=100"):
            for calendar in page.get("value", []):
                names.append(str(calendar.get("name")))
                if calendar.get("name") == self.container_name:
                    return f"/me/calendars/{calendar['id']}"
        if not self.create_missing:
            raise ProviderError(
                f"target {self.target.name!r}: no Outlook calendar named {self.container_name!r} "
                f"(there are: {', '.join(names) or 'none'}); set create = true to make it"
            )
        reply = self.client.send(Request("POST", "/me/calendars", {"name": self.container_name}))
        if not reply.ok:
            raise self._whole_target_error(f"create the calendar {self.container_name!r}", reply)
        return f"/me/calendars/{reply.body['id']}"

    def _find_list(self) -> str:
        names = []
        for page in self.client.pages("/me/todo/lists"):
            for found in page.get("value", []):
                names.append(str(found.get("displayName")))
                if self.container_name is None and found.get("wellknownListName") == "defaultList":
                    return f"/me/todo/lists/{found['id']}"
                if self.container_name is not None and found.get("displayName") == self.container_name:
                    return f"/me/todo/lists/{found['id']}"
        if self.container_name is None or not self.create_missing:
            raise ProviderError(
                f"target {self.target.name!r}: no Microsoft To Do list named {self.container_name!r} "
                f"(there are: {', '.join(names) or 'none'}); set create = true to make it"
            )
        reply = self.client.send(Request("POST", "/me/todo/lists", {"displayName": self.container_name}))
        if not reply.ok:
            raise self._whole_target_error(f"create the list {self.container_name!r}", reply)
        return f"/me/todo/lists/{reply.body['id']}"

    def _items_path(self) -> str:
        return self.container() + ("/tasks" if self.todo else "/events")

    def _item_path(self, href: str) -> str:
        return f"{self.container()}/tasks/{href}" if self.todo else f"/me/events/{href}"

    # --- listing ------------------------------------------------------------------------------------------------

    def list_items(self) -> list[RemoteItem]:
        return list(self._list_ours().values())

    def _list_ours(self) -> dict[str, RemoteItem]:
        """calsync's items, found by their mark: filtered by the server for events."""
        if self.todo:
            path = f"{self._items_path()}?$expand=linkedResources&$top=100"
            uid_of = convert.task_uid
        else:
            prop = convert.UID_PROPERTY
            flt = quote(f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop}' and ep/value ne null)")
            expand = quote(f"singleValueExtendedProperties($filter=id eq '{prop}')")
            path = f"{self._items_path()}?$filter={flt}&$expand={expand}&$select=id&$top=100"
            uid_of = convert.event_uid
        found: dict[str, RemoteItem] = {}
        try:
            for page in self.client.pages(path):
                for entry in page.get("value", []):
                    uid = uid_of(entry)
                    if uid is not None:
                        found[uid] = RemoteItem(uid, str(entry["id"]), entry.get("@odata.etag"))
        except GraphFailed as exc:
            raise self._whole_target_error("list calsync's items", exc.reply) from None
        return found

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
        container = self.container()
        saved = _load_token(token)
        if saved is not None and saved.get("container") == container and self._window_fresh(saved):
            try:
                return self._scan_delta(known, saved)
            except GraphFailed as exc:
                if exc.reply.status != 410 and exc.reply.error_code.lower() not in _STALE_DELTA:
                    raise self._whole_target_error("read the changes", exc.reply) from None
        items = self._list_ours()
        return Scan(items, self._start_delta(container))

    def _scan_delta(self, known: Mapping[str, RemoteItem], saved: dict[str, Any]) -> Scan:
        items = dict(known)
        by_href = {item.href: uid for uid, item in known.items()}
        strangers = False
        link = None
        for page in self.client.pages(str(saved["delta"])):
            for entry in page.get("value", []):
                uid = by_href.get(str(entry.get("id")))
                if uid is None:
                    strangers = strangers or "@removed" not in entry
                    continue
                if "@removed" in entry:
                    items.pop(uid, None)
                else:
                    items[uid] = RemoteItem(uid, str(entry["id"]), entry.get("@odata.etag"))
            link = page.get("@odata.deltaLink") or link
        if strangers:
            # Someone changed an item whose id the state does not know: most likely the user's own, but possibly
            # one of ours written just before a crash. One filtered listing tells; it never reads the user's items.
            for uid, item in self._list_ours().items():
                if uid not in items:
                    items[uid] = item
        return Scan(items, json.dumps({**saved, "delta": link}) if link else None)

    def _start_delta(self, container: str) -> str | None:
        """A new delta round from now: page through it once to reach its delta link."""
        if self.todo:
            path, window = f"{container}/tasks/delta", None
        else:
            now = self.now()
            start, end = now - WINDOW_BACK, now + WINDOW_AHEAD
            window = [start.isoformat(), end.isoformat()]
            path = f"{container}/calendarView/delta?startDateTime={_graph_time(start)}&endDateTime={_graph_time(end)}"
        link = None
        try:
            for page in self.client.pages(path, headers={"Prefer": "odata.maxpagesize=500"}):
                link = page.get("@odata.deltaLink") or link
        except GraphFailed:
            return None  # no token: the next sync lists again, which is correct, only slower
        return json.dumps({"container": container, "delta": link, "window": window}) if link else None

    def _window_fresh(self, saved: dict[str, Any]) -> bool:
        window = saved.get("window")
        if not window:
            return True
        end = datetime.fromisoformat(window[1])
        return end - self.now() > WINDOW_AHEAD / 2

    # --- reading ------------------------------------------------------------------------------------------------

    def read(self, href: str) -> Fetched:
        if self.todo:
            path = f"{self._item_path(href)}?$expand=linkedResources"
        else:
            props = (convert.UID_PROPERTY, convert.SEQUENCE_PROPERTY, convert.HASH_PROPERTY_ID)
            wanted = " or ".join(f"id eq '{prop}'" for prop in props)
            path = f"{self._item_path(href)}?$expand={quote(f'singleValueExtendedProperties($filter={wanted})')}"
        reply = self._get(path)
        if reply.status == 404:
            raise NotFound(href)
        if not reply.ok:
            raise self._whole_target_error(f"read {href}", reply)
        body = reply.body
        uid = convert.task_uid(body) if self.todo else convert.event_uid(body)
        if uid is None:
            raise NotFound(href)  # not calsync's
        ical = convert.task_as_ical(body, uid) if self.todo else convert.event_as_ical(body, uid)
        return Fetched(href, ical, body.get("@odata.etag"))

    # --- writing ------------------------------------------------------------------------------------------------

    def create(self, item: Item) -> Written:
        # A lone create looks first, so that it never doubles an item of ours (a batch relies on the scan instead).
        if item.uid in self._list_ours():
            raise PreconditionFailed(item.uid, f"an item of calsync's with UID {item.uid} exists already")
        return self._written(self._one(Create(item.uid, item)))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        return self._written(self._one(Update(item.uid, href, etag, item)))

    def delete(self, href: str, etag: str | None) -> None:
        self._written(self._one(Delete(href, href, etag)))

    def _one(self, action: Action) -> Outcome:
        (outcome,) = list(self.apply([action]))
        return outcome

    @staticmethod
    def _written(outcome: Outcome) -> Written:
        if outcome.error is not None:
            raise outcome.error
        return outcome.written  # type: ignore[return-value]

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        if not actions:
            return
        requests: list[Request] = []
        for action in actions:
            requests.append(self._request_for(action))
        replies = self.client.batch(requests)
        for action, reply in zip(actions, replies, strict=True):
            yield self._outcome(action, reply)

    def _request_for(self, action: Action) -> Request:
        build = convert.to_task if self.todo else convert.to_event
        if isinstance(action, Create):
            return Request("POST", self._items_path(), build(action.item, create=True))
        etag = action.etag or self._current_etag(action.href)
        condition = {"If-Match": etag} if etag else {}
        if isinstance(action, Update):
            return Request("PATCH", self._item_path(action.href), build(action.item, create=False), condition)
        return Request("DELETE", self._item_path(action.href), None, condition)

    def _current_etag(self, href: str) -> str | None:
        reply = self._get(f"{self._item_path(href)}?$select=id")
        return reply.body.get("@odata.etag") if reply.ok and isinstance(reply.body, dict) else None

    def _outcome(self, action: Action, reply: Reply) -> Outcome:
        if reply.ok:
            if isinstance(action, Delete):
                return Outcome(action)
            body = reply.body if isinstance(reply.body, dict) else {}
            href = str(body.get("id") or getattr(action, "href", ""))
            return Outcome(action, written=Written(href, body.get("@odata.etag")))
        href = getattr(action, "href", action.uid)
        if reply.status == 404:
            return Outcome(action, error=NotFound(href))
        if reply.status == 412:
            gone = self._get(f"{self._item_path(href)}?$select=id").status == 404
            if gone:
                return Outcome(action, error=NotFound(href))
            return Outcome(action, error=PreconditionFailed(href, f"{href} was changed in Outlook since the last sync"))
        code = f" {reply.error_code}" if reply.error_code else ""
        reason = f"Microsoft Graph refused to {action.verb} it: {reply.status}{code}"
        return Outcome(action, error=ItemRefused(href, reason, reply.status, reply.retry_after()))

    def _whole_target_error(self, what: str, reply: Reply) -> ProviderError:
        code = f" {reply.error_code}" if reply.error_code else ""
        hint = ""
        if reply.status == 403:
            scope = "Tasks.ReadWrite" if self.todo else "Calendars.ReadWrite"
            hint = f": the sign-in lacks {scope}; run `calsync auth {self.target.name}` again"
        return ProviderError(f"target {self.target.name!r}: cannot {what} ({reply.status}{code}){hint}")


def _positive(target: Target, key: str, default: float) -> float:
    value = target.option(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise UserError(f"targets.{target.name}.{key}: expected a number > 0, got {value!r}")
    return float(value)


def _graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        saved = json.loads(token)
    except ValueError:
        return None
    return saved if isinstance(saved, dict) and saved.get("delta") else None
