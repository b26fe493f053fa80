"""Follow-ups and foreign items to feed a provider under test: built from the public domain classes, no file."""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.model import FollowUp, Interview, Interviewer, Kind, Medium
from calsync.provider import Item
from calsync.uids import make_uid

_ZONE = ZoneInfo("America/Chicago")
_START = datetime(2027, 1, 4, 9, 0, tzinfo=_ZONE)

#: Text no provider may mangle: accents, combining marks, CJK, right-to-left, emoji (outside the BMP), a backslash,
#: a semicolon and a comma (iCalendar escapes them), quotes.
UNICODE_TEXT = 'Zürich Société 東京 שלום 🎉👩‍💻 e\u0301 back\\slash; comma, "quotes"'


def interview(n: int, company: str | None = None, requested: tuple[str, ...] = ()) -> Interview:
    """Interview number ``n``: its own id and company, an hour after interview ``n - 1``."""
    start = _START + timedelta(hours=n)
    return Interview(
        id=f"company-{n}",
        company=company or f"Company {n}",
        role="Engineer",
        start=start,
        end=start + timedelta(hours=1),
        timezone=_ZONE,
        interviewers=(Interviewer("Dana Smith", _ZONE, "dana@example.org", primary=True),),
        timeline="within a week",
        follow_up=Medium.EMAIL,
        requested=requested,
    )


def followup(n: int, company: str | None = None, requested: tuple[str, ...] = ()) -> FollowUp:
    """A check-in of interview ``n``, due an hour after that of ``n - 1``: distinct UIDs, distinct times."""
    iv = interview(n, company, requested)
    return FollowUp(
        uid=make_uid(iv.id, Kind.CHECK_IN.value, 0, 0),
        interview=iv,
        kind=Kind.CHECK_IN,
        due=_START + timedelta(days=14, hours=n),
        deadline=date(2027, 1, 15),
        assumed=False,
        recipient=iv.primary,
        medium=iv.follow_up,
        revised=iv.end,
    )


def items(count: int, component: str = "event", first: int = 0) -> list[Item]:
    """``count`` rendered items with distinct UIDs."""
    return list(_rendered(count, component, first))


@functools.lru_cache(maxsize=16)
def _rendered(count: int, component: str, first: int) -> tuple[Item, ...]:
    """Rendering is pure and items are frozen: render each set once per session."""
    from calsync.render import render_item

    return tuple(render_item(followup(n), component=component) for n in range(first, first + count))


def moved(item: Item, hours: int = 2, sequence: int | None = None) -> Item:
    """The same follow-up (same UID) due ``hours`` later, with the next SEQUENCE: what an update writes."""
    from calsync.render import render_item

    assert item.followup is not None
    later = dataclasses.replace(item.followup, due=item.followup.due + timedelta(hours=hours))
    seq = item.sequence + 1 if sequence is None else sequence
    return render_item(later, component=_component_of(item), sequence=seq)


def cancelled(item: Item) -> Item:
    """``item`` with STATUS:CANCELLED and the next SEQUENCE: what the engine writes when a follow-up is cancelled."""
    from calsync.render import with_status_cancelled

    assert item.followup is not None
    return with_status_cancelled(item, item.sequence + 1, item.followup.due)


def unicode_item(n: int = 900, component: str = "event") -> Item:
    """An item whose SUMMARY carries :data:`UNICODE_TEXT` and whose DESCRIPTION is over 10 000 characters."""
    from calsync.render import render_item

    long_lines = tuple(f"{UNICODE_TEXT} — line {k} " + "x" * 180 for k in range(60))
    return render_item(followup(n, company=UNICODE_TEXT, requested=long_lines), component=component)


def foreign_event(n: int) -> bytes:
    """A VCALENDAR another client wrote: no calsync mark, CRLF lines, a folded line, non-ASCII text.

    Use it in your ``put_foreign`` fixture when your target stores iCalendar; store it byte for byte."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Someone else//Their client//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:mine-{n}@example.org\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:20270201T090000Z\r\n"
        f"DTEND:20270201T100000Z\r\nSUMMARY:Dentist {n} – Zahnarzt 歯医者\r\n"
        "DESCRIPTION:A line long enough to be folded by a careful writer of iCalendar\r\n"
        " text\\, kept exactly as it was written.\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _component_of(item: Item) -> str:
    return "todo" if item.component.name == "VTODO" else "event"
