"""The seal (``X-CALSYNC-HASH``): what calsync wrote, recognisable without the state database. It survives every
re-serialisation a target may apply (icalendar's, vobject's, a refold) and breaks on any change a person makes to
what they see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import vobject
from factories import followup, interview
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.model import Kind, Status
from calsync.render import HASH_PROPERTY, render_item, seal_matches, with_revision, with_status_cancelled

texts = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(str.strip)
moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


ITEM = render_item(followup())


def component_of(data: bytes) -> icalendar.cal.Component:
    return next(c for c in icalendar.Calendar.from_ical(data).walk() if c.name in ("VEVENT", "VTODO"))


@settings(max_examples=60)  # each example renders and re-reads an item three ways
@given(
    company=texts,
    due=moments,
    kind=st.sampled_from(list(Kind)),
    todo=st.booleans(),
    cancelled=st.booleans(),
)
def test_a_rendered_item_matches_its_seal_after_any_round_trip(company, due, kind, todo, cancelled):
    item = render_item(
        followup(
            kind,
            interview=interview(company=company),
            due=due,
            status=Status.CANCELLED if cancelled else Status.PLANNED,
        ),
        component="todo" if todo else "event",
    )
    assert seal_matches(item.component) is True
    assert seal_matches(component_of(item.calendar.to_ical())) is True  # icalendar's serialisation (ics provider)
    reread = vobject.readOne(item.ical.decode()).serialize().encode()  # vobject's (Radicale)
    assert seal_matches(component_of(reread)) is True
    later = with_revision(item, item.sequence + 3, due + timedelta(days=1))
    assert seal_matches(later.component) is True  # SEQUENCE and DTSTAMP are not what a person edits
    assert seal_matches(with_status_cancelled(item, item.sequence + 1, due).component) is True


@settings(max_examples=60)
@given(summary=texts, shift=st.integers(min_value=1, max_value=10_000))
def test_any_edit_a_person_makes_breaks_the_seal(summary, shift):
    item = ITEM
    for name, value in (
        ("SUMMARY", summary + " (edited)"),
        ("DESCRIPTION", str(item.component["DESCRIPTION"]) + summary),
        ("LOCATION", summary),
        ("STATUS", "CANCELLED"),
    ):
        comp = component_of(item.ical)
        comp[name] = value
        assert seal_matches(component_of(comp.to_ical())) is False, name
    comp = component_of(item.ical)
    start = comp["DTSTART"].dt + timedelta(minutes=shift)
    comp["DTSTART"] = icalendar.vDDDTypes(start)
    assert seal_matches(comp) is False
    comp = component_of(item.ical)
    comp.pop(HASH_PROPERTY)
    assert seal_matches(comp) is None  # no seal: cannot tell, so never taken for calsync's own
