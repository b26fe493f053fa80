"""The ics provider's implementation (see the package docstring)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.files import UnsafeFile, read_regular, remove_stale_temps, write_atomic
from calsync.options import Option
from calsync.provider import (
    MANAGED_PROPERTY,
    Action,
    Create,
    Delete,
    Fetched,
    Item,
    Outcome,
    Provider,
    RemoteItem,
    Written,
    is_managed,
)

FILE_MARK = "X-CALSYNC-FILE"
MANAGED_MARK = MANAGED_PROPERTY.encode() + b":1"
PRODID = "-//calsync//calsync 0.1//EN"
DEFAULT_NAME = "Job search follow-ups"
# A calendar file larger than this is not one a person subscribes to; refusing it keeps the memory in bounds.
MAX_FILE_BYTES = 64 * 1024 * 1024
# The properties calsync sets on a calendar it writes; every other one (X-WR-TIMEZONE, METHOD...) is the user's.
_OWN_PROPERTIES = ("PRODID", "VERSION", "CALSCALE", FILE_MARK, "X-WR-CALNAME")


class IcsProvider(Provider):
    name = "ics"
    options = (
        Option("path", str, path=True, required=True, help="the .ics file"),
        Option("overwrite", bool, False, help="take over a file calsync did not write (its events are kept)"),
        Option("name", str, "Job search follow-ups", help="the calendar's name (X-WR-CALNAME)"),
    )
    can_read = True

    def __init__(self, target) -> None:
        super().__init__(target)
        path = target.text("path")
        if not path:
            raise target.error(None, "the ics provider needs 'path' (a .ics file)")
        self.path = Path(path).expanduser()
        self.overwrite = target.flag("overwrite")
        self.name = target.text("name")
        self._raw = b""  # the file as _load last read it

    def describe(self) -> str:
        return str(self.path)

    # The file is one document: read it once, change it in memory, write it once.

    def _load(self):
        import icalendar

        try:
            data = self._raw = read_regular(self.path, MAX_FILE_BYTES)  # the user's components are copied from these
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise ProviderError(
                f'{self.path}: is a folder; the ics provider writes one file (use provider = "vdir")'
            ) from None
        except UnsafeFile as exc:
            raise ProviderError(f"{self.path}: {exc} (targets.{self.target.name}.path)") from None
        except OSError as exc:
            raise ProviderError(f"{self.path}: cannot read: {exc.strerror}") from None
        if not data.strip():
            return None
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except (ValueError, IndexError, KeyError) as exc:
            reason = " ".join(str(exc).split())[:100]
            raise ProviderError(f"{self.path}: not an iCalendar file ({reason}); refusing to overwrite it") from None
        if isinstance(calendar, list):  # several VCALENDARs in one file: not one we wrote or can rewrite
            raise ProviderError(f"{self.path}: holds several calendars; refusing to overwrite it")
        if str(calendar.get(FILE_MARK, "")) != "1" and not self.overwrite:
            raise ProviderError(
                f"{self.path}: exists and was not written by calsync; refusing to overwrite it "
                f"(set overwrite = true in [targets.{self.target.name}] to take it over, keeping its events)"
            )
        return calendar

    def _managed(self, calendar) -> dict[str, object]:
        found = {}
        if calendar is None:
            return found
        for component in calendar.subcomponents:
            if component.name in ("VEVENT", "VTODO") and is_managed(component):
                found[str(component.get("UID"))] = component
        return found

    def list_items(self):
        for uid, component in self._managed(self._load()).items():
            yield RemoteItem(uid, uid, _etag(component))

    def read(self, href: str) -> Fetched:
        import icalendar

        existing = self._load()
        component = self._managed(existing).get(href)
        if component is None:
            raise NotFound(href)
        calendar = icalendar.Calendar()
        calendar.add("PRODID", PRODID)
        calendar.add("VERSION", "2.0")
        used = set(_tzids(component))
        for sub in existing.subcomponents:
            if sub.name == "VTIMEZONE" and str(sub.get("TZID")) in used:
                if MANAGED_PROPERTY in sub:  # the file's own mark on calsync's zones is not part of the item
                    sub = icalendar.Timezone.from_ical(sub.to_ical())
                    del sub[MANAGED_PROPERTY]
                calendar.add_component(sub)
        calendar.add_component(component)
        return Fetched(href, calendar.to_ical(), _etag(component))

    def create(self, item: Item) -> Written:
        return self._single(Create(item.uid, item))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        from calsync.provider import Update

        return self._single(Update(item.uid, href, etag, item))

    def delete(self, href: str, etag: str | None) -> None:
        self._single(Delete(href, href, etag))

    def _single(self, action: Action) -> Written | None:
        (outcome,) = list(self.apply([action]))
        if outcome.error is not None:
            raise outcome.error
        return outcome.written

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        remove_stale_temps(self.path.parent)  # an interrupted run's; before the early return: a run may write nothing
        if not actions:
            return
        import icalendar

        existing = self._load()
        managed = self._managed(existing)
        outcomes: list[Outcome] = []
        timezones: dict[str, object] = {}
        for action in actions:
            current = managed.get(action.uid)
            if isinstance(action, Create):
                if current is not None:
                    outcomes.append(Outcome(action, error=PreconditionFailed(action.uid)))
                    continue
            elif current is None:
                outcomes.append(Outcome(action, error=NotFound(action.href)))
                continue
            elif action.etag is not None and _etag(current) != action.etag:
                outcomes.append(Outcome(action, error=PreconditionFailed(action.href)))
                continue
            if isinstance(action, Delete):
                del managed[action.uid]
                outcomes.append(Outcome(action))
                continue
            component = action.item.component
            managed[action.uid] = component
            for sub in action.item.calendar.subcomponents:
                if sub.name == "VTIMEZONE":
                    timezones.setdefault(str(sub.get("TZID")), sub)
            outcomes.append(Outcome(action, written=Written(action.uid, _etag(component))))
        self._write(existing, managed, timezones, icalendar)
        yield from outcomes

    def _write(self, existing, managed: dict[str, object], timezones: dict[str, object], icalendar) -> None:
        """Write the file: the user's calendar properties, VTIMEZONEs and components as they were; calsync's items,
        and a VTIMEZONE (marked as calsync's, so that one no longer used can go) for each zone they
        use; everyone else's components copied byte for byte."""
        from calsync.vtimezone import timezone_component, zones_used

        calendar = icalendar.Calendar()
        calendar.add("PRODID", PRODID)
        calendar.add("VERSION", "2.0")
        calendar.add("CALSCALE", "GREGORIAN")
        calendar.add(FILE_MARK, "1")
        calendar.add("X-WR-CALNAME", self.name or DEFAULT_NAME)
        kept, theirs = [], {}
        if existing is not None:
            for name, value in existing.items():  # a property, or the list of a repeated one
                if name not in _OWN_PROPERTIES or (name == "X-WR-CALNAME" and not self.name):
                    calendar[name] = value  # the user's, as it was (their name for it, unless the config names it)
            for sub in existing.subcomponents:
                if sub.name == "VTIMEZONE" and is_managed(sub):
                    continue  # ours: made again below if still used
                if sub.name == "VTIMEZONE":
                    theirs.setdefault(str(sub.get("TZID")), sub)
                elif not (sub.name in ("VEVENT", "VTODO") and is_managed(sub)):
                    kept.append(sub)  # not ours: kept as it was
        ours = list(managed.values())
        years = zones_used([*ours, *kept])
        for tzid, zone in theirs.items():
            if tzid in years and not _repeats(zone):
                # A zone listed year by year (as calsync once wrote them) cannot cover years it does not list:
                # replaced by one that covers every year used in the file, for their items and ours alike.
                low, high = years[tzid]
                years[tzid] = (min([low, *_zone_years_listed(zone)]), max([high, *_zone_years_listed(zone)]))
                continue
            calendar.add_component(zone)  # the user's zones stay, used or not (X-WR-TIMEZONE may name one)
        used = {str(param) for comp in [*ours, *kept] for param in _tzids(comp)}
        for tzid in sorted(used):
            if tzid in theirs and _repeats(theirs[tzid]):
                continue
            if tzid in years:
                low, high = years[tzid]
                zone = timezone_component(tzid, max(low, 1900), min(max(high, low), 2200))
            elif tzid in timezones:  # not an IANA name: the item's own definition
                zone = icalendar.Timezone.from_ical(timezones[tzid].to_ical())
            else:
                continue
            zone.add(MANAGED_PROPERTY, "1")
            calendar.add_component(zone)
        for uid in sorted(managed):
            calendar.add_component(managed[uid])
        data = calendar.to_ical()
        if kept:
            # Re-serializing would reorder and refold the user's components: splice in their original bytes.
            foreign = b"".join(block for name, block in _blocks(self._raw) if _foreign(name, block))
            end = data.rindex(b"END:VCALENDAR")
            data = data[:end] + foreign + data[end:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, data)
        except UnsafeFile as exc:
            raise ProviderError(f"{self.path}: {exc} (targets.{self.target.name}.path)") from None
        except OSError as exc:
            raise ProviderError(f"{self.path}: cannot write: {exc.strerror}") from None


def _repeats(zone) -> bool:
    """True when a VTIMEZONE has a rule (RRULE) that carries it into years it does not list."""
    return any("RRULE" in part for part in zone.subcomponents)


def _zone_years_listed(zone) -> list[int]:
    years = []
    for part in zone.subcomponents:
        for name in ("DTSTART", "RDATE"):
            values = part.get(name)
            for value in values if isinstance(values, list) else [values]:
                for moment in getattr(value, "dts", None) or [value]:
                    year = getattr(getattr(moment, "dt", None), "year", None)
                    if year is not None:
                        years.append(year)
    return years


def _etag(component) -> str:
    return hashlib.sha256(component.to_ical()).hexdigest()[:32]


def _tzids(component) -> Iterator[str]:
    for name in ("DTSTART", "DTEND", "DUE"):
        value = component.get(name)
        if value is not None and "TZID" in value.params:
            yield value.params["TZID"]


def _blocks(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The top-level components of a VCALENDAR as (name, their exact bytes, line ends included)."""
    depth, name, block = 0, "", []
    for line in data.splitlines(keepends=True):
        text = line.rstrip(b"\r\n").upper()
        if text.startswith(b"BEGIN:"):
            depth += 1
            if depth == 2:
                name, block = text[6:].decode("ascii", "replace"), []
        if depth >= 2:
            block.append(line)
        if text.startswith(b"END:"):
            depth -= 1
            if depth == 1:
                yield name, b"".join(block)


def _foreign(name: str, block: bytes) -> bool:
    """A component calsync keeps as it is: anything but a time zone and calsync's own events and to-dos."""
    if name == "VTIMEZONE":
        return False
    if name in ("VEVENT", "VTODO"):
        unfolded = block.replace(b"\r\n ", b"").replace(b"\n ", b"")
        return not any(
            line.strip().upper() == MANAGED_MARK for line in unfolded.splitlines() if line.upper().startswith(b"X-")
        )
    return True
