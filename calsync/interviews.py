"""The interview file: TOML in, validated :class:`~calsync.model.Interview` objects out.

Every semantic error names the file, the line, the interview's id and the field. Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from calsync.errors import InputError, UserError
from calsync.model import EventKind, HistoryEvent, Interview, Interviewer, Kind, Medium, Source
from calsync.tomlfile import LineIndex, read_toml
from calsync.zones import zone_named

_INTERVIEW_KEYS = {
    "id",
    "company",
    "role",
    "start",
    "end",
    "timezone",
    "timeline",
    "decision_by",
    "follow_up",
    "approved",
    "requested",
    "country",
    "subdivision",
    "interviewers",
    "events",
    "notes",
}
# Dates outside these years are typos (0206 for 2026, 9999 as "never"); refusing them keeps every computed date,
# VTIMEZONE range and DTSTART within what datetime and iCalendar can write (four-digit years, nothing near 9999).
MIN_YEAR = 1900
MAX_YEAR = 2200

_INTERVIEWER_KEYS = {"name", "email", "phone", "primary", "timezone", "title", "notes"}
_EVENT_KEYS = {"date", "kind", "decision_by", "note", "notes", "followup", "to"}


def load_interviews(
    path: Path,
    default_timezone: str = "UTC",
    default_country: str | None = None,
    default_subdivision: str | None = None,
) -> list[Interview]:
    """Read and validate the interview file at ``path``."""
    data, lines = read_interview_file(path)
    return parse_interviews(data, lines, path, default_timezone, default_country, default_subdivision)


def read_interview_file(path: Path) -> tuple[dict[str, Any], LineIndex]:
    """The interview file's TOML, parsed (not yet validated), and its line index."""
    try:
        return read_toml(path, "interview file")
    except InputError as exc:  # `start = 2026-12-01 10:00`: say what to write
        from calsync.tomlfile import explained

        raise explained(exc) from None


def parse_interviews(
    data: dict[str, Any],
    lines: LineIndex,
    path: Path,
    default_timezone: str = "UTC",
    default_country: str | None = None,
    default_subdivision: str | None = None,
) -> list[Interview]:
    result: list[Interview] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(interview_entries(data, lines, path)):
        interview = read_interview(entry, index, lines, path, default_timezone, default_country, default_subdivision)
        check_unique(interview.id, index, seen, entry, lines, path)
        result.append(interview)
    return result


def interview_entries(data: dict[str, Any], lines: LineIndex, path: Path) -> list[Any]:
    """The file's ``[[interviews]]`` tables as parsed, after checking the file's top level."""
    unknown = set(data) - {"interviews"}
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"unknown top-level key {key!r} (expected [[interviews]] tables)", path, lines.line((), key))
    entries = data.get("interviews", [])
    if not isinstance(entries, list):
        raise InputError("'interviews' must be an array of tables: [[interviews]]", path, lines.line((), "interviews"))
    return entries


def read_interview(
    entry: Any,
    index: int,
    lines: LineIndex,
    path: Path,
    default_timezone: str = "UTC",
    default_country: str | None = None,
    default_subdivision: str | None = None,
) -> Interview:
    """The ``index``-th ``[[interviews]]`` table, validated."""
    reader = _Reader(entry, path, lines, ("interviews", index), None)
    return _interview(reader, index, default_timezone, default_country, default_subdivision)


def check_unique(ident: str, index: int, seen: dict[str, int], entry: Any, lines: LineIndex, path: Path) -> None:
    """Refuse a second interview of the id ``ident`` (``seen``: id -> index of the interviews before it)."""
    if ident in seen:
        reader = _Reader(entry, path, lines, ("interviews", index), f"interview {ident!r}")
        raise reader.error("id", f"duplicate id {ident!r} (also interview #{seen[ident] + 1})")
    seen[ident] = index


class _Reader:
    """Typed access to one table's keys, raising errors that say where."""

    def __init__(self, table: Any, path: Path, lines: LineIndex, where: tuple, label: str | None) -> None:
        self.path, self.lines, self.where, self.label = path, lines, where, label
        if not isinstance(table, dict):
            raise self.error(None, "expected a table")
        self.table = table

    def error(self, key: str | None, message: str) -> InputError:
        who = f"{self.label}: " if self.label else ""
        field = f"{key}: " if key else ""
        return InputError(f"{who}{field}{message}", self.path, self.lines.line(self.where, key))

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                from calsync.suggest import field_hint  # only for a message: difflib is not free

                hint = field_hint(key, allowed) or f" (known: {', '.join(sorted(allowed))})"
                raise self.error(key, f"unknown field{hint}")

    def get(self, key: str, kind: type | tuple[type, ...], what: str, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                raise self.error(key, f"required field missing ({what})")
            return None
        value = self.table[key]
        # bool is an int in Python; TOML keeps them apart, so do we.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.error(key, f"expected {what}, got {_show(value)}")
        return value

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key, str, "a string", required)
        if value is not None and required and not value.strip():
            raise self.error(key, "must not be empty")
        return value.strip() if isinstance(value, str) else None

    def zone(self, key: str, default: str):
        name = self.text(key) or default
        zone = zone_named(name)
        if zone is None:
            from calsync.suggest import zone_hint

            hint = zone_hint(name) or " (an IANA name such as 'America/Chicago')"
            raise self.error(key if key in self.table else None, f"unknown time zone {name!r}{hint}")
        return zone

    def day(self, key: str, required: bool = False) -> date | None:
        value = self.get(key, (date, str), "a date such as 2026-11-27", required)
        if isinstance(value, datetime):
            raise self.error(key, f"expected a date without a time, got {_show(value)}")
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise self.error(key, f"expected a date such as 2026-11-27, got {value!r}") from None
        return self._in_range(key, value)

    def wall_time(self, key: str, required: bool = False) -> datetime | None:
        """A local date-time (``2026-11-20T14:00:00``), or an offset one converted to wall time later."""
        day = self.table.get(key)
        if isinstance(day, date) and not isinstance(day, datetime):
            raise self.error(key, f"a date-time is needed, not a date: write {key} = {day}T14:00:00 (the real time)")
        value = self.get(key, (datetime, str), "a date-time such as 2026-11-20T14:00:00", required)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(key, f"expected a date-time such as 2026-11-20T14:00:00, got {value!r}") from None
        return self._in_range(key, value)

    def _in_range(self, key: str, value: Any) -> Any:
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise self.error(key, f"year {value.year} is out of range ({MIN_YEAR} to {MAX_YEAR}): a typo?")
        return value


def _interview(reader: _Reader, index: int, default_tz: str, default_country, default_subdivision) -> Interview:
    table = reader.table
    ident = table.get("id")
    reader.label = f"interview {ident!r}" if isinstance(ident, str) else f"interview #{index + 1}"
    reader.check_keys(_INTERVIEW_KEYS)
    company = reader.text("company", required=True)
    role = reader.text("role") or ""
    zone = reader.zone("timezone", default_tz)
    start = _aware(reader.wall_time("start", required=True), zone)
    end_raw = reader.wall_time("end")
    end = _aware(end_raw, zone) if end_raw is not None else _one_hour_later(start, zone)
    # Compared as instants: aware datetimes that share a zone compare by wall clock, blind to a DST change.
    if end.astimezone(UTC) <= start.astimezone(UTC):
        raise reader.error("end", "the interview ends before it starts")
    ident = reader.text("id") or derive_id(company, start.astimezone(zone).date())
    if not _ID.fullmatch(ident):
        raise reader.error("id", f"{ident!r}: use letters, digits, '.', '_' and '-' only")
    reader.label = f"interview {ident!r}"
    medium_name = reader.text("follow_up") or Medium.EMAIL.value
    try:
        medium = Medium(medium_name.lower())
    except ValueError:
        raise reader.error("follow_up", f'expected "email" or "phone", got {medium_name!r}') from None
    requested = reader.get("requested", list, "a list of strings") or []
    if not all(isinstance(item, str) for item in requested):
        raise reader.error("requested", "expected a list of strings")
    interviewers = _interviewers(reader, zone)
    country, subdivision = _holiday_calendar(reader, default_country, default_subdivision)
    day = start.astimezone(zone).date()
    decision_by = reader.day("decision_by")
    if decision_by is not None and decision_by < day:
        # Most likely a typo (last year's date): a check-in before the interview would be nonsense.
        raise reader.error("decision_by", f"{decision_by} is before the interview ({day})")
    return Interview(
        id=ident,
        company=company,
        role=role,
        start=start,
        end=end,
        timezone=zone,
        interviewers=interviewers,
        timeline=reader.text("timeline"),
        decision_by=decision_by,
        follow_up=medium,
        approved=reader.get("approved", bool, "true or false"),
        requested=tuple(item.strip() for item in requested if item.strip()),
        country=country,
        subdivision=subdivision,
        events=_events(reader, day, interviewers, zone, country, subdivision),
        source=_SourceOf(reader.path, reader.lines, reader.where),
        notes=reader.text("notes"),
    )


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class _SourceOf(Source):
    """Where an interview is written, its line looked up when first read (a message): loading a file without an
    error never indexes its lines."""

    def __init__(self, path: Path, lines: LineIndex, where: tuple) -> None:
        object.__setattr__(self, "path", path)  # a frozen dataclass
        object.__setattr__(self, "_where", (lines, where))

    @property  # type: ignore[override]
    def line(self) -> int | None:
        lines, where = self._where
        return lines.line(where)


def derive_id(company: str, day: date) -> str:
    """``acme-corp-2026-11-20`` from "Acme Corp" and the interview's date."""
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:60] or "interview"
    return f"{slug}-{day.isoformat()}"


def _one_hour_later(start: datetime, zone) -> datetime:
    """The default end: one hour of elapsed time after ``start``, as a wall time in ``zone``."""
    return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)


def _holiday_calendar(reader: _Reader, default_country, default_subdivision) -> tuple[str | None, str | None]:
    """The interview's country and subdivision, checked against the holidays package now, so that an unknown one
    is reported with the interview and the field rather than in the middle of planning."""
    from calsync.businessdays import calendar_for

    country = reader.text("country") or default_country
    # The config's subdivision belongs to the config's country: a US interview must not get a German state.
    same_country = (country or "").upper() == (default_country or "").upper()
    subdivision = reader.text("subdivision") or (default_subdivision if same_country else None)
    if country is None:
        if "subdivision" in reader.table:
            raise reader.error("subdivision", "a subdivision needs a country")
        if default_subdivision:
            raise reader.error(None, "subdivision: the config's subdivision needs the config's country")
        return None, None
    for key, checked in (("country", None), ("subdivision", subdivision)):
        try:
            calendar_for(country, checked)
        except UserError:
            from calsync.suggest import country_hint, known_country

            which = f"country {country!r}" + (f" subdivision {checked!r}" if checked else "")
            hint = country_hint(country) if not known_country(country) else ""
            message = f"no public-holiday calendar for {which}{hint}"
            if key in reader.table:
                raise reader.error(key, message) from None
            raise reader.error(None, f"{key}: {message} (the config's default)") from None
    return country, subdivision


def _aware(value: datetime, zone) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def _sub_tables(reader: _Reader, key: str, noun: str, allowed: set[str]) -> Iterator[_Reader]:
    """A reader for each ``[[interviews.KEY]]`` table of this interview, its keys checked."""
    raw = reader.get(key, list, f"[[interviews.{key}]] tables") or []
    for number, entry in enumerate(raw):
        where = (f"interviews.{key}", reader.where[1], number)
        sub = _Reader(entry, reader.path, reader.lines, where, f"{reader.label}, {noun} #{number + 1}")
        sub.check_keys(allowed)
        yield sub


def _interviewers(reader: _Reader, zone) -> tuple[Interviewer, ...]:
    people = []
    for sub in _sub_tables(reader, "interviewers", "interviewer", _INTERVIEWER_KEYS):
        name = sub.text("name", required=True)
        sub.label = f"{reader.label}, interviewer {name!r}"
        email = sub.text("email")
        if email is not None and not _EMAIL.fullmatch(email):
            raise sub.error("email", f"{email!r} is not an email address")
        phone = sub.text("phone")
        if phone is not None and not _PHONE.fullmatch(phone):
            raise sub.error("phone", f"{phone!r} is not a phone number")
        people.append(
            Interviewer(
                name=name,
                timezone=sub.zone("timezone", zone.key),
                email=email,
                phone=phone,
                primary=bool(sub.get("primary", bool, "true or false")),
            )
        )
    if sum(person.primary for person in people) > 1:
        raise reader.error("interviewers", "more than one interviewer is marked primary")
    return tuple(people)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"\+?[0-9 ().\-/]{3,}(?:\s*(?:x|ext\.?)\s*[0-9]+)?")


def _events(
    reader: _Reader, interview_day: date, people: tuple[Interviewer, ...], zone, country, subdivision
) -> tuple[HistoryEvent, ...]:
    events = []
    for sub in _sub_tables(reader, "events", "event", _EVENT_KEYS):
        kind_name = sub.text("kind", required=True)
        try:
            kind = EventKind(kind_name.lower())
        except ValueError:
            kinds = " | ".join(k.value for k in EventKind)
            hint = _did_you_mean(kind_name.lower(), [k.value for k in EventKind])
            raise sub.error("kind", f"unknown event kind {kind_name!r}{hint} (expected {kinds})") from None
        # A follow-up is sent at a moment; the file may say when exactly, the plan needs the day.
        when = _sent_day(sub, zone) if kind is EventKind.SENT else sub.day("date", required=True)
        if when < interview_day:
            raise sub.error("date", f"{when} is before the interview ({interview_day})")
        decision_by = _event_decision_by(sub, when, zone, country, subdivision)
        if kind is EventKind.EXTENDED and decision_by is None:
            raise sub.error("decision_by", "an 'extended' event needs the new decision_by date")
        if decision_by is not None and kind not in (EventKind.EXTENDED, EventKind.REPLIED):
            raise sub.error("decision_by", f"only 'extended' and 'replied' events take decision_by, not {kind.value!r}")
        if decision_by is not None and decision_by < when:
            raise sub.error("decision_by", f"{decision_by} is before the event itself ({when})")
        followup, to = _sent_fields(sub, kind, people)
        note = sub.text("note") or sub.text("notes")
        events.append(HistoryEvent(when, kind, decision_by, note, followup=followup, to=to))
    # Oldest first, as documented; a stable sort keeps same-day events in the order written.
    return tuple(sorted(events, key=lambda event: event.date))


def _event_decision_by(sub: _Reader, when: date, zone, country, subdivision) -> date | None:
    """An event's ``decision_by``: a date, or a timeline phrase ("in two weeks", "after Easter") read by the
    built-in grammar relative to the event's date (hours count from noon that day)."""
    raw = sub.table.get("decision_by")
    if not isinstance(raw, str) or _ISO_DATE.fullmatch(raw.strip()):
        return sub.day("decision_by")
    from calsync.businessdays import calendar_for
    from calsync.timeline import read

    reading = read(raw, when, datetime.combine(when, time(12), tzinfo=zone), calendar_for(country, subdivision))
    if reading.date is None:
        words = f" (not understood: {', '.join(reading.unknown)})" if reading.unknown else ""
        raise sub.error(
            "decision_by", f"{raw!r} is neither a date such as 2026-11-27 nor a timeline phrase calsync reads{words}"
        )
    return reading.date


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _sent_day(sub: _Reader, zone) -> date:
    """The day of a ``sent`` event: a date, or a date-time (local, or with an offset: read in the interview's
    zone)."""
    value = sub.get("date", (date, str), "a date such as 2026-12-02 (or a date-time)", required=True)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            raise sub.error("date", f"expected a date such as 2026-12-02, got {value!r}") from None
    if isinstance(value, datetime):
        return _aware(value, zone).date()
    return value


def _sent_fields(sub: _Reader, kind: EventKind, people: tuple[Interviewer, ...]) -> tuple[Kind | None, str | None]:
    """``followup`` (required) and ``to`` (an interviewer of this interview) of a ``sent`` event."""
    if kind is not EventKind.SENT:
        for key in ("followup", "to"):
            if key in sub.table:
                raise sub.error(key, f"only 'sent' events take {key}, not {kind.value!r}")
        return None, None
    name = sub.text("followup", required=True)
    kinds = [k.value for k in Kind]
    normal = name.lower().replace("-", "_").replace(" ", "_")
    if normal not in kinds:
        hint = _did_you_mean(normal, kinds)
        raise sub.error("followup", f"unknown follow-up {name!r}{hint} (expected {' | '.join(kinds)})")
    to = sub.text("to")
    if to is not None:
        match = next((p for p in people if to.lower() in (p.name.lower(), (p.email or "").lower())), None)
        if match is None:
            names = [p.name for p in people]
            hint = _did_you_mean(to, names)
            known = ", ".join(repr(n) for n in names) or "none listed"
            raise sub.error("to", f"{to!r} is not an interviewer of this interview{hint} (interviewers: {known})")
        to = match.name
    return Kind(normal), to


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _show(value: Any) -> str:
    kind = {
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a table",
        datetime: "a date-time",
        date: "a date",
        time: "a time",
    }.get(type(value), "a value")
    return f"{kind} ({value!r})" if not isinstance(value, (dict, list)) else kind
