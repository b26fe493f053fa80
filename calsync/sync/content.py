"""What a person can see of an item, for telling a real edit from ETag drift: pure, no I/O.

A server may hand out a new ETag for an item nobody edited (a weak ETag on PUT and a strong one in listings, its own
re-serialisation, properties it adds). When the ETag moved, the engine reads the item back and compares
:func:`visible` of it with :func:`visible` of what calsync last pushed: equal means nobody edited it.

Compared: the properties a calendar app shows and calsync writes (SUMMARY, DESCRIPTION, LOCATION, URL, the times,
STATUS, COMPLETED, PERCENT-COMPLETE, PRIORITY, CATEGORIES, CONTACT, CLASS, TRANSP, RRULE) and the alarms (action,
trigger, text). Not compared: DTSTAMP, SEQUENCE, CREATED, LAST-MODIFIED, the VTIMEZONEs and anything the server adds.
Times are compared as instants (a server may rewrite a zone as UTC), texts without trailing blanks and with one kind
of line ending.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

_TEXT = ("SUMMARY", "DESCRIPTION", "LOCATION", "URL", "STATUS", "PRIORITY", "CLASS", "TRANSP", "RRULE", "CONTACT")


def visible(ical: bytes) -> tuple[Any, ...] | None:
    """A canonical form of the first VEVENT or VTODO in ``ical``; None when there is none or it cannot be read."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(ical)
    except (ValueError, IndexError, KeyError):
        return None
    if isinstance(calendar, list):
        calendar = calendar[0] if calendar else None
    component = next((c for c in getattr(calendar, "subcomponents", []) if c.name in ("VEVENT", "VTODO")), None)
    if component is None:
        return None
    fields: list[tuple[str, Any]] = [("kind", component.name)]
    for name in _TEXT:
        fields.append((name, _text(component.get(name))))
    for name in ("DTSTART", "COMPLETED"):
        fields.append((name, _time(component.get(name))))
    end_name = "DUE" if component.name == "VTODO" else "DTEND"
    end = _time(component.get(end_name))
    if end is None and component.get("DURATION") is not None:
        start, length = _time(component.get("DTSTART")), component["DURATION"].dt
        if isinstance(start, date) and isinstance(length, timedelta):
            end = start + length
    fields.append((end_name, end))
    fields.append(("PERCENT-COMPLETE", _text(component.get("PERCENT-COMPLETE")) or None))
    fields.append(("CATEGORIES", _categories(component.get("CATEGORIES"))))
    alarms = sorted(
        (_text(a.get("ACTION")), _trigger(a.get("TRIGGER")), _text(a.get("DESCRIPTION")))
        for a in component.subcomponents
        if a.name == "VALARM"
    )
    fields.append(("alarms", tuple(alarms)))
    return tuple(fields)


def same_content(pushed: bytes, found: bytes) -> bool:
    """True when ``found`` (read back from the target) shows the user exactly what calsync ``pushed``."""
    ours = visible(pushed)
    return ours is not None and ours == visible(found)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if hasattr(value, "to_ical") and not isinstance(value, str):
        value = value.to_ical().decode("utf-8", "replace")
    text = str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _time(prop: Any) -> Any:
    if prop is None:
        return None
    value = getattr(prop, "dt", prop)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value  # floating stays floating
    return value


def _trigger(prop: Any) -> Any:
    if prop is None:
        return None
    value = _time(prop)
    related = str(prop.params.get("RELATED", "START")).upper() if hasattr(prop, "params") else "START"
    return (related, value)


def _categories(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    groups = value if isinstance(value, list) else [value]
    names: list[str] = []
    for group in groups:
        cats = getattr(group, "cats", None)
        names.extend(str(c).strip() for c in (cats if cats is not None else [group]))
    return tuple(sorted(names))
