"""What a provider is: the small interface between the sync engine and one kind of calendar.

Terms (as in vdirsyncer):

UID
    The follow-up's iCalendar UID, stable across runs: the identity of an item everywhere.
HREF
    The provider's own reference to a stored item: a file name, a URL path, an event id. Opaque to the engine,
    which stores it in its state database and hands it back.
ETAG
    A string that changes whenever the stored item changes, whoever changed it. ``None`` when the provider could
    not learn it (the engine then accepts whatever the next listing reports).
MANAGED
    An item calsync created: it carries ``X-CALSYNC-MANAGED:1`` (or the provider's equivalent mark). A provider
    lists only managed items, and the engine only ever writes items it has in its state or is about to create.

A provider implements :meth:`Provider.list_items`, :meth:`Provider.create`, :meth:`Provider.update` and
:meth:`Provider.delete`. Two optional capabilities keep network providers fast: :meth:`Provider.scan` (answer
"what changed since this token?" cheaply, e.g. with a CTag or a sync-token) and :meth:`Provider.apply` (run a list of
actions at once, e.g. in a batch request). The defaults fall back on the four required methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from calsync.errors import InputError, ItemRefused, NotFound, PreconditionFailed
from calsync.lazy import Lazy
from calsync.options import Option

if TYPE_CHECKING:
    import icalendar

    from calsync.model import FollowUp

MANAGED_PROPERTY = "X-CALSYNC-MANAGED"


def _parsed(item: Item) -> Any:
    from calsync.rewrite import parse_calendar

    return parse_calendar(item.ical)


@dataclass(frozen=True)
class Item:
    """One follow-up as it is to be written: a whole VCALENDAR with one VEVENT or VTODO (plus its VTIMEZONEs).

    ``ical`` is the serialized form; ``calendar`` the same, parsed (give None to have it parsed on first use).
    ``followup`` is None when the engine cancels an item that no longer is in the plan (it then rewrites the last
    pushed form).
    """

    uid: str
    ical: bytes
    calendar: icalendar.Calendar = field(default=Lazy(_parsed), compare=False, repr=False)  # type: ignore[assignment]
    sequence: int = 0
    cancelled: bool = False
    followup: FollowUp | None = None

    @property
    def component(self) -> icalendar.Component:
        """The VEVENT or VTODO."""
        for sub in self.calendar.subcomponents:
            if sub.name in ("VEVENT", "VTODO"):
                return sub
        raise ValueError(f"item {self.uid} holds no VEVENT or VTODO")


@dataclass(frozen=True)
class RemoteItem:
    """A managed item as the target lists it."""

    uid: str
    href: str
    etag: str | None


@dataclass(frozen=True)
class Written:
    """Where a create or update put the item, and its new ETag (None if the target did not say)."""

    href: str
    etag: str | None


@dataclass(frozen=True)
class Fetched:
    """One stored item read back by :meth:`Provider.read`: the item as iCalendar text and its current ETag.

    A provider that stores another format (Google's JSON, a todo.txt line) converts what it can into a VCALENDAR
    with one VEVENT or VTODO: UID, SUMMARY, DESCRIPTION, the times, STATUS (and COMPLETED for a to-do)."""

    href: str
    ical: bytes
    etag: str | None


@dataclass(frozen=True)
class Scan:
    """What the target holds now: every managed item by UID, and a token for the next :meth:`Provider.scan`."""

    items: dict[str, RemoteItem]
    token: str | None = None


# --- actions: what the pure diff decides, and what providers execute -------------------------------------------


@dataclass(frozen=True)
class Create:
    """Store a new item. Must fail with PreconditionFailed if an item with this UID's href exists already."""

    uid: str
    item: Item
    verb: ClassVar[str] = "create"


@dataclass(frozen=True)
class Update:
    """Replace the item at ``href``, only if its ETag still is ``etag``."""

    uid: str
    href: str
    etag: str | None
    item: Item
    verb: ClassVar[str] = "update"


@dataclass(frozen=True)
class Delete:
    """Remove the item at ``href``, only if its ETag still is ``etag``."""

    uid: str
    href: str
    etag: str | None
    verb: ClassVar[str] = "delete"


Action = Create | Update | Delete


@dataclass(frozen=True)
class Outcome:
    """The result of one action: ``written`` for create/update, nothing for delete, or the ``error`` raised
    (PreconditionFailed, NotFound, ItemRefused for this item alone, or a ProviderError that stops the target)."""

    action: Action
    written: Written | None = None
    error: Exception | None = None


@dataclass
class Target:
    """A configured target: ``[targets.NAME]`` in the config."""

    name: str
    provider: str
    options: dict[str, Any] = field(default_factory=dict)
    state_dir: Path | None = None
    config_path: Path | None = None
    #: Where each option is written in the config (option -> line), and the table's own line: for errors.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    line: int | None = field(default=None, compare=False, repr=False)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    # Typed getters: a value of the wrong type or out of range is an InputError naming the config file, the line
    # and the option (``config.toml:7: targets.phone.timeout: expected a number ...``), never a traceback.

    def error(self, key: str | None, message: str) -> InputError:
        """An :class:`InputError` about option ``key`` (None: the target's table), at its line in the config."""
        where = f"targets.{self.name}.{key}" if key else f"targets.{self.name}"
        line = self.lines.get(key, self.line) if key else self.line
        return InputError(f"{where}: {message}", self.config_path, line)

    def text(self, key: str, default: str | None = None) -> str | None:
        """A one-line string (no control characters), or ``default`` when the option is not set."""
        value = self.options.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_shown(value)}")
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise self.error(key, f"control characters (a line break, a NUL) are not allowed: {value!r}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {_shown(value)}")
        return value

    def number(self, key: str, default: float, *, low: float, high: float, whole: bool = False) -> Any:
        """An int (``whole``) or a float from ``low`` to ``high``, or ``default`` when the option is not set."""
        value = self.options.get(key)
        if value is None:
            return default
        kinds = (int,) if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            whole_one = ", a whole one" if whole else ""
            raise self.error(
                key, f"expected a number from {_plain(low)} to {_plain(high)}{whole_one}, got {_shown(value)}"
            )
        return value if whole else float(value)

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self.options.get(key, default)
        if value not in choices or not isinstance(value, str):
            expected = " or ".join(f'"{choice}"' for choice in choices)
            raise self.error(key, f"expected {expected}, got {_shown(value)}")
        return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _shown(value: Any) -> str:
    """A value for an error message: its kind, and a short repr."""
    kind = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "a table"}
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{kind.get(type(value), type(value).__name__)} ({text})"


class Provider:
    """Base class of every provider. Subclasses set ``name`` and implement the four required methods.

    A provider instance serves one target for one command; :meth:`close` is called at the end. The constructor must
    not touch the network: do that lazily, so ``--dry-run`` of a file target and ``calsync plan`` stay local.

    ``state`` is a small dict the provider may use to remember things across runs (a discovered calendar URL, a
    calendar id): the engine loads it from the state database before the sync and stores it after.
    """

    name: ClassVar[str] = ""
    #: True when the provider can store VTODO components (``component = "todo"``).
    supports_todo: ClassVar[bool] = True
    #: True when :meth:`create` recognises an item of calsync's already stored under the same UID (because the
    #: target reuses ids, as Google Calendar does) and rewrites it instead of raising PreconditionFailed. Such a
    #: provider may answer the very first :meth:`scan` (nothing known, no token) without listing.
    create_reconciles: ClassVar[bool] = False
    #: True when the provider implements :meth:`read`. The engine then reads an item back before it believes a
    #: deletion, an edit or a completion; without it, it trusts ETags and NotFound as they come.
    can_read: ClassVar[bool] = False
    #: The target options this provider reads, beyond the generic ones (provider, component, cancelled,
    #: alarm_minutes): the config loader rejects any other key, checks types, and resolves paths relative to the
    #: config file. None (not declared) lets every option through unchecked: deprecated, an error in PLUGIN_API 2.
    options: ClassVar[tuple[Option, ...] | None] = None

    def __init__(self, target: Target) -> None:
        self.target = target
        self.state: dict[str, Any] = {}

    # --- required ---------------------------------------------------------------------------------------------

    def list_items(self) -> Iterable[RemoteItem]:
        """Every managed item the target holds, with its ETag. Never lists or touches unmanaged items."""
        raise NotImplementedError

    def create(self, item: Item) -> Written:
        """Store a new item.

        :raises PreconditionFailed: something already exists where this item would go (unless
            ``create_reconciles``, and it is calsync's item with this UID: then it is rewritten).
        """
        raise NotImplementedError

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        """Replace the item at ``href`` if its ETag still is ``etag`` (None: the engine never learnt it).

        :raises PreconditionFailed: the ETag changed: someone edited the item.
        :raises NotFound: the item is gone.
        """
        raise NotImplementedError

    def delete(self, href: str, etag: str | None) -> None:
        """Remove the item at ``href`` if its ETag still is ``etag``.

        :raises PreconditionFailed: the ETag changed.
        :raises NotFound: the item is gone already.
        """
        raise NotImplementedError

    # --- optional capabilities ------------------------------------------------------------------------------

    def scan(self, known: Mapping[str, RemoteItem], token: str | None) -> Scan:
        """What the target holds now.

        ``known`` is what the engine believes the target holds (from its state database) and ``token`` what the
        previous scan returned. A provider that can tell cheaply that nothing changed since ``token`` (a CTag, a
        sync-token) returns ``Scan(dict(known), token)`` without listing; one that gets a delta applies it to
        ``known``. The default lists everything and returns no token.
        """
        return Scan({item.uid: item for item in self.list_items()}, None)

    def read(self, href: str) -> Fetched:
        """Read back the managed item stored at ``href`` (optional: set ``can_read`` when implemented).

        :raises NotFound: nothing is stored there (or it is not calsync's).
        """
        raise NotImplementedError

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        """Execute actions, yielding one :class:`Outcome` per action as each completes (the engine records each
        in its state as it arrives, so a crash loses nothing). The default runs them one by one; a provider with
        a batch API overrides this."""
        for action in actions:
            yield self.apply_one(action)

    def apply_one(self, action: Action) -> Outcome:
        try:
            if isinstance(action, Create):
                return Outcome(action, written=self.create(action.item))
            if isinstance(action, Update):
                return Outcome(action, written=self.update(action.href, action.item, action.etag))
            self.delete(action.href, action.etag)
            return Outcome(action)
        except (PreconditionFailed, NotFound, ItemRefused) as exc:
            return Outcome(action, error=exc)

    def authorize(self, *, echo: Callable[[str], None], open_browser: bool, port: int = 0) -> None:
        """``calsync auth TARGET``: sign in to the service once and store the credentials (0600). Providers that
        need no sign-in keep this default, which says so.

        :param echo: prints one line to the person.
        :param open_browser: False with ``--no-browser``: a flow that works over SSH (a URL or a device code).
        :param port: a local port for a browser redirect (0: any free one).
        """
        from calsync.errors import UserError

        raise UserError(f"target {self.target.name!r} ({self.name}) needs no `calsync auth`")

    def describe(self) -> str:
        """Where this target writes, for messages ("/home/me/cal.ics", "https://dav.example/cal/")."""
        return self.target.name

    def close(self) -> None:
        """Release connections. Called once at the end of a command."""


def uid_of(component: icalendar.Component) -> str:
    return str(component.get("UID", ""))


def is_managed(component: icalendar.Component) -> bool:
    return str(component.get(MANAGED_PROPERTY, "")) == "1"
