"""How a sent follow-up looks on a calendar, the item's URL, notes in the description, and [me] in drafts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import icalendar
import pytest
from factories import followup, interview

from calsync.config import load_config
from calsync.errors import InputError
from calsync.model import Kind, Medium
from calsync.render import render_item
from calsync.templates import Me, Templates


def component(item):
    return next(c for c in icalendar.Calendar.from_ical(item.ical).walk() if c.name in ("VEVENT", "VTODO"))


def test_a_sent_follow_up_is_a_completed_to_do():
    item = render_item(followup(Kind.CHECK_IN, sent_on=date(2026, 12, 1), revision=1), component="todo")
    todo = component(item)
    assert str(todo["STATUS"]) == "COMPLETED" and int(todo["PERCENT-COMPLETE"]) == 100
    # Noon in the interview's zone (Chicago) on the day it was sent.
    assert todo["COMPLETED"].dt == datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    assert not todo.walk("VALARM")
    assert int(todo["SEQUENCE"]) == 1


def test_a_sent_follow_up_is_a_ticked_event_in_its_place_without_an_alarm():
    plain = component(render_item(followup(Kind.CHECK_IN)))
    done = component(render_item(followup(Kind.CHECK_IN, sent_on=date(2026, 12, 1))))
    assert str(done["SUMMARY"]) == "✓ " + str(plain["SUMMARY"])
    assert done["DTSTART"].dt == plain["DTSTART"].dt and str(done["STATUS"]) == "CONFIRMED"
    assert plain.walk("VALARM") and not done.walk("VALARM")


def test_an_open_to_do_needs_action():
    assert str(component(render_item(followup(Kind.CHECK_IN), component="todo"))["STATUS"]) == "NEEDS-ACTION"


def test_the_url_is_the_mailto_or_tel_link():
    email = component(render_item(followup(Kind.CHECK_IN)))
    assert str(email["URL"]).startswith("mailto:dana@acme.example?subject=")
    phone = component(render_item(followup(Kind.CHECK_IN, medium=Medium.PHONE)))
    assert str(phone["URL"]) == "tel:+13125550100"
    assert "URL" not in component(render_item(followup(Kind.CLOSING)))


def test_notes_of_the_interview_and_its_events_are_in_the_description():
    iv = interview(notes="Met Dana at PyCon")
    item = render_item(followup(Kind.CHECK_IN, interview=iv, notes=("Recruiter: the manager is away",)))
    description = str(component(item)["DESCRIPTION"])
    assert "Notes:\n- Met Dana at PyCon\n- Recruiter: the manager is away" in description


def test_me_ends_every_draft_and_call_script():
    me = Me("Alex Doe", "alex@example.com", "Alex Doe\nStaff Engineer · alex.example")
    templates = Templates(me=me)
    for kind in (Kind.THANK_YOU, Kind.CHECK_IN, Kind.RETRY, Kind.FEEDBACK_REQUEST):
        for medium in Medium:
            draft = templates.text(followup(kind, medium=medium)).draft
            assert draft.endswith("Alex Doe\nStaff Engineer · alex.example"), (kind, medium, draft)
            assert "[your name]" not in draft and draft.count("Alex Doe") == (2 if medium is Medium.PHONE else 1)


def test_a_template_that_places_the_signature_itself_is_not_signed_twice(tmp_path):
    (tmp_path / "check_in.txt").write_text("Notes\n--- draft ---\nHi $first_name,\n$signature\nP.S. more\n")
    draft = Templates(tmp_path, Me("Alex Doe")).text(followup(Kind.CHECK_IN)).draft
    assert draft == "Hi Dana,\nAlex Doe\nP.S. more"


def test_me_in_the_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[me]\nname = "Alex Doe"\nemail = "alex@example.com"\nsignature = """Alex\nalex.example"""\n')
    assert load_config(path).me == Me("Alex Doe", "alex@example.com", "Alex\nalex.example")
    path.write_text('[me]\nname = "Alex"\nphone = "+1 555"\n')
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:3: me.phone: unknown setting (known: name, email, signature)"
