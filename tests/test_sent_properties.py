"""Properties of ``sent`` events over generated interviews, policies and histories."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from test_planner_properties import interviews, local, policies, run

from calsync.businessdays import calendar_for
from calsync.model import EventKind, HistoryEvent, Interview, Kind


@st.composite
def with_sends(draw) -> Interview:
    """An interview whose history also says, at random days, that follow-ups were sent."""
    iv = draw(interviews())
    day = iv.start.astimezone(iv.timezone).date()
    sends = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from([Kind.THANK_YOU, Kind.CHECK_IN, Kind.RETRY, Kind.CLOSING, Kind.FEEDBACK_REQUEST]))
        to = draw(st.sampled_from([None, *(p.name for p in iv.interviewers)])) if kind is Kind.THANK_YOU else None
        when = day + timedelta(days=draw(st.integers(0, 40)))
        sends.append(HistoryEvent(when, EventKind.SENT, followup=kind, to=to))
    events = tuple(sorted((*iv.events, *sends), key=lambda e: e.date))
    return dataclasses.replace(iv, events=events)


def real_day(f) -> date:
    return f.sent_on if f.sent_on is not None else local(f.due, f.recipient.timezone).date()


@given(with_sends(), policies)
def test_never_a_check_in_before_the_deadline_plus_a_business_day_unless_sent_earlier(iv, policy):
    calendar = calendar_for(iv.country, iv.subdivision)
    for f in run(iv, policy).followups:
        if f.kind is Kind.CHECK_IN and f.sent_on is None:
            assert local(f.due, f.recipient.timezone).date() >= calendar.add(f.deadline, 1) or (
                policy.check_in_days_after_deadline < 1
            )


@given(with_sends(), policies)
def test_every_retry_is_after_the_real_try_before_it(iv, policy):
    calendar = calendar_for(iv.country, iv.subdivision)
    rounds: dict[int, list] = {}
    for f in run(iv, policy).followups:
        if f.kind in (Kind.CHECK_IN, Kind.RETRY):
            rounds.setdefault(f.round, []).append(f)
    for items in rounds.values():
        items.sort(key=lambda f: f.attempt)
        for before, after in itertools.pairwise(items):
            if after.cancelled or after.done or before.cancelled:
                continue
            # Planned from the day the try before it really happened, the policy's business days later.
            assert local(after.due, after.recipient.timezone).date() >= calendar.add(real_day(before), 1)
            assert local(after.due, after.recipient.timezone).date() > real_day(before)


@given(with_sends(), policies)
def test_sending_keeps_every_uid_and_every_sent_item_in_its_place(iv, policy):
    unsent = dataclasses.replace(iv, events=tuple(e for e in iv.events if e.kind is not EventKind.SENT))
    before = {f.uid: f for f in run(unsent, policy).followups}
    after = {f.uid: f for f in run(iv, policy).followups}
    # A check-in sent before an extension stays where it was, and the extension plans a new round instead of
    # moving it: items may be added, never lost.
    assert before.keys() <= after.keys()
    moved_by_news = any(e.decision_by is not None for e in iv.events)
    for uid, old in before.items():
        new = after[uid]
        if new.done:
            assert new.revision >= 1
        if not moved_by_news:
            assert new.revision >= old.revision or old.cancelled
            if new.done:
                # A retry may have been moved by the check-in sent before it; anything else stays in its place.
                assert new.due == old.due or new.kind is Kind.RETRY
                assert new.revision > old.revision or old.cancelled
            if new.due != old.due:
                assert new.kind is Kind.RETRY and (new.revision > old.revision or old.cancelled)


@given(with_sends(), policies)
def test_a_thank_you_is_done_only_for_whom_it_was_sent_to(iv, policy):
    primary = iv.primary.name
    told = {e.to or primary for e in iv.events if e.kind is EventKind.SENT and e.followup is Kind.THANK_YOU}
    for f in run(iv, policy).followups:
        if f.kind is Kind.THANK_YOU:
            assert f.done == (f.recipient.name in told) or sum(p.name == f.recipient.name for p in iv.interviewers) > 1
