"""VTIMEZONEs built from ``zoneinfo``: exact for the years used, one RDATE line per further change.

Not ``icalendar.Timezone.from_tzid``: that search steps over transitions less than 64 days apart (Morocco's
Ramadan change), and puts every RDATE on one line, which vobject reads as a single date. Built once per zone and
span of years (:func:`vtimezone` is cached), as text; an object is made only for a caller that asks for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from calsync.ical_text import escape_text
from calsync.zones import zone_named

if TYPE_CHECKING:
    from icalendar import Component, Timezone

#: Zones that are UTC under another name: rendered with "Z", no VTIMEZONE.
UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})

#: IANA zone -> (first year, last year) it is used in.
ZoneYears = dict[str, tuple[int, int]]


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
        lines.append(f"TZNAME:{escape_text(name)}")
        lines.append(f"TZOFFSETFROM:{_format_offset(before)}")
        lines.append(f"TZOFFSETTO:{_format_offset(after)}")
        lines.append(f"END:{kind}")
    lines.append("END:VTIMEZONE")
    return ("\r\n".join(lines) + "\r\n").encode()


def timezone_component(key: str, first_year: int, last_year: int) -> Timezone:
    """calsync's VTIMEZONE of IANA zone ``key`` for those years (see :func:`vtimezone`), as a fresh object (callers
    may change what they get)."""
    import icalendar

    return icalendar.Timezone.from_ical(vtimezone(key, first_year, last_year))


def add_zones(component: Component, into: ZoneYears) -> None:
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
                if key in UTC_KEYS or zone_named(key) is None:
                    continue
                widen(into, key, moment.year, moment.year)


def zones_used(components: Iterable[Component]) -> ZoneYears:
    """The IANA zones ``components`` use (by TZID), each with the first and last year used in it."""
    found: ZoneYears = {}
    for component in components:
        add_zones(component, found)
    return found


def widen(into: ZoneYears, key: str, low: int, high: int) -> None:
    if key in into:
        old_low, old_high = into[key]
        into[key] = (min(low, old_low), max(high, old_high))
    else:
        into[key] = (low, high)


def zone_blocks(zones: ZoneYears) -> bytes:
    """The VTIMEZONEs of ``zones``, serialized, in the order of their keys."""
    return b"".join(vtimezone(key, low, high) for key, (low, high) in sorted(zones.items()))
