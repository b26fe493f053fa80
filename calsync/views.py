"""What to do and where things stand: the agenda, the list of interviews, one interview's story. Pure: the plan
and ``now`` in, dataclasses out; the commands print them as a table or as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calsync.model import EventKind, FollowUp, Interview, Kind
from calsync.refs import ref_of

LABELS = {
    Kind.CLOSING: "closing questions",
    Kind.THANK_YOU: "thank-you",
    Kind.CHECK_IN: "check-in",
    Kind.RETRY: "retry",
    Kind.FEEDBACK_REQUEST: "feedback request",
}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _zone_key(moment: datetime) -> str:
    return getattr(moment.tzinfo, "key", None) or str(moment.tzinfo)


def state_of(followup: FollowUp, now: datetime) -> str:
    """done, cancelled, overdue (its time has passed) or planned."""
    if followup.cancelled:
        return "cancelled"
    if followup.done:
        return "done"
    if followup.due.astimezone(UTC) <= now.astimezone(UTC):
        return "overdue"
    return "planned"


def is_stale(followup: FollowUp, now: datetime) -> bool:
    """A closing reminder is for the interview itself: once it has ended, there is nothing left to do."""
    return followup.kind is Kind.CLOSING and followup.interview.end.astimezone(UTC) <= now.astimezone(UTC)


# --- agenda -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaEntry:
    """One thing to do: when (in the user's zone), what, to whom, how, and the reference to type."""

    section: str  # "overdue" | "today" | "upcoming"
    when: datetime
    followup: FollowUp = field(repr=False)
    their_time: datetime | None = None  # the recipient's local time, when their clock says something else

    @property
    def ref(self) -> str:
        return ref_of(self.followup)

    @property
    def what(self) -> str:
        return LABELS[self.followup.kind]

    def as_dict(self) -> dict[str, Any]:
        f = self.followup
        return {
            "section": self.section,
            "due": _iso(self.when),
            "due_utc": _utc(self.when),
            "what": self.what,
            "kind": f.kind.value,
            "to": f.recipient.name if f.recipient else None,
            "medium": f.medium.value if f.medium else None,
            "ref": self.ref,
            "their_time": _iso(self.their_time) if self.their_time else None,
            "their_timezone": _zone_key(self.their_time) if self.their_time else None,
            "interview": f.interview.id,
            "company": f.interview.company,
            "role": f.interview.role,
        }


@dataclass(frozen=True)
class Agenda:
    now: datetime
    zone: ZoneInfo
    days: int
    entries: list[AgendaEntry]

    def section(self, name: str) -> list[AgendaEntry]:
        return [entry for entry in self.entries if entry.section == name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": _iso(self.now),
            "timezone": self.zone.key,
            "days": self.days,
            "items": [entry.as_dict() for entry in self.entries],
        }


def agenda(followups: Iterable[FollowUp], now: datetime, zone: ZoneInfo, days: int = 7) -> Agenda:
    """What is left to do: overdue (its time has passed, not done, not cancelled), the rest of today, and the next
    ``days`` days after today, all in ``zone``. Done and cancelled follow-ups are not on it."""
    local_now = now.astimezone(zone)
    today = local_now.date()
    last = today + timedelta(days=days)
    entries = []
    for f in followups:
        if f.cancelled or f.done or is_stale(f, now):
            continue
        when = f.due.astimezone(zone)
        if when <= local_now:
            section = "overdue"
        elif when.date() == today:
            section = "today"
        elif when.date() <= last:
            section = "upcoming"
        else:
            continue
        their = None
        if f.recipient is not None:
            theirs = f.due.astimezone(f.recipient.timezone)
            if theirs.utcoffset() != when.utcoffset():
                their = theirs
        entries.append(AgendaEntry(section, when, f, their))
    order = {"overdue": 0, "today": 1, "upcoming": 2}
    entries.sort(key=lambda e: (order[e.section], e.when.astimezone(UTC), e.ref))
    return Agenda(local_now, zone, days, entries)


# --- interviews -------------------------------------------------------------------------------------------------


_FINAL = {
    EventKind.REPLIED: "replied",
    EventKind.REJECTED: "rejected",
    EventKind.OFFER: "offer",
    EventKind.WITHDRAWN: "withdrawn",
    EventKind.NEXT_ROUND: "next round",
}


def stage_of(interview: Interview, followups: list[FollowUp], now: datetime) -> str:
    """Where this application stands, in two or three words."""
    if interview.start.astimezone(UTC) > now.astimezone(UTC):
        return "scheduled"
    news = [e for e in interview.events if e.kind is not EventKind.SENT]
    latest = news[-1] if news else None
    if latest is not None and latest.decision_by is not None:
        return f"extended to {latest.decision_by.isoformat()}"
    if latest is not None and latest.kind in _FINAL:
        return _FINAL[latest.kind]
    deadline = max((f.deadline for f in followups), default=None)
    if deadline is not None and now.astimezone(interview.timezone).date() <= deadline:
        return f"decision by {deadline.isoformat()}"
    return "waiting"


def next_followup(followups: list[FollowUp], now: datetime) -> FollowUp | None:
    """The first follow-up still to do (overdue ones first)."""
    todo = [f for f in followups if not f.cancelled and not f.done and not is_stale(f, now)]
    return min(todo, key=lambda f: f.due.astimezone(UTC), default=None)


@dataclass(frozen=True)
class InterviewRow:
    interview: Interview
    stage: str
    next: FollowUp | None
    next_state: str | None

    def as_dict(self) -> dict[str, Any]:
        iv, f = self.interview, self.next
        return {
            "id": iv.id,
            "company": iv.company,
            "role": iv.role,
            "start": _iso(iv.start),
            "stage": self.stage,
            "next": None
            if f is None
            else {
                "what": LABELS[f.kind],
                "kind": f.kind.value,
                "due": _iso(f.due),
                "due_utc": _utc(f.due),
                "to": f.recipient.name if f.recipient else None,
                "ref": ref_of(f),
                "state": self.next_state,
            },
        }


def interview_rows(interviews: Iterable[Interview], followups: list[FollowUp], now: datetime) -> list[InterviewRow]:
    """One row per interview, in the file's order."""
    rows = []
    for iv in interviews:
        own = [f for f in followups if f.interview.id == iv.id]
        upcoming = next_followup(own, now)
        state = state_of(upcoming, now) if upcoming else None
        rows.append(InterviewRow(iv, stage_of(iv, own, now), upcoming, state))
    return rows


# --- one interview's story -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryLine:
    """One step of an interview's story: the interview, news, the deadline, each follow-up with its state."""

    when: datetime | date
    what: str
    state: str | None = None  # done | overdue | due | planned | cancelled (follow-ups only)
    ref: str | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "when": self.when.isoformat(),
            "what": self.what,
            "state": self.state,
            "ref": self.ref,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Story:
    interview: Interview
    stage: str
    lines: list[StoryLine]

    def as_dict(self) -> dict[str, Any]:
        iv = self.interview
        return {
            "id": iv.id,
            "company": iv.company,
            "role": iv.role,
            "stage": self.stage,
            "story": [line.as_dict() for line in self.lines],
        }


def story(interview: Interview, followups: list[FollowUp], now: datetime, zone: ZoneInfo) -> Story:
    """The interview, what happened since, its deadline and every follow-up in the order they come, each marked
    done, due (today), overdue, planned or cancelled. Times in the user's ``zone``."""
    own = sorted((f for f in followups if f.interview.id == interview.id), key=lambda f: f.due.astimezone(UTC))
    today = now.astimezone(zone).date()
    keyed: list[tuple[datetime, int, StoryLine]] = []

    def day_start(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone)

    people = ", ".join(p.name for p in interview.interviewers)
    keyed.append(
        (
            interview.start.astimezone(UTC),
            0,
            StoryLine(interview.start.astimezone(zone), "interview", detail=people),
        )
    )
    for event in interview.events:
        if event.kind is EventKind.SENT:
            continue  # shown on the follow-up it concerns
        detail = f"decision by {event.decision_by.isoformat()}" if event.decision_by else ""
        if event.note:
            detail = f"{detail}; {event.note}" if detail else event.note
        keyed.append((day_start(event.date).astimezone(UTC), 1, StoryLine(event.date, event.kind.value, detail=detail)))
    for deadline, assumed in sorted({(f.deadline, f.assumed) for f in own if f.kind is Kind.CHECK_IN}):
        detail = "assumed" if assumed else ""
        keyed.append((day_start(deadline).astimezone(UTC), 2, StoryLine(deadline, "deadline", detail=detail)))
    for f in own:
        if is_stale(f, now) and not f.done:
            continue
        state = state_of(f, now)
        if state == "overdue" and f.due.astimezone(zone).date() == today:
            state = "due"
        detail = " ".join(
            part
            for part in (
                f"to {f.recipient.name}" if f.recipient else "",
                f"by {f.medium.value}" if f.medium else "",
                f"(sent {f.sent_on.isoformat()})" if f.sent_on else "",
            )
            if part
        )
        keyed.append(
            (f.due.astimezone(UTC), 3, StoryLine(f.due.astimezone(zone), LABELS[f.kind], state, ref_of(f), detail))
        )
    keyed.sort(key=lambda item: (item[0], item[1]))
    return Story(interview, stage_of(interview, own, now), [line for _key, _order, line in keyed])
