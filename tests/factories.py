"""Small builders of domain objects for tests that need an interview or a follow-up without a file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from calsync.model import FollowUp, Interview, Interviewer, Kind, Medium, Status
from calsync.uids import make_uid

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")


def interview(**overrides) -> Interview:
    """The issue's worked example: Acme Corp, Fri 2026-11-20 14:00–15:00 America/Chicago, US holidays."""
    fields = dict(
        id="acme-staff",
        company="Acme Corp",
        role="Staff Engineer",
        start=datetime(2026, 11, 20, 14, 0, tzinfo=CHICAGO),
        end=datetime(2026, 11, 20, 15, 0, tzinfo=CHICAGO),
        timezone=CHICAGO,
        interviewers=(
            Interviewer("Dana Smith", NEW_YORK, "dana@acme.example", "+1 312 555 0100", primary=True),
            Interviewer("Lee Park", CHICAGO, "lee@acme.example"),
        ),
        timeline="We'll get back to you within a week",
        follow_up=Medium.EMAIL,
        approved=True,
        requested=("portfolio link", "two references"),
        country="US",
    )
    fields.update(overrides)
    return Interview(**fields)


def followup(kind: Kind = Kind.CHECK_IN, **overrides) -> FollowUp:
    """One follow-up of the example interview; ``due`` defaults to Mon 2026-11-30 10:00 New York."""
    iv = overrides.pop("interview", None) or interview()
    fields = dict(
        uid=make_uid(iv.id, kind.value, overrides.get("round", 0), overrides.get("attempt", 0)),
        interview=iv,
        kind=kind,
        due=datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK),
        deadline=date(2026, 11, 27),
        assumed=False,
        recipient=iv.primary if kind is not Kind.CLOSING else None,
        medium=iv.follow_up if kind is not Kind.CLOSING else None,
        status=Status.PLANNED,
        revised=iv.end,
    )
    fields.update(overrides)
    return FollowUp(**fields)


def many_followups(count: int, start: datetime | None = None) -> list[FollowUp]:
    """``count`` distinct check-ins of distinct interviews, one hour apart."""
    start = start or datetime(2027, 1, 4, 9, 0, tzinfo=CHICAGO)
    result = []
    for n in range(count):
        iv = interview(id=f"company-{n}", company=f"Company {n}")
        result.append(followup(Kind.CHECK_IN, interview=iv, due=start + timedelta(hours=n)))
    return result
