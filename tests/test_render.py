"""Rendering follow-ups as iCalendar, checked with three real parsers: icalendar, the strict ``ical`` and vobject."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
import vobject.icalendar
from factories import followup, interview
from hypothesis import given
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream

from calsync.errors import UserError
from calsync.model import FollowUp, Interviewer, Kind, Medium, Status
from calsync.provider import MANAGED_PROPERTY
from calsync.render import (
    PRODID,
    content_hash,
    parse_items,
    render_calendar,
    render_item,
    vtimezone,
    with_revision,
    with_status_cancelled,
)
from calsync.templates import Templates
from calsync.uids import make_uid

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
DUBLIN = ZoneInfo("Europe/Dublin")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
CASABLANCA = ZoneInfo("Africa/Casablanca")


# --- parsers ------------------------------------------------------------------------------------------------------


def vobject_read(text: str):
    """vobject, with its process-wide TZID registry emptied first: it keeps the first VTIMEZONE it ever saw for a
    TZID, so without this one test's VTIMEZONE would be used to read another's."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    parsed = vobject.readOne(text)
    parsed.validate()
    return parsed


def instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def components(calendar: icalendar.Calendar) -> list[icalendar.Component]:
    return [c for c in calendar.subcomponents if c.name in ("VEVENT", "VTODO")]


def vobject_components(parsed) -> list:
    return [c for c in parsed.getChildren() if c.name in ("VEVENT", "VTODO")]


def due_of(f: FollowUp) -> datetime:
    return instant(f.due.replace(microsecond=0))


def end_of(f: FollowUp) -> datetime:
    """Elapsed minutes after the due instant, whatever DST does."""
    return due_of(f) + timedelta(minutes=f.duration_minutes)


def check_all_parsers(data: bytes, plan: list[FollowUp]) -> None:
    """``data`` parses with the three parsers, and each reads back every follow-up's UID, due instant, status,
    kind and interview."""
    text = data.decode("utf-8")
    by_uid = {f.uid: f for f in plan}

    parsed = icalendar.Calendar.from_ical(data)
    found = components(parsed)
    assert sorted(str(c["UID"]) for c in found) == sorted(by_uid)
    for comp in found:
        f = by_uid[str(comp["UID"])]
        if comp.name == "VTODO":
            assert instant(comp["DUE"].dt) == due_of(f)
            assert instant(comp["DTSTART"].dt) == due_of(f) - timedelta(minutes=f.duration_minutes)
            assert str(comp["STATUS"]) == ("CANCELLED" if f.cancelled else "NEEDS-ACTION")
        else:
            assert instant(comp["DTSTART"].dt) == due_of(f)
            assert instant(comp["DTEND"].dt) == end_of(f)
            assert str(comp["STATUS"]) == ("CANCELLED" if f.cancelled else "CONFIRMED")
        assert str(comp["X-CALSYNC-KIND"]) == f.kind.value
        assert str(comp["X-CALSYNC-INTERVIEW"]) == f.interview.id
        assert str(comp[MANAGED_PROPERTY]) == "1"

    strict = IcsCalendarStream.calendar_from_ics(text)
    strict_items = [*strict.events, *strict.todos]
    assert sorted(item.uid for item in strict_items) == sorted(by_uid)
    for item in strict.events:
        f = by_uid[item.uid]
        assert instant(item.dtstart) == due_of(f)
        assert instant(item.dtend) == end_of(f)
    for item in strict.todos:
        assert instant(item.due) == due_of(by_uid[item.uid])
    for item in strict_items:
        f = by_uid[item.uid]
        assert str(item.status.value if item.status else "") in ("CONFIRMED", "CANCELLED", "NEEDS-ACTION")
        assert (str(item.status.value) == "CANCELLED") == f.cancelled

    loose = vobject_read(text)
    loose_items = vobject_components(loose)
    assert sorted(c.uid.value for c in loose_items) == sorted(by_uid)
    for comp in loose_items:
        f = by_uid[comp.uid.value]
        # the VTIMEZONE as vobject reads it converts the local time to the right instant
        when = comp.due.value if comp.name == "VTODO" else comp.dtstart.value
        assert instant(when) == due_of(f)
        assert comp.status.value == ("CANCELLED" if f.cancelled else comp.status.value)
        assert comp.contents["x-calsync-kind"][0].value == f.kind.value


# --- a varied plan --------------------------------------------------------------------------------------------------


def varied_plan() -> list[FollowUp]:
    """Every kind, email and phone, a cancelled one, zones with odd offsets and negative DST, UTC, and two
    check-ins of one interview on either side of New York's DST change."""
    acme = interview()
    phone_iv = interview(
        id="globex-sre",
        company="Globex, Inc.",
        role="SRE",
        follow_up=Medium.PHONE,
        interviewers=(Interviewer("Ram Thapa", KATHMANDU, "ram@globex.example", "(977) 1-555-0199"),),
        requested=(),
        approved=None,
    )
    euro = interview(
        id="initech-dublin",
        company="Initech",
        role="Backend Engineer",
        start=datetime(2027, 3, 1, 10, tzinfo=DUBLIN),
        end=datetime(2027, 3, 1, 11, tzinfo=DUBLIN),
        timezone=DUBLIN,
        interviewers=(Interviewer("Aoife Byrne", DUBLIN, "aoife@initech.example"),),
    )
    return [
        followup(Kind.CLOSING, due=datetime(2026, 11, 20, 14, 50, tzinfo=CHICAGO)),
        followup(Kind.THANK_YOU, due=datetime(2026, 11, 20, 16, 0, tzinfo=CHICAGO)),
        followup(
            Kind.THANK_YOU,
            uid=make_uid(acme.id, "thank_you", "lee"),
            recipient=acme.interviewers[1],
            due=datetime(2026, 11, 20, 16, 0, tzinfo=UTC),
        ),
        followup(Kind.CHECK_IN, due=datetime(2026, 10, 30, 10, 0, tzinfo=NEW_YORK)),
        followup(Kind.RETRY, attempt=1, due=datetime(2026, 11, 2, 10, 0, tzinfo=NEW_YORK)),
        followup(Kind.FEEDBACK_REQUEST, status=Status.CANCELLED, revision=2),
        followup(Kind.CHECK_IN, interview=phone_iv, due=datetime(2026, 12, 7, 11, 0, tzinfo=KATHMANDU)),
        followup(Kind.THANK_YOU, interview=phone_iv, due=datetime(2026, 12, 1, 9, 0, tzinfo=KATHMANDU)),
        followup(Kind.RETRY, interview=phone_iv, attempt=1, due=datetime(2027, 1, 4, 10, tzinfo=LORD_HOWE)),
        followup(Kind.FEEDBACK_REQUEST, interview=phone_iv, due=datetime(2027, 2, 10, 10, tzinfo=CASABLANCA)),
        followup(Kind.CHECK_IN, interview=euro, assumed=True, due=datetime(2027, 3, 10, 10, tzinfo=DUBLIN)),
        followup(Kind.CLOSING, interview=euro, due=datetime(2027, 3, 1, 10, 50, tzinfo=DUBLIN)),
    ]


PLAN = varied_plan()


def find(plan: list[FollowUp], kind: Kind, interview_id: str = "acme-staff") -> FollowUp:
    return next(f for f in plan if f.kind is kind and f.interview.id == interview_id)


# --- parsing with every parser --------------------------------------------------------------------------------------


@pytest.mark.parametrize("component", ["event", "todo"])
@pytest.mark.parametrize("index", range(len(PLAN)))
def test_every_item_parses_and_round_trips(component: str, index: int) -> None:
    f = PLAN[index]
    item = render_item(f, component=component, alarm_minutes=5)
    assert item.uid == f.uid
    assert item.sequence == f.revision
    assert item.cancelled == f.cancelled
    assert item.followup is f
    assert item.component.name == ("VTODO" if component == "todo" else "VEVENT")
    check_all_parsers(item.ical, [f])
    # the calendar object handed out serializes to the same content
    assert icalendar.Calendar.from_ical(item.calendar.to_ical()) == icalendar.Calendar.from_ical(item.ical)


@pytest.mark.parametrize("component", ["event", "todo"])
def test_the_whole_plan_as_one_calendar(component: str) -> None:
    data = render_calendar(PLAN, component=component, alarm_minutes=10)
    check_all_parsers(data, PLAN)
    parsed = icalendar.Calendar.from_ical(data)
    tzids = [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")]
    assert len(tzids) == len(set(tzids))  # each VTIMEZONE once
    assert set(tzids) == {
        "America/Chicago",
        "America/New_York",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "Africa/Casablanca",
        "Europe/Dublin",
    }
    assert str(parsed["PRODID"]) == PRODID
    assert b"ATTENDEE" not in data and b"METHOD" not in data
    cancelled = [c for c in components(parsed) if str(c["STATUS"]) == "CANCELLED"]
    assert [str(c["UID"]) for c in cancelled] == [f.uid for f in PLAN if f.cancelled]


def test_vobject_reads_every_vtimezone_exactly() -> None:
    """Not only at the due times: at every 3 hours of the years covered, vobject's reading of each VTIMEZONE
    gives zoneinfo's offset (icalendar's own generator misses Morocco's short Ramadan change)."""
    data = render_calendar(PLAN)
    parsed = vobject_read(data.decode())
    for tz in parsed.vtimezone_list:
        zone = ZoneInfo(tz.tzid.value)
        reading = tz.gettzinfo()
        years = [sub.dtstart.value.year for sub in tz.components()]
        moment = datetime(min(years), 1, 1, 3)
        while moment.year <= max(years):
            expected = moment.replace(tzinfo=zone)
            if expected.replace(fold=1).utcoffset() == expected.utcoffset():  # skip ambiguous wall times
                assert moment.replace(tzinfo=reading).utcoffset() == expected.utcoffset(), (tz.tzid.value, moment)
            moment += timedelta(hours=3)


@pytest.mark.parametrize("key", ["Africa/Casablanca", "Europe/Dublin", "Australia/Lord_Howe", "America/St_Johns"])
def test_vtimezone_lists_every_transition_of_its_years(key: str) -> None:
    text = vtimezone(key, 2026, 2028).decode().replace("\r\n", "\n")
    zone = ZoneInfo(key)
    onsets = re.findall(r"^(?:DTSTART|RDATE):(\d{8}T\d{6})$", text, re.MULTILINE)
    first = min(int(onset[:4]) for onset in onsets)
    # zones whose standard offset is 0 start in 2000, for vobject (see calsync.render.vtimezone)
    assert first == (2000 if key in ("Africa/Casablanca", "Europe/Dublin") else 2026)
    changes = 0
    moment = datetime(first, 1, 1, tzinfo=UTC)
    while moment.year < 2029:
        nxt = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            changes += 1
        moment = nxt
    assert len(onsets) == changes + 1  # the first observance, then one onset per change
    assert all(line.count(",") == 0 for line in text.splitlines() if line.startswith("RDATE"))


def test_vtimezones_cover_only_the_years_used() -> None:
    item = render_item(followup(Kind.CHECK_IN))
    text = item.ical.decode().replace("\r\n", "\n")
    years = {int(y) for y in re.findall(r"^(?:DTSTART|RDATE):(\d{4})", text, re.MULTILINE)}
    assert years == {2026}
    assert "1970" not in text
    whole = icalendar.Calendar.from_ical(render_calendar(PLAN))
    for tz in whole.walk("VTIMEZONE"):
        text = tz.to_ical().decode().replace("\r\n", "\n")
        years = {int(y) for y in re.findall(r"^(?:DTSTART|RDATE):(\d{4})\d{4}T", text, re.MULTILINE)}
        used = {f.due.year for f in PLAN if getattr(f.due.tzinfo, "key", None) == str(tz["TZID"])}
        low = 2000 if str(tz["TZID"]) in ("Africa/Casablanca", "Europe/Dublin") else min(used)
        assert min(years) == low and max(years) <= max(used), str(tz["TZID"])


def test_utc_is_written_with_z_and_no_vtimezone() -> None:
    f = followup(Kind.CHECK_IN, due=datetime(2026, 11, 30, 15, 0, tzinfo=ZoneInfo("Etc/UTC")))
    text = render_item(f).ical.decode()
    assert "DTSTART:20261130T150000Z" in text
    assert "VTIMEZONE" not in text
    check_all_parsers(text.encode(), [f])


def test_the_due_zone_is_the_tzid() -> None:
    text = render_item(followup(Kind.CHECK_IN)).ical.decode()
    assert "DTSTART;TZID=America/New_York:20261130T100000" in text
    assert "DTEND;TZID=America/New_York:20261130T101500" in text


def test_duration_is_elapsed_time_across_a_dst_change() -> None:
    f = followup(Kind.CHECK_IN, due=datetime(2026, 11, 1, 1, 50, tzinfo=NEW_YORK))  # EDT; 02:05 is EST
    comp = render_item(f).component
    assert instant(comp["DTEND"].dt) - instant(comp["DTSTART"].dt) == timedelta(minutes=15)


def test_ambiguous_and_missing_local_times_keep_their_instant() -> None:
    second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # the second 01:30 (EST)
    gap = datetime(2026, 3, 8, 2, 30, tzinfo=NEW_YORK)  # does not exist
    plan = [
        followup(Kind.CHECK_IN, due=second),
        followup(Kind.RETRY, attempt=1, due=gap),
    ]
    for f in plan:
        check_all_parsers(render_item(f).ical, [f])
    check_all_parsers(render_calendar(plan), plan)


# --- what the components say --------------------------------------------------------------------------------------


def test_every_required_property() -> None:
    f = find(PLAN, Kind.CHECK_IN)
    comp = render_item(f, alarm_minutes=15).component
    assert str(comp["UID"]) == f.uid
    assert comp["DTSTAMP"].dt == f.revised.astimezone(UTC)
    assert comp["SEQUENCE"] == 0
    assert str(comp["SUMMARY"]) == "Check in with Dana Smith by email — Acme Corp, Staff Engineer"
    assert list(comp["CATEGORIES"].cats) == ["Job search", "Check-in", "Acme Corp"]
    related = comp["RELATED-TO"]
    assert str(related) == make_uid("acme-staff", "interview")
    assert related.params["RELTYPE"] == "SIBLING"
    assert "dana@acme.example" in str(comp["CONTACT"])
    assert "ATTENDEE" not in comp and "ORGANIZER" not in comp
    (alarm,) = comp.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)
    assert str(alarm["DESCRIPTION"]) == str(comp["SUMMARY"])


def test_summaries() -> None:
    summaries = {(f.kind, f.interview.id): str(render_item(f).component["SUMMARY"]) for f in PLAN if f is not PLAN[2]}
    assert str(render_item(PLAN[2]).component["SUMMARY"]) == "Thank-you note to Lee Park — Acme Corp, Staff Engineer"
    assert summaries[(Kind.THANK_YOU, "acme-staff")] == "Thank-you note to Dana Smith — Acme Corp, Staff Engineer"
    assert summaries[(Kind.CLOSING, "acme-staff")] == "Before your Acme Corp interview: closing questions"
    assert (
        summaries[(Kind.RETRY, "acme-staff")] == "Retry: check in with Dana Smith by email — Acme Corp, Staff Engineer"
    )
    assert summaries[(Kind.FEEDBACK_REQUEST, "acme-staff")] == "Ask Dana Smith for feedback — Acme Corp, Staff Engineer"
    assert summaries[(Kind.CHECK_IN, "globex-sre")] == "Check in with Ram Thapa by phone — Globex, Inc., SRE"


def test_relations_tie_an_interviews_items_together() -> None:
    related = {}
    for f in PLAN:
        related.setdefault(f.interview.id, set()).add(str(render_item(f).component["RELATED-TO"]))
    assert all(len(values) == 1 for values in related.values())
    assert len({next(iter(v)) for v in related.values()}) == len(related)


def test_a_comma_in_the_company_does_not_split_its_category() -> None:
    f = find(PLAN, Kind.CHECK_IN, "globex-sre")
    data = render_item(f).ical
    parsed = vobject_read(data.decode())
    assert parsed.vevent.categories.value == ["Job search", "Check-in", "Globex Inc."]
    strict = IcsCalendarStream.calendar_from_ics(data.decode())
    assert strict.events[0].categories == ["Job search", "Check-in", "Globex Inc."]
    # the summary keeps it as written
    assert "Globex, Inc." in str(parsed.vevent.summary.value)


def test_a_todo_has_dtstart_due_and_an_alarm_on_due() -> None:
    f = find(PLAN, Kind.THANK_YOU)
    comp = render_item(f, component="todo", alarm_minutes=30).component
    assert comp.name == "VTODO"
    assert comp["DUE"].dt == f.due and comp["DTSTART"].dt == f.due - timedelta(minutes=15)
    assert "DTEND" not in comp
    assert str(comp["STATUS"]) == "NEEDS-ACTION"
    (alarm,) = comp.walk("VALARM")
    assert alarm["TRIGGER"].params["RELATED"] == "END"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)


@pytest.mark.parametrize("component", ["event", "todo"])
def test_cancelled_keeps_its_summary_and_has_no_alarm(component: str) -> None:
    f = find(PLAN, Kind.FEEDBACK_REQUEST)
    item = render_item(f, component=component)
    assert item.cancelled and item.sequence == 2
    assert str(item.component["STATUS"]) == "CANCELLED"
    assert str(item.component["SUMMARY"]) == "Ask Dana Smith for feedback — Acme Corp, Staff Engineer"
    assert not item.component.walk("VALARM")


def test_lines_are_folded_at_75_octets() -> None:
    data = render_calendar(PLAN)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    assert data.endswith(b"END:VCALENDAR\r\n")


def description(f: FollowUp, **kwargs) -> str:
    return str(render_item(f, **kwargs).component["DESCRIPTION"])


def test_email_description_has_a_decodable_mailto_link() -> None:
    f = find(PLAN, Kind.THANK_YOU)
    text = description(f)
    (link,) = re.findall(r"mailto:\S+", text)
    parts = urlsplit(link)
    assert unquote(parts.path) == "dana@acme.example"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query["subject"] == ["Thank you — Staff Engineer interview"]
    (body,) = query["body"]
    assert "\r\n" in body and "\n\n" not in body.replace("\r\n", "")
    assert "- portfolio link\r\n- two references" in body
    assert body.startswith("Hi Dana,")
    # the draft is also readable as it is
    assert "- portfolio link\n- two references" in text
    assert "Thank you for taking the time" in text


def test_phone_description_has_a_tel_link_and_a_script() -> None:
    f = find(PLAN, Kind.CHECK_IN, "globex-sre")
    text = description(f)
    (link,) = re.findall(r"tel:\S+", text)
    assert link == "tel:97715550199"
    assert "mailto:" not in text
    assert "Ram" in text and "[your name]" in text


def test_check_in_description_names_the_deadline_and_approval() -> None:
    stated = description(find(PLAN, Kind.CHECK_IN))
    assert "Friday, November 27, 2026" in stated and "assumed" not in stated
    assert "welcomed a follow-up" in stated
    assert "don't push" in stated
    assumed = description(find(PLAN, Kind.CHECK_IN, "initech-dublin"))
    assert "assumed" in assumed
    unknown = description(find(PLAN, Kind.CHECK_IN, "globex-sre"))
    assert "don't know whether they welcome" in unknown


def test_other_descriptions() -> None:
    assert "last try" in description(find(PLAN, Kind.RETRY))
    feedback = description(find(PLAN, Kind.FEEDBACK_REQUEST))
    assert "feedback" in feedback and "not to move forward" in feedback
    closing = description(find(PLAN, Kind.CLOSING))
    for words in ("Summarise your fit", "hesitate", "next steps", "timeline", "follow up", "phone or email"):
        assert words in closing


# --- determinism, hashes, revisions ---------------------------------------------------------------------------------


def test_rendering_is_deterministic() -> None:
    for f in PLAN:
        assert render_item(f).ical == render_item(f).ical
    first = render_calendar(PLAN)
    for seed in range(3):
        shuffled = list(PLAN)
        random.Random(seed).shuffle(shuffled)
        assert render_calendar(shuffled) == first
        assert render_calendar(iter(shuffled)) == first


def test_content_hash_ignores_sequence_and_dtstamp_only() -> None:
    f = find(PLAN, Kind.CHECK_IN)
    base = render_item(f)
    later = render_item(f, sequence=7, dtstamp=datetime(2027, 5, 5, 12, tzinfo=UTC))
    assert later.ical != base.ical
    assert content_hash(later) == content_hash(base)
    moved = render_item(followup(Kind.CHECK_IN, due=f.due + timedelta(days=1)))
    assert content_hash(moved) != content_hash(base)
    reworded = render_item(followup(Kind.CHECK_IN, interview=interview(requested=("a writing sample",))))
    assert content_hash(reworded) != content_hash(base)
    cancelled = render_item(followup(Kind.CHECK_IN, status=Status.CANCELLED))
    assert content_hash(cancelled) != content_hash(base)
    todo = render_item(f, component="todo")
    assert content_hash(todo) != content_hash(base)


def test_with_revision_changes_only_sequence_and_dtstamp() -> None:
    item = render_item(find(PLAN, Kind.CHECK_IN))
    stamp = datetime(2026, 12, 1, 8, 30, tzinfo=NEW_YORK)
    bumped = with_revision(item, 3, stamp)
    assert bumped.sequence == 3 and bumped.uid == item.uid and bumped.followup is item.followup
    assert bumped.component["SEQUENCE"] == 3
    assert bumped.component["DTSTAMP"].dt == stamp.astimezone(UTC)
    assert content_hash(bumped) == content_hash(item)
    changed = [(a, b) for a, b in zip(item.ical.split(b"\r\n"), bumped.ical.split(b"\r\n"), strict=True) if a != b]
    assert [a.split(b":")[0] for a, _ in changed] == [b"DTSTAMP", b"SEQUENCE"]
    assert with_revision(bumped, 0, item.component["DTSTAMP"].dt).ical == item.ical
    check_all_parsers(bumped.ical, [item.followup])


@pytest.mark.parametrize("component", ["event", "todo"])
def test_with_status_cancelled(component: str) -> None:
    item = render_item(find(PLAN, Kind.RETRY), component=component, alarm_minutes=5)
    gone = with_status_cancelled(item, 1, datetime(2026, 12, 2, tzinfo=UTC))
    assert gone.cancelled and gone.sequence == 1 and gone.followup is None
    assert str(gone.component["STATUS"]) == "CANCELLED"
    assert str(gone.component["SUMMARY"]) == str(item.component["SUMMARY"])
    assert not gone.component.walk("VALARM")
    assert content_hash(gone) != content_hash(item)
    cancelled_followup = followup(Kind.RETRY, attempt=1, due=item.followup.due, status=Status.CANCELLED)
    check_all_parsers(gone.ical, [cancelled_followup])


def test_parse_items_is_the_inverse() -> None:
    data = render_calendar(PLAN, alarm_minutes=5)
    items = parse_items(data)
    assert sorted(i.uid for i in items) == sorted(f.uid for f in PLAN)
    by_uid = {f.uid: f for f in PLAN}
    for item in items:
        f = by_uid[item.uid]
        assert item.cancelled == f.cancelled and item.sequence == f.revision
        check_all_parsers(item.ical, [f])
        tzids = {str(tz["TZID"]) for tz in item.calendar.walk("VTIMEZONE")}
        expected = set() if f.due.tzinfo in (UTC,) else {f.due.tzinfo.key}
        assert tzids == expected
    single = render_item(PLAN[0])
    (back,) = parse_items(single.ical)
    assert back.ical == single.ical
    assert content_hash(back) == content_hash(single)


def test_parse_items_rejects_garbage() -> None:
    with pytest.raises(UserError):
        parse_items(b"this is not a calendar")


# --- validation and decoration -------------------------------------------------------------------------------------


def test_end_before_start_is_a_user_error() -> None:
    f = followup(Kind.CHECK_IN, duration_minutes=-5)
    with pytest.raises(UserError, match=r"acme-staff.*DTEND"):
        render_item(f)
    with pytest.raises(UserError, match="acme-staff"):
        render_calendar([*PLAN, followup(Kind.RETRY, attempt=2, duration_minutes=-1)])


def test_empty_summary_is_a_user_error(tmp_path) -> None:
    (tmp_path / "check_in.txt").write_text("SUMMARY: $timeline\n\nbody\n")
    templates = Templates(tmp_path)
    f = followup(Kind.CHECK_IN, interview=interview(timeline=None))
    with pytest.raises(UserError, match=r"acme-staff.*SUMMARY"):
        render_item(f, templates=templates)


def test_decorate_changes_appear_in_the_output() -> None:
    seen = []

    def decorate(component, f) -> None:
        seen.append((component.name, f.uid))
        component.add("LOCATION", f"Desk of {f.interview.company}")
        component.add("X-PLUGIN-NOTE", "hello")

    f = find(PLAN, Kind.CHECK_IN)
    item = render_item(f, decorate=decorate)
    assert seen == [("VEVENT", f.uid)]
    assert "LOCATION:Desk of Acme Corp" in item.ical.decode()
    assert str(item.component["X-PLUGIN-NOTE"]) == "hello"
    assert content_hash(item) != content_hash(render_item(f))
    whole = render_calendar(PLAN, decorate=decorate).decode()
    assert whole.count("X-PLUGIN-NOTE:hello") == len(PLAN)


def test_a_decoration_that_adds_a_zone_gets_its_vtimezone() -> None:
    def decorate(component, f) -> None:
        component.add("X-EXTRA-START", icalendar.vDDDTypes(datetime(2029, 6, 1, 9, tzinfo=ZoneInfo("Asia/Tokyo"))))

    text = render_calendar(PLAN[:3], decorate=decorate).decode()
    assert "TZID:Asia/Tokyo" in text
    assert text.index("BEGIN:VTIMEZONE") < text.index("BEGIN:VEVENT")
    IcsCalendarStream.calendar_from_ics(text)


def test_a_decoration_cannot_break_the_item() -> None:
    def backwards(component, f) -> None:
        component["DTEND"] = icalendar.vDDDTypes(f.due - timedelta(hours=1))

    with pytest.raises(UserError, match=r"acme-staff.*DTEND"):
        render_item(find(PLAN, Kind.CHECK_IN), decorate=backwards)

    def blank(component, f) -> None:
        component["SUMMARY"] = icalendar.vText("")

    with pytest.raises(UserError, match=r"acme-staff.*SUMMARY"):
        render_item(find(PLAN, Kind.CHECK_IN), decorate=blank)


def test_duplicate_uids_are_refused() -> None:
    with pytest.raises(UserError, match="share the UID"):
        render_calendar([PLAN[3], followup(Kind.CHECK_IN, due=PLAN[3].due + timedelta(days=1))])
    # the very same follow-up twice is written once
    assert render_calendar([PLAN[0], PLAN[0]]) == render_calendar([PLAN[0]])


def test_bad_options() -> None:
    with pytest.raises(UserError):
        render_item(PLAN[0], component="journal")
    with pytest.raises(UserError):
        render_item(PLAN[0], alarm_minutes=-1)


def test_dtstamp_never_uses_now() -> None:
    f = followup(Kind.CHECK_IN, revised=None)
    assert render_item(f).component["DTSTAMP"].dt == f.interview.end.astimezone(UTC)
    assert render_item(f, dtstamp=datetime(2030, 1, 1, tzinfo=UTC)).component["DTSTAMP"].dt.year == 2030


# --- property: any instant in any zone survives -------------------------------------------------------------------

ZONES = [
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Europe/Dublin",
    "Africa/Casablanca",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "America/Caracas",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Australia/Adelaide",
    "Australia/Eucla",
    "Asia/Kolkata",
    "Asia/Tehran",
    "Asia/Gaza",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Africa/Cairo",
    "Antarctica/Troll",
    "Atlantic/Azores",
    "UTC",
]


@given(
    due=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 12, 31),
        timezones=st.sampled_from([ZoneInfo(key) for key in ZONES]),
    ),
    todo=st.booleans(),
)
def test_any_instant_in_any_zone_round_trips(due: datetime, todo: bool) -> None:
    f = followup(Kind.CHECK_IN, due=due, deadline=date(2000, 1, 1))
    item = render_item(f, component="todo" if todo else "event")
    want = instant(due.replace(microsecond=0))
    parsed = components(icalendar.Calendar.from_ical(item.ical))[0]
    assert instant(parsed["DUE" if todo else "DTSTART"].dt) == want
    loose = vobject_components(vobject_read(item.ical.decode()))[0]
    assert instant((loose.due if todo else loose.dtstart).value) == want
    if todo:  # the task shows from its duration before
        assert instant(loose.dtstart.value) == want - timedelta(minutes=15)
    else:
        assert instant(loose.dtend.value) == want + timedelta(minutes=15)
