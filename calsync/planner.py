"""The follow-up planner: interviews in, follow-ups out. Pure: no I/O, no clock.

The rules (the default :class:`~calsync.model.Policy`):

- ``closing``: a preparation item ``closing_prep_minutes`` before the interview starts, with the closing checklist
  (nothing rings during the interview: the screen may be shared).
- ``thank_you``: one per interviewer, ``thank_you_minutes_after_end`` after the end (interview's zone).
- deadline D: ``decision_by``, else the date parsed from ``timeline``, else the interview date plus
  ``default_deadline_days``, marked ``assumed``.
- ``check_in``: to the primary contact, on the first business day on or after D + ``check_in_days_after_deadline``,
  at ``send_time`` in the contact's zone.
- ``retry`` (``retries`` of them): ``retry_business_days`` business days after the previous try, and never sooner
  after it than the gap before it.
- ``feedback_request``: after a rejection on R, ``feedback_business_days`` business days after R.
- History events replan: see :func:`_apply_event`.
- ``sent`` events mark a follow-up done (see :func:`_apply_sent`): it keeps its place, and the retries after a
  sent check-in or retry are planned from the day it was actually sent (``retry_business_days`` after it), not
  from the day it was planned. A thank-you is done only for the interviewer it went to.
- Each follow-up carries the notes of the history events up to its day (or to the day it was sent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calsync.businessdays import BusinessCalendar, calendar_for
from calsync.model import (
    EventKind,
    FollowUp,
    HistoryEvent,
    Interview,
    Interviewer,
    Kind,
    Medium,
    Policy,
    Status,
)
from calsync.uids import make_uid

TimelineParser = Callable[[str, Interview, BusinessCalendar], date | None]
PlanAdjuster = Callable[[list[FollowUp], Interview, Policy], list[FollowUp]]

_CANCELLING = {EventKind.REPLIED, EventKind.REJECTED, EventKind.OFFER, EventKind.WITHDRAWN, EventKind.NEXT_ROUND}


@dataclass(frozen=True)
class Plan:
    """Every follow-up of every interview, sorted by due time, and the warnings planning raised."""

    followups: list[FollowUp]
    warnings: list[str] = field(default_factory=list)


def plan(
    interviews: Iterable[Interview],
    policy: Policy | None = None,
    parse_timeline: TimelineParser | None = None,
    adjust: PlanAdjuster | None = None,
) -> Plan:
    """Plan the follow-ups of ``interviews``.

    ``parse_timeline`` turns a timeline phrase into D (default: the plugin hook, built-in grammar last);
    ``adjust`` lets plugins change each interview's plan (default: none).
    """
    policy = policy or Policy()
    parse_timeline = parse_timeline or hook_parser()
    followups: list[FollowUp] = []
    warnings: list[str] = []
    for interview in interviews:
        items, warning = plan_interview(interview, policy, parse_timeline)
        if adjust is not None:
            items = adjust(items, interview, policy)
        followups.extend(items)
        if warning:
            warnings.append(warning)
    followups.sort(key=lambda f: (f.due.astimezone(UTC), f.interview.id, f.kind, f.uid))
    return Plan(followups, warnings)


def deadline_of(interview: Interview, policy: Policy, parse_timeline: TimelineParser) -> tuple[date, bool, str | None]:
    """D, whether it is assumed, and the warning to show when it is."""
    if interview.decision_by is not None:
        return interview.decision_by, False, None
    calendar = calendar_for(interview.country, interview.subdivision)
    if interview.timeline:
        parsed = parse_timeline(interview.timeline, interview, calendar)
        if parsed is not None:
            return parsed, False, None
    assumed = interview.start.astimezone(interview.timezone).date() + timedelta(days=policy.default_deadline_days)
    said = f"timeline {interview.timeline!r} not understood" if interview.timeline else "no timeline given"
    if interview.timeline:
        from calsync.timeline import not_understood

        unknown = not_understood(interview.timeline, interview, calendar)
        if unknown:
            said += " (the words " + ", ".join(repr(word) for word in unknown) + ")"
    warning = (
        f"interview {interview.id!r}: {said}; assuming a decision by {assumed.isoformat()} "
        f"({policy.default_deadline_days} days after the interview). Set decision_by to be exact."
    )
    return assumed, True, warning


def plan_interview(
    interview: Interview, policy: Policy, parse_timeline: TimelineParser
) -> tuple[list[FollowUp], str | None]:
    """One interview's follow-ups, cancelled ones included, and a warning if its deadline was assumed."""
    calendar = calendar_for(interview.country, interview.subdivision)
    deadline, assumed, warning = deadline_of(interview, policy, parse_timeline)
    builder = _Builder(interview, policy, calendar)
    items = [builder.closing(deadline, assumed), *builder.thank_yous(deadline, assumed)]
    rounds = [builder.round(0, deadline, assumed, not_before=None)]
    feedback: FollowUp | None = None
    sent_feedback: list[HistoryEvent] = []
    for event in interview.events:
        if event.kind is EventKind.SENT:
            if event.followup in (Kind.CHECK_IN, Kind.RETRY):
                rounds = _apply_sent(builder, rounds, event)
            elif event.followup is Kind.FEEDBACK_REQUEST:
                sent_feedback.append(event)
            else:
                items = _mark_one(items, event, builder)
            continue
        rounds = _apply_event(builder, rounds, event)
        if event.kind is EventKind.REJECTED and feedback is None:
            feedback = builder.feedback_request(event, deadline_of_rounds(rounds, deadline))
    for round_items in rounds:
        items.extend(round_items)
    if feedback is not None:
        for event in sent_feedback[:1]:
            feedback = _sent(feedback, event, builder.event_instant(event))
        items.append(feedback)
    return [_with_notes(item, interview.events) for item in items], warning


def _sent(item: FollowUp, event: HistoryEvent, stamp: datetime) -> FollowUp:
    """``item`` done on the event's day (the first report wins); a new revision, since it now looks different."""
    if item.done:
        return item
    return dataclasses.replace(
        item, sent_on=event.date, revision=item.revision + 1, revised=max(stamp, item.revised or stamp)
    )


def _mark_one(items: list[FollowUp], event: HistoryEvent, builder: _Builder) -> list[FollowUp]:
    """A sent closing or thank-you: the one of that kind (a thank-you: to ``to``, else the primary contact)."""
    stamp = builder.event_instant(event)
    contact = builder.contact
    to = event.to if event.to is not None else (contact.name if contact else None)
    for index, item in enumerate(items):
        if item.kind is not event.followup or item.done:
            continue
        if item.kind is Kind.THANK_YOU and (item.recipient is None or item.recipient.name != to):
            continue
        items[index] = _sent(item, event, stamp)
        break
    return items


def _apply_sent(builder: _Builder, rounds: list[list[FollowUp]], event: HistoryEvent) -> list[list[FollowUp]]:
    """A check-in or a retry was sent on the event's day: it is done, and the tries after it in its round move to
    ``retry_business_days`` after that day (same UIDs, next revision).

    The round is the latest one still waiting for that kind of try; a retry is the first one not yet sent.
    """
    stamp = builder.event_instant(event)

    def waiting(items: list[FollowUp]) -> int | None:
        for index, item in enumerate(items):
            if (index == 0) == (event.followup is Kind.CHECK_IN) and not item.done:
                return index
        return None

    for number in range(len(rounds) - 1, -1, -1):
        index = waiting(rounds[number])
        if index is None:
            continue
        items = list(rounds[number])
        items[index] = _sent(items[index], event, stamp)
        before = items[index - 1] if index else None
        gap = (event.date - _day_of(before)).days if before is not None else 0
        later = builder.following_days(event.date, len(items) - index - 1, gap)
        for position, day in enumerate(later, start=index + 1):
            old = items[position]
            if old.done or old.cancelled:
                continue
            items[position] = _revise(old, dataclasses.replace(old, due=builder.send_at(day, old.recipient)), stamp)
        rounds[number] = items
        break
    return rounds


def _day_of(item: FollowUp) -> date:
    """The day a try happened: the day it was sent, else its planned day."""
    return item.sent_on if item.sent_on is not None else local_date(item.due)


def _with_notes(item: FollowUp, events: tuple[HistoryEvent, ...]) -> FollowUp:
    if not events:
        return item
    last = max(local_date(item.due), item.sent_on or local_date(item.due))
    notes = tuple(event.note for event in events if event.note and event.date <= last)
    return dataclasses.replace(item, notes=notes) if notes else item


def deadline_of_rounds(rounds: list[list[FollowUp]], fallback: date) -> date:
    return rounds[-1][0].deadline if rounds and rounds[-1] else fallback


def _apply_event(builder: _Builder, rounds: list[list[FollowUp]], event: HistoryEvent) -> list[list[FollowUp]]:
    """Replan after ``event``.

    A new deadline (``extended``, or ``replied`` with ``decision_by``): if the current check-in is still ahead
    (on a later day than the event), it and its retries move (same UIDs, next revision); otherwise it stays, its
    retries still ahead are cancelled, and a new round with new UIDs is planned from the new deadline.
    Any other answer cancels every check-in and retry still ahead.
    """
    stamp = builder.event_instant(event)
    if event.decision_by is not None:
        current = rounds[-1] if rounds else []
        check_in = current[0] if current else None
        ahead = check_in is not None and not check_in.cancelled and not check_in.done
        if ahead and local_date(check_in.due) > event.date:
            moved = builder.round(check_in.round, event.decision_by, False, not_before=event.date)
            rounds[-1] = [_revise(old, new, stamp) for old, new in zip(current, moved, strict=True)]
            return rounds
        rounds = [_cancel_after(items, event.date, stamp) for items in rounds]
        next_round = max((items[0].round for items in rounds if items), default=-1) + 1
        rounds.append(builder.round(next_round, event.decision_by, False, not_before=event.date))
        return rounds
    if event.kind in _CANCELLING:
        return [_cancel_after(items, event.date, stamp) for items in rounds]
    return rounds


def _revise(old: FollowUp, new: FollowUp, stamp: datetime) -> FollowUp:
    """``old`` moved to where ``new`` is: same UID, next revision (a revision only if something changed)."""
    if old.cancelled or old.done or (old.due == new.due and old.deadline == new.deadline):
        return old
    return dataclasses.replace(
        old,
        due=new.due,
        deadline=new.deadline,
        assumed=new.assumed,
        revision=old.revision + 1,
        revised=max(stamp, old.revised or stamp),
    )


def _cancel_after(items: list[FollowUp], day: date, stamp: datetime) -> list[FollowUp]:
    return [
        dataclasses.replace(
            item, status=Status.CANCELLED, revision=item.revision + 1, revised=max(stamp, item.revised or stamp)
        )
        if not item.cancelled and not item.done and local_date(item.due) > day
        else item
        for item in items
    ]


def local_date(moment: datetime) -> date:
    """The calendar date of ``moment`` in its own zone."""
    return moment.date()


def shifted(moment: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    """``moment`` plus ``minutes`` of elapsed time (not wall-clock time: a DST change in between counts), as a
    wall time in ``zone``."""
    return (moment.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone)


def wall_time(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``clock`` on ``day`` in ``zone``; a clock time that does not exist that day (a DST gap) moves forward."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


class _Builder:
    """Makes one interview's follow-ups; holds what every rule needs."""

    def __init__(self, interview: Interview, policy: Policy, calendar: BusinessCalendar) -> None:
        self.interview = interview
        self.policy = policy
        self.calendar = calendar
        self.contact = interview.primary
        self.created = interview.end.astimezone(UTC)

    def _make(self, kind: Kind, *key: object, **fields) -> FollowUp:
        fields.setdefault("revised", self.created)
        fields.setdefault("duration_minutes", self.policy.duration_minutes)
        return FollowUp(
            uid=make_uid(self.interview.id, kind.value, *key), interview=self.interview, kind=kind, **fields
        )

    def closing(self, deadline: date, assumed: bool) -> FollowUp:
        prep = max(self.policy.closing_prep_minutes, 1)  # over before the interview starts, even at 0
        return self._make(
            Kind.CLOSING,
            due=shifted(self.interview.start, -prep, self.interview.timezone),
            deadline=deadline,
            assumed=assumed,
            duration_minutes=min(self.policy.duration_minutes, prep),
        )

    def thank_yous(self, deadline: date, assumed: bool) -> list[FollowUp]:
        due = shifted(self.interview.end, self.policy.thank_you_minutes_after_end, self.interview.timezone)
        seen: dict[str, int] = {}
        result = []
        for person in self.interview.interviewers:
            key = _person_key(person)
            seen[key] = seen.get(key, 0) + 1
            medium = Medium.EMAIL if person.email or not person.phone else Medium.PHONE
            result.append(
                self._make(
                    Kind.THANK_YOU,
                    key,
                    seen[key],
                    due=due,
                    deadline=deadline,
                    assumed=assumed,
                    recipient=person,
                    medium=medium,
                )
            )
        return result

    def send_at(self, day: date, person: Interviewer | None) -> datetime:
        zone = person.timezone if person is not None else self.interview.timezone
        return wall_time(day, self.policy.send_time, zone)

    def round(self, number: int, deadline: date, assumed: bool, not_before: date | None) -> list[FollowUp]:
        """A check-in and its retries, planned from ``deadline``; never on or before ``not_before``."""
        earliest = deadline + timedelta(days=self.policy.check_in_days_after_deadline)
        if not_before is not None:
            earliest = max(earliest, not_before + timedelta(days=1))
        first = self.calendar.on_or_after(earliest)
        days = [first, *self.following_days(first, self.policy.retries, 0)]
        return [
            self._make(
                Kind.CHECK_IN if attempt == 0 else Kind.RETRY,
                number,
                attempt,
                due=self.send_at(day, self.contact),
                deadline=deadline,
                assumed=assumed,
                recipient=self.contact,
                medium=self.interview.follow_up,
                round=number,
                attempt=attempt,
            )
            for attempt, day in enumerate(days)
        ]

    def following_days(self, day: date, count: int, gap: int) -> list[date]:
        """The days of ``count`` tries after a try on ``day``: each ``retry_business_days`` after the one before,
        and never sooner after it than the gap before it (``gap`` days before ``day``)."""
        days = [day]
        for _ in range(count):
            following = self.calendar.add(days[-1], max(self.policy.retry_business_days, 1))
            while (following - days[-1]).days < gap:
                following = self.calendar.after(following)
            gap = (following - days[-1]).days
            days.append(following)
        return days[1:]

    def feedback_request(self, event: HistoryEvent, deadline: date) -> FollowUp:
        day = self.calendar.add(event.date, max(self.policy.feedback_business_days, 1))
        return self._make(
            Kind.FEEDBACK_REQUEST,
            due=self.send_at(day, self.contact),
            deadline=deadline,
            assumed=False,
            recipient=self.contact,
            medium=self.interview.follow_up,
            revised=self.event_instant(event),
        )

    def event_instant(self, event: HistoryEvent) -> datetime:
        """When news arrived, as an instant: the start of the event's day in the interview's zone (never before
        the interview ended, so revisions only move forward)."""
        start_of_day = datetime.combine(event.date, time(0), tzinfo=self.interview.timezone).astimezone(UTC)
        return max(start_of_day, self.created)


def _person_key(person: Interviewer) -> str:
    return (person.email or person.name).strip().lower()


def hook_parser() -> TimelineParser:
    """The ``calsync_parse_timeline`` hook as one function (the built-in parser directly when it is alone)."""
    from calsync.plugins import load_plugins, sole_implementation

    hook = load_plugins().hook
    # No plugin reads timelines (the usual case): the built-in parser alone, without pluggy's work per interview.
    parse_alone = sole_implementation("calsync_parse_timeline")
    if parse_alone is not None:
        return lambda text, interview, calendar: parse_alone(text=text, interview=interview, calendar=calendar)

    def parse(text: str, interview: Interview, calendar: BusinessCalendar) -> date | None:
        return hook.calsync_parse_timeline(text=text, interview=interview, calendar=calendar)

    return parse


def hook_adjuster() -> PlanAdjuster:
    """Run every ``calsync_adjust_plan`` implementation in turn, each seeing the previous one's list."""
    from calsync.plugins import adjust_plan

    def adjust(followups: list[FollowUp], interview: Interview, policy: Policy) -> list[FollowUp]:
        calendar = calendar_for(interview.country, interview.subdivision)
        return adjust_plan(followups, interview, policy, calendar)

    return adjust
