"""Follow-ups as iCalendar: one item per follow-up for the sync engine, or the whole plan as one file.

Every component carries the planner's UID, DTSTART/DTEND (VTODO: DTSTART and DUE) in the zone that matters with a
VTIMEZONE for each zone used, DTSTAMP, SEQUENCE, STATUS, a DISPLAY alarm (not on cancelled items: a reminder of
something cancelled is noise), CATEGORIES, RELATED-TO (the interview's items are siblings), CONTACT and
``X-CALSYNC-MANAGED`` / ``X-CALSYNC-INTERVIEW`` / ``X-CALSYNC-KIND``. Nobody is invited: no ATTENDEE, so no
calendar ever emails the interviewer.

Rendering is deterministic: the same follow-up gives the same bytes (no ``now()``, no random ids). The one
clock it may see is passed in by the caller (``now``, from the engine or the export): a follow-up whose due time is
already past then carries no alarm -- it would ring at once for a moment already gone -- and its SUMMARY says
"(overdue)". Follow-up events are TRANSP:TRANSPARENT: they never make the person look busy to booking links.

VTIMEZONEs are built here from ``zoneinfo`` rather than with ``icalendar.Timezone.from_tzid``: that search steps
over transitions less than 64 days apart (Morocco's Ramadan change), and puts every RDATE on one line, which
vobject reads as a single date. Ours list the exact transitions of the years used, one RDATE per line.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

import icalendar

from calsync.errors import UserError
from calsync.model import FollowUp, Kind
from calsync.provider import MANAGED_PROPERTY, Item
from calsync.templates import Templates, compose_description, contact_line, item_link
from calsync.uids import make_uid
from calsync.zones import zone_named

if TYPE_CHECKING:
    from icalendar import Component

PRODID = "-//calsync//calsync 0.1//EN"
INTERVIEW_PROPERTY = "X-CALSYNC-INTERVIEW"
KIND_PROPERTY = "X-CALSYNC-KIND"
#: A hash of what calsync wrote (see :func:`seal`): an item that no longer matches it was edited by someone.
HASH_PROPERTY = "X-CALSYNC-HASH"
CATEGORY = "Job search"
KIND_LABELS = {
    Kind.CLOSING: "Closing",
    Kind.THANK_YOU: "Thank-you",
    Kind.CHECK_IN: "Check-in",
    Kind.RETRY: "Retry",
    Kind.FEEDBACK_REQUEST: "Feedback request",
}
# Zones that are UTC under another name: rendered with "Z", no VTIMEZONE.
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})
_HEADER = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\n".encode()
_FOOTER = b"END:VCALENDAR\r\n"
_ITEM_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")

Decorate = Callable[["Component", FollowUp], None]

_default_templates: Templates | None = None


def _templates(templates: Templates | None) -> Templates:
    global _default_templates
    if templates is not None:
        return templates
    if _default_templates is None:
        _default_templates = Templates()
    return _default_templates


# --- times and zones --------------------------------------------------------------------------------------------


def render_time(moment: datetime) -> datetime:
    """``moment`` as it is written: in its IANA zone (TZID), or in UTC ("Z").

    UTC under any name, zones without an IANA key, and the second occurrence of an ambiguous local time (which
    readers take as the first, RFC 5545 §3.3.5) become UTC, so the instant never changes. A local time in a DST
    gap becomes the real wall time of the same instant. Sub-second precision is dropped (iCalendar has none).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: follow-up times must be timezone-aware")
    moment = moment.replace(microsecond=0)
    utc = moment.astimezone(UTC)
    key = getattr(moment.tzinfo, "key", None)
    if not key or key in _UTC_KEYS:
        return utc
    zone = zone_named(key)
    if zone is None:
        return utc
    local = utc.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return utc
    return local.replace(fold=0)


def _offset(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    assert offset is not None
    return offset


def _transitions(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[int, timedelta, timedelta]]:
    """Every UTC-offset change in [start, end): (POSIX second it takes effect, offset before, offset after)."""

    def offset_at(second: int) -> timedelta:
        return _offset(datetime.fromtimestamp(second, zone))

    found = []
    now, stop = int(start.timestamp()), int(end.timestamp())
    current = offset_at(now)
    day = 86400
    while now < stop:
        ahead = min(now + day, stop)
        after = offset_at(ahead)
        if after == current:
            now = ahead
            continue
        low, high = now, ahead  # offset at low is current, at high it is not
        while high - low > 1:
            middle = (low + high) // 2
            if offset_at(middle) == current:
                low = middle
            else:
                high = middle
        new = offset_at(high)
        found.append((high, current, new))
        now, current = high, new
    return found


def _format_offset(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


@lru_cache(maxsize=1024)
def vtimezone(key: str, first_year: int, last_year: int) -> bytes:
    """The serialized VTIMEZONE of IANA zone ``key``, exact from Jan 1 of ``first_year`` to the end of
    ``last_year`` (local time), with one observance per kind of change and one RDATE line per further change."""
    zone = zone_named(key)
    if zone is None:
        raise ValueError(f"unknown time zone {key!r}")
    start = datetime(first_year, 1, 1, tzinfo=zone)
    end = datetime(min(last_year, 9998) + 1, 1, 1, tzinfo=zone)
    # (is_daylight, offset_from, offset_to, name) -> local onsets. A change to a larger offset starts DAYLIGHT,
    # to a smaller one STANDARD, as in tzdata's "rearguard" form: zoneinfo's negative DST (Europe/Dublin's
    # winter, Morocco's Ramadan) would otherwise leave a zone with STANDARD parts only, which vobject takes for
    # a zone without DST.
    changes = _transitions(zone, start, end)
    first_offset = _offset(start)
    initial_daylight = bool(changes) and changes[0][2] < changes[0][1]
    groups: dict[tuple[bool, timedelta, timedelta, str], list[datetime]] = {
        (initial_daylight, first_offset, first_offset, start.tzname() or ""): [start.replace(tzinfo=None)]
    }
    for second, before, after in changes:
        name = datetime.fromtimestamp(second, zone).tzname() or ""
        onset = datetime.fromtimestamp(second, UTC).replace(tzinfo=None) + before
        groups.setdefault((after > before, before, after, name), []).append(onset)
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0])
    standard = next((after for (daylight, _b, after, _n), _o in ordered if not daylight), None)
    if standard == timedelta() and first_year > 2000:
        # Before its first onset, vobject (dateutil) applies the first STANDARD part; a zone that then looks
        # like UTC from 2000 to 2020 is taken for UTC and read with pytz instead, which lacks DST after 2037 and
        # Morocco's recent rules. Covering from 2000 keeps Europe/London in 2040 itself.
        return vtimezone(key, 2000, last_year)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{key}"]
    for (daylight, before, after, name), onsets in ordered:
        kind = "DAYLIGHT" if daylight else "STANDARD"
        lines.append(f"BEGIN:{kind}")
        lines.append(f"DTSTART:{onsets[0]:%Y%m%dT%H%M%S}")
        lines.extend(f"RDATE:{onset:%Y%m%dT%H%M%S}" for onset in onsets[1:])
        lines.append(f"TZNAME:{_escape_text(name)}")
        lines.append(f"TZOFFSETFROM:{_format_offset(before)}")
        lines.append(f"TZOFFSETTO:{_format_offset(after)}")
        lines.append(f"END:{kind}")
    lines.append("END:VTIMEZONE")
    return ("\r\n".join(lines) + "\r\n").encode()


def _escape_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _timezone_component(key: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """A fresh VTIMEZONE object (callers may change what they get)."""
    return icalendar.Timezone.from_ical(vtimezone(key, first_year, last_year))


def _zone_years(component: Component, into: dict[str, tuple[int, int]]) -> None:
    """Add the IANA zones ``component`` (and its subcomponents) uses, with the range of years used in each."""
    for _name, value in component.property_items(sorted=False):
        for single in value if isinstance(value, list) else (value,):
            params = getattr(single, "params", None)
            if not params or "TZID" not in params:
                continue
            moments = [d.dt for d in single.dts] if hasattr(single, "dts") else [getattr(single, "dt", None)]
            for moment in moments:
                if not isinstance(moment, datetime):
                    continue
                key = getattr(moment.tzinfo, "key", None) or str(params["TZID"])
                if key in _UTC_KEYS or zone_named(key) is None:
                    continue
                _widen(into, key, moment.year, moment.year)


def zones_used(components: Iterable[Component]) -> dict[str, tuple[int, int]]:
    """The IANA zones ``components`` use (by TZID), each with the first and last year used in it."""
    found: dict[str, tuple[int, int]] = {}
    for component in components:
        _zone_years(component, found)
    return found


def timezone_component(key: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """calsync's VTIMEZONE of IANA zone ``key`` for those years (see :func:`vtimezone`), as a fresh object."""
    return _timezone_component(key, first_year, last_year)


def _widen(into: dict[str, tuple[int, int]], key: str, low: int, high: int) -> None:
    if key in into:
        old_low, old_high = into[key]
        into[key] = (min(low, old_low), max(high, old_high))
    else:
        into[key] = (low, high)


# --- one component ----------------------------------------------------------------------------------------------


def _dtstamp(followup: FollowUp, dtstamp: datetime | None) -> datetime:
    stamp = dtstamp or followup.revised or followup.interview.end
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).replace(microsecond=0)


def _fail(followup: FollowUp, message: str) -> UserError:
    return UserError(f"interview {followup.interview.id!r}: the {followup.kind.value} follow-up {message}")


def _build(
    followup: FollowUp,
    component: str,
    sequence: int,
    dtstamp: datetime,
    alarm_minutes: int | Mapping[str, int],
    templates: Templates,
    decorate: Decorate | None,
    now: datetime | None = None,
) -> tuple[Component, dict[str, tuple[int, int]]]:
    """The VEVENT or VTODO, decorated and validated, and the zones it uses (with years)."""
    if component not in ("event", "todo"):
        raise UserError(f'unknown component {component!r}: use "event" or "todo"')
    if not isinstance(alarm_minutes, int):  # one lead time per kind of follow-up
        alarm_minutes = alarm_minutes.get(followup.kind.value, 0)
    if alarm_minutes < 0:
        raise UserError(f"alarm minutes must not be negative, not {alarm_minutes}")
    overdue = is_overdue(followup, now)
    if followup.duration_minutes < 0:
        field = "DUE" if component == "todo" else "DTEND"
        raise _fail(followup, f"ends before it starts: {field} is {-followup.duration_minutes} minutes before DTSTART")
    start = render_time(followup.due)
    length = timedelta(minutes=followup.duration_minutes)  # elapsed time, also across a DST change
    end = render_time((start.astimezone(UTC) + length).astimezone(start.tzinfo))
    begin = render_time((start.astimezone(UTC) - length).astimezone(start.tzinfo))  # a VTODO's DTSTART
    text = templates.text(followup)
    if not text.summary.strip():
        raise _fail(followup, "has an empty SUMMARY (check the SUMMARY line of your template)")
    description = compose_description(followup, text)
    todo = component == "todo"
    iv = followup.interview
    # Done (sent): a to-do is completed; an event keeps its place, ticked, without an alarm.
    summary = text.summary if todo or not followup.done else f"✓ {text.summary}"

    comp: Component = icalendar.Todo() if todo else icalendar.Event()
    comp.add("UID", followup.uid)
    comp.add("DTSTAMP", dtstamp)
    comp.add("SEQUENCE", sequence)
    if todo:
        # DUE is the due time; the task shows from ``duration`` before (strict readers want DTSTART < DUE).
        if length:
            comp.add("DTSTART", begin)
        comp.add("DUE", start)
        status = "CANCELLED" if followup.cancelled else "COMPLETED" if followup.done else "NEEDS-ACTION"
        if followup.done and not followup.cancelled:
            comp.add("COMPLETED", completed_at(followup))
            comp.add("PERCENT-COMPLETE", 100)
    else:
        comp.add("DTSTART", start)
        comp.add("DTEND", end)
        comp.add("TRANSP", "TRANSPARENT")  # a reminder, not a meeting: the person stays free
        status = "CANCELLED" if followup.cancelled else "CONFIRMED"
    comp.add("STATUS", status)
    comp.add("SUMMARY", f"{summary} (overdue)" if overdue else summary)
    comp.add("DESCRIPTION", description)
    link = item_link(followup, text)
    if link:
        comp.add("URL", link)
    contact = contact_line(followup)
    if contact:
        comp.add("CONTACT", contact)
    # No comma inside a category: some readers (the strict ``ical``) split "Globex\\, Inc." in two.
    company = " ".join(iv.company.replace(",", " ").split())
    comp.add("CATEGORIES", [CATEGORY, KIND_LABELS.get(followup.kind, str(followup.kind)), company])
    comp.add("RELATED-TO", make_uid(iv.id, "interview"), parameters={"RELTYPE": "SIBLING"})
    comp.add(MANAGED_PROPERTY, "1")
    comp.add(INTERVIEW_PROPERTY, iv.id)
    comp.add(KIND_PROPERTY, followup.kind.value)
    if not followup.cancelled and not followup.done and not overdue:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", text.summary)
        trigger = -timedelta(minutes=alarm_minutes)
        alarm.add("TRIGGER", trigger, parameters={"RELATED": "END"} if todo else None)
        comp.add_component(alarm)

    zones: dict[str, tuple[int, int]] = {}
    for moment in (begin, end) if todo else (start, end):
        key = getattr(moment.tzinfo, "key", None)
        if key:
            _widen(zones, key, moment.year, moment.year)
    if decorate is not None:
        decorate(comp, followup)
        _validate(comp, followup)
        _zone_years(comp, zones)
    scrub_controls(comp)
    comp.add(HASH_PROPERTY, seal(comp))  # last: it covers the decoration too
    return comp, zones


def is_overdue(followup: FollowUp, now: datetime | None) -> bool:
    """Whether ``followup`` is due before ``now`` (never, without a clock; never when cancelled or sent)."""
    if now is None or followup.cancelled or followup.done:
        return False  # a follow-up already sent is done, not late
    return followup.due.astimezone(UTC) < now.astimezone(UTC)


def completed_at(followup: FollowUp) -> datetime:
    """When a sent follow-up was completed, as written in COMPLETED (UTC): noon of the day it was sent, in the
    interview's zone (the file records only the day; noon keeps that day wherever the phone is, give or take)."""
    assert followup.sent_on is not None
    noon = datetime.combine(followup.sent_on, time(12, 0), tzinfo=followup.interview.timezone)
    return noon.astimezone(UTC)


# Characters RFC 5545 forbids in a value (CONTROL: %x00-08 / %x0A-1F / %x7F); a line break is kept, escaped.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` without the control characters RFC 5545 forbids: line breaks become ``\\n``, a TAB stays, the
    rest (NUL, VT, FF, ESC...) go. A strict reader refuses a whole file for one of them."""
    return _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def scrub_controls(component: Component) -> None:
    """Remove forbidden control characters from every text value and parameter of ``component`` and its
    subcomponents (its alarms), whoever put them there: the interview file, a template, a plugin."""
    for part in component.walk():
        for name, value in list(part.items()):
            part[name] = _scrubbed(value)


def _scrubbed(value):
    if isinstance(value, list):
        return [_scrubbed(single) for single in value]
    params = getattr(value, "params", None)
    if params:
        for key, param in list(params.items()):
            if isinstance(param, str) and (_CONTROLS.search(param) or '"' in param or "\n" in param):
                params[key] = clean_text(param).replace("\n", " ").replace('"', "'")
    if isinstance(value, icalendar.vText) and (_CONTROLS.search(value) or "\r" in value):
        cleaned = icalendar.vText(clean_text(str(value)))
        cleaned.params = value.params
        return cleaned
    if isinstance(value, icalendar.vCategory):
        value.cats = [_scrubbed(icalendar.vText(str(cat))) for cat in value.cats]
    return value


def _validate(comp: Component, followup: FollowUp) -> None:
    """What a decoration could have broken."""
    if not str(comp.get("SUMMARY", "")).strip():
        raise _fail(followup, "has an empty SUMMARY after decoration")
    if str(comp.get("UID", "")) != followup.uid:
        raise _fail(followup, "had its UID changed by a plugin")
    begin, finish = comp.get("DTSTART"), comp.get("DUE" if comp.name == "VTODO" else "DTEND")
    if begin is None or finish is None:
        return
    first, last = begin.dt, finish.dt
    try:
        backwards = last < first
    except TypeError:  # a date against a datetime, naive against aware: not ours to judge
        return
    if backwards:
        end_name = "DUE" if comp.name == "VTODO" else "DTEND"
        raise _fail(followup, f"ends before it starts: {end_name} {last} < DTSTART {first}")


def _zone_blocks(zones: dict[str, tuple[int, int]]) -> bytes:
    return b"".join(vtimezone(key, low, high) for key, (low, high) in sorted(zones.items()))


# --- the API ----------------------------------------------------------------------------------------------------


def render_item(
    followup: FollowUp,
    *,
    component: str = "event",
    sequence: int | None = None,
    dtstamp: datetime | None = None,
    alarm_minutes: int | Mapping[str, int] = 0,
    templates: Templates | None = None,
    decorate: Decorate | None = None,
    now: datetime | None = None,
) -> Item:
    """One VCALENDAR holding the follow-up's VEVENT (or VTODO when ``component == "todo"``) and its VTIMEZONEs.

    ``sequence`` defaults to the follow-up's revision, ``dtstamp`` to its ``revised`` instant. ``decorate`` runs on
    the component after the built-in rendering. ``alarm_minutes`` is one lead time, or one per kind (``Kind``
    value -> minutes). With ``now``, a follow-up already due has no alarm and is marked overdue.

    :raises UserError: the follow-up ends before it starts, or its SUMMARY is empty (nothing is rendered).
    """
    seq = followup.revision if sequence is None else sequence
    comp, zones = _build(
        followup,
        component,
        seq,
        _dtstamp(followup, dtstamp),
        alarm_minutes,
        _templates(templates),
        decorate,
        now,
    )
    body = comp.to_ical()
    data = _HEADER + _zone_blocks(zones) + body + _FOOTER
    calendar = _calendar_of([_timezone_component(k, lo, hi) for k, (lo, hi) in sorted(zones.items())])
    calendar.add_component(comp)
    return Item(followup.uid, data, calendar, seq, cancelled=followup.cancelled, followup=followup)


def _calendar_of(timezones: list[Component]) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.subcomponents.extend(timezones)
    return calendar


def render_calendar(
    followups: Iterable[FollowUp],
    *,
    component: str = "event",
    alarm_minutes: int | Mapping[str, int] = 0,
    templates: Templates | None = None,
    decorate: Decorate | None = None,
    now: datetime | None = None,
) -> bytes:
    """The whole plan as one VCALENDAR (an export): cancelled follow-ups included as STATUS:CANCELLED, each
    VTIMEZONE once (covering every year it is used in), components ordered by due time then UID, so the output
    does not depend on the order of ``followups``.

    :raises UserError: two follow-ups share a UID, or one fails validation (see :func:`render_item`).
    """
    chosen = _templates(templates)
    plan = list(followups)
    seen: dict[str, FollowUp] = {}
    unique = []
    for followup in plan:
        other = seen.get(followup.uid)
        if other is None:
            seen[followup.uid] = followup
            unique.append(followup)
        elif other != followup:
            raise UserError(
                f"two follow-ups share the UID {followup.uid} (interviews {other.interview.id!r} and "
                f"{followup.interview.id!r}): a plugin must give an added follow-up a new UID"
            )
    plan = unique
    plan.sort(key=lambda f: (f.due.astimezone(UTC), f.uid))

    # The zones are known before rendering (a decoration may add more): write them first, then stream.
    expected: dict[str, tuple[int, int]] = {}
    for followup in plan:
        start = render_time(followup.due)
        key = getattr(start.tzinfo, "key", None)
        if key:
            spread = timedelta(minutes=abs(followup.duration_minutes))
            _widen(expected, key, (start - spread).year, (start + spread).year)
    out = io.BytesIO()
    out.write(_HEADER)
    out.write(_zone_blocks(expected))
    body_start = out.tell()
    used = dict(expected)
    for followup in plan:
        comp, zones = _build(
            followup,
            component,
            followup.revision,
            _dtstamp(followup, None),
            alarm_minutes,
            chosen,
            decorate,
            now,
        )
        out.write(comp.to_ical())
        for key, (low, high) in zones.items():
            _widen(used, key, low, high)
    out.write(_FOOTER)
    if used == expected:
        return out.getvalue()
    body = out.getbuffer()[body_start:]
    return _HEADER + _zone_blocks(used) + bytes(body)


def content_hash(item: Item) -> str:
    """SHA-256 (hex) of the item's content without DTSTAMP and SEQUENCE: equal iff what the user sees is equal.

    Folding and line endings do not count."""
    digest = hashlib.sha256()
    for line in _unfolded(item.ical):
        name = _property_name(line)
        if name in ("DTSTAMP", "SEQUENCE"):
            continue
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def with_revision(item: Item, sequence: int, dtstamp: datetime) -> Item:
    """The same item with another SEQUENCE and DTSTAMP; every other byte stays as it is."""
    data = _rewrite(item.ical, {"SEQUENCE": str(sequence), "DTSTAMP": _utc_text(dtstamp)}, drop_alarms=False)
    return Item(
        item.uid,
        data,
        _parse_calendar(data),
        sequence,
        cancelled=item.cancelled,
        followup=item.followup,
    )


def with_status_cancelled(item: Item, sequence: int, dtstamp: datetime) -> Item:
    """The item (its last pushed form) as STATUS:CANCELLED, with the new SEQUENCE and DTSTAMP and no alarms."""
    changes = {"SEQUENCE": str(sequence), "DTSTAMP": _utc_text(dtstamp), "STATUS": "CANCELLED"}
    data = _rewrite(item.ical, changes, drop_alarms=True)
    calendar = _parse_calendar(data)
    component = next(c for c in calendar.subcomponents if c.name in _ITEM_COMPONENTS)
    if HASH_PROPERTY in component:  # STATUS is sealed: seal the new content (an old item without one stays so)
        data = _rewrite(data, {HASH_PROPERTY: seal(component)}, drop_alarms=False)
        calendar = _parse_calendar(data)
    return Item(item.uid, data, calendar, sequence, cancelled=True, followup=None)


# --- the seal: what calsync wrote, recognisable without the state database --------------------------------------

#: The properties :func:`seal` covers: what a person sees and edits, and what every provider keeps (a CalDAV server
#: may refold or reorder lines, the ics provider re-serialises, Google keeps only these), so a stored item still
#: matches its seal after a round trip unless someone changed it.
SEALED_PROPERTIES = ("UID", "SUMMARY", "DESCRIPTION", "LOCATION", "DTSTART", "DTEND", "DUE", "STATUS", "COMPLETED")


def seal(component: Component) -> str:
    """The value of ``X-CALSYNC-HASH``: a hash of the component's :data:`SEALED_PROPERTIES`, as values (times in
    UTC, text with its line breaks as ``\\n``), so formatting does not count and the property does not cover itself."""
    digest = hashlib.sha256()
    for name in SEALED_PROPERTIES:
        value = component.get(name)
        digest.update(f"{name}={_sealed_value(value)}\n".encode())
    return digest.hexdigest()[:32]


def seal_matches(component: Component) -> bool | None:
    """Whether a stored component still holds what calsync wrote: True (untouched), False (edited), None (it
    carries no seal: written by a calsync from before seals, or by something else)."""
    stored = component.get(HASH_PROPERTY)
    if stored is None:
        return None
    return str(stored).strip() == seal(component)


def _sealed_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a property given twice: all of it counts
        return "|".join(_sealed_value(v) for v in value)
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat() + " floating"
    if moment is not None:
        return moment.isoformat()
    return str(value).replace("\r\n", "\n").replace("\n", "\\n")


def parse_items(data: bytes) -> list[Item]:
    """Split iCalendar data into one Item per UID, each with the VTIMEZONEs it uses.

    Components keep their bytes as they are (unfolded lines are refolded as found), so an item written by
    :func:`render_item` and read back has the same :func:`content_hash`. Components without a UID are skipped.

    :raises UserError: the data is not iCalendar.
    """
    _parse_calendar(data)  # reject what is not iCalendar at all, with icalendar's message
    header: list[str] = []
    timezones: dict[str, list[str]] = {}
    groups: dict[str, list[list[str]]] = {}
    block: list[str] | None = None
    block_name = ""
    depth = 0
    for unfolded, raw in _lines(data):
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                block, block_name = [], upper[6:].strip()
        if block is not None:
            block.append(raw)
        elif depth == 1 and not upper.startswith(("BEGIN:", "END:")) and raw not in header:
            header.append(raw)
        if upper.startswith("END:"):
            depth -= 1
            if depth == 1 and block is not None:
                _file_block(block, block_name, timezones, groups)
                block = None
    items = []
    for uid, blocks in groups.items():
        needed: list[str] = []
        for lines in blocks:
            for line in lines:
                needed.extend(tz for tz in _tzids(_unfold(line)) if tz not in needed)
        parts = ["BEGIN:VCALENDAR", *header]
        for tzid in needed:
            parts.extend(timezones.get(tzid, []))
        for lines in blocks:
            parts.extend(lines)
        parts.append("END:VCALENDAR")
        text = ("\r\n".join(parts) + "\r\n").encode("utf-8")
        calendar = _parse_calendar(text)
        master = next(
            (c for c in calendar.subcomponents if c.name in _ITEM_COMPONENTS and "RECURRENCE-ID" not in c),
            next(c for c in calendar.subcomponents if c.name in _ITEM_COMPONENTS),
        )
        try:
            sequence = int(str(master.get("SEQUENCE", 0)))
        except ValueError:
            sequence = 0
        cancelled = str(master.get("STATUS", "")).upper() == "CANCELLED"
        items.append(Item(uid, text, calendar, sequence, cancelled=cancelled, followup=None))
    return items


# --- content lines ----------------------------------------------------------------------------------------------


def _lines(data: bytes) -> list[tuple[str, str]]:
    """Logical content lines: (unfolded text, raw text with its folds as CRLF + whitespace)."""
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    result: list[tuple[str, str]] = []
    for physical in text.split("\n"):
        if physical[:1] in (" ", "\t") and result:
            unfolded, raw = result[-1]
            result[-1] = (unfolded + physical[1:], raw + "\r\n" + physical)
        elif physical:
            result.append((physical, physical))
    return result


def _unfolded(data: bytes) -> Iterable[str]:
    return (unfolded for unfolded, _raw in _lines(data))


def _unfold(raw: str) -> str:
    return re.sub(r"\r\n[ \t]", "", raw)


def _property_name(line: str) -> str:
    match = re.match(r"[A-Za-z0-9-]+", line)
    return match.group(0).upper() if match else ""


_TZID_PARAM = re.compile(r';TZID=("[^"]*"|[^;:,]*)', re.IGNORECASE)


def _tzids(line: str) -> list[str]:
    """The TZID parameters of one unfolded content line (only in its name-and-parameters part)."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            line = line[:index]
            break
    return [match.group(1).strip('"') for match in _TZID_PARAM.finditer(line)]


def _file_block(
    block: list[str], name: str, timezones: dict[str, list[str]], groups: dict[str, list[list[str]]]
) -> None:
    level = 0
    uid = None
    tzid = None
    for raw in block:
        unfolded = _unfold(raw)
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            level += 1
        elif upper.startswith("END:"):
            level -= 1
        elif level == 1:
            prop = _property_name(unfolded)
            value = unfolded.split(":", 1)[1] if ":" in unfolded else ""
            if prop == "UID" and uid is None:
                uid = value.strip()
            elif prop == "TZID" and tzid is None:
                tzid = value.strip()
    if name == "VTIMEZONE" and tzid:
        timezones.setdefault(tzid, block)
    elif name in _ITEM_COMPONENTS and uid:
        groups.setdefault(uid, []).append(block)


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _rewrite(data: bytes, changes: dict[str, str], *, drop_alarms: bool) -> bytes:
    """Set properties of every top-level VEVENT/VTODO/VJOURNAL (replacing or adding them), keeping the rest."""
    out: list[str] = []
    depth = 0
    target_depth = None
    skipping = 0
    done: set[str] = set()
    for unfolded, raw in _lines(data):
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            name = upper[6:].strip()
            if depth == 2 and name in _ITEM_COMPONENTS:
                target_depth, done = depth, set()
            elif drop_alarms and target_depth is not None and name == "VALARM" and not skipping:
                skipping = depth
        if skipping:
            if upper.startswith("END:") and depth == skipping:
                skipping = 0
            if upper.startswith("END:"):
                depth -= 1
            continue
        if upper.startswith("END:"):
            if depth == target_depth:
                out.extend(f"{prop}:{value}" for prop, value in changes.items() if prop not in done)
                target_depth = None
            depth -= 1
            out.append(raw)
            continue
        if target_depth is not None and depth == target_depth and not upper.startswith("BEGIN:"):
            prop = _property_name(unfolded)
            if prop in changes:
                if prop not in done:
                    out.append(f"{prop}:{changes[prop]}")
                    done.add(prop)
                continue
        out.append(raw)
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def _parse_calendar(data: bytes) -> icalendar.Calendar:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise UserError(f"cannot read the calendar data: {exc}") from None
    if isinstance(calendar, list):  # several VCALENDARs in one file
        merged = _calendar_of([])
        for part in calendar:
            merged.subcomponents.extend(part.subcomponents)
        return merged
    return calendar
