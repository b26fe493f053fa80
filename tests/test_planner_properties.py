"""Properties of the planner over generated interviews: zones, countries, deadlines and event histories at random."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from factories import interview
from hypothesis import given
from hypothesis import strategies as st

from calsync.businessdays import calendar_for
from calsync.model import EventKind, HistoryEvent, Interview, Interviewer, Kind, Medium, Policy, Status
from calsync.planner import plan

ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC",
        "America/Chicago",
        "America/New_York",
        "America/Los_Angeles",
        "America/St_Johns",
        "America/Sao_Paulo",
        "Europe/London",
        "Europe/Berlin",
        "Europe/Paris",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "Pacific/Auckland",
        "Pacific/Chatham",
    )
]
COUNTRIES = [None, "US", "GB", "DE", "FR", "JP", "AU", "CA", "BR"]
CANCELLING = [EventKind.REPLIED, EventKind.REJECTED, EventKind.OFFER, EventKind.WITHDRAWN, EventKind.NEXT_ROUND]

zones = st.sampled_from(ZONES)


@st.composite
def people(draw) -> tuple[Interviewer, ...]:
    count = draw(st.integers(1, 4))
    primary = draw(st.none() | st.integers(0, count - 1))
    return tuple(
        Interviewer(f"Person {n}", draw(zones), f"p{n}@x.example", primary=(n == primary)) for n in range(count)
    )


@st.composite
def histories(draw, interview_day: date) -> tuple[HistoryEvent, ...]:
    events = []
    day = interview_day
    for _ in range(draw(st.integers(0, 4))):
        day += timedelta(days=draw(st.integers(0, 20)))
        kind = draw(st.sampled_from(list(EventKind)))
        decision_by = None
        if kind is EventKind.EXTENDED or (kind is EventKind.REPLIED and draw(st.booleans())):
            decision_by = day + timedelta(days=draw(st.integers(-3, 40)))
        events.append(HistoryEvent(day, kind, decision_by))
    return tuple(events)


@st.composite
def interviews(draw, ident: str = "iv") -> Interview:
    zone = draw(zones)
    wall = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)))
    start = wall.replace(tzinfo=zone)
    end = (start.astimezone(UTC) + timedelta(minutes=draw(st.integers(5, 240)))).astimezone(zone)
    offset = draw(st.none() | st.integers(-3, 60))
    day = start.date()
    return interview(
        id=ident,
        start=start,
        end=end,
        timezone=zone,
        interviewers=draw(people()),
        timeline=draw(st.none() | st.sampled_from(["within a week", "soon", "in 10 days"])),
        decision_by=day + timedelta(days=offset) if offset is not None else None,
        follow_up=draw(st.sampled_from(list(Medium))),
        country=draw(st.sampled_from(COUNTRIES)),
        events=draw(histories(day)),
    )


def parse_timeline(text, iv, calendar):
    """A trivial parser: "within a week" and "in 10 days" are understood, "soon" is not."""
    days = {"within a week": 7, "in 10 days": 10}.get(text)
    return iv.start.astimezone(iv.timezone).date() + timedelta(days=days) if days else None


policies = st.builds(
    Policy,
    send_time=st.sampled_from([time(10, 0), time(9, 30), time(14, 15)]),
    retries=st.integers(0, 3),
    retry_business_days=st.integers(1, 5),
    check_in_days_after_deadline=st.integers(0, 4),
    closing_prep_minutes=st.integers(0, 90),
)


def run(iv: Interview, policy: Policy):
    return plan([iv], policy, parse_timeline=parse_timeline)


def local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(UTC).astimezone(zone)


def chasers(result):
    return [f for f in result.followups if f.kind in (Kind.CHECK_IN, Kind.RETRY)]


@given(interviews(), policies)
def test_deterministic(iv, policy):
    first, second = run(iv, policy), run(iv, policy)
    assert first == second
    assert [f.uid for f in first.followups] == [f.uid for f in second.followups]


@given(interviews(), policies)
def test_check_ins_never_before_d_plus_the_policy_days(iv, policy):
    for f in run(iv, policy).followups:
        if f.kind is Kind.CHECK_IN:
            contact_day = local(f.due, f.recipient.timezone).date()
            assert contact_day >= f.deadline + timedelta(days=policy.check_in_days_after_deadline)


@given(interviews(), policies)
def test_messages_go_on_business_days_at_send_time_in_the_contacts_zone(iv, policy):
    calendar = calendar_for(iv.country, iv.subdivision)
    for f in run(iv, policy).followups:
        if f.kind in (Kind.CHECK_IN, Kind.RETRY, Kind.FEEDBACK_REQUEST):
            assert f.recipient == iv.primary
            moment = local(f.due, f.recipient.timezone)
            assert moment.time() == policy.send_time, f
            assert calendar.is_business_day(moment.date()), f
            assert f.medium is iv.follow_up


@given(interviews(), policies)
def test_retries_come_after_their_check_in_and_wait_longer_each_time(iv, policy):
    result = run(iv, policy)
    rounds: dict[int, list] = {}
    for f in chasers(result):
        rounds.setdefault(f.round, []).append(f)
    for items in rounds.values():
        items.sort(key=lambda f: f.attempt)
        # Cancelled items stay in the output: every round is complete.
        assert [f.attempt for f in items] == list(range(policy.retries + 1))
        assert items[0].kind is Kind.CHECK_IN and all(f.kind is Kind.RETRY for f in items[1:])
        days = [local(f.due, f.recipient.timezone).date() for f in items]
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        assert all(gap > 0 for gap in gaps)
        assert gaps == sorted(gaps)
        calendar = calendar_for(iv.country, iv.subdivision)
        for a, b in itertools.pairwise(days):
            assert b >= calendar.add(a, policy.retry_business_days)
        assert len({(f.recipient, f.deadline) for f in items}) == 1


@given(interviews(), policies)
def test_cancelled_items_stay_and_nothing_after_a_final_answer_stays_planned(iv, policy):
    result = run(iv, policy)
    last_deadline = max((e.date for e in iv.events if e.decision_by is not None), default=None)
    for event in iv.events:
        if event.kind in CANCELLING and event.decision_by is None:
            if last_deadline is not None and last_deadline >= event.date:
                continue  # a later extension plans a new round
            for f in chasers(result):
                if local(f.due, f.recipient.timezone).date() > event.date:
                    assert f.status is Status.CANCELLED
    rounds = 1 + sum(1 for e in iv.events if e.decision_by is not None)
    assert len(chasers(result)) <= rounds * (1 + policy.retries)
    assert len(chasers(result)) >= 1 + policy.retries


@given(interviews(), policies)
def test_the_shape_of_a_plan(iv, policy):
    result = run(iv, policy)
    uids = [f.uid for f in result.followups]
    assert len(uids) == len(set(uids))
    instants = [f.due.astimezone(UTC) for f in result.followups]
    assert instants == sorted(instants)
    thanks = [f for f in result.followups if f.kind is Kind.THANK_YOU]
    assert sorted(f.recipient.name for f in thanks) == sorted(p.name for p in iv.interviewers)
    for f in thanks:
        assert f.due.astimezone(UTC) - iv.end.astimezone(UTC) == timedelta(minutes=policy.thank_you_minutes_after_end)
    closing = [f for f in result.followups if f.kind is Kind.CLOSING]
    assert len(closing) == 1 and closing[0].recipient is None
    before_start = iv.start.astimezone(UTC) - closing[0].due.astimezone(UTC)
    assert before_start == timedelta(minutes=max(policy.closing_prep_minutes, 1))
    assert closing[0].end.astimezone(UTC) <= iv.start.astimezone(UTC)  # nothing rings during the interview
    feedback = [f for f in result.followups if f.kind is Kind.FEEDBACK_REQUEST]
    rejected = [e for e in iv.events if e.kind is EventKind.REJECTED]
    assert len(feedback) == (1 if rejected else 0)
    if rejected:
        calendar = calendar_for(iv.country, iv.subdivision)
        assert local(feedback[0].due, iv.primary.timezone).date() == calendar.after(rejected[0].date)
    # Every time shown is a wall time that exists in its zone.
    for f in result.followups:
        assert local(f.due, f.due.tzinfo).replace(tzinfo=None) == f.due.replace(tzinfo=None)


@given(interviews(), policies)
def test_deadline_and_assumed(iv, policy):
    result = run(iv, policy)
    base = [f for f in result.followups if f.round == 0 and f.kind is not Kind.FEEDBACK_REQUEST]
    if iv.decision_by is not None:
        expected, assumed = iv.decision_by, False
    elif parse_timeline(iv.timeline, iv, None) is not None:
        expected, assumed = parse_timeline(iv.timeline, iv, None), False
    else:
        expected, assumed = iv.start.astimezone(iv.timezone).date() + timedelta(days=7), True
    moved = any(e.decision_by is not None for e in iv.events)
    for f in base:
        if f.kind in (Kind.CLOSING, Kind.THANK_YOU) or not moved:
            assert (f.deadline, f.assumed) == (expected, assumed)
    assert bool(result.warnings) == assumed


@given(st.lists(interviews(), min_size=2, max_size=3, unique_by=lambda iv: iv.start), policies)
def test_uids_do_not_depend_on_the_order_of_interviews(ivs, policy):
    ivs = [
        Interview(**{**iv.__dict__, "id": f"iv-{n}"})  # distinct ids, as in a valid file
        for n, iv in enumerate(ivs)
    ]
    forward = plan(ivs, policy, parse_timeline=parse_timeline)
    backward = plan(list(reversed(ivs)), policy, parse_timeline=parse_timeline)
    assert {(f.interview.id, f.kind, f.due, f.uid) for f in forward.followups} == {
        (f.interview.id, f.kind, f.due, f.uid) for f in backward.followups
    }
    assert len({f.uid for f in forward.followups}) == len(forward.followups)
