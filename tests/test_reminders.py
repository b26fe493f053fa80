"""Reminders at moments a person can act: the closing questions are prepared before the interview, nothing rings
for a moment already gone, follow-ups never block free/busy, and each kind has its own alarm lead time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import factories
import icalendar
import pytest

from calsync.config import load_config
from calsync.errors import InputError
from calsync.model import Kind, Policy
from calsync.planner import plan
from calsync.provider import Target
from calsync.render import render_calendar, render_item
from calsync.sync.engine import sync_target

INTERVIEW = factories.interview()  # Fri 2026-11-20 14:00-15:00 Chicago
PLAN = plan([INTERVIEW]).followups


def of(kind: Kind):
    return next(f for f in PLAN if f.kind is kind)


def component(data: bytes):
    return next(c for c in icalendar.Calendar.from_ical(data).walk() if c.name in ("VEVENT", "VTODO"))


def alarms(comp) -> list[timedelta]:
    return [a["TRIGGER"].dt for a in comp.subcomponents if a.name == "VALARM"]


# --- the closing questions: preparation before the interview -----------------------------------------------------


def test_the_closing_questions_are_a_preparation_item_before_the_interview():
    closing = of(Kind.CLOSING)
    comp = component(render_item(closing, alarm_minutes=Policy().alarm_minutes()).ical)
    assert str(comp["SUMMARY"]) == "Before your Acme Corp interview: closing questions"
    assert comp["DTSTART"].dt == INTERVIEW.start - timedelta(minutes=30)
    assert comp["DTEND"].dt <= INTERVIEW.start
    # Its alarm rings at its start: before the interview, never during it.
    (trigger,) = alarms(comp)
    assert comp["DTSTART"].dt + trigger < INTERVIEW.start
    description = str(comp["DESCRIPTION"])
    assert "hesitate" in description and "15:00" in description  # the checklist, and when the interview ends


def test_closing_prep_minutes_is_a_policy(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[policy]\nclosing_prep_minutes = 45\n", encoding="utf-8")
    closing = next(f for f in plan([INTERVIEW], load_config(path).policy).followups if f.kind is Kind.CLOSING)
    assert closing.due == INTERVIEW.start - timedelta(minutes=45)


# --- nothing rings for a moment already gone ----------------------------------------------------------------------


def test_an_item_already_due_when_rendered_has_no_alarm_and_says_overdue():
    thank_you = of(Kind.THANK_YOU)
    before = render_item(thank_you, now=thank_you.due - timedelta(minutes=1))
    after = render_item(thank_you, now=thank_you.due + timedelta(minutes=1))
    assert alarms(component(before.ical)) == [timedelta(0)]
    assert alarms(component(after.ical)) == []
    assert str(component(after.ical)["SUMMARY"]).endswith("(overdue)")
    assert "(overdue)" not in str(component(before.ical)["SUMMARY"])
    # Pure: the same inputs give the same bytes; no clock, no mark.
    assert render_item(thank_you, now=thank_you.due + timedelta(minutes=1)).ical == after.ical
    assert "(overdue)" not in str(component(render_item(thank_you).ical)["SUMMARY"])


def test_the_export_gives_no_alarm_to_what_is_already_due():
    check_in = of(Kind.CHECK_IN)  # Mon 2026-11-30 10:00 New York
    data = render_calendar(PLAN, alarm_minutes=Policy().alarm_minutes(), now=check_in.due - timedelta(hours=1))
    components = [c for c in icalendar.Calendar.from_ical(data).walk() if c.name == "VEVENT"]
    by_kind = {str(c["X-CALSYNC-KIND"]): c for c in components}
    assert alarms(by_kind["thank_you"]) == []  # Nov 20: gone
    assert alarms(by_kind["check_in"]) == [-timedelta(minutes=15)]  # still ahead
    assert alarms(by_kind["retry"]) == [-timedelta(minutes=15)]


def vdir_target(tmp_path: Path, **options) -> Target:
    return Target("main", "vdir", {"path": str(tmp_path / "cal"), **options}, state_dir=tmp_path / "state")


def pushed(tmp_path: Path) -> dict[str, icalendar.Component]:
    return {str(c["X-CALSYNC-KIND"]) + str(c["UID"]): c for p in (tmp_path / "cal").glob("*.ics")
            for c in [component(p.read_bytes())]}  # fmt: skip


def test_a_sync_after_the_fact_pushes_no_alarm_for_moments_gone_and_is_stable(tmp_path):
    target = vdir_target(tmp_path)
    recorded = INTERVIEW.end + timedelta(days=2)  # the interview is entered two days later
    first = sync_target(target, PLAN, now=recorded)
    assert len(first.created) == len(PLAN)
    items = pushed(tmp_path).values()
    gone = [c for c in items if c["DTSTART"].dt < recorded]
    ahead = [c for c in items if c["DTSTART"].dt > recorded]
    assert gone and ahead
    assert all(alarms(c) == [] and str(c["SUMMARY"]).endswith("(overdue)") for c in gone)
    assert all(alarms(c) and not str(c["SUMMARY"]).endswith("(overdue)") for c in ahead)
    # Later runs rewrite nothing: time passing is no change.
    for later in (recorded + timedelta(days=1), recorded + timedelta(days=30)):
        again = sync_target(target, PLAN, now=later)
        assert again.writes == 0 and again.unchanged == len(PLAN)


def test_an_item_pushed_while_ahead_keeps_its_form_when_its_time_passes(tmp_path):
    target = vdir_target(tmp_path)
    sync_target(target, PLAN, now=INTERVIEW.start - timedelta(days=1))
    before = pushed(tmp_path)
    later = sync_target(target, PLAN, now=INTERVIEW.end + timedelta(days=60))
    assert later.writes == 0
    assert pushed(tmp_path) == before


# --- free/busy ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("followup", PLAN, ids=lambda f: f.kind.value)
def test_follow_up_events_are_transparent(followup):
    comp = component(render_item(followup).ical)
    assert str(comp["TRANSP"]) == "TRANSPARENT"


def test_google_events_are_transparent_too():
    from calsync_google.events import to_event

    event = to_event(render_item(of(Kind.CHECK_IN)))
    assert event["transparency"] == "transparent"


# --- alarm lead time per kind -------------------------------------------------------------------------------------


def lead_times(tmp_path: Path, policy: Policy, **options) -> dict[str, set[timedelta]]:
    sync_target(vdir_target(tmp_path, **options), PLAN, policy=policy, now=INTERVIEW.start - timedelta(days=1))
    found: dict[str, set[timedelta]] = {}
    for comp in pushed(tmp_path).values():
        found.setdefault(str(comp["X-CALSYNC-KIND"]), set()).update(alarms(comp))
    return found


def test_default_lead_times_thank_you_at_the_due_time_check_in_before(tmp_path):
    found = lead_times(tmp_path, Policy())
    assert found["thank_you"] == {timedelta(0)}
    assert found["closing"] == {timedelta(0)}
    assert found["check_in"] == found["retry"] == {-timedelta(minutes=15)}


def test_policy_alarms_per_kind_from_the_config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[policy]\nalarm_minutes_before = 2\n[policy.alarms]\nthank_you = 5\nretry = 60\n")
    found = lead_times(tmp_path, load_config(path).policy)
    assert found["thank_you"] == {-timedelta(minutes=5)}
    assert found["retry"] == {-timedelta(minutes=60)}
    assert found["check_in"] == {-timedelta(minutes=15)}  # the default for check-ins stays
    assert found["closing"] == {-timedelta(minutes=2)}  # a kind without its own: alarm_minutes_before


def test_the_targets_alarm_minutes_overrides_every_kind(tmp_path):
    found = lead_times(tmp_path, Policy(), alarm_minutes=10)
    assert set().union(*found.values()) == {-timedelta(minutes=10)}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[policy.alarms]\nthanks = 5\n", ["policy.alarms.thanks", "unknown kind", ":2:"]),
        ("[policy.alarms]\ncheck_in = -1\n", ["policy.alarms.check_in", ">= 0", ":2:"]),
        ("[policy]\nalarms = 5\n", ["policy.alarms", "table"]),
    ],
)
def test_bad_alarms_in_the_config_say_where(tmp_path, text, words):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert all(word in str(caught.value) for word in words), str(caught.value)


def test_the_old_closing_setting_says_what_replaced_it(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[policy]\nclosing_minutes_before_end = 10\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_config(path)
    assert ":2:" in str(caught.value) and "closing_prep_minutes" in str(caught.value)
