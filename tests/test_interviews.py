"""The interview file: what each key means, its defaults, and one clear error per mistake."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calsync.errors import InputError
from calsync.interviews import load_interviews
from calsync.model import EventKind, Medium

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"
CHICAGO = ZoneInfo("America/Chicago")


def load(tmp_path: Path, text: str, **defaults):
    path = tmp_path / "interviews.toml"
    path.write_text(text, encoding="utf-8")
    return load_interviews(path, **defaults)


def error(tmp_path: Path, text: str, **defaults) -> str:
    with pytest.raises(InputError) as caught:
        load(tmp_path, text, **defaults)
    return str(caught.value)


MINIMAL = """
[[interviews]]
company = "Acme Corp"
start = 2026-11-20T14:00:00
"""


def test_the_example_file():
    acme, globex = load_interviews(EXAMPLE)
    assert acme.id == "acme-staff"
    assert acme.start == datetime(2026, 11, 20, 14, tzinfo=CHICAGO)
    assert acme.end == datetime(2026, 11, 20, 15, tzinfo=CHICAGO)
    assert acme.timeline == "We'll get back to you within a week"
    assert acme.country == "US"
    assert acme.requested == ("portfolio link", "two references")
    assert acme.approved is True
    assert [p.name for p in acme.interviewers] == ["Dana Smith", "Lee Park"]
    assert acme.primary.name == "Dana Smith"
    assert acme.interviewers[0].timezone == ZoneInfo("America/New_York")
    assert acme.interviewers[1].timezone == CHICAGO  # the interview's zone by default
    assert globex.follow_up is Medium.PHONE
    assert globex.end - globex.start == timedelta(hours=1)
    assert (globex.country, globex.subdivision) == ("DE", "BE")
    (event,) = globex.events
    assert (event.date, event.kind, event.decision_by) == (date(2026, 11, 27), EventKind.EXTENDED, date(2026, 12, 9))


def test_defaults(tmp_path):
    (iv,) = load(
        tmp_path,
        MINIMAL + '[[interviews.interviewers]]\nname = "A"\n[[interviews.interviewers]]\nname = "B"\n',
        default_timezone="America/Chicago",
        default_country="US",
    )
    assert iv.id == "acme-corp-2026-11-20"
    assert iv.timezone == CHICAGO  # the config's zone
    assert iv.start == datetime(2026, 11, 20, 14, tzinfo=CHICAGO)
    assert iv.end == datetime(2026, 11, 20, 15, tzinfo=CHICAGO)
    assert iv.follow_up is Medium.EMAIL
    assert iv.country == "US"
    assert iv.decision_by is None and iv.timeline is None
    assert iv.primary.name == "A"  # the first listed
    assert iv.events == ()


def test_start_is_a_wall_time_in_the_interviews_zone(tmp_path):
    (iv,) = load(tmp_path, MINIMAL + 'timezone = "Asia/Tokyo"\n', default_timezone="America/Chicago")
    assert iv.start.astimezone(UTC) == datetime(2026, 11, 20, 5, tzinfo=UTC)
    assert iv.timezone == ZoneInfo("Asia/Tokyo")


def test_an_offset_date_time_is_converted_to_the_interviews_zone(tmp_path):
    text = '[[interviews]]\ncompany = "A"\nstart = 2026-11-20T20:00:00Z\ntimezone = "America/Chicago"\n'
    (iv,) = load(tmp_path, text)
    assert iv.start == datetime(2026, 11, 20, 14, tzinfo=CHICAGO)
    assert iv.start.utcoffset() == timedelta(hours=-6)


def test_default_end_is_an_hour_of_elapsed_time(tmp_path):
    # Sun 2027-03-14 01:30 CST; Chicago springs forward at 02:00: an hour later is 03:30 CDT.
    (iv,) = load(
        tmp_path, MINIMAL.replace("2026-11-20T14:00:00", "2027-03-14T01:30:00") + 'timezone = "America/Chicago"'
    )
    assert iv.end.astimezone(UTC) - iv.start.astimezone(UTC) == timedelta(hours=1)
    assert iv.end.astimezone(UTC).astimezone(CHICAGO).replace(tzinfo=None) == iv.end.replace(tzinfo=None)


def test_primary_and_interviewer_zone(tmp_path):
    text = MINIMAL + (
        'timezone = "Europe/Berlin"\n'
        '[[interviews.interviewers]]\nname = "A"\nemail = "a@x.example"\n'
        '[[interviews.interviewers]]\nname = "B"\nphone = "+49 30 1234 5678"\nprimary = true\ntimezone = "Asia/Tokyo"\n'
    )
    (iv,) = load(tmp_path, text)
    assert iv.primary.name == "B"
    assert iv.primary.phone == "+49 30 1234 5678"
    assert iv.interviewers[0].timezone == ZoneInfo("Europe/Berlin")
    assert iv.interviewers[1].timezone == ZoneInfo("Asia/Tokyo")


def test_events_and_decision_by(tmp_path):
    text = MINIMAL + (
        "decision_by = 2026-11-30\n"
        'follow_up = "phone"\n'
        '[[interviews.events]]\ndate = 2026-12-03\nkind = "replied"\n'
        '[[interviews.events]]\ndate = 2026-11-25\nkind = "extended"\ndecision_by = 2026-12-09\n'
        '[[interviews.events]]\ndate = 2026-12-04\nkind = "replied"\ndecision_by = 2026-12-18\n'
        '[[interviews.events]]\ndate = 2026-12-20\nkind = "next-round"\n'
    )
    (iv,) = load(tmp_path, text)
    assert iv.decision_by == date(2026, 11, 30)
    assert iv.follow_up is Medium.PHONE
    assert [(e.date, e.kind, e.decision_by) for e in iv.events] == [
        (date(2026, 11, 25), EventKind.EXTENDED, date(2026, 12, 9)),
        (date(2026, 12, 3), EventKind.REPLIED, None),
        (date(2026, 12, 4), EventKind.REPLIED, date(2026, 12, 18)),
        (date(2026, 12, 20), EventKind.NEXT_ROUND, None),
    ]


@pytest.mark.parametrize("kind", [k.value for k in EventKind if k is not EventKind.EXTENDED])
def test_every_event_kind_is_accepted(tmp_path, kind):
    extra = 'followup = "check_in"\n' if kind == "sent" else ""
    (iv,) = load(tmp_path, MINIMAL + f'[[interviews.events]]\ndate = 2026-12-01\nkind = "{kind}"\n{extra}')
    assert iv.events[0].kind == EventKind(kind)


def test_country_and_subdivision(tmp_path):
    (iv,) = load(tmp_path, MINIMAL + 'country = "DE"\nsubdivision = "BE"\n', default_country="US")
    assert (iv.country, iv.subdivision) == ("DE", "BE")


def test_loading_writes_nothing(tmp_path):
    path = tmp_path / "interviews.toml"
    path.write_bytes(EXAMPLE.read_bytes())
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    load_interviews(path)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interviews.toml"]


def test_a_byte_order_mark_is_not_an_error(tmp_path):
    path = tmp_path / "interviews.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_interviews(path)[0].company == "Acme Corp"


# --- errors: the path, the line, the interview and the field -------------------------------------------------------


def test_toml_syntax_error_gives_path_and_line(tmp_path):
    message = error(tmp_path, '[[interviews]]\ncompany = "A"\nstart = 2026-11-20T14:00:00\nrole = "oops\n')
    assert message.startswith(f"{tmp_path / 'interviews.toml'}:4: ")
    assert "\n" not in message


def test_unknown_zone(tmp_path):
    message = error(
        tmp_path, '[[interviews]]\nid = "acme"\ncompany = "A"\nstart = 2026-11-20T14:00:00\ntimezone = "Mars/Olympus"\n'
    )
    assert message.startswith(f"{tmp_path / 'interviews.toml'}:5: ")
    assert "'acme'" in message and "timezone" in message and "Mars/Olympus" in message


def test_unknown_zone_of_an_interviewer(tmp_path):
    text = MINIMAL + 'id = "acme"\n[[interviews.interviewers]]\nname = "A"\ntimezone = "Nowhere/City"\n'
    message = error(tmp_path, text)
    assert ":8: " in message and "'acme'" in message and "timezone" in message and "Nowhere/City" in message


def test_end_before_start(tmp_path):
    message = error(tmp_path, MINIMAL + 'id = "acme"\nend = 2026-11-20T13:00:00\n')
    assert message.startswith(f"{tmp_path / 'interviews.toml'}:6: ")
    assert "'acme'" in message and "end" in message


def test_end_equal_to_start(tmp_path):
    assert "end" in error(tmp_path, MINIMAL + "end = 2026-11-20T14:00:00\n")


def test_unknown_event_kind(tmp_path):
    text = MINIMAL + 'id = "acme"\n[[interviews.events]]\ndate = 2026-12-01\nkind = "ghosted"\n'
    message = error(tmp_path, text)
    assert ":8: " in message and "'acme'" in message and "kind" in message and "ghosted" in message


def test_extended_without_decision_by(tmp_path):
    text = MINIMAL + 'id = "acme"\n[[interviews.events]]\ndate = 2026-12-01\nkind = "extended"\n'
    message = error(tmp_path, text)
    assert "'acme'" in message and "decision_by" in message and "extended" in message


def test_duplicate_id(tmp_path):
    text = MINIMAL + 'id = "acme"\n' + MINIMAL + 'id = "acme"\n'
    message = error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'interviews.toml'}:10: ")
    assert "'acme'" in message and "duplicate" in message and "id" in message


def test_duplicate_derived_id(tmp_path):
    message = error(tmp_path, MINIMAL + MINIMAL)
    assert "acme-corp-2026-11-20" in message and "duplicate" in message


def test_unknown_country(tmp_path):
    message = error(tmp_path, MINIMAL + 'id = "acme"\ncountry = "Atlantis"\n')
    assert message.startswith(f"{tmp_path / 'interviews.toml'}:6: ")
    assert "'acme'" in message and "country" in message and "Atlantis" in message


def test_unknown_subdivision(tmp_path):
    message = error(tmp_path, MINIMAL + 'id = "acme"\ncountry = "DE"\nsubdivision = "XX"\n')
    assert ":7: " in message and "'acme'" in message and "subdivision" in message


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(InputError) as caught:
        load_interviews(path)
    assert str(caught.value).startswith(f"{path}: ") and "not found" in str(caught.value)


def test_not_utf8_names_the_path(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[[interviews]]\ncompany = "Caf\xe9"\nstart = 2026-11-20T14:00:00\n')
    with pytest.raises(InputError) as caught:
        load_interviews(path)
    assert str(caught.value).startswith(f"{path}:2: ") and "UTF-8" in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('follow_up = "fax"\n', "follow_up"),
        ("decision_by = 2026-11-30T10:00:00\n", "decision_by"),
        ('decision_by = "next week"\n', "decision_by"),
        ("approved = 1\n", "approved"),
        ('requested = "references"\n', "requested"),
        ('colour = "blue"\n', "colour"),
    ],
)
def test_wrong_values_name_the_field(tmp_path, extra, field):
    message = error(tmp_path, MINIMAL + 'id = "acme"\n' + extra)
    assert "'acme'" in message and field in message and ":6: " in message


def test_missing_required_fields(tmp_path):
    assert "company" in error(tmp_path, '[[interviews]]\nid = "x"\nstart = 2026-11-20T14:00:00\n')
    assert "start" in error(tmp_path, '[[interviews]]\nid = "x"\ncompany = "A"\n')


def test_decision_by_before_the_interview_is_a_mistake(tmp_path):
    message = error(tmp_path, MINIMAL + 'id = "acme"\ndecision_by = 2025-11-27\n')
    assert ":6: " in message and "'acme'" in message and "decision_by" in message and "2025-11-27" in message


def test_an_event_before_the_interview_is_a_mistake(tmp_path):
    text = MINIMAL + 'id = "acme"\n[[interviews.events]]\ndate = 2026-11-19\nkind = "replied"\n'
    message = error(tmp_path, text)
    assert ":7: " in message and "'acme'" in message and "date" in message and "before the interview" in message


def test_an_extension_to_a_date_before_the_news_is_a_mistake(tmp_path):
    text = (
        MINIMAL + 'id = "acme"\n[[interviews.events]]\ndate = 2026-12-01\nkind = "extended"\ndecision_by = 2026-11-30\n'
    )
    message = error(tmp_path, text)
    assert ":9: " in message and "decision_by" in message and "before the event" in message


def test_events_on_the_interview_day_and_same_day_decisions_are_fine(tmp_path):
    text = MINIMAL + '[[interviews.events]]\ndate = 2026-11-20\nkind = "extended"\ndecision_by = 2026-11-20\n'
    (interview,) = load(tmp_path, text)
    assert interview.events[0].decision_by == date(2026, 11, 20)
