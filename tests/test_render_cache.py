"""The render cache: an unchanged follow-up is not rendered again, and a change of any of its inputs is.

What a user notices is observed through a decorating plugin (it is called exactly for the follow-ups rendered) and
through the target's files (what changed is rewritten, nothing else). The invariant behind it is a property: with
any cache from any earlier plan, the engine's hashes are the ones a fresh rendering gives.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from filetargets import BASE_INTERVIEW, Workspace, event
from hypothesis import given
from hypothesis import strategies as st

from calsync import hookimpl
from calsync.model import Kind, Status
from calsync.sync.engine import render_desired
from calsync.sync.render_cache import RenderCache, settings_text
from calsync.templates import Templates
from tests.factories import followup, interview


class Counting:
    """Decorates every follow-up (a LOCATION) and counts the calls; declares its inputs (``version``)."""

    def __init__(self, version: str = "1") -> None:
        self.version = version
        self.calls: list[str] = []

    @hookimpl
    def calsync_decorate_component(self, component, followup):
        self.calls.append(followup.interview.id)
        component.add("LOCATION", f"decorated v{self.version}")

    @hookimpl
    def calsync_decoration_inputs(self):
        return f"counting {self.version}"


class Undeclared:
    """Decorates without saying what it depends on."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def calsync_decorate_component(self, component, followup):
        self.calls += 1


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "calendar"}"\n')
    workspace.where = tmp_path / "calendar"
    return workspace


def files(ws: Workspace) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(ws.where.glob("*.ics"))}


def planned(ws: Workspace) -> int:
    return sum(1 for row in ws.plan() if row["status"] == "planned")


def test_a_no_change_sync_renders_nothing(ws, register):
    plugin = register(Counting(), "counting")
    first = ws.sync_json()[0]
    assert first["created"] == planned(ws) == len(plugin.calls) > 0
    before = files(ws)
    plugin.calls.clear()
    again = ws.sync_json()[0]
    assert again["created"] == again["updated"] == 0
    assert plugin.calls == []  # nothing rendered, so nothing decorated
    assert files(ws) == before


OTHER = BASE_INTERVIEW.replace('id = "acme-staff"', 'id = "globex-sre"').replace("Acme Corp", "Globex")


def test_an_event_renders_again_only_its_interview(ws, register):
    ws.interviews.write_text(OTHER + BASE_INTERVIEW)
    plugin = register(Counting(), "counting")
    ws.sync_json()
    before = files(ws)
    plugin.calls.clear()
    ws.interviews.write_text(OTHER + BASE_INTERVIEW + event("2026-11-25", "extended", "2026-12-04"))
    report = ws.sync_json()[0]
    after = files(ws)
    changed = {name for name in after if after[name] != before.get(name)}
    assert report["updated"] == len(changed) == 2  # the check-in and its retry
    assert plugin.calls and set(plugin.calls) == {"acme-staff"}  # Globex's follow-ups are not rendered again


def test_new_declared_inputs_render_everything_again_and_reach_the_target(ws, register):
    plugin = register(Counting("1"), "counting")
    ws.sync_json()
    plugin.version = "2"  # a new version of the plugin: it says so through calsync_decoration_inputs
    plugin.calls.clear()
    report = ws.sync_json()[0]
    assert report["updated"] == planned(ws) > 0 and plugin.calls
    assert all(b"LOCATION:decorated v2" in data for data in files(ws).values())


def test_a_decoration_that_declares_nothing_turns_the_cache_off(ws, register):
    plugin = register(Undeclared(), "undeclared")
    ws.sync_json()
    plugin.calls = 0
    report = ws.sync_json()[0]
    assert report["updated"] == 0
    assert plugin.calls == planned(ws)  # rendered (and decorated) every time: correct, only slower


def test_a_changed_template_renders_again_exactly_its_kind(ws, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    ws.config.write_text(ws.config.read_text().replace("\n\n", f'\ntemplates = "{templates}"\n\n', 1))
    ws.sync_json()
    before = files(ws)
    (templates / "check_in.txt").write_text("SUMMARY: Nudge $name\n\nA gentle nudge.\n")
    report = ws.sync_json()[0]
    after = files(ws)
    changed = [after[name] for name in after if after[name] != before[name]]
    assert report["updated"] == len(changed) >= 1
    assert all(b"SUMMARY:Nudge Dana Smith" in data for data in changed)
    assert ws.sync_json()[0]["updated"] == 0


def test_a_lost_or_stale_cache_costs_a_rendering_and_nothing_else(ws):
    ws.sync_json()
    before = files(ws)
    (database,) = ws.state.glob("*.sqlite")
    with sqlite3.connect(database) as db:
        db.execute("update renders set hash = 'not-the-hash', key = 'stale'")
    report = ws.sync_json()[0]
    assert report["created"] == report["updated"] == 0
    assert files(ws) == before
    with sqlite3.connect(database) as db:
        db.execute("delete from renders")
    assert ws.sync_json()[0]["updated"] == 0
    assert files(ws) == before


# --- the invariant ------------------------------------------------------------------------------------------------

ZONES = ["America/Chicago", "Europe/Berlin", "Asia/Tokyo"]


@st.composite
def plans(draw):
    from zoneinfo import ZoneInfo

    result = []
    for n in range(draw(st.integers(1, 4))):
        zone = ZoneInfo(draw(st.sampled_from(ZONES)))
        start = datetime(2026, 11, 2 + n, 10, tzinfo=zone)
        iv = interview(id=f"iv-{n}", company=draw(st.sampled_from(["Acme", "Globex"])), start=start,
                       end=start + timedelta(hours=1), timezone=zone)  # fmt: skip
        for kind in draw(st.lists(st.sampled_from(list(Kind)), min_size=1, max_size=3, unique=True)):
            result.append(
                followup(
                    kind,
                    interview=iv,
                    due=start + timedelta(days=draw(st.integers(0, 20)), hours=draw(st.integers(0, 8))),
                    status=draw(st.sampled_from(list(Status))),
                    revision=draw(st.integers(0, 2)),
                    sent_on=draw(st.none() | st.just(start.date())),
                )
            )
    return result


def edited(plan, data):
    """Some follow-ups of ``plan`` changed the way history events and edits change them."""
    result = []
    for f in plan:
        change = data.draw(st.sampled_from(["none", "none", "due", "status", "company", "revision"]))
        if change == "due":
            f = dataclasses.replace(f, due=f.due + timedelta(days=1))
        elif change == "status":
            f = dataclasses.replace(f, status=Status.CANCELLED if f.status is Status.PLANNED else Status.PLANNED)
        elif change == "company":
            f = dataclasses.replace(f, interview=dataclasses.replace(f.interview, company="Initech"))
        elif change == "revision":
            f = dataclasses.replace(f, revision=f.revision + 1)
        result.append(f)
    return result


@given(plans(), st.data(), st.sampled_from(["event", "todo"]), st.integers(0, 60))
def test_with_any_earlier_cache_the_hashes_are_those_of_a_fresh_rendering(plan, data, component, alarm):
    templates = Templates()
    settings = settings_text(component, alarm, templates.cache_key(), "")
    then = datetime(2026, 11, 10, tzinfo=UTC)
    now = then + timedelta(days=data.draw(st.integers(0, 30)))
    cache = RenderCache(settings=settings)
    first = render_desired(plan, component, alarm, templates, now=then, cache=cache)
    pushed = {uid: want.hash for uid, want in first.items()}
    later = RenderCache(known={**cache.known, **cache.learnt}, settings=settings)
    second_plan = edited(plan, data)
    cached = render_desired(second_plan, component, alarm, templates, now=now, pushed=pushed, cache=later)
    fresh = render_desired(second_plan, component, alarm, templates, now=now, pushed=pushed)
    assert {uid: want.hash for uid, want in cached.items()} == {uid: want.hash for uid, want in fresh.items()}
    for uid, want in cached.items():  # and the item, when it is asked for, is the one hashed
        assert want.item.ical == fresh[uid].item.ical


def test_a_state_from_before_the_cache_is_read_and_given_one(ws):
    ws.sync_json()
    before = files(ws)
    (database,) = ws.state.glob("*.sqlite")
    with sqlite3.connect(database) as db:
        db.execute("drop table renders")  # as a calsync from before the cache left it
    dry = ws.sync_json("--dry-run")[0]  # read-only: nothing migrated, everything rendered to compare
    assert dry["created"] == dry["updated"] == 0
    assert ws.sync_json()[0]["updated"] == 0
    assert files(ws) == before
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from renders").fetchone()[0] >= planned(ws)
