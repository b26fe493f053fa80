"""Dates, times and durations typed on the command line (``--at``, ``--on``, ``--decision-by``, ``--duration``).

Pure: every function takes the day phrases are read from. A date is ISO (``2026-12-02``) or any phrase the
timeline grammar understands, read forward from that day ("next Friday", "in two weeks", "end of month",
"Dec 4"). A day that is usually in the past (``--on``: when something happened) also takes ``yesterday``,
``N days ago`` and a bare or ``last`` weekday (the latest such day, today included).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from calsync.businessdays import BusinessCalendar, calendar_for
from calsync.errors import UserError

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_CLOCK = re.compile(
    r"(?:^|\s+|\s*\bat\s+|T)(?P<h>\d{1,2})(?::(?P<m>\d{2})(?::(?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?$",
    re.I | re.ASCII,
)


def parse_day(
    text: str,
    anchor: date,
    calendar: BusinessCalendar | None = None,
    *,
    past: bool = False,
    what: str = "date",
) -> date:
    """The day ``text`` names, read from ``anchor``. ``past``: also the backward phrases (see the module doc)."""
    said = " ".join(text.strip().lower().split())
    if not said:
        raise UserError(f"{what}: empty")
    try:
        return date.fromisoformat(said)
    except ValueError:
        pass
    if past:
        found = _past_day(said, anchor)
        if found is not None:
            return found
    from calsync.timeline import parse_timeline

    calendar = calendar or calendar_for(None, None)
    noon = datetime.combine(anchor, time(12), tzinfo=UTC)
    found = parse_timeline(said, anchor, noon, calendar)
    if found is None:
        examples = "2026-12-04, yesterday, last friday" if past else "2026-12-04, next friday, in two weeks"
        raise UserError(f"{what}: cannot read {text!r} as a date (try {examples})")
    return found


def _past_day(said: str, anchor: date) -> date | None:
    if said == "yesterday":
        return anchor - timedelta(days=1)
    if said == "today":
        return anchor
    ago = re.fullmatch(r"([0-9]+|a|one|two|three|four|five|six|seven) (day|week)s? ago", said)
    if ago:
        words = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
        count = int(ago[1]) if ago[1].isdigit() else words[ago[1]]
        return anchor - timedelta(days=count * (7 if ago[2] == "week" else 1))
    weekday = re.fullmatch(r"(?:last |on |this past )?(\w+)", said)
    if weekday:
        for number, name in enumerate(_WEEKDAYS):
            if weekday[1] in (name, name[:3], name[:4]):
                back = (anchor.weekday() - number) % 7
                if said.startswith("last ") and back == 0:
                    back = 7
                return anchor - timedelta(days=back)
    return None


def parse_moment(text: str, today: date, calendar: BusinessCalendar | None = None, what: str = "--at") -> datetime:
    """A wall time: ``2026-12-01 14:00``, ``2026-12-01T14:00:00``, ``tomorrow 2pm``, ``next tuesday at 9:30``."""
    said = text.strip()
    try:
        parsed = datetime.fromisoformat(said)
    except ValueError:
        parsed = None
    if parsed is not None:
        if len(said) <= 10:  # a date alone
            raise UserError(f"{what}: {text!r} has no time of day; write it as '{said} 14:00'")
        return parsed.replace(tzinfo=None, microsecond=0)
    clock = _CLOCK.search(said)
    if clock is None or (clock["m"] is None and clock["ampm"] is None):
        raise UserError(f"{what}: {text!r} has no time of day; write e.g. '2026-12-01 14:00' or 'tomorrow 2pm'")
    hour, minute, second = int(clock["h"]), int(clock["m"] or 0), int(clock["s"] or 0)
    if clock["ampm"]:
        if not 1 <= hour <= 12:
            raise UserError(f"{what}: {text!r}: {hour} is not an hour on a 12-hour clock")
        hour = hour % 12 + (12 if clock["ampm"].lower().startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise UserError(f"{what}: {text!r} is not a time of day")
    rest = said[: clock.start()].strip()
    day = parse_day(rest, today, calendar, what=what) if rest else today
    return datetime.combine(day, time(hour, minute, second))


_DURATION = re.compile(
    r"(?:(?P<h>\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?)?\s*(?:(?P<m>\d+)\s*m(?:in(?:utes?|s)?)?)?", re.I | re.ASCII
)


def parse_duration(text: str, what: str = "--duration") -> timedelta:
    """``45m``, ``1h``, ``1h30m``, ``1.5h``, ``1:30``, ``90`` (minutes)."""
    said = text.strip().lower().replace(" ", "")
    minutes: float | None = None
    if re.fullmatch(r"[0-9]+", said):
        minutes = int(said)
    elif re.fullmatch(r"[0-9]+:[0-9]{2}", said):
        hours, mins = said.split(":")
        minutes = int(hours) * 60 + int(mins)
    else:
        match = _DURATION.fullmatch(said)
        if match and (match["h"] or match["m"]):
            minutes = float(match["h"] or 0) * 60 + int(match["m"] or 0)
    if minutes is None or minutes <= 0 or minutes > 24 * 60:
        raise UserError(f"{what}: cannot read {text!r} as a length of time (try 45m, 1h, 1h30m)")
    return timedelta(minutes=round(minutes))


def short_day(day: date | datetime) -> str:
    """``Mon 30 Nov``: short, for messages about the plan (which is weeks long, so the year is never in doubt)."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"
