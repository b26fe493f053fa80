"""A calendar invitation (the ``.ics`` a recruiter's invite carries) -> when the interview is, and who is in it.

Invitations come from Google Calendar, Outlook/Exchange, Apple Calendar and scheduling tools, and each writes them
its own way; the rules here are the ones they share:

* The event is the VEVENT without RECURRENCE-ID (the first one when all have one). ``METHOD:CANCEL`` and
  ``STATUS:CANCELLED`` are not an interview to add; an all-day event has no time to plan from.
* The zone is DTSTART's TZID when it names one: an IANA name (Google, Apple), a Windows name (Outlook's
  "Pacific Standard Time", via tzlocal's CLDR table), a Windows display name ("(UTC-08:00) Pacific Time (US &
  Canada)": the Windows zone with that standard offset whose name shares the most words), or a path that ends in an
  IANA name (``/mozilla.org/.../Europe/Berlin``). A UTC time (``...Z``, many scheduling tools) or a floating time
  has no zone of its own: the caller's ``default_zone`` (the user's) is used, and ``zone_from_invite`` says so.
* People: the ORGANIZER and every ATTENDEE, by email (the ``mailto:`` address, else the ``EMAIL`` parameter Apple
  writes beside an ``urn:uuid:``), minus the user (``[me]``'s address or name), rooms and resources (CUTYPE
  ROOM/RESOURCE, Google's ``resource.calendar.google.com``), group calendars, no-reply senders, and duplicates. The
  name is CN, turned round when Outlook wrote "Last, First"; a CN that is just the address (Google, for guests
  without a name) gives a name from the address's local part ("dana.smith" -> "Dana Smith").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.errors import UserError
from calsync.zones import zone_named


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None


@dataclass(frozen=True)
class Invite:
    start: datetime  # aware, in ``zone``
    end: datetime
    zone: str
    zone_from_invite: bool  # False: the invite gave UTC or floating times, ``zone`` is the default
    people: tuple[Person, ...]
    organizer: Person | None
    summary: str | None


# A scheduling tool's sender is nobody to thank.
_NO_REPLY = re.compile(r"(?:no-?reply|do-?not-?reply|mailer-daemon|notifications?|calendar-notification)[@+]", re.I)
_NOT_PEOPLE = ("resource.calendar.google.com", "group.calendar.google.com", "group.v.calendar.google.com")


def read_invite(data: bytes | str, me: Iterable[str] = (), default_zone: str = "UTC") -> Invite:
    """The interview an invitation describes; ``me`` are the user's own addresses and name (left out)."""
    import warnings

    with warnings.catch_warnings():
        # icalendar warns when it guesses a vendor TZID; the rules above decide, and say so where it matters.
        warnings.filterwarnings("ignore", module="icalendar")
        return _read_invite(data, me, default_zone)


def _read_invite(data: bytes | str, me: Iterable[str], default_zone: str) -> Invite:
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # untrusted input: the parser's own slips (a TZID written twice…) say the same
        raise UserError(f"not an iCalendar invitation calsync can read: {str(exc)[:120]}") from None
    method = str(_one(calendar, "METHOD") or "").upper()
    if method == "CANCEL":
        raise UserError("this invitation cancels the meeting (METHOD:CANCEL); there is no interview to add")
    events = calendar.walk("VEVENT")
    if not events:
        raise UserError("the invitation has no event (VEVENT)")
    event = next((e for e in events if "RECURRENCE-ID" not in e), events[0])
    if str(_one(event, "STATUS") or "").upper() == "CANCELLED":
        raise UserError("this invitation's event is cancelled (STATUS:CANCELLED)")
    if "DTSTART" not in event:
        raise UserError("the invitation's event has no start (DTSTART)")
    start_prop = _one(event, "DTSTART")
    start_raw = _dt(start_prop)
    if start_raw is None:
        raise UserError(f"the invitation's start (DTSTART) cannot be read: {str(start_prop)[:40]!r}")
    if not isinstance(start_raw, datetime):
        raise UserError("the invitation is for a whole day, without a time; give the time with --at")
    zone_name = _zone_for(start_prop.params.get("TZID"), start_raw)
    zone_from_invite = zone_name is not None
    zone = ZoneInfo(zone_name or default_zone)
    start = _in_zone(start_raw, zone, zone_from_invite)
    end = _end(event, start, zone, zone_from_invite)
    mine = {address.strip().lower() for address in me if address}
    people: list[Person] = []
    seen: set[str] = set()
    organizer = _person(_one(event, "ORGANIZER"))
    for person in [organizer, *(_person(a) for a in _as_list(event.get("ATTENDEE")))]:
        if person is None:
            continue
        key = (person.email or person.name).lower()
        if key in seen or (person.email or "").lower() in mine or person.name.lower() in mine:
            continue
        seen.add(key)
        people.append(person)
    summary = str(_one(event, "SUMMARY") or "").strip() or None
    return Invite(start, end, zone.key, zone_from_invite, tuple(people), organizer, summary)


def _one(component, name: str):
    """A property that should appear once: the first when a sender wrote it twice, None when absent."""
    value = component.get(name)
    return value[0] if isinstance(value, list) and value else value


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _in_zone(value: datetime, zone: ZoneInfo, named: bool) -> datetime:
    if named:
        return value.replace(tzinfo=zone)  # the wall time the invitation wrote, in the zone it named
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)  # floating: the user's own clock
    return value.astimezone(zone)  # an instant (UTC, or a zone we could not name): shown in the user's zone


def _end(event, start: datetime, zone: ZoneInfo, named: bool) -> datetime:
    end_prop = _one(event, "DTEND")
    value = _dt(end_prop)
    if isinstance(value, datetime):
        end_zone = _zone_for(end_prop.params.get("TZID"), value)
        if end_zone is not None:
            end = value.replace(tzinfo=ZoneInfo(end_zone)).astimezone(zone)
        else:
            end = _in_zone(value, zone, named and value.tzinfo is None)
        if end > start:
            return end
    length = _dt(_one(event, "DURATION"))
    if isinstance(length, timedelta) and length > timedelta(0):
        return start + length
    return start + timedelta(hours=1)  # no end, or one before the start: the default length


def _dt(prop):
    """A date, date-time or duration property's value; None when absent or unreadable (icalendar keeps a broken
    value and raises on access)."""
    if prop is None:
        return None
    try:
        return prop.dt
    except (ValueError, AttributeError):
        return None


def _zone_for(tzid: str | None, value: datetime) -> str | None:
    """The IANA name a TZID stands for, or None (no TZID, UTC, or a name none of the rules can read)."""
    if value.tzinfo is not None and tzid is None:
        return None  # "Z": an instant
    if not tzid:
        return None
    tzid = str(tzid).strip().strip('"')
    if tzid.upper() in ("UTC", "GMT", "Z", "ETC/UTC"):
        return None
    if zone_named(tzid) is not None and "/" in tzid:
        return tzid
    from tzlocal.windows_tz import win_tz

    if tzid in win_tz:
        return win_tz[tzid]
    parts = tzid.split("/")
    for n in range(len(parts) - 1):  # /mozilla.org/20050126_1/Europe/Berlin, /softwarestudio.org/.../Europe/Paris
        candidate = "/".join(parts[n:])
        if "/" in candidate and zone_named(candidate) is not None:
            return candidate
    return _windows_display_name(tzid, value, win_tz)


_DISPLAY = re.compile(r"^\((?:UTC|GMT)(?:(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2}))?\)\s*(?P<rest>.+)$", re.I)


def _windows_display_name(tzid: str, value: datetime, win_tz: dict[str, str]) -> str | None:
    """``(UTC-08:00) Pacific Time (US & Canada)``: among the Windows zones whose standard offset is -08:00, the one
    whose Windows name shares most words with the display name."""
    found = _DISPLAY.match(tzid)
    if not found:
        return None
    sign = -1 if found["sign"] == "-" else 1
    offset = timedelta(hours=int(found["h"] or 0), minutes=int(found["m"] or 0)) * sign
    words = set(re.findall(r"[a-z]+", found["rest"].lower())) - {"time", "standard", "and", "us", "the"}
    best: tuple[int, int, float, str] | None = None
    for windows, iana in win_tz.items():
        zone = zone_named(iana)
        if zone is None or _standard_offset(zone, value.year) != offset:
            continue
        name_words = set(re.findall(r"[a-z]+", windows.lower())) - {"time", "standard"}
        city_words = set(re.findall(r"[a-z]+", iana.lower().split("/", 1)[-1]))  # "Amsterdam, Berlin, …"
        # Most words in common (with the Windows name or the zone's city), then fewest words the display name does
        # not have ("Pacific Standard Time" before "Pacific Standard Time (Mexico)"), then the closest spelling.
        ratio = difflib.SequenceMatcher(None, found["rest"].lower(), windows.lower()).ratio()
        score = (len(words & (name_words | city_words)), -len(name_words - words), ratio)
        if best is None or score > best[:3]:
            best = (*score, iana)
    return best[3] if best else None  # no word in common: still a zone with the right offset


def _standard_offset(zone: ZoneInfo, year: int) -> timedelta | None:
    """The zone's offset without daylight saving time (the smaller of January's and July's)."""
    offsets = [datetime(year, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7)]
    return min(o for o in offsets if o is not None)


def _person(address) -> Person | None:
    if address is None:
        return None
    params = getattr(address, "params", {})
    cutype = str(params.get("CUTYPE", "INDIVIDUAL")).upper()
    if cutype in ("ROOM", "RESOURCE", "GROUP"):
        return None
    value = str(address).strip()
    email = value[7:] if value.lower().startswith("mailto:") else None
    if not email and params.get("EMAIL"):
        email = str(params["EMAIL"]).strip().strip('"')
    email = email.strip() or None if email else None
    if email and (email.lower().endswith(_NOT_PEOPLE) or _NO_REPLY.match(email)):
        return None
    cn = str(params.get("CN", "")).strip().strip('"').strip()
    name = _name(cn, email)
    if not name:
        return None
    return Person(name, email)


def _name(cn: str, email: str | None) -> str:
    if cn and "@" not in cn:
        if cn.count(",") == 1:  # Outlook's "Last, First"
            last, first = (part.strip() for part in cn.split(","))
            if first and last:
                return f"{first} {last}"
        return cn
    source = email or cn
    if not source:
        return ""
    local = source.split("@")[0]
    words = [w for w in re.split(r"[._\-+]+", local) if w and not w.isdigit()]
    return " ".join(w.capitalize() for w in words) or local


def company_from(invite: Invite, free_mail: Iterable[str] = ()) -> str | None:
    """A guess at the company from the organizer's (else the first person's) email domain: ``acme.example`` ->
    "Acme". None for free-mail domains and addresses without one."""
    skip = {"gmail", "googlemail", "outlook", "hotmail", "live", "yahoo", "icloud", "me", "mac", "aol", "proton",
            "protonmail", "gmx", "web", "fastmail", "zoho", "mail", "yandex", *free_mail}  # fmt: skip
    for person in [invite.organizer, *invite.people]:
        if person is None or not person.email or "@" not in person.email:
            continue
        labels = person.email.split("@", 1)[1].lower().split(".")
        labels = [label for label in labels if label not in ("com", "co", "org", "net", "io", "example", "ac")]
        if not labels:
            continue
        name = labels[-1] if len(labels[-1]) > 2 or len(labels) == 1 else labels[-2]
        if name in skip:
            continue
        return name.capitalize()
    return None


__all__ = ["Invite", "Person", "company_from", "read_invite"]
