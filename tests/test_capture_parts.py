"""The pure parts behind the capture commands: references, typed dates, invitations, plan changes, suggestions."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability import count
from test_planner_properties import interviews, policies, run

from calsync.capture import end_after, new_id, parse_person
from calsync.errors import UserError
from calsync.invite import read_invite
from calsync.model import Kind
from calsync.plan_changes import changes
from calsync.refs import ref_of, resolve
from calsync.suggest import country_candidates, zone_candidates
from calsync.when import parse_day, parse_duration, parse_moment

# --- references -------------------------------------------------------------------------------------------------


@settings(max_examples=80)
@given(st.lists(interviews(), min_size=1, max_size=3), policies)
def test_every_follow_up_has_one_reference_that_names_it_back(ivs, policy):
    ivs = [iv.__class__(**{**iv.__dict__, "id": f"iv{n}"}) for n, iv in enumerate(ivs)]
    followups = [f for iv in ivs for f in run(iv, policy).followups]
    refs = [ref_of(f) for f in followups]
    assert len(set(refs)) == len(followups)  # unique
    for f, ref in zip(followups, refs, strict=True):
        assert ref.startswith(f"{f.interview.id}/")
        assert resolve(ref, followups) is f
        assert resolve(ref.replace("-", "_"), followups) is f  # _ and - alike


@settings(max_examples=50)
@given(interviews(), policies)
def test_references_do_not_change_when_news_adds_a_round(iv, policy):
    """A new round (an extension after the check-in) appends references; the earlier ones keep theirs."""
    from calsync.model import EventKind, HistoryEvent

    before = run(iv.__class__(**{**iv.__dict__, "events": ()}), policy).followups
    check_ins = [f for f in before if f.kind is Kind.CHECK_IN]
    if not check_ins:
        return
    later = check_ins[0].due.date() + timedelta(days=1)
    news = HistoryEvent(later, EventKind.EXTENDED, later + timedelta(days=10))
    after = run(iv.__class__(**{**iv.__dict__, "events": (news,)}), policy).followups
    old = {f.uid: ref_of(f) for f in before}
    new = {f.uid: ref_of(f) for f in after}
    assert all(new[uid] == ref for uid, ref in old.items())
    assert "iv/check-in@2" in new.values()


# --- dates typed on the command line ----------------------------------------------------------------------------

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(days, st.integers(0, 23), st.integers(0, 59), st.sampled_from(["{d} {h:02d}:{m:02d}", "{d}T{h:02d}:{m:02d}"]))
def test_at_reads_iso_with_or_without_seconds(day, hour, minute, form):
    text = form.format(d=day.isoformat(), h=hour, m=minute)
    assert parse_moment(text, date(2026, 1, 1)) == datetime(day.year, day.month, day.day, hour, minute)
    assert parse_moment(text + ":00", date(2026, 1, 1)) == datetime(day.year, day.month, day.day, hour, minute)


@given(days, st.integers(1, 12), st.sampled_from(["am", "pm", "AM", "p.m."]))
def test_at_reads_a_day_phrase_and_a_twelve_hour_clock(today, hour, half):
    moment = parse_moment(f"tomorrow {hour}{half}", today)
    assert moment.date() == today + timedelta(days=1)
    assert moment.hour == hour % 12 + (12 if half.lower().startswith("p") else 0)


@given(days, st.integers(0, 6))
def test_on_a_weekday_is_the_latest_such_day(today, weekday):
    name = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][weekday]
    found = parse_day(name, today, past=True)
    assert found.weekday() == weekday and today - timedelta(days=6) <= found <= today
    last = parse_day(f"last {name}", today, past=True)
    assert last.weekday() == weekday and today - timedelta(days=7) <= last < today


@given(days, st.integers(0, 60))
def test_days_ago_and_yesterday(today, n):
    assert parse_day(f"{n} days ago", today, past=True) == today - timedelta(days=n)
    assert parse_day("yesterday", today, past=True) == today - timedelta(days=1)


def test_decision_phrases_read_forward_from_the_given_day():
    assert parse_day("next friday", date(2026, 12, 1)) == date(2026, 12, 4)
    assert parse_day("in two weeks", date(2026, 11, 25)) == date(2026, 12, 9)
    assert parse_day("end of month", date(2026, 11, 25)) == date(2026, 11, 30)
    assert parse_day("2026-12-09", date(2026, 11, 25)) == date(2026, 12, 9)
    with pytest.raises(UserError, match="cannot read 'soonish' as a date"):
        parse_day("soonish", date(2026, 11, 25))


@given(st.integers(1, 23), st.integers(0, 59))
def test_durations(hours, minutes):
    expected = timedelta(hours=hours, minutes=minutes)
    for text in (f"{hours}h{minutes}m", f"{hours}h {minutes}min", f"{hours}:{minutes:02d}", str(hours * 60 + minutes)):
        assert parse_duration(text) == expected
    assert parse_duration(f"{hours}.5h") == timedelta(hours=hours, minutes=30)


@pytest.mark.parametrize("text", ["0", "forever", "25h", "-1h", ""])
def test_bad_durations(text):
    with pytest.raises(UserError, match="--duration"):
        parse_duration(text)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)), st.integers(1, 600))
def test_end_after_is_elapsed_time_even_across_dst(start, minutes):
    zone = ZoneInfo("America/Chicago")
    end = end_after(start, timedelta(minutes=minutes), zone)
    aware = end if end.tzinfo else end.replace(tzinfo=zone)
    assert aware.astimezone(UTC) - start.replace(tzinfo=zone).astimezone(UTC) == timedelta(minutes=minutes)


# --- people and ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name", "email"),
    [
        ("Dana Smith <dana@acme.example>", "Dana Smith", "dana@acme.example"),
        ('"Smith, Dana" <dana@acme.example>', "Smith, Dana", "dana@acme.example"),
        ("dana.smith@acme.example", "Dana Smith", "dana.smith@acme.example"),
        ("<lee@acme.example>", "Lee", "lee@acme.example"),
        ("Dana Smith", "Dana Smith", None),
    ],
)
def test_interviewer_specs(spec, name, email):
    person = parse_person(spec)
    assert (person.name, person.email) == (name, email)


@pytest.mark.parametrize(
    ("company", "role", "taken", "expected"),
    [
        ("Acme Corp", "Staff Engineer", [], "acme-staff"),
        ("The Globex Corporation", "Site Reliability Engineer", [], "globex-sre"),
        ("Initech", None, ["initech"], "initech-2"),
        ("Initech", "", ["initech", "INITECH-2"], "initech-3"),
        ("Ünïcode & Co", "Lead", [], "unicode-lead"),
    ],
)
def test_new_ids(company, role, taken, expected):
    assert new_id(company, role, taken) == expected


# --- invitations ------------------------------------------------------------------------------------------------


def _invite(tzid_line: str, dtstart: str, attendees: str = "") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x@example\r\n"
        f"DTSTAMP:20261101T000000Z\r\nDTSTART{tzid_line}:{dtstart}\r\nDURATION:PT30M\r\n{attendees}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_every_windows_zone_name_resolves_to_its_iana_zone():
    from tzlocal.windows_tz import win_tz

    wrong = []
    for windows, iana in win_tz.items():
        invite = read_invite(_invite(f";TZID={windows}", "20261201T140000"), default_zone="Asia/Tokyo")
        if iana in ("Etc/UTC", "Etc/GMT"):  # "UTC": an instant, shown in the user's zone
            ok = invite.start == datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
        else:
            ok = invite.zone == iana and invite.start.replace(tzinfo=None) == datetime(2026, 12, 1, 14, 0)
        if not ok:
            wrong.append((windows, iana, invite.zone))
    assert wrong == []


@pytest.mark.parametrize(
    ("tzid", "zone"),
    [
        ('"(UTC-08:00) Pacific Time (US & Canada)"', "America/Los_Angeles"),
        ('"(UTC-05:00) Eastern Time (US & Canada)"', "America/New_York"),
        ('"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"', "Europe/Berlin"),
        ('"(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi"', "Asia/Calcutta"),
        ("/mozilla.org/20050126_1/Europe/Paris", "Europe/Paris"),
        ("Asia/Tokyo", "Asia/Tokyo"),
    ],
)
def test_zone_names_invitations_use(tzid, zone):
    invite = read_invite(_invite(f";TZID={tzid}", "20261201T140000"))
    assert ZoneInfo(invite.zone).utcoffset(datetime(2026, 12, 1)) == ZoneInfo(zone).utcoffset(datetime(2026, 12, 1))
    assert invite.zone_from_invite


def test_utc_and_floating_times_are_shown_in_the_users_zone():
    utc = read_invite(_invite("", "20261201T200000Z"), default_zone="Europe/Berlin")
    assert (utc.zone, utc.zone_from_invite) == ("Europe/Berlin", False)
    assert utc.start == datetime(2026, 12, 1, 21, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    floating = read_invite(_invite("", "20261201T200000"), default_zone="Asia/Tokyo")
    assert floating.start == datetime(2026, 12, 1, 20, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert floating.end - floating.start == timedelta(minutes=30)


def test_people_rules():
    attendees = (
        "ORGANIZER;CN=Recruiting:mailto:noreply@jobs.example\r\n"
        'ATTENDEE;CN="Doe, Jane":mailto:jane@x.example\r\n'
        "ATTENDEE;CN=jane@x.example:mailto:JANE@x.example\r\n"
        "ATTENDEE;CUTYPE=ROOM;CN=Room 1:mailto:room1@x.example\r\n"
        "ATTENDEE;CN=Board:mailto:c_123@resource.calendar.google.com\r\n"
        "ATTENDEE;CN=Me Myself:mailto:me@home.example\r\n"
        "ATTENDEE;EMAIL=kim.lee@x.example:urn:uuid:1234\r\n"
    )
    invite = read_invite(_invite("", "20261201T200000Z", attendees), me=["ME@home.example"])
    assert [(p.name, p.email) for p in invite.people] == [
        ("Jane Doe", "jane@x.example"),
        ("Kim Lee", "kim.lee@x.example"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a calendar", "not an iCalendar invitation"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "has no event"),
        (_invite(";VALUE=DATE", "20261201"), "for a whole day"),
    ],
)
def test_bad_invitations(data, message):
    with pytest.raises(UserError, match=message):
        read_invite(data)


# --- plan changes and suggestions -------------------------------------------------------------------------------


@settings(max_examples=50)
@given(interviews(), policies)
def test_a_plan_compared_with_itself_has_no_changes(iv, policy):
    followups = run(iv, policy).followups
    assert changes(followups, followups) == []
    assert all(c.before is None for c in changes([], followups))
    assert len(changes([], followups)) == len(followups)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("PST", "America/Los_Angeles"), ("cet", "Europe/Paris"), ("Europe/Berln", "Europe/Berlin"),
     ("new york", "America/New_York"), ("Tokyo", "Asia/Tokyo"), ("Eastern Standard Time", "America/New_York")],
)  # fmt: skip
def test_zone_suggestions(name, expected):
    assert zone_candidates(name)[0] == expected


@pytest.mark.parametrize(("name", "expected"), [("Germany", "DE"), ("UK", "GB"), ("Frnace", "FR"), ("USA", "US")])
def test_country_suggestions(name, expected):
    assert country_candidates(name)[0] == expected


# --- fuzz: what people and mail clients send never gets past a one-line error -----------------------------------

_OUTLOOK = (Path(__file__).resolve().parent / "invites" / "outlook.ics").read_text().splitlines()


@settings(max_examples=int(os.environ.get("CALSYNC_ROUNDS", "150")))
@given(st.data())
def test_a_damaged_invitation_is_read_or_refused_in_one_line(data):
    """Lines deleted, doubled or garbled in a real Outlook invitation: an Invite or a UserError, nothing else."""
    lines = list(_OUTLOOK)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["delete", "double", "garble"]))
        if how == "delete":
            del lines[i]
        elif how == "double":
            lines.insert(i, lines[i])
        else:
            at = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + data.draw(st.text(max_size=8)) + lines[i][at + 1 :]
    try:
        invite = read_invite("\r\n".join(lines).encode("utf-8", "surrogatepass"))
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert invite.end > invite.start
    count("fuzz", "damaged invitations read", 1)


@settings(max_examples=int(os.environ.get("CALSYNC_ROUNDS", "150")))
@given(st.text(max_size=30))
def test_typed_dates_and_lengths_are_read_or_refused(text):
    """Anything typed: a naive wall time, a date, a length within a day, or a UserError; nothing else."""
    checks = (
        (lambda: parse_moment(text, date(2026, 1, 1)), lambda v: isinstance(v, datetime) and v.tzinfo is None),
        (lambda: parse_day(text, date(2026, 1, 1), past=True), lambda v: type(v) is date),
        (lambda: parse_duration(text), lambda v: timedelta(0) < v <= timedelta(days=1)),
    )
    for read, valid in checks:
        try:
            value = read()
        except UserError:
            continue
        assert valid(value), (text, value)
    count("fuzz", "typed dates and lengths", 3)
