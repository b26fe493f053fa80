"""An event's ``decision_by`` may be a timeline phrase, read relative to the event's date by the same grammar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from calsync.errors import InputError
from calsync.interviews import load_interviews
from calsync.planner import plan

BASE = """
[[interviews]]
id = "acme"
company = "Acme Corp"
start = 2026-11-20T14:00:00
timezone = "America/Chicago"
country = "{country}"
[[interviews.interviewers]]
name = "Dana"
email = "dana@acme.example"
[[interviews.events]]
date = {when}
kind = "extended"
decision_by = "{phrase}"
"""


def load(tmp_path: Path, phrase: str, when: str = "2026-11-25", country: str = "US"):
    path = tmp_path / "interviews.toml"
    path.write_text(BASE.format(phrase=phrase, when=when, country=country), encoding="utf-8")
    return load_interviews(path)


@pytest.mark.parametrize(
    ("phrase", "when", "country", "expected"),
    [
        ("in two weeks", "2026-11-25", "US", date(2026, 12, 9)),  # from the event (Wed Nov 25), not the interview
        ("3 business days", "2026-11-25", "US", date(2026, 12, 1)),  # Thanksgiving Thu Nov 26
        ("3 business days", "2026-11-25", "GB", date(2026, 11, 30)),
        ("after Christmas", "2026-12-01", "GB", date(2026, 12, 29)),  # Boxing Day observed Mon Dec 28
        ("by Friday", "2026-11-27", "US", date(2026, 12, 4)),  # the event is on a Friday: the next one
        ("the week of December 14", "2026-11-25", "US", date(2026, 12, 18)),
        ("2026-12-11", "2026-11-25", "US", date(2026, 12, 11)),  # an ISO date in a string is still a date
    ],
)
def test_a_phrase_is_read_from_the_events_date(tmp_path, phrase, when, country, expected):
    (interview,) = load(tmp_path, phrase, when, country)
    assert interview.events[0].decision_by == expected


def test_the_new_deadline_moves_the_check_in(tmp_path):
    (interview,) = load(tmp_path, "in two weeks")
    check_in = next(f for f in plan([interview]).followups if f.kind.value == "check_in")
    assert check_in.deadline == date(2026, 12, 9)
    assert check_in.due.date() == date(2026, 12, 11)  # D + 2 days, a Friday


@pytest.mark.parametrize(("phrase", "named"), [("soon", "soon"), ("after the board meeting", "after")])
def test_a_phrase_not_understood_is_an_error_with_its_line(tmp_path, phrase, named):
    with pytest.raises(InputError) as caught:
        load(tmp_path, phrase)
    message = str(caught.value)
    assert ":14: " in message and "decision_by" in message and named in message
