"""``sent`` events: loading them (with errors that say where), and what they change in the plan."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from calsync.businessdays import calendar_for
from calsync.errors import InputError
from calsync.interviews import load_interviews
from calsync.model import EventKind, Kind
from calsync.planner import plan

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"


def with_events(tmp_path: Path, text: str, interview: str = "acme-staff") -> Path:
    """The example file with ``text`` (event tables) added to one interview: acme-staff comes first, so its events
    go right before the second [[interviews]]."""
    source = EXAMPLE.read_text(encoding="utf-8")
    if interview == "acme-staff":
        head, sep, tail = source.partition('[[interviews]]\nid = "globex-sre"')
        source = head + text + "\n" + sep + tail
    else:
        source = source + "\n" + text
    path = tmp_path / "interviews.toml"
    path.write_text(source, encoding="utf-8")
    return path


def sent(day: str, followup: str, to: str | None = None, note: str | None = None) -> str:
    lines = ["[[interviews.events]]", f"date = {day}", 'kind = "sent"', f'followup = "{followup}"']
    if to is not None:
        lines.append(f'to = "{to}"')
    if note is not None:
        lines.append(f'note = "{note}"')
    return "\n".join(lines) + "\n"


def planned(path: Path, interview: str = "acme-staff"):
    result = plan(load_interviews(path))
    return [f for f in result.followups if f.interview.id == interview]


def one(followups, kind: Kind, **match):
    found = [f for f in followups if f.kind is kind and all(getattr(f, k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


# --- loading ------------------------------------------------------------------------------------------------------


def test_a_sent_event_is_loaded_with_its_followup_and_recipient(tmp_path):
    path = with_events(tmp_path, sent("2026-11-20", "thank_you", to="lee park"))
    acme = load_interviews(path)[0]
    (event,) = acme.events
    assert (event.kind, event.followup, event.to, event.date) == (
        EventKind.SENT,
        Kind.THANK_YOU,
        "Lee Park",
        date(2026, 11, 20),
    )


def test_a_sent_event_may_say_the_time_it_was_sent(tmp_path):
    # 23:30 in Berlin is still the 1st of December in Chicago, the interview's zone.
    text = sent("2026-12-02T05:30:00+01:00", "check_in")
    (event,) = load_interviews(with_events(tmp_path, text))[0].events
    assert event.date == date(2026, 12, 1)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as caught:
        load_interviews(with_events(tmp_path, text))
    return str(caught.value)


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_a_sent_event_needs_its_followup(tmp_path):
    message = error(tmp_path, '[[interviews.events]]\ndate = 2026-12-01\nkind = "sent"\n')
    assert "followup: required field missing" in message
    assert message.startswith(str(tmp_path / "interviews.toml") + ":")


def test_a_misspelt_followup_gets_a_suggestion_and_its_line(tmp_path):
    message = error(tmp_path, sent("2026-12-01", "chek_in"))
    path = tmp_path / "interviews.toml"
    assert message.startswith(f"{path}:{line_of(path, 'chek_in')}: ")
    assert "did you mean 'check_in'?" in message


def test_check_in_with_a_dash_is_accepted(tmp_path):
    (event,) = load_interviews(with_events(tmp_path, sent("2026-12-01", "check-in")))[0].events
    assert event.followup is Kind.CHECK_IN


def test_to_must_name_an_interviewer_of_that_interview(tmp_path):
    message = error(tmp_path, sent("2026-11-20", "thank_you", to="Dana Smyth"))
    path = tmp_path / "interviews.toml"
    assert message.startswith(f"{path}:{line_of(path, 'Dana Smyth')}: ")
    assert "did you mean 'Dana Smith'?" in message and "'Lee Park'" in message


def test_only_sent_events_take_followup(tmp_path):
    message = error(tmp_path, '[[interviews.events]]\ndate = 2026-12-01\nkind = "replied"\nfollowup = "check_in"\n')
    assert "only 'sent' events take followup" in message


def test_a_misspelt_event_kind_gets_a_suggestion(tmp_path):
    assert "did you mean 'sent'?" in error(tmp_path, '[[interviews.events]]\ndate = 2026-12-01\nkind = "snet"\n')


# --- planning -----------------------------------------------------------------------------------------------------


def test_a_thank_you_to_one_interviewer_leaves_the_others_to_do(tmp_path):
    items = planned(with_events(tmp_path, sent("2026-11-20", "thank_you", to="Lee Park")))
    thanks = {f.recipient.name: f for f in items if f.kind is Kind.THANK_YOU}
    lee, dana = thanks["Lee Park"], thanks["Dana Smith"]
    assert lee.done and lee.sent_on == date(2026, 11, 20) and lee.revision == 1
    assert not dana.done and dana.revision == 0


def test_a_thank_you_without_to_is_the_primary_contacts(tmp_path):
    items = planned(with_events(tmp_path, sent("2026-11-21", "thank_you")))
    done = [f.recipient.name for f in items if f.kind is Kind.THANK_YOU and f.done]
    assert done == ["Dana Smith"]


def test_the_retry_follows_the_real_check_in(tmp_path):
    before = planned(with_events(tmp_path, ""))
    check_in, retry = one(before, Kind.CHECK_IN), one(before, Kind.RETRY)
    # Planned: Mon 30 Nov, retry Thu 3 Dec. Sent late, on Wed 2 Dec: the retry is three business days after that.
    after = planned(with_events(tmp_path, sent("2026-12-02", "check_in")))
    sent_check_in, moved = one(after, Kind.CHECK_IN), one(after, Kind.RETRY)
    assert sent_check_in.done and sent_check_in.due == check_in.due
    assert moved.uid == retry.uid and moved.revision == retry.revision + 1
    assert moved.due.date() == date(2026, 12, 7) and moved.due.time() == retry.due.time()
    assert moved.due.tzinfo == retry.due.tzinfo


def test_a_check_in_sent_early_brings_its_retry_forward(tmp_path):
    after = planned(with_events(tmp_path, sent("2026-11-27", "check_in")))
    # Fri 27 Nov + 3 business days (Thanksgiving was the 26th)
    assert one(after, Kind.RETRY).due.date() == date(2026, 12, 2)


def test_a_sent_retry_is_done_and_the_next_retry_follows_it(tmp_path):
    text = sent("2026-12-01", "check_in") + sent("2026-12-08", "retry")
    path = with_events(tmp_path, text)
    text_policy = plan(load_interviews(path)).followups
    retry = one([f for f in text_policy if f.interview.id == "acme-staff"], Kind.RETRY)
    assert retry.done and retry.sent_on == date(2026, 12, 8)


def test_a_check_in_sent_after_a_reply_stays_done_and_is_not_cancelled(tmp_path):
    text = sent("2026-11-30", "check_in") + '[[interviews.events]]\ndate = 2026-12-01\nkind = "replied"\n'
    items = planned(with_events(tmp_path, text))
    check_in, retry = one(items, Kind.CHECK_IN), one(items, Kind.RETRY)
    assert check_in.done and not check_in.cancelled
    assert retry.cancelled and not retry.done


def test_an_extension_after_a_sent_check_in_starts_a_new_round(tmp_path):
    text = sent("2026-11-30", "check_in") + (
        '[[interviews.events]]\ndate = 2026-12-01\nkind = "extended"\ndecision_by = 2026-12-09\n'
    )
    items = planned(with_events(tmp_path, text))
    check_ins = sorted((f for f in items if f.kind is Kind.CHECK_IN), key=lambda f: f.round)
    assert [c.done for c in check_ins] == [True, False]
    assert check_ins[1].due.date() == date(2026, 12, 11)


def test_the_feedback_request_can_be_sent(tmp_path):
    text = '[[interviews.events]]\ndate = 2026-12-01\nkind = "rejected"\n' + sent("2026-12-03", "feedback_request")
    feedback = one(planned(with_events(tmp_path, text)), Kind.FEEDBACK_REQUEST)
    assert feedback.done and feedback.sent_on == date(2026, 12, 3)


def test_event_notes_reach_the_followups_after_them(tmp_path):
    text = (
        '[[interviews.events]]\ndate = 2026-11-24\nkind = "extended"\ndecision_by = 2026-12-04\n'
        'note = "Recruiter: the manager is away"\n'
    )
    items = planned(with_events(tmp_path, text))
    assert one(items, Kind.CHECK_IN).notes == ("Recruiter: the manager is away",)
    assert one(items, Kind.CLOSING).notes == ()


def test_a_sent_check_in_in_another_country_uses_its_business_days(tmp_path):
    # Globex (Berlin, DE-BE): the check-in was extended to 9 Dec -> check-in Fri 11 Dec; sent on Thu 24 Dec,
    # the retry skips Christmas (25th, 26th) and the weekend: three business days later is Wed 30 Dec.
    items = planned(with_events(tmp_path, sent("2026-12-24", "check_in"), "globex-sre"), "globex-sre")
    cal = calendar_for("DE", "BE")
    retry = one(items, Kind.RETRY)
    assert retry.due.date() == cal.add(date(2026, 12, 24), 3) == date(2026, 12, 30)
    assert retry.due.date() - date(2026, 12, 24) > timedelta(days=3)
