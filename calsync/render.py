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

Two writers make the same bytes: without a ``decorate`` hook, content lines are written directly
(:mod:`calsync.ical_text`); with one, an ``icalendar`` component is built for the plugins to change, then
serialized by icalendar. The tests hold the first to the second, byte for byte.

VTIMEZONEs come from :mod:`calsync.vtimezone`; rewriting stored items (cancel, re-sequence) and splitting a
calendar into items from :mod:`calsync.rewrite`; the seal from :mod:`calsync.seal`. Their public names are also
importable from here, as before.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from calsync.errors import UserError
from calsync.ical_text import FOOTER, HEADER, PRODID, duration_text, escape_text, fold, utc_text  # noqa: F401
from calsync.model import FollowUp, Kind, is_overdue
from calsync.provider import MANAGED_PROPERTY, Item
from calsync.rewrite import (  # noqa: F401  (re-exported: the names plugins and tests know)
    calendar_of,
    content_hash,
    parse_calendar,
    parse_items,
    with_revision,
    with_status_cancelled,
)
from calsync.seal import HASH_PROPERTY, SEALED_PROPERTIES, seal, seal_matches, seal_of_values  # noqa: F401
from calsync.templates import Templates, compose_description, contact_line, item_link
from calsync.uids import make_uid
from calsync.vtimezone import (  # noqa: F401
    UTC_KEYS,
    ZoneYears,
    add_zones,
    timezone_component,
    vtimezone,
    widen,
    zone_blocks,
    zones_used,
)
from calsync.zones import zone_named

if TYPE_CHECKING:
    from icalendar import Component

INTERVIEW_PROPERTY = "X-CALSYNC-INTERVIEW"
KIND_PROPERTY = "X-CALSYNC-KIND"
CATEGORY = "Job search"
KIND_LABELS = {
    Kind.CLOSING: "Closing",
    Kind.THANK_YOU: "Thank-you",
    Kind.CHECK_IN: "Check-in",
    Kind.RETRY: "Retry",
    Kind.FEEDBACK_REQUEST: "Feedback request",
}

Decorate = Callable[["Component", FollowUp], None]

_default_templates: Templates | None = None


def _templates(templates: Templates | None) -> Templates:
    global _default_templates
    if templates is not None:
        return templates
    if _default_templates is None:
        _default_templates = Templates()
    return _default_templates


# --- times ------------------------------------------------------------------------------------------------------


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
    if not key or key in UTC_KEYS:
        return utc
    zone = zone_named(key)
    if zone is None:
        return utc
    local = utc.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return utc
    return local.replace(fold=0)


# --- what a follow-up says ----------------------------------------------------------------------------------------


def _dtstamp(followup: FollowUp, dtstamp: datetime | None) -> datetime:
    stamp = dtstamp or followup.revised or followup.interview.end
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).replace(microsecond=0)


def _fail(followup: FollowUp, message: str) -> UserError:
    return UserError(f"interview {followup.interview.id!r}: the {followup.kind.value} follow-up {message}")


@dataclass(frozen=True)
class _Parts:
    """Every value of one component, checked, before it is written by either writer."""

    todo: bool
    start: datetime  # a VEVENT's DTSTART, a VTODO's DUE
    end: datetime  # a VEVENT's DTEND
    begin: datetime | None  # a VTODO's DTSTART (None: no duration)
    status: str
    summary: str
    description: str
    link: str | None
    contact: str
    categories: tuple[str, ...]
    completed: datetime | None
    alarm: tuple[str, timedelta] | None  # (description, trigger)
    zones: ZoneYears


def _parts(
    followup: FollowUp,
    component: str,
    alarm_minutes: int | Mapping[str, int],
    templates: Templates,
    now: datetime | None,
) -> _Parts:
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
    todo = component == "todo"
    iv = followup.interview
    # Done (sent): a to-do is completed; an event keeps its place, ticked, without an alarm.
    summary = text.summary if todo or not followup.done else f"✓ {text.summary}"
    if todo:
        status = "CANCELLED" if followup.cancelled else "COMPLETED" if followup.done else "NEEDS-ACTION"
    else:
        status = "CANCELLED" if followup.cancelled else "CONFIRMED"
    # No comma inside a category: some readers (the strict ``ical``) split "Globex\\, Inc." in two.
    company = " ".join(iv.company.replace(",", " ").split())
    alarm = None
    if not followup.cancelled and not followup.done and not overdue:
        alarm = (text.summary, -timedelta(minutes=alarm_minutes))
    zones: ZoneYears = {}
    for moment in (begin, end) if todo else (start, end):
        key = getattr(moment.tzinfo, "key", None)
        if key:
            widen(zones, key, moment.year, moment.year)
    return _Parts(
        todo=todo,
        start=start,
        end=end,
        begin=begin if todo and length else None,
        status=status,
        summary=f"{summary} (overdue)" if overdue else summary,
        description=compose_description(followup, text),
        link=item_link(followup, text),
        contact=contact_line(followup),
        categories=(CATEGORY, KIND_LABELS.get(followup.kind, str(followup.kind)), company),
        completed=completed_at(followup) if todo and followup.done and not followup.cancelled else None,
        alarm=alarm,
        zones=zones,
    )


# --- the direct writer --------------------------------------------------------------------------------------------

#: The order icalendar writes a VEVENT's properties in (the rest follow in alphabetical order).
_EVENT_ORDER = ("SUMMARY", "DTSTART", "DTEND", "DURATION", "DTSTAMP", "UID", "RECURRENCE-ID", "SEQUENCE")
_PLAIN_ZONE = re.compile(r"[A-Za-z0-9/_+-]+")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9._-]+")


def _time_line(name: str, moment: datetime) -> str | None:
    """``DTSTART;TZID=Europe/Berlin:20270105T100000`` or ``...:20270105T090000Z``; None when the zone's name
    would need quoting (the icalendar writer then takes over)."""
    key = getattr(moment.tzinfo, "key", None)
    if key is None:
        return f"{name}:{moment:%Y%m%dT%H%M%S}Z"
    if not _PLAIN_ZONE.fullmatch(key):
        return None
    return f"{name};TZID={key}:{moment:%Y%m%dT%H%M%S}"


def _text_line(name: str, value: str) -> str:
    return f"{name}:{escape_text(clean_text(value))}"


def _write(followup: FollowUp, parts: _Parts, sequence: int, dtstamp: datetime, uid: str) -> bytes | None:
    """The component's content lines, as icalendar would write them; None when a value is one this writer leaves
    to icalendar."""
    props: dict[str, str] = {}
    times = {"DTSTART": parts.begin, "DUE": parts.start} if parts.todo else {"DTSTART": parts.start}
    if not parts.todo:
        times["DTEND"] = parts.end
    for name, moment in times.items():
        if moment is None:
            continue
        line = _time_line(name, moment)
        if line is None:
            return None
        props[name] = line
    if not _PLAIN_VALUE.fullmatch(followup.interview.id):
        return None  # X- values are written verbatim by icalendar 7.2+, escaped before: leave that to icalendar
    uid = clean_text(uid)
    summary, description = clean_text(parts.summary), clean_text(parts.description)
    props["UID"] = f"UID:{escape_text(uid)}"
    props["DTSTAMP"] = f"DTSTAMP:{utc_text(dtstamp)}"
    props["SEQUENCE"] = f"SEQUENCE:{sequence}"
    props["STATUS"] = f"STATUS:{parts.status}"
    props["SUMMARY"] = f"SUMMARY:{escape_text(summary)}"
    props["DESCRIPTION"] = f"DESCRIPTION:{escape_text(description)}"
    if parts.completed is not None:
        props["COMPLETED"] = f"COMPLETED:{utc_text(parts.completed)}"
        props["PERCENT-COMPLETE"] = "PERCENT-COMPLETE:100"
    if not parts.todo:
        props["TRANSP"] = "TRANSP:TRANSPARENT"
    if parts.link:
        props["URL"] = f"URL:{parts.link}"  # a URI: not escaped, not scrubbed (as icalendar's vUri)
    if parts.contact:
        props["CONTACT"] = _text_line("CONTACT", parts.contact)
    props["CATEGORIES"] = "CATEGORIES:" + ",".join(escape_text(clean_text(c)) for c in parts.categories)
    related = clean_text(make_uid(followup.interview.id, "interview"))
    props["RELATED-TO"] = f"RELATED-TO;RELTYPE=SIBLING:{escape_text(related)}"
    props[MANAGED_PROPERTY] = f"{MANAGED_PROPERTY}:1"
    props[INTERVIEW_PROPERTY] = f"{INTERVIEW_PROPERTY}:{followup.interview.id}"
    props[KIND_PROPERTY] = f"{KIND_PROPERTY}:{followup.kind.value}"
    sealed = {"UID": uid, "SUMMARY": summary, "DESCRIPTION": description, "STATUS": parts.status}
    sealed.update((name, moment) for name, moment in times.items() if moment is not None)
    sealed["COMPLETED"] = parts.completed
    props[HASH_PROPERTY] = f"{HASH_PROPERTY}:{seal_of_values(sealed)}"

    name = "VTODO" if parts.todo else "VEVENT"
    order = [key for key in _EVENT_ORDER if key in props] if not parts.todo else []
    order += sorted(key for key in props if key not in order)
    out = [f"BEGIN:{name}"]
    out += [fold(props[key]) for key in order]
    if parts.alarm is not None:
        words, trigger = parts.alarm
        related_end = ";RELATED=END" if parts.todo else ""
        out += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            fold(_text_line("DESCRIPTION", words)),
            f"TRIGGER{related_end}:{duration_text(trigger)}",
            "END:VALARM",
        ]
    out.append(f"END:{name}")
    return ("\r\n".join(out) + "\r\n").encode()


# --- the icalendar writer (for decorating plugins) -----------------------------------------------------------------


def _build(
    followup: FollowUp, parts: _Parts, sequence: int, dtstamp: datetime, decorate: Decorate | None, uid: str
) -> tuple[Component, ZoneYears]:
    """The VEVENT or VTODO as an icalendar object, decorated and validated, and the zones it uses (with years);
    plugins see the plan's UID, the item carries ``uid``."""
    import icalendar

    comp: Component = icalendar.Todo() if parts.todo else icalendar.Event()
    comp.add("UID", followup.uid)
    comp.add("DTSTAMP", dtstamp)
    comp.add("SEQUENCE", sequence)
    if parts.todo:
        # DUE is the due time; the task shows from ``duration`` before (strict readers want DTSTART < DUE).
        if parts.begin is not None:
            comp.add("DTSTART", parts.begin)
        comp.add("DUE", parts.start)
        if parts.completed is not None:
            comp.add("COMPLETED", parts.completed)
            comp.add("PERCENT-COMPLETE", 100)
    else:
        comp.add("DTSTART", parts.start)
        comp.add("DTEND", parts.end)
        comp.add("TRANSP", "TRANSPARENT")  # a reminder, not a meeting: the person stays free
    comp.add("STATUS", parts.status)
    comp.add("SUMMARY", parts.summary)
    comp.add("DESCRIPTION", parts.description)
    if parts.link:
        comp.add("URL", parts.link)
    if parts.contact:
        comp.add("CONTACT", parts.contact)
    comp.add("CATEGORIES", list(parts.categories))
    comp.add("RELATED-TO", make_uid(followup.interview.id, "interview"), parameters={"RELTYPE": "SIBLING"})
    comp.add(MANAGED_PROPERTY, "1")
    comp.add(INTERVIEW_PROPERTY, followup.interview.id)
    comp.add(KIND_PROPERTY, followup.kind.value)
    if parts.alarm is not None:
        words, trigger = parts.alarm
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", words)
        alarm.add("TRIGGER", trigger, parameters={"RELATED": "END"} if parts.todo else None)
        comp.add_component(alarm)
    zones = dict(parts.zones)
    if decorate is not None:
        decorate(comp, followup)
        _validate(comp, followup)
        add_zones(comp, zones)
    if uid != followup.uid:
        comp["UID"] = icalendar.vText(uid)  # in place: the property keeps its position
    scrub_controls(comp)
    comp.add(HASH_PROPERTY, seal(comp))  # last: it covers the decoration and the UID carried
    return comp, zones


def _component_bytes(
    followup: FollowUp,
    component: str,
    sequence: int,
    dtstamp: datetime,
    alarm_minutes: int | Mapping[str, int],
    templates: Templates,
    decorate: Decorate | None,
    now: datetime | None,
    uid: str,
) -> tuple[bytes, ZoneYears]:
    """The serialized VEVENT or VTODO and the zones it uses: written directly unless a plugin decorates it."""
    parts = _parts(followup, component, alarm_minutes, templates, now)
    if decorate is None:
        written = _write(followup, parts, sequence, dtstamp, uid)
        if written is not None:
            return written, parts.zones
    comp, zones = _build(followup, parts, sequence, dtstamp, decorate, uid)
    return comp.to_ical(), zones


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
    rest (NUL, VT, FF, ESC...) go. A strict reader refuses a whole file for one of them. A literal backslash-N is
    a line break already: icalendar writes it as one, so the seal must see one too (or the item would read back
    as edited)."""
    return _CONTROLS.sub("", text.replace("\\N", "\n").replace("\r\n", "\n").replace("\r", "\n"))


def scrub_controls(component: Component) -> None:
    """Remove forbidden control characters from every text value and parameter of ``component`` and its
    subcomponents (its alarms), whoever put them there: the interview file, a template, a plugin."""
    for part in component.walk():
        for name, value in list(part.items()):
            part[name] = _scrubbed(value)


def _scrubbed(value):
    from icalendar import vCategory, vText

    if isinstance(value, list):
        return [_scrubbed(single) for single in value]
    params = getattr(value, "params", None)
    if params:
        for key, param in list(params.items()):
            if isinstance(param, str) and (_CONTROLS.search(param) or '"' in param or "\n" in param):
                params[key] = clean_text(param).replace("\n", " ").replace('"', "'")
    if isinstance(value, vText) and (_CONTROLS.search(value) or "\r" in value or "\\N" in value):
        cleaned = vText(clean_text(str(value)))
        cleaned.params = value.params
        return cleaned
    if isinstance(value, vCategory):
        value.cats = [_scrubbed(vText(str(cat))) for cat in value.cats]
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
    uid: str | None = None,
) -> Item:
    """One VCALENDAR holding the follow-up's VEVENT (or VTODO when ``component == "todo"``) and its VTIMEZONEs.

    ``sequence`` defaults to the follow-up's revision, ``dtstamp`` to its ``revised`` instant. ``decorate`` runs on
    the component after the built-in rendering. ``alarm_minutes`` is one lead time, or one per kind (``Kind``
    value -> minutes). With ``now``, a follow-up already due has no alarm and is marked overdue. ``uid`` is the UID
    the item carries on its target when it is not the plan's (see calsync/sync/identity.py); the seal covers it.

    :raises UserError: the follow-up ends before it starts, or its SUMMARY is empty (nothing is rendered).
    """
    seq = followup.revision if sequence is None else sequence
    stamp = _dtstamp(followup, dtstamp)
    carried = uid or followup.uid
    body, zones = _component_bytes(
        followup, component, seq, stamp, alarm_minutes, _templates(templates), decorate, now, carried
    )
    data = HEADER + zone_blocks(zones) + body + FOOTER
    return Item(carried, data, None, seq, cancelled=followup.cancelled, followup=followup)


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
            widen(expected, key, (start - spread).year, (start + spread).year)
    out = io.BytesIO()
    out.write(HEADER)
    out.write(zone_blocks(expected))
    body_start = out.tell()
    used = dict(expected)
    for followup in plan:
        body, zones = _component_bytes(
            followup, component, followup.revision, _dtstamp(followup, None), alarm_minutes, chosen, decorate, now,
            followup.uid,
        )  # fmt: skip
        out.write(body)
        for key, (low, high) in zones.items():
            widen(used, key, low, high)
    out.write(FOOTER)
    if used == expected:
        return out.getvalue()
    body = out.getbuffer()[body_start:]
    return HEADER + zone_blocks(used) + bytes(body)
