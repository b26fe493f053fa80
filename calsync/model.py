"""The domain: what the interview file describes and what the planner produces.

Everything here is an immutable dataclass; times are timezone-aware.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


class _Enum(enum.StrEnum):
    def __repr__(self) -> str:  # short and cheap: the render cache keys repr every follow-up's fields
        return f"{type(self).__name__}.{self.name}"


class Medium(_Enum):
    EMAIL = "email"
    PHONE = "phone"


class Kind(_Enum):
    """The kinds of follow-up, in the order they happen."""

    CLOSING = "closing"
    THANK_YOU = "thank_you"
    CHECK_IN = "check_in"
    RETRY = "retry"
    FEEDBACK_REQUEST = "feedback_request"


class Status(_Enum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class EventKind(_Enum):
    """What can happen after an interview (the file's ``[[interviews.events]]``)."""

    REPLIED = "replied"
    EXTENDED = "extended"
    REJECTED = "rejected"
    OFFER = "offer"
    WITHDRAWN = "withdrawn"
    NEXT_ROUND = "next-round"
    #: a follow-up was actually sent (``followup`` names which, ``to`` whom): it is done, and what comes after it
    #: is planned from the day it was sent.
    SENT = "sent"


@dataclass(frozen=True)
class Source:
    """Where something was written: for error messages."""

    path: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


@dataclass(frozen=True)
class Interviewer:
    name: str
    timezone: ZoneInfo
    email: str | None = None
    phone: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class HistoryEvent:
    """Something that happened since the interview, on ``date``."""

    date: date
    kind: EventKind
    decision_by: date | None = None
    note: str | None = None
    followup: Kind | None = None  # for SENT: which follow-up
    to: str | None = None  # for SENT: the interviewer's name (a thank-you goes to each), else the primary contact


@dataclass(frozen=True)
class Interview:
    id: str
    company: str
    role: str
    start: datetime
    end: datetime
    timezone: ZoneInfo
    interviewers: tuple[Interviewer, ...]
    timeline: str | None = None
    decision_by: date | None = None
    follow_up: Medium = Medium.EMAIL
    approved: bool | None = None
    requested: tuple[str, ...] = ()
    country: str | None = None
    subdivision: str | None = None
    events: tuple[HistoryEvent, ...] = ()
    source: Source | None = field(default=None, compare=False)
    notes: str | None = None

    @property
    def primary(self) -> Interviewer | None:
        """The contact for check-ins: the one marked primary, else the first listed."""
        for person in self.interviewers:
            if person.primary:
                return person
        return self.interviewers[0] if self.interviewers else None

    @property
    def title(self) -> str:
        return f"{self.company}, {self.role}" if self.role else self.company


@dataclass(frozen=True)
class Policy:
    """Every number the follow-up rules use; the config's ``[policy]`` overrides any of them."""

    send_time: time = time(10, 0)
    closing_prep_minutes: int = 30
    thank_you_minutes_after_end: int = 60
    default_deadline_days: int = 7
    check_in_days_after_deadline: int = 2
    retries: int = 1
    retry_business_days: int = 3
    feedback_business_days: int = 1
    duration_minutes: int = 15
    alarm_minutes_before: int = 0
    #: The alarm's lead time per kind of follow-up (``[policy.alarms]``), in minutes; a kind not listed takes
    #: ``alarm_minutes_before``. A target's ``alarm_minutes`` overrides both.
    alarms: tuple[tuple[str, int], ...] = (("check_in", 15), ("retry", 15), ("feedback_request", 15))

    def alarm_minutes(self) -> dict[str, int]:
        """Every kind's alarm lead time."""
        chosen = dict(self.alarms)
        return {kind.value: chosen.get(kind.value, self.alarm_minutes_before) for kind in Kind}


@dataclass(frozen=True)
class FollowUp:
    """One thing to do, at ``due``, for one interview.

    ``uid`` is stable across runs and machines. ``revision`` counts the changes history events made to this
    follow-up (moved, cancelled): it becomes the iCalendar SEQUENCE. ``revised`` is the instant of the last such
    change (the interview's end for revision 0), so rendering never needs ``now()``.
    """

    uid: str
    interview: Interview
    kind: Kind
    due: datetime
    deadline: date
    assumed: bool
    recipient: Interviewer | None = None
    medium: Medium | None = None
    status: Status = Status.PLANNED
    round: int = 0
    attempt: int = 0
    revision: int = 0
    revised: datetime | None = None
    duration_minutes: int = 15
    #: the day it was actually sent (a ``sent`` event): the follow-up is done.
    sent_on: date | None = None
    #: the notes of the history events that shaped it ("Recruiter: the manager is travelling").
    notes: tuple[str, ...] = ()

    @property
    def cancelled(self) -> bool:
        return self.status is Status.CANCELLED

    @property
    def interview_id(self) -> str:
        """Its interview's id (which a follow-up the plan memo recalled knows without planning the interview)."""
        return self.interview.id

    @property
    def done(self) -> bool:
        return self.sent_on is not None

    @property
    def end(self) -> datetime:
        """``due`` plus the duration as elapsed time (wall-clock arithmetic would be an hour off across DST)."""
        elapsed = self.due.astimezone(UTC) + timedelta(minutes=self.duration_minutes)
        return elapsed.astimezone(self.due.tzinfo)


def as_planned(followup: FollowUp) -> FollowUp:
    """The follow-up itself: one the plan memo recalled (:class:`calsync.planmemo.Recalled`) is planned now."""
    plan = getattr(type(followup), "planned", None)
    return plan(followup) if plan is not None else followup


def is_overdue(followup: FollowUp, now: datetime | None) -> bool:
    """Whether ``followup`` is due before ``now`` (never, without a clock; never when cancelled or sent)."""
    if now is None or followup.cancelled or followup.done:
        return False  # a follow-up already sent is done, not late
    return followup.due.astimezone(UTC) < now.astimezone(UTC)
