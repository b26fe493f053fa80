"""The ics provider's implementation (see the package docstring)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.files import write_atomic
from calsync.provider import (
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
PRODID = "-//calsync//calsync 0.1//EN"


class IcsProvider(Provider):
    name = "ics"
    can_read = True

    def __init__(self, target) -> None:
        super().__init__(target)
        path = target.option("path")
        if not path:
            raise ProviderError(f"targets.{target.name}: the ics provider needs 'path' (a .ics file)")
        self.path = Path(path).expanduser()

    def describe(self) -> str:
        return str(self.path)

    # The file is one document: read it once, change it in memory, write it once.

    def _load(self):
        import icalendar

        if not self.path.exists():
            return None
        if self.path.is_dir():
            raise ProviderError(f'{self.path}: is a folder; the ics provider writes one file (use provider = "vdir")')
        data = self.path.read_bytes()
        if not data.strip():
            return None
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError as exc:
            raise ProviderError(f"{self.path}: not an iCalendar file ({exc}); refusing to overwrite it") from None
        if str(calendar.get(FILE_MARK, "")) != "1" and not self.target.option("overwrite", False):
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
        calendar = icalendar.Calendar()
        calendar.add("PRODID", PRODID)
        calendar.add("VERSION", "2.0")
        calendar.add("CALSCALE", "GREGORIAN")
        calendar.add(FILE_MARK, "1")
        calendar.add("X-WR-CALNAME", self.target.option("name", "Job search follow-ups"))
        kept = []
        if existing is not None:
            for sub in existing.subcomponents:
                if sub.name == "VTIMEZONE":
                    timezones.setdefault(str(sub.get("TZID")), sub)
                elif not (sub.name in ("VEVENT", "VTODO") and is_managed(sub)):
                    kept.append(sub)  # not ours: kept as it was
        used = {str(param) for comp in [*managed.values(), *kept] for param in _tzids(comp)}
        for tzid in sorted(used):
            if tzid in timezones:
                calendar.add_component(timezones[tzid])
        for component in kept:
            calendar.add_component(component)
        for uid in sorted(managed):
            calendar.add_component(managed[uid])
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, calendar.to_ical())
        except OSError as exc:
            raise ProviderError(f"{self.path}: cannot write: {exc.strerror}") from None


def _etag(component) -> str:
    return hashlib.sha256(component.to_ical()).hexdigest()[:32]


def _tzids(component) -> Iterator[str]:
    for name in ("DTSTART", "DTEND", "DUE"):
        value = component.get(name)
        if value is not None and "TZID" in value.params:
            yield value.params["TZID"]
