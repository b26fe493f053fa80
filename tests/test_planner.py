"""The follow-up rules of issue 2, one test (or a few) per rule, on the issue's worked example and variations.

Timelines are parsed elsewhere (tests/test_timeline.py): here D comes from ``decision_by`` or a trivial parser.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import CHICAGO, NEW_YORK, interview

from calsync.model import EventKind, HistoryEvent, Interviewer, Kind, Medium, Policy, Status
from calsync.planner import plan

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
TOKYO = ZoneInfo("Asia/Tokyo")


def a_week(text, iv, calendar):
    """Every timeline means "within a week" of the interview's local date."""
    return iv.start.astimezone(iv.timezone).date() + timedelta(days=7)


def not_understood(text, iv, calendar):
    return None


def run(iv=None, policy=None, parser=a_week):
    return plan([iv or interview()], policy or Policy(), parse_timeline=parser)


def of(result, kind):
    return [f for f in result.followups if f.kind is kind]


def one(result, kind):
    found = of(result, kind)
    assert len(found) == 1, found
    return found[0]


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time of ``moment`` in ``zone`` (through UTC: ``astimezone`` to the same zone is a no-op,
    which would hide a wall time that does not exist)."""
    return moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def essence(f):
    """What a user sees of a follow-up."""
    return (f.uid, f.kind, f.due, f.deadline, f.assumed, f.recipient, f.medium, f.status, f.revision)


def ev(day: date, kind: EventKind, decision_by: date | None = None) -> HistoryEvent:
    return HistoryEvent(day, kind, decision_by)


# --- the worked example ----------------------------------------------------------------------------------------


def test_worked_example():
    result = run()
    assert result.warnings == []
    check_in, retry = one(result, Kind.CHECK_IN), one(result, Kind.RETRY)
    assert check_in.deadline == date(2026, 11, 27) and not check_in.assumed
    assert check_in.due == datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)  # Dana is in New York
    assert wall(check_in.due, NEW_YORK) == datetime(2026, 11, 30, 10, 0)
    assert retry.due == datetime(2026, 12, 3, 10, 0, tzinfo=NEW_YORK)
    thanks = of(result, Kind.THANK_YOU)
    assert {t.due for t in thanks} == {datetime(2026, 11, 20, 16, 0, tzinfo=CHICAGO)}
    assert {wall(t.due, CHICAGO) for t in thanks} == {datetime(2026, 11, 20, 16, 0)}
    closing = one(result, Kind.CLOSING)
    assert wall(closing.due, CHICAGO) == datetime(2026, 11, 20, 13, 30)  # preparation, before it starts
    assert closing.recipient is None
    assert of(result, Kind.FEEDBACK_REQUEST) == []
    assert all(f.status is Status.PLANNED for f in result.followups)


def test_followups_are_sorted_by_due_time():
    other = interview(
        id="early", start=datetime(2026, 11, 19, 9, tzinfo=CHICAGO), end=datetime(2026, 11, 19, 10, tzinfo=CHICAGO)
    )
    result = plan([interview(), other], Policy(), parse_timeline=a_week)
    instants = [f.due.astimezone(UTC) for f in result.followups]
    assert instants == sorted(instants)
    assert result.followups[0].interview.id == "early"


# --- closing and thank-you -------------------------------------------------------------------------------------


def test_closing_questions_are_prepared_before_the_interview_starts_with_no_recipient():
    iv = interview(end=datetime(2026, 11, 20, 16, 30, tzinfo=CHICAGO))
    closing = one(run(iv), Kind.CLOSING)
    assert closing.due == datetime(2026, 11, 20, 13, 30, tzinfo=CHICAGO)  # 30 minutes before the start
    assert closing.end <= iv.start  # nothing rings during the interview
    assert closing.recipient is None


def test_one_thank_you_per_interviewer_an_hour_after_the_end_in_the_interviews_zone():
    people = (
        Interviewer("A", TOKYO, "a@x.example"),
        Interviewer("B", BERLIN, "b@x.example"),
        Interviewer("C", CHICAGO, "c@x.example"),
    )
    result = run(interview(interviewers=people))
    thanks = of(result, Kind.THANK_YOU)
    assert sorted(t.recipient.name for t in thanks) == ["A", "B", "C"]
    for t in thanks:
        assert t.due == datetime(2026, 11, 20, 16, 0, tzinfo=CHICAGO)
        assert t.due.tzinfo == CHICAGO  # the interview's zone, whoever receives it
    assert len({t.uid for t in thanks}) == 3


def test_thank_you_is_an_hour_of_elapsed_time_across_a_dst_change():
    # Sun 2026-11-01: Chicago falls back at 02:00 CDT -> 01:00 CST. The interview ends at 01:30 CDT (06:30 UTC).
    iv = interview(
        start=datetime(2026, 11, 1, 0, 30, tzinfo=CHICAGO),
        end=datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO),
    )
    thanks = of(run(iv), Kind.THANK_YOU)
    for t in thanks:
        assert t.due.astimezone(UTC) == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)


def test_closing_and_thank_you_never_fall_in_a_dst_gap():
    # Sun 2027-03-14: Chicago springs forward 02:00 CST -> 03:00 CDT. 01:30 CST + 1 h is 03:30 CDT, not "02:30".
    iv = interview(start=datetime(2027, 3, 14, 0, 30, tzinfo=CHICAGO), end=datetime(2027, 3, 14, 1, 30, tzinfo=CHICAGO))
    thank = of(run(iv), Kind.THANK_YOU)[0]
    assert thank.due.astimezone(UTC) == datetime(2027, 3, 14, 8, 30, tzinfo=UTC)
    assert wall(thank.due, CHICAGO) == datetime(2027, 3, 14, 3, 30)
    assert thank.due.replace(tzinfo=None) == wall(thank.due, CHICAGO)  # the wall time shown exists


# --- the deadline D --------------------------------------------------------------------------------------------


def test_decision_by_wins_over_the_timeline():
    result = run(interview(decision_by=date(2026, 12, 1)))
    check_in = one(result, Kind.CHECK_IN)
    assert check_in.deadline == date(2026, 12, 1) and not check_in.assumed
    assert check_in.due == datetime(2026, 12, 3, 10, tzinfo=NEW_YORK)  # D + 2 = Thu, a business day
    assert result.warnings == []


def test_the_timeline_is_parsed_relative_to_the_interview():
    seen = []

    def parser(text, iv, calendar):
        seen.append((text, iv.id))
        return date(2026, 12, 4)

    check_in = one(run(parser=parser), Kind.CHECK_IN)
    assert seen == [("We'll get back to you within a week", "acme-staff")]
    assert check_in.deadline == date(2026, 12, 4) and not check_in.assumed
    assert check_in.due == datetime(2026, 12, 7, 10, tzinfo=NEW_YORK)  # Sun D+2 -> Mon


@pytest.mark.parametrize("timeline", ["we'll see", None])
def test_without_a_usable_timeline_d_is_a_week_later_and_assumed_with_a_warning(timeline):
    result = run(interview(timeline=timeline), parser=not_understood)
    assert {f.deadline for f in result.followups} == {date(2026, 11, 27)}
    assert all(f.assumed for f in result.followups)
    assert len(result.warnings) == 1
    assert "acme-staff" in result.warnings[0] and "2026-11-27" in result.warnings[0]
    assert "assum" in result.warnings[0]


def test_the_assumed_deadline_counts_from_the_local_date_of_the_interview():
    # 23:30 in Tokyo is still the previous day in UTC.
    iv = interview(
        start=datetime(2026, 11, 20, 23, 0, tzinfo=TOKYO),
        end=datetime(2026, 11, 20, 23, 30, tzinfo=TOKYO),
        timezone=TOKYO,
        country="JP",
        timeline=None,
    )
    assert one(run(iv, parser=not_understood), Kind.CHECK_IN).deadline == date(2026, 11, 27)


# --- check-in and retries --------------------------------------------------------------------------------------


def test_check_in_goes_to_the_primary_contact_through_follow_up():
    people = (
        Interviewer("First", CHICAGO, "f@x.example"),
        Interviewer("Boss", BERLIN, phone="+49 30 1234", primary=True),
    )
    check_in = one(run(interview(interviewers=people, follow_up=Medium.PHONE)), Kind.CHECK_IN)
    assert check_in.recipient.name == "Boss"
    assert check_in.medium is Medium.PHONE
    assert check_in.due == datetime(2026, 11, 30, 10, tzinfo=BERLIN)


def test_without_a_primary_the_first_listed_is_the_contact():
    people = (Interviewer("First", LONDON, "f@x.example"), Interviewer("Second", CHICAGO, "s@x.example"))
    result = run(interview(interviewers=people))
    for f in of(result, Kind.CHECK_IN) + of(result, Kind.RETRY):
        assert f.recipient.name == "First"
        assert wall(f.due, LONDON).time() == time(10, 0)


def test_check_in_skips_a_holiday_of_the_interviews_country():
    # D + 2 = Thu 2026-11-26, Thanksgiving in the US: the check-in waits for Friday.
    result = run(interview(decision_by=date(2026, 11, 24)))
    assert one(result, Kind.CHECK_IN).due == datetime(2026, 11, 27, 10, tzinfo=NEW_YORK)
    # 3 business days after Fri 11-27.
    assert one(result, Kind.RETRY).due == datetime(2026, 12, 2, 10, tzinfo=NEW_YORK)


def test_the_interviews_country_decides_even_for_a_contact_abroad():
    london = (Interviewer("Sam", LONDON, "sam@x.example"),)
    # US interview: Thanksgiving is skipped although Sam is in London...
    thanksgiving = run(interview(interviewers=london, decision_by=date(2026, 11, 24)))
    assert one(thanksgiving, Kind.CHECK_IN).due == datetime(2026, 11, 27, 10, tzinfo=LONDON)
    # ... and the UK's Boxing Day substitute (Mon 2026-12-28) is an ordinary business day.
    boxing = run(interview(interviewers=london, decision_by=date(2026, 12, 26)))
    assert one(boxing, Kind.CHECK_IN).due == datetime(2026, 12, 28, 10, tzinfo=LONDON)
    # A UK interview skips it (and Christmas Day, Boxing Day): Tue 12-29.
    uk = run(interview(interviewers=london, country="GB", decision_by=date(2026, 12, 24)))
    assert one(uk, Kind.CHECK_IN).due == datetime(2026, 12, 29, 10, tzinfo=LONDON)


def test_no_country_means_weekdays_only():
    result = run(interview(country=None, decision_by=date(2026, 11, 24)))
    assert one(result, Kind.CHECK_IN).due == datetime(2026, 11, 26, 10, tzinfo=NEW_YORK)  # Thanksgiving counts


def test_send_time_comes_from_the_policy():
    result = run(policy=Policy(send_time=time(8, 45)))
    assert one(result, Kind.CHECK_IN).due == datetime(2026, 11, 30, 8, 45, tzinfo=NEW_YORK)
    assert one(result, Kind.RETRY).due == datetime(2026, 12, 3, 8, 45, tzinfo=NEW_YORK)


def test_retry_is_three_business_days_after_the_check_in_same_time_and_contact():
    result = run(interview(decision_by=date(2026, 12, 2)))  # check-in Fri 12-04
    check_in, retry = one(result, Kind.CHECK_IN), one(result, Kind.RETRY)
    assert check_in.due == datetime(2026, 12, 4, 10, tzinfo=NEW_YORK)
    assert retry.due == datetime(2026, 12, 9, 10, tzinfo=NEW_YORK)  # Mon, Tue, Wed
    assert (retry.recipient, retry.medium, retry.deadline) == (check_in.recipient, check_in.medium, check_in.deadline)
    assert retry.uid != check_in.uid


def test_further_retries_wait_at_least_as_long_as_the_gap_before_them():
    result = run(policy=Policy(retries=3))
    days = [f.due.date() for f in of(result, Kind.CHECK_IN) + of(result, Kind.RETRY)]
    assert days[:2] == [date(2026, 11, 30), date(2026, 12, 3)]
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    assert len(days) == 4
    assert gaps == sorted(gaps)  # never shorter than the one before
    assert days == [date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 8), date(2026, 12, 14)]


def test_no_retries():
    assert of(run(policy=Policy(retries=0)), Kind.RETRY) == []


# --- events ----------------------------------------------------------------------------------------------------


def test_extended_before_the_check_in_moves_it_and_its_retry():
    before = run()
    result = run(interview(events=(ev(date(2026, 11, 25), EventKind.EXTENDED, date(2026, 12, 9)),)))
    check_in, retry = one(result, Kind.CHECK_IN), one(result, Kind.RETRY)
    assert check_in.due == datetime(2026, 12, 11, 10, tzinfo=NEW_YORK)
    assert retry.due == datetime(2026, 12, 16, 10, tzinfo=NEW_YORK)
    assert check_in.uid == one(before, Kind.CHECK_IN).uid
    assert retry.uid == one(before, Kind.RETRY).uid
    assert (check_in.revision, retry.revision) == (1, 1)
    assert check_in.deadline == retry.deadline == date(2026, 12, 9)
    assert check_in.status is retry.status is Status.PLANNED


def test_replied_with_a_decision_date_moves_like_extended():
    extended = run(interview(events=(ev(date(2026, 11, 25), EventKind.EXTENDED, date(2026, 12, 9)),)))
    replied = run(interview(events=(ev(date(2026, 11, 25), EventKind.REPLIED, date(2026, 12, 9)),)))
    assert [(f.uid, f.due, f.status, f.revision) for f in extended.followups] == [
        (f.uid, f.due, f.status, f.revision) for f in replied.followups
    ]


@pytest.mark.parametrize("event_day", [date(2026, 11, 30), date(2026, 12, 1)])
def test_extended_on_or_after_the_check_in_day_keeps_it_cancels_later_retries_and_plans_a_new_round(event_day):
    before = run()
    result = run(interview(events=(ev(event_day, EventKind.EXTENDED, date(2026, 12, 9)),)))
    check_ins, retries = of(result, Kind.CHECK_IN), of(result, Kind.RETRY)
    assert len(check_ins) == len(retries) == 2
    old_check_in = next(f for f in check_ins if f.uid == one(before, Kind.CHECK_IN).uid)
    assert essence(old_check_in) == essence(one(before, Kind.CHECK_IN))  # stays exactly as it was
    old_retry = next(f for f in retries if f.uid == one(before, Kind.RETRY).uid)
    assert old_retry.status is Status.CANCELLED and old_retry.revision == 1
    new_check_in = next(f for f in check_ins if f is not old_check_in)
    new_retry = next(f for f in retries if f is not old_retry)
    assert new_check_in.uid not in {f.uid for f in before.followups}
    assert new_retry.uid not in {f.uid for f in before.followups}
    assert new_check_in.due == datetime(2026, 12, 11, 10, tzinfo=NEW_YORK)
    assert new_retry.due == datetime(2026, 12, 16, 10, tzinfo=NEW_YORK)
    assert new_check_in.status is new_retry.status is Status.PLANNED
    assert new_check_in.deadline == date(2026, 12, 9)


def test_extended_on_the_retry_day_keeps_the_retry():
    result = run(interview(events=(ev(date(2026, 12, 3), EventKind.EXTENDED, date(2026, 12, 9)),)))
    retries = of(result, Kind.RETRY)
    assert [r.status for r in sorted(retries, key=lambda r: r.due)] == [Status.PLANNED, Status.PLANNED]
    assert len(of(result, Kind.CHECK_IN)) == 2


def test_an_extension_whose_new_check_in_would_be_before_the_event_plans_after_the_event():
    # News on Mon 12-07 that the decision is now due on 12-04 (already past): never follow up in the past.
    result = run(interview(events=(ev(date(2026, 12, 7), EventKind.EXTENDED, date(2026, 12, 4)),)))
    newest = max(of(result, Kind.CHECK_IN), key=lambda f: f.round)
    assert newest.due.date() > date(2026, 12, 7)


def test_two_extensions():
    events = (
        ev(date(2026, 11, 25), EventKind.EXTENDED, date(2026, 12, 2)),  # moves round 0 to Fri 12-04
        ev(date(2026, 12, 4), EventKind.EXTENDED, date(2026, 12, 16)),  # on the check-in day: new round
    )
    result = run(interview(events=events))
    check_ins = sorted(of(result, Kind.CHECK_IN), key=lambda f: f.round)
    assert [(f.due.date(), f.status, f.revision) for f in check_ins] == [
        (date(2026, 12, 4), Status.PLANNED, 1),
        (date(2026, 12, 18), Status.PLANNED, 0),
    ]
    retries = sorted(of(result, Kind.RETRY), key=lambda f: f.round)
    assert [(f.due.date(), f.status) for f in retries] == [
        (date(2026, 12, 9), Status.CANCELLED),
        (date(2026, 12, 23), Status.PLANNED),
    ]


@pytest.mark.parametrize(
    "kind", [EventKind.REPLIED, EventKind.REJECTED, EventKind.OFFER, EventKind.WITHDRAWN, EventKind.NEXT_ROUND]
)
def test_answers_cancel_every_check_in_and_retry_after_the_event_and_keep_them_listed(kind):
    before = run()
    result = run(interview(events=(ev(date(2026, 11, 27), kind),)))
    for kind_ in (Kind.CHECK_IN, Kind.RETRY):
        item = one(result, kind_)
        assert item.status is Status.CANCELLED
        assert item.uid == one(before, kind_).uid
        assert item.due == one(before, kind_).due
        assert item.revision == 1
    # Closing and thank-yous are not follow-ups on the decision: untouched.
    assert [f.status for f in of(result, Kind.THANK_YOU) + of(result, Kind.CLOSING)] == [Status.PLANNED] * 3


@pytest.mark.parametrize("kind", [EventKind.REPLIED, EventKind.OFFER, EventKind.WITHDRAWN, EventKind.NEXT_ROUND])
def test_an_answer_on_the_check_in_day_cancels_only_what_comes_later(kind):
    result = run(interview(events=(ev(date(2026, 11, 30), kind),)))
    assert one(result, Kind.CHECK_IN).status is Status.PLANNED
    assert one(result, Kind.RETRY).status is Status.CANCELLED


def test_rejected_asks_for_feedback_on_the_next_business_day():
    result = run(interview(events=(ev(date(2026, 12, 4), EventKind.REJECTED),)))  # a Friday
    feedback = one(result, Kind.FEEDBACK_REQUEST)
    assert feedback.due == datetime(2026, 12, 7, 10, tzinfo=NEW_YORK)
    assert feedback.recipient.name == "Dana Smith"
    assert feedback.medium is Medium.EMAIL
    assert feedback.status is Status.PLANNED
    assert one(result, Kind.CHECK_IN).status is Status.PLANNED  # Mon 11-30, before the rejection
    assert one(result, Kind.RETRY).status is Status.PLANNED  # Thu 12-03


def test_feedback_request_skips_holidays():
    result = run(interview(events=(ev(date(2026, 11, 25), EventKind.REJECTED),)))
    assert one(result, Kind.FEEDBACK_REQUEST).due == datetime(2026, 11, 27, 10, tzinfo=NEW_YORK)  # after Thanksgiving


def test_no_feedback_request_without_a_rejection():
    result = run(interview(events=(ev(date(2026, 11, 25), EventKind.OFFER),)))
    assert of(result, Kind.FEEDBACK_REQUEST) == []


# --- DST -------------------------------------------------------------------------------------------------------


def test_interview_on_the_friday_before_the_us_dst_change():
    # Fri 2026-10-30 (CDT, -5); DST ends Sun 11-01; the check-in Mon 11-02 is 10:00 CST (-6).
    chicago = (Interviewer("Pat", CHICAGO, "pat@x.example"),)
    iv = interview(
        start=datetime(2026, 10, 30, 14, tzinfo=CHICAGO),
        end=datetime(2026, 10, 30, 15, tzinfo=CHICAGO),
        interviewers=chicago,
        decision_by=date(2026, 10, 30),
    )
    result = run(iv)
    check_in = one(result, Kind.CHECK_IN)
    assert wall(check_in.due, CHICAGO) == datetime(2026, 11, 2, 10, 0)
    assert check_in.due.utcoffset() == timedelta(hours=-6)
    assert check_in.due.astimezone(UTC) == datetime(2026, 11, 2, 16, tzinfo=UTC)
    thank = one(result, Kind.THANK_YOU)
    assert thank.due.utcoffset() == timedelta(hours=-5)
    assert wall(thank.due, CHICAGO) == datetime(2026, 10, 30, 16, 0)


def test_contact_in_europe_between_the_european_and_the_us_change_in_autumn():
    # Europe falls back on Sun 2026-10-25, the US on Sun 11-01. A New York interview, a Berlin contact.
    iv = interview(
        start=datetime(2026, 10, 23, 11, tzinfo=NEW_YORK),
        end=datetime(2026, 10, 23, 12, tzinfo=NEW_YORK),
        timezone=NEW_YORK,
        interviewers=(Interviewer("Jonas", BERLIN, "j@x.example"),),
        decision_by=date(2026, 10, 23),
    )
    result = run(iv)
    check_in, retry = one(result, Kind.CHECK_IN), one(result, Kind.RETRY)
    assert wall(check_in.due, BERLIN) == datetime(2026, 10, 26, 10, 0)
    assert check_in.due.astimezone(UTC) == datetime(2026, 10, 26, 9, tzinfo=UTC)  # CET already
    assert wall(check_in.due, NEW_YORK) == datetime(2026, 10, 26, 5, 0)  # New York still on EDT
    assert wall(retry.due, BERLIN) == datetime(2026, 10, 29, 10, 0)
    assert retry.due.astimezone(UTC) == datetime(2026, 10, 29, 9, tzinfo=UTC)


def test_contact_in_europe_between_the_us_and_the_european_change_in_spring():
    # The US springs forward Sun 2027-03-14, Europe Sun 03-28. A New York interview, a London contact.
    iv = interview(
        start=datetime(2027, 3, 12, 11, tzinfo=NEW_YORK),
        end=datetime(2027, 3, 12, 12, tzinfo=NEW_YORK),
        timezone=NEW_YORK,
        interviewers=(Interviewer("Sam", LONDON, "s@x.example"),),
        decision_by=date(2027, 3, 12),
    )
    check_in = one(run(iv), Kind.CHECK_IN)
    assert check_in.due.astimezone(UTC) == datetime(2027, 3, 15, 10, tzinfo=UTC)  # GMT
    assert wall(check_in.due, NEW_YORK) == datetime(2027, 3, 15, 6, 0)  # EDT already
    later = run(iv.__class__(**{**iv.__dict__, "decision_by": date(2027, 3, 26)}))
    assert one(later, Kind.CHECK_IN).due.astimezone(UTC) == datetime(2027, 3, 29, 9, tzinfo=UTC)  # BST


def test_a_send_time_in_a_dst_gap_becomes_a_real_time():
    # Egypt springs forward at midnight before the last Friday of April, a business day: on Fri 2026-04-24 the
    # clock goes from 00:00 to 01:00, so 00:30 does not exist that day.
    cairo = ZoneInfo("Africa/Cairo")
    iv = interview(
        start=datetime(2026, 4, 20, 11, tzinfo=cairo),
        end=datetime(2026, 4, 20, 12, tzinfo=cairo),
        timezone=cairo,
        country=None,
        interviewers=(Interviewer("Omar", cairo, "o@x.example"),),
        decision_by=date(2026, 4, 22),
    )
    check_in = one(run(iv, policy=Policy(send_time=time(0, 30))), Kind.CHECK_IN)
    assert check_in.due.date() == date(2026, 4, 24)
    assert check_in.due.astimezone(UTC) == datetime(2026, 4, 23, 22, 30, tzinfo=UTC)
    shown = check_in.due.replace(tzinfo=None)
    assert shown == wall(check_in.due, cairo)  # what is shown exists
