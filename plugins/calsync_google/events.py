"""From a rendered VEVENT to a Calendar v3 Event resource, and calsync's marks on it. No Google imports here."""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from calsync.errors import ProviderError

if TYPE_CHECKING:
    import icalendar

    from calsync.provider import Item

#: The private extended property every event calsync writes carries; full listings filter on it.
MARK_KEY = "calsync"
MARK_VALUE = "1"
MARK_FILTER = f"{MARK_KEY}={MARK_VALUE}"

#: Google accepts reminders up to four weeks before the start.
MAX_REMINDER_MINUTES = 40320


def event_id(uid: str, generation: int = 0) -> str:
    """The event id of a follow-up: base32hex (lowercase, unpadded) of sha256(UID), 52 characters of a-v0-9.

    Google allows 5–1024 characters of base32hex for client-chosen ids. Hashing keeps any UID (whatever its
    characters or length) inside that alphabet, and the same UID always lands on the same id. Google keeps the id
    of a deleted event taken for good (even once purged); when calsync cannot bring such an event back, the item
    moves to the id of the next ``generation`` (hashing "UID\ngeneration"), which is just as deterministic.
    """
    text = uid if generation == 0 else f"{uid}\n{generation}"
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=").lower()


def private_props(event: dict[str, Any]) -> dict[str, str]:
    return (event.get("extendedProperties") or {}).get("private") or {}


def is_marked(event: dict[str, Any]) -> bool:
    return private_props(event).get(MARK_KEY) == MARK_VALUE


def marked_uid(event: dict[str, Any]) -> str | None:
    """The UID calsync stored on an event, if calsync wrote it."""
    props = private_props(event)
    if props.get(MARK_KEY) != MARK_VALUE:
        return None
    return props.get("uid") or event.get("iCalUID") or None


def marked_generation(event: dict[str, Any]) -> int:
    """The generation of the id calsync gave an event (0 unless it had to move to a fresh id)."""
    try:
        return max(0, int(private_props(event).get("generation", 0)))
    except ValueError:
        return 0


def is_ours(event: dict[str, Any], uid: str) -> bool:
    """Whether an event found at this UID's id is one calsync wrote for this UID."""
    return marked_uid(event) == uid


def to_event(item: Item, *, alarm_minutes: int | None = None, generation: int = 0) -> dict[str, Any]:
    """The Event resource for ``item`` (a VEVENT), complete: it is sent as insert and as a full update.

    It carries the client-chosen ``id`` and no ``iCalUID``: Google documents the two as alternatives on insert,
    and the UID travels in the private properties instead."""
    component = item.component
    if component.name != "VEVENT":
        raise ProviderError('Google Calendar has no tasks (VTODO): set component = "event" for this google target')
    start = _when(component.get("DTSTART"))
    if start is None:
        raise ProviderError(f"follow-up {item.uid} has no start time")
    end = _when(component.get("DTEND"))
    if end is None:
        end = _end_from_duration(component)
    status = "cancelled" if item.cancelled else _status(component)
    props = {MARK_KEY: MARK_VALUE, "uid": item.uid}
    if generation:
        props["generation"] = str(generation)
    interview, kind = _interview_and_kind(item, component)
    if interview:
        props["interview"] = interview
    if kind:
        props["kind"] = kind
    event: dict[str, Any] = {
        "id": event_id(item.uid, generation),
        "summary": str(component.get("SUMMARY", "")),
        "start": start,
        "end": end,
        "status": status,
        "sequence": int(item.sequence),
        "reminders": _reminders(component, alarm_minutes),
        "extendedProperties": {"private": props},
    }
    if component.get("DESCRIPTION") is not None:
        event["description"] = str(component.get("DESCRIPTION"))
    if component.get("LOCATION") is not None:
        event["location"] = str(component.get("LOCATION"))
    transp = str(component.get("TRANSP", "")).upper()
    if transp in ("TRANSPARENT", "OPAQUE"):
        event["transparency"] = transp.lower()
    return event


def _status(component: icalendar.Component) -> str:
    value = str(component.get("STATUS", "CONFIRMED")).upper()
    return {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}.get(value, "confirmed")


def _interview_and_kind(item: Item, component: icalendar.Component) -> tuple[str, str]:
    if item.followup is not None:
        return item.followup.interview.id, str(item.followup.kind.value)
    return str(component.get("X-CALSYNC-INTERVIEW", "")), str(component.get("X-CALSYNC-KIND", ""))


def _when(prop: Any) -> dict[str, str] | None:
    if prop is None:
        return None
    params = getattr(prop, "params", None) or {}
    return _when_value(prop.dt, params.get("TZID"))


def _when_value(value: Any, tzid: str | None) -> dict[str, str]:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            # Floating time: Google needs a zone; the iCalendar TZID parameter names it when present.
            if not tzid:
                raise ProviderError("a follow-up has a floating time: Google Calendar needs a time zone")
            return {"dateTime": value.isoformat(timespec="seconds"), "timeZone": str(tzid)}
        result = {"dateTime": value.isoformat(timespec="seconds")}
        key = getattr(value.tzinfo, "key", None) or getattr(value.tzinfo, "zone", None) or tzid
        if key:
            result["timeZone"] = str(key)
        return result
    if isinstance(value, date):
        return {"date": value.isoformat()}
    raise ProviderError(f"unsupported DTSTART/DTEND value {value!r}")


def _end_from_duration(component: icalendar.Component) -> dict[str, str]:
    dtstart = component.get("DTSTART")
    start = dtstart.dt
    duration = component.get("DURATION")
    delta = duration.dt if duration is not None else timedelta(0)
    if not isinstance(start, datetime):
        delta = max(delta, timedelta(days=1))
    return _when_value(start + delta, (getattr(dtstart, "params", None) or {}).get("TZID"))


def _reminders(component: icalendar.Component, alarm_minutes: int | None) -> dict[str, Any]:
    """Popup reminders: the VALARMs the renderer put in (none on a cancelled item), or ``alarm_minutes`` when
    given. Never the calendar's defaults, so every device reminds the same way."""
    minutes: list[int] = []
    if alarm_minutes is not None:
        minutes = [int(alarm_minutes)]
    else:
        for alarm in component.subcomponents:
            if alarm.name != "VALARM":
                continue
            trigger = alarm.get("TRIGGER")
            if trigger is None or not isinstance(trigger.dt, timedelta):
                continue
            minutes.append(int((-trigger.dt).total_seconds() // 60))
    clamped = sorted({max(0, min(MAX_REMINDER_MINUTES, m)) for m in minutes})
    return {"useDefault": False, "overrides": [{"method": "popup", "minutes": m} for m in clamped[:5]]}


def same_content(event: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a stored event already says everything ``body`` (from :func:`to_event`) would write: the same
    summary, description, location, times, status, reminders, transparency and private properties, and a
    SEQUENCE at least as high. Times compare as instants (Google may give them in another offset)."""
    for key in ("summary", "description", "location", "status"):
        if (event.get(key) or "") != (body.get(key) or ""):
            return False
    if (event.get("transparency") or "opaque") != (body.get("transparency") or "opaque"):
        return False
    if int(event.get("sequence") or 0) < int(body.get("sequence") or 0):
        return False
    if private_props(event) != private_props(body):
        return False
    if (event.get("reminders") or {}) != body.get("reminders"):
        return False
    return all(_same_time(event.get(edge) or {}, body[edge]) for edge in ("start", "end"))


def _same_time(stored: dict[str, str], sent: dict[str, str]) -> bool:
    if "date" in sent:
        return stored.get("date") == sent["date"] and not stored.get("dateTime")
    if sent.get("timeZone") and stored.get("timeZone") != sent["timeZone"]:
        return False
    try:
        ours = datetime.fromisoformat(sent["dateTime"].replace("Z", "+00:00"))
        theirs = datetime.fromisoformat(str(stored.get("dateTime", "")).replace("Z", "+00:00"))
    except ValueError:
        return False
    if (ours.tzinfo is None) != (theirs.tzinfo is None):
        return False
    return ours == theirs


def from_event(event: dict[str, Any], uid: str) -> bytes:
    """An Event resource read back as a VCALENDAR with one VEVENT: what a person can see and change in Google
    Calendar (summary, description, location, times, status, transparency, popup reminders), for comparing with
    what calsync pushed."""
    import icalendar

    component = icalendar.Event()
    component.add("UID", uid)
    component.add("X-CALSYNC-MANAGED", "1")
    for key, name in (("summary", "SUMMARY"), ("description", "DESCRIPTION"), ("location", "LOCATION")):
        if event.get(key) is not None:
            component.add(name, str(event[key]))
    for key, name in (("start", "DTSTART"), ("end", "DTEND")):
        value = _from_when(event.get(key) or {})
        if value is not None:
            component.add(name, value)
    component.add("STATUS", str(event.get("status", "confirmed")).upper())
    if event.get("transparency"):
        component.add("TRANSP", str(event["transparency"]).upper())
    if event.get("sequence") is not None:
        component.add("SEQUENCE", int(event["sequence"]))
    for override in (event.get("reminders") or {}).get("overrides") or []:
        alarm = icalendar.Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", str(event.get("summary", "")))
        alarm.add("TRIGGER", -timedelta(minutes=int(override.get("minutes", 0))))
        component.add_component(alarm)
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//calsync//google read-back//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(component)
    return calendar.to_ical()


def _from_when(when: dict[str, Any]) -> date | datetime | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if when.get("date"):
        return date.fromisoformat(when["date"])
    if not when.get("dateTime"):
        return None
    value = datetime.fromisoformat(str(when["dateTime"]).replace("Z", "+00:00"))
    zone = when.get("timeZone")
    if zone:
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return value
        value = value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)
    return value
