"""Short references: every follow-up of any plan has one, it parses back to that follow-up, and typos get help."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from factories import interview
from hypothesis import given
from hypothesis import strategies as st
from test_planner_properties import interviews, parse_timeline, policies

from calsync.errors import UserError
from calsync.model import EventKind, HistoryEvent, Kind
from calsync.planner import plan
from calsync.refs import parse_ref, ref_of, resolve


def example_plan(**overrides):
    return plan([interview(**overrides)]).followups


def test_the_references_of_the_example():
    refs = sorted(ref_of(f) for f in example_plan())
    assert refs == [
        "acme-staff/check-in",
        "acme-staff/closing",
        "acme-staff/retry",
        "acme-staff/thank-you/dana-smith",
        "acme-staff/thank-you/lee-park",
    ]


@given(interviews(), policies)
def test_every_reference_is_unique_and_resolves_to_its_followup(iv, policy):
    followups = plan([iv], policy, parse_timeline=parse_timeline).followups
    refs = [ref_of(f) for f in followups]
    duplicated_names = len({p.name for p in iv.interviewers}) < len(iv.interviewers)
    if not duplicated_names:
        assert len(set(refs)) == len(refs)
        for ref, f in zip(refs, followups, strict=True):
            assert resolve(ref, followups) == f


def test_a_later_round_is_named_with_its_number():
    # Extended after the check-in's day: the check-in stays, a second round is planned.
    events = (HistoryEvent(date(2026, 12, 1), EventKind.EXTENDED, date(2026, 12, 9)),)
    followups = example_plan(events=events)
    second = resolve("acme-staff/check-in@2", followups)
    assert second.round == 1 and ref_of(second) == "acme-staff/check-in@2"
    assert resolve("acme-staff/check-in", followups).round == 0 == resolve("acme-staff/check-in@1", followups).round


@pytest.mark.parametrize(
    ("text", "kind", "attempt", "person"),
    [
        ("acme/check_in", Kind.CHECK_IN, 0, None),
        ("acme/Check-In", Kind.CHECK_IN, 0, None),
        ("acme/retry-2", Kind.RETRY, 2, None),
        ("acme/feedback", Kind.FEEDBACK_REQUEST, 0, None),
        ("acme/thank-you/Dana Smith".replace(" ", "-"), Kind.THANK_YOU, 0, "dana-smith"),
    ],
)
def test_parsing(text, kind, attempt, person):
    ref = parse_ref(text)
    assert (ref.interview, ref.kind, ref.attempt, ref.person) == ("acme", kind, attempt, person)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("acme-staff", "is not a follow-up reference"),
        ("acme-staff/chek-in", "did you mean 'check-in'?"),
        ("acme-stafff/check-in", "did you mean 'acme-staff'?"),
        ("acme-staff/thank-you", "(acme-staff/thank-you/dana-smith, acme-staff/thank-you/lee-park)"),
        ("acme-staff/retry-3", "no such follow-up"),
        ("acme-staff/check-in/dana", "only a thank-you names a person"),
    ],
)
def test_mistakes_say_what_to_write(text, says):
    with pytest.raises(UserError) as caught:
        resolve(text, example_plan())
    assert says in str(caught.value)


@given(st.text(max_size=60))
def test_any_text_is_a_reference_or_one_clear_error(text):
    try:
        ref = parse_ref(text)
    except UserError as exc:
        assert len(str(exc).splitlines()) == 1  # one line, whatever was typed
        return
    assert ref.interview and "/" not in ref.interview and ref.round >= 0
    assert ref.kind is not Kind.RETRY or ref.attempt >= 1


@given(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True), st.sampled_from(list(Kind)), st.integers(0, 3))
def test_formatting_and_parsing_agree(ident, kind, round_):
    iv = interview(id=ident)
    attempt = 2 if kind is Kind.RETRY else 0
    f = next(f for f in plan([iv]).followups if f.kind is Kind.CLOSING)
    person = iv.interviewers[0] if kind is Kind.THANK_YOU else None
    f = dataclasses.replace(f, kind=kind, attempt=attempt, round=round_, recipient=person)
    ref = parse_ref(ref_of(f))
    assert (ref.interview, ref.kind, ref.round) == (ident, kind, round_)
    assert ref.attempt == attempt
