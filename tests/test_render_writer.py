"""The direct writer (no icalendar objects) against icalendar's own writer: the same follow-up gives the same bytes.

icalendar is the oracle: rendering with a ``decorate`` hook that changes nothing takes the icalendar path, rendering
without one takes the direct path; every byte must agree, for any text (long lines, non-ASCII, escapes, control
characters), zone, kind, component, state (done, cancelled, overdue) and alarm lead time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from calsync.ical_text import fold
from calsync.model import Kind, Medium, Status
from calsync.render import render_calendar, render_item, seal
from calsync.sync.identity import remote_uid
from tests.factories import followup, interview

ZONES = ["America/Chicago", "Europe/Berlin", "Asia/Tokyo", "UTC", "Africa/Casablanca", "Australia/Lord_Howe",
         "America/St_Johns", "Etc/GMT+5", "Pacific/Chatham", "Europe/Dublin"]  # fmt: skip

# Words that exercise the writer: escapes, folding points, multi-byte characters, forbidden controls.
text = st.lists(
    st.sampled_from([*"abc XYZ,;:\\\"'^\n\r\t\x00\x1b\x7f—é€𝄞中", "\\N", "\r\n", "word " * 20]),
    min_size=1,
    max_size=60,
).map("".join)


def unchanged(component, followup) -> None:
    """A decoration that decorates nothing: forces the icalendar writer."""


@st.composite
def followups(draw):
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
    hour = draw(st.integers(0, 23))
    start = datetime(day.year, day.month, day.day, hour, draw(st.sampled_from([0, 30, 59])), tzinfo=zone)
    medium = draw(st.sampled_from(list(Medium)))
    iv = interview(
        id=draw(st.sampled_from(["acme", "globex-2.b_c"])),
        company=draw(text),
        role=draw(text),
        start=start,
        end=start + timedelta(hours=1),
        timezone=zone,
        follow_up=medium,
        notes=draw(st.none() | text),
    )
    kind = draw(st.sampled_from(list(Kind)))
    due = start + timedelta(minutes=draw(st.integers(-600, 60 * 24 * 40)))
    return followup(
        kind,
        interview=iv,
        due=due.astimezone(ZoneInfo(draw(st.sampled_from(ZONES)))),
        status=draw(st.sampled_from(list(Status))),
        sent_on=draw(st.none() | st.just(day)),
        revision=draw(st.integers(0, 5)),
        duration_minutes=draw(st.sampled_from([0, 15, 90, 60 * 30])),
        notes=tuple(draw(st.lists(text, max_size=2))),
    )


@given(
    followups(),
    st.sampled_from(["event", "todo"]),
    st.integers(0, 7 * 24 * 60) | st.just({"check_in": 15, "retry": 1440}),
    st.none() | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2061, 1, 1), timezones=st.just(UTC)),
    st.sampled_from([None, "todo", "suffix"]),
)
def test_the_direct_writer_writes_what_icalendar_writes(followup, component, alarm, now, carried):
    # the UID the item carries on its target: the plan's, or one derived from it (a to-do target, a uid_suffix)
    uid = None if carried is None else remote_uid(followup.uid, component, "x" if carried == "suffix" else None)
    direct = render_item(followup, component=component, alarm_minutes=alarm, now=now, uid=uid)
    oracle = render_item(followup, component=component, alarm_minutes=alarm, now=now, decorate=unchanged, uid=uid)
    assert direct.ical == oracle.ical
    # and what it wrote reads back, sealed, with its UID: the seal covers the UID it carries
    component_read = direct.component
    assert str(component_read["UID"]) == direct.uid == (uid or followup.uid)
    assert str(component_read["X-CALSYNC-HASH"]) == seal(component_read)


@given(st.lists(followups(), min_size=1, max_size=4, unique_by=lambda f: f.uid), st.sampled_from(["event", "todo"]))
def test_a_whole_export_is_the_same_with_either_writer(plan, component):
    assert render_calendar(plan, component=component) == render_calendar(plan, component=component, decorate=unchanged)


@given(st.text(st.sampled_from("\\^a é—𝄞") | st.characters(exclude_categories=("Cs",)), max_size=400))
def test_folding_is_icalendars(line):
    line = line.replace("\n", " ").replace("\r", " ")
    from icalendar.parser.string import _foldline

    assert fold(line) == _foldline(line)


def content_hash_by_lines(data: bytes) -> str:
    """The content hash as first written (line by line, a regex per line): what every state database holds."""
    import hashlib

    from calsync.ical_text import content_lines, property_name

    digest = hashlib.sha256()
    for line, _raw in content_lines(data):
        if property_name(line) not in ("DTSTAMP", "SEQUENCE"):
            digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


ical_lines = st.lists(
    st.sampled_from(["BEGIN:VEVENT", "DTSTAMP:1", "dtstamp;X=1:2", "SEQUENCE:3", "SEQUENCEX:4", "ſEQUENCE:5",
                     " folded", "\tfolded", "", "UID:é—x", "SUMMARY:a\\,b", "END:VEVENT", "X:\r"]),
    max_size=12,
)  # fmt: skip


@given(ical_lines, st.sampled_from(["\r\n", "\n", "\r"]), st.binary(max_size=8))
def test_the_content_hash_is_the_one_every_state_holds(lines, newline, noise):
    from calsync.provider import Item
    from calsync.rewrite import content_hash

    data = newline.join(lines).encode() + noise
    assert content_hash(Item("u", data)) == content_hash_by_lines(data)
