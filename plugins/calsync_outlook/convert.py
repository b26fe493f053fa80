"""From a rendered VEVENT or VTODO to a Graph event or To Do task, and back. No HTTP here.

calsync's mark on an event is one single-value extended property whose value is the follow-up's UID: listings are
filtered on it server-side, so the user's own events are never read. A To Do task has no extended properties; its
mark is a linked resource (``applicationName`` "calsync", ``externalId`` the UID), the documented way for an app to
tie a task to its own item.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from calsync.errors import ProviderError

if TYPE_CHECKING:
    from calsync.provider import Item

#: calsync's namespace for MAPI named properties (fixed forever: changing it would orphan every marked event)
PROPERTY_SET = "{01421d39-458f-5f26-a729-ed5993521491}"
UID_PROPERTY = f"String {PROPERTY_SET} Name calsyncUid"
#: the revision calsync wrote (Graph has no SEQUENCE): read back as SEQUENCE
SEQUENCE_PROPERTY = f"String {PROPERTY_SET} Name calsyncSequence"
HASH_PROPERTY = "X-CALSYNC-HASH"  # calsync.render's seal (named here: importing render costs icalendar at start-up)
#: calsync's seal of what it wrote (X-CALSYNC-HASH), so a lost state can tell its items from the user's edits
HASH_PROPERTY_ID = f"String {PROPERTY_SET} Name calsyncHash"
APPLICATION = "calsync"
CANCELLED_PREFIX = "Cancelled: "


def transaction_id(uid: str, sequence: int) -> str:
    """Stable per (UID, revision): a POST retried after a dropped answer is recognised by Graph, never doubled."""
    return "calsync-" + hashlib.sha256(f"{uid}\n{sequence}".encode()).hexdigest()[:40]


def to_event(item: Item, *, create: bool) -> dict[str, Any]:
    component = item.component
    if component.name != "VEVENT":
        raise ProviderError("internal: to_event needs a VEVENT")
    start = _when(component.get("DTSTART"))
    end = _when(component.get("DTEND")) or start
    summary = str(component.get("SUMMARY", ""))
    # Graph cannot cancel an event that is not a meeting (isCancelled is read-only): say it in the subject.
    if item.cancelled and not summary.startswith(CANCELLED_PREFIX):
        summary = CANCELLED_PREFIX + summary
    minutes = _alarm_minutes(component)
    event: dict[str, Any] = {
        "subject": summary,
        "body": {"contentType": "text", "content": str(component.get("DESCRIPTION", ""))},
        "start": start,
        "end": end,
        "isReminderOn": minutes is not None and not item.cancelled,
        "reminderMinutesBeforeStart": minutes or 0,
        "categories": _categories(component),
        "showAs": "free",  # a reminder to write an email must never block the person's free/busy
    }
    if component.get("LOCATION") is not None:
        event["location"] = {"displayName": str(component.get("LOCATION"))}
    event["singleValueExtendedProperties"] = [{"id": SEQUENCE_PROPERTY, "value": str(int(item.sequence))}]
    if component.get(HASH_PROPERTY) is not None:
        event["singleValueExtendedProperties"].append({"id": HASH_PROPERTY_ID, "value": str(component[HASH_PROPERTY])})
    if create:
        event["transactionId"] = transaction_id(item.uid, item.sequence)
        event["singleValueExtendedProperties"].insert(0, {"id": UID_PROPERTY, "value": item.uid})
    return event


def to_task(item: Item, *, create: bool) -> dict[str, Any]:
    component = item.component
    due = component.get("DUE") or component.get("DTSTART")
    when = _when(due)
    minutes = _alarm_minutes(component)
    done = item.cancelled or str(component.get("STATUS", "")).upper() in ("COMPLETED", "CANCELLED")
    task: dict[str, Any] = {
        "title": str(component.get("SUMMARY", "")),
        "body": {"contentType": "text", "content": str(component.get("DESCRIPTION", ""))},
        "dueDateTime": when,
        "status": "completed" if done else "notStarted",
        "isReminderOn": minutes is not None and not done,
        "categories": _categories(component),
    }
    if minutes is not None and not done and due is not None:
        task["reminderDateTime"] = _utc(_as_datetime(due.dt) - timedelta(minutes=minutes))
    if create:
        task["linkedResources"] = [
            {"applicationName": APPLICATION, "externalId": item.uid, "displayName": "calsync follow-up"}
        ]
    return task


def event_uid(event: dict[str, Any]) -> str | None:
    return _property(event, UID_PROPERTY)


def _property(event: dict[str, Any], prop_id: str) -> str | None:
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == prop_id.lower():
            return str(prop.get("value")) or None
    return None


def task_uid(task: dict[str, Any]) -> str | None:
    for link in task.get("linkedResources") or []:
        if link.get("applicationName") == APPLICATION and link.get("externalId"):
            return str(link["externalId"])
    return None


def event_as_ical(event: dict[str, Any], uid: str) -> bytes:
    """What a person sees of an Outlook event, as a VCALENDAR with one VEVENT (for :meth:`Provider.read`)."""
    import icalendar

    component = icalendar.Event()
    subject = str(event.get("subject", ""))
    cancelled = bool(event.get("isCancelled")) or subject.startswith(CANCELLED_PREFIX)
    # The prefix is how a cancellation shows in Outlook; the follow-up's own summary is what calsync wrote.
    _common(component, uid, subject.removeprefix(CANCELLED_PREFIX), event)
    for key, name in (("start", "DTSTART"), ("end", "DTEND")):
        value = _from_when(event.get(key))
        if value is not None:
            component.add(name, value)
    component.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED")
    if (event.get("location") or {}).get("displayName"):
        component.add("LOCATION", event["location"]["displayName"])
    sealed = _property(event, HASH_PROPERTY_ID)
    if sealed:
        component.add(HASH_PROPERTY, sealed)
    sequence = _property(event, SEQUENCE_PROPERTY)
    if sequence is not None and sequence.isdigit():
        component.add("SEQUENCE", int(sequence))
    if event.get("isReminderOn"):
        _alarm(component, int(event.get("reminderMinutesBeforeStart") or 0))
    return _calendar(component)


def task_as_ical(task: dict[str, Any], uid: str) -> bytes:
    """An Outlook To Do task as a VCALENDAR with one VTODO; a completed task is STATUS:COMPLETED."""
    import icalendar

    component = icalendar.Todo()
    _common(component, uid, str(task.get("title", "")), task)
    due = _from_when(task.get("dueDateTime"))
    if due is not None:
        component.add("DUE", due)
    if task.get("status") == "completed":
        component.add("STATUS", "COMPLETED")
        completed = _from_when(task.get("completedDateTime"))
        if isinstance(completed, datetime):
            component.add("COMPLETED", completed.astimezone(UTC))
    else:
        component.add("STATUS", "NEEDS-ACTION")
    return _calendar(component)


# --- helpers ------------------------------------------------------------------------------------------------------


def _common(component: Any, uid: str, summary: str, resource: dict[str, Any]) -> None:
    component.add("UID", uid)
    component.add("X-CALSYNC-MANAGED", "1")
    component.add("SUMMARY", summary)
    content = (resource.get("body") or {}).get("content")
    if content:
        component.add("DESCRIPTION", str(content))
    if resource.get("categories"):
        component.add("CATEGORIES", list(resource["categories"]))


def _calendar(component: Any) -> bytes:
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//calsync//outlook read-back//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(component)
    return calendar.to_ical()


def _alarm(component: Any, minutes: int) -> None:
    import icalendar

    alarm = icalendar.Alarm()
    alarm.add("ACTION", "DISPLAY")
    alarm.add("DESCRIPTION", str(component.get("SUMMARY", "")))
    alarm.add("TRIGGER", -timedelta(minutes=minutes))
    component.add_component(alarm)


def _categories(component: Any) -> list[str]:
    found: list[str] = []
    raw = component.get("CATEGORIES")
    for prop in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        for name in getattr(prop, "cats", []) or []:
            if str(name) not in found:
                found.append(str(name))
    return found


def _alarm_minutes(component: Any) -> int | None:
    """The earliest relative VALARM, in minutes before (Graph keeps one reminder per item)."""
    leads = []
    for alarm in component.subcomponents:
        trigger = alarm.get("TRIGGER") if alarm.name == "VALARM" else None
        if trigger is not None and isinstance(trigger.dt, timedelta):
            leads.append(max(0, int((-trigger.dt).total_seconds() // 60)))
    return max(leads) if leads else None


def _when(prop: Any) -> dict[str, str] | None:
    if prop is None:
        return None
    value = prop.dt
    if isinstance(value, datetime):
        if value.tzinfo is None:
            tzid = (getattr(prop, "params", None) or {}).get("TZID")
            return {"dateTime": value.isoformat(timespec="seconds"), "timeZone": str(tzid or "UTC")}
        key = getattr(value.tzinfo, "key", None)
        if key:  # Graph takes IANA names as well as Windows ones
            return {"dateTime": value.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": key}
        return _utc(value)
    if isinstance(value, date):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": "UTC"}
    raise ProviderError(f"unsupported date-time value {value!r}")


def _utc(value: datetime) -> dict[str, str]:
    return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": "UTC"}


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _from_when(when: dict[str, Any] | None) -> datetime | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not when or not when.get("dateTime"):
        return None
    text = str(when["dateTime"])
    # Graph answers with seven fractional digits ("2026-12-01T10:00:00.0000000"): keep the seconds.
    value = datetime.fromisoformat(text.split(".", 1)[0].rstrip("Z"))
    zone = str(when.get("timeZone") or "UTC")
    try:
        tz = UTC if zone.upper() == "UTC" else ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return value.replace(tzinfo=tz)
