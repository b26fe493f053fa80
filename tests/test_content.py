"""What counts as the user's edit (calsync/sync/content.py) and one form per ETag (the CalDAV provider)."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from factories import NEW_YORK, followup
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.model import Kind
from calsync.render import render_item
from calsync.sync.content import same_content, visible
from calsync_caldav.provider import normalize_etag

kinds = st.sampled_from([Kind.CHECK_IN, Kind.THANK_YOU, Kind.RETRY])
components = st.sampled_from(["event", "todo"])
hours = st.integers(0, 24 * 400)


def item(kind: Kind, component: str, hour: int) -> bytes:
    from datetime import datetime

    due = datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK) + timedelta(hours=hour)
    return render_item(followup(kind, due=due), component=component, alarm_minutes=15).ical


def _in_utc(data: bytes) -> bytes:
    """What some servers do: every zoned time rewritten as UTC, VTIMEZONEs dropped."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    def utc(match: re.Match) -> bytes:
        name, zone, value = match.group(1), match.group(2).decode(), match.group(3).decode()
        moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(zone))
        return name + b":" + moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ").encode()

    data = re.sub(rb"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r\n", b"", data, flags=re.S)
    return re.sub(rb"^(DTSTART|DTEND|DUE);TZID=([^:]+):(\d{8}T\d{6})", utc, data, flags=re.M)


@settings(max_examples=60)
@given(kind=kinds, component=components, hour=hours, lf=st.booleans(), utc=st.booleans(), stamp=st.integers(0, 10**6))
def test_what_servers_do_to_an_item_is_not_an_edit(kind, component, hour, lf, utc, stamp):
    ours = item(kind, component, hour)
    theirs = _in_utc(ours) if utc else ours
    theirs = re.sub(rb"DTSTAMP:\d{8}T\d{6}Z", f"DTSTAMP:2026{stamp % 12 + 1:02d}01T000000Z".encode(), theirs)
    name = b"END:VTODO" if component == "todo" else b"END:VEVENT"
    theirs = theirs.replace(name, b"LAST-MODIFIED:20261201T000000Z\r\nX-SERVER:1\r\n" + name, 1)
    if lf:
        theirs = theirs.replace(b"\r\n", b"\n")
    assert same_content(ours, theirs)


@settings(max_examples=60)
@given(kind=kinds, component=components, hour=hours, edit=st.sampled_from(["summary", "time", "status", "alarm"]))
def test_what_a_person_changes_is_an_edit(kind, component, hour, edit):
    ours = item(kind, component, hour)
    if edit == "summary":
        theirs = ours.replace(b"SUMMARY:", b"SUMMARY:x ", 1)
    elif edit == "time":
        theirs = item(kind, component, hour + 1)
    elif edit == "status":
        theirs = re.sub(rb"STATUS:[A-Z-]+", b"STATUS:COMPLETED" if component == "todo" else b"STATUS:TENTATIVE", ours)
    else:
        theirs = re.sub(rb"BEGIN:VALARM.*?END:VALARM\r\n", b"", ours, flags=re.S)
    assert visible(theirs) is not None and not same_content(ours, theirs)


tags = st.text(st.sampled_from("abcdef0123456789-_.:"), min_size=1, max_size=30)


@given(tag=tags)
def test_every_form_of_an_etag_is_one_etag(tag):
    forms = [f'"{tag}"', f'W/"{tag}"', tag, f"%22{tag}%22", f' "{tag}" ', f'w/"{tag}"']
    assert {normalize_etag(form) for form in forms} == {f'"{tag}"'}
    assert normalize_etag(normalize_etag(tag)) == normalize_etag(tag)


@given(a=tags, b=tags)
def test_different_etags_stay_different(a, b):
    assert (normalize_etag(a) == normalize_etag(b)) == (a == b)
