"""Reading a Google event back as iCalendar: what the person sees in Google Calendar survives the round trip."""

from __future__ import annotations

import icalendar
from factories import many_followups

from calsync.render import render_item
from calsync_google.events import from_event, to_event


def _component(data: bytes):
    (component,) = [sub for sub in icalendar.Calendar.from_ical(data).subcomponents if sub.name == "VEVENT"]
    return component


def test_an_event_read_back_has_the_times_texts_and_reminders_calsync_pushed():
    for item in (render_item(f) for f in many_followups(12)):
        pushed = item.component
        back = _component(from_event(to_event(item), item.uid))
        assert str(back["UID"]) == item.uid
        assert str(back["SUMMARY"]) == str(pushed["SUMMARY"])
        assert str(back.get("DESCRIPTION")) == str(pushed.get("DESCRIPTION"))
        assert back["DTSTART"].dt == pushed["DTSTART"].dt
        assert back["DTSTART"].dt.utcoffset() == pushed["DTSTART"].dt.utcoffset()
        assert back["DTEND"].dt == (pushed["DTEND"].dt if "DTEND" in pushed else back["DTEND"].dt)
        triggers = sorted(a["TRIGGER"].dt for a in pushed.subcomponents if a.name == "VALARM")
        assert sorted(a["TRIGGER"].dt for a in back.subcomponents if a.name == "VALARM") == triggers
        assert str(back["X-CALSYNC-MANAGED"]) == "1"


def test_a_floating_time_in_a_named_zone_is_read_in_that_zone():
    event = {"start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Berlin"},
             "end": {"dateTime": "2026-12-01T10:30:00", "timeZone": "Europe/Berlin"}, "summary": "x"}  # fmt: skip
    back = _component(from_event(event, "u@x"))
    assert back["DTSTART"].dt.isoformat() == "2026-12-01T10:00:00+01:00"
    assert str(back["STATUS"]) == "CONFIRMED"
