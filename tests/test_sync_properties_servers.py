"""The convergence property of test_sync_properties.py, against the network targets: a real CalDAV server
(Radicale, Xandikos) and the Google Calendar emulator. Fewer examples: every step is real HTTP."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from caldav_servers import Faults
from crashing import Crash, crashing
from factories import interview
from googletargets import make_target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability import count
from test_sync_properties import histories

from calsync.planner import plan
from calsync.provider import Target
from calsync.sync.engine import sync_target

_names = itertools.count()


class CalDAVBackend:
    def __init__(self, server, tmp_path) -> None:
        self.server, self.tmp_path = server, tmp_path

    def new_target(self) -> Target:
        name = f"prop-{next(_names)}-{self.server.unique_name()}"
        self.path = self.server.make_calendar(name)
        return Target("t", "caldav", self.server.options(name), state_dir=self.tmp_path / name)

    def stored(self) -> dict[str, tuple[str, object]]:
        """uid -> (STATUS, DTSTART) of every calsync item in the calendar."""
        found: dict[str, tuple[str, object]] = {}
        for path in self.server.members(self.path):
            status, body = self.server.get(path)
            assert status == 200
            for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
                if comp.get("X-CALSYNC-MANAGED") == "1":
                    assert str(comp["UID"]) not in found, "duplicate UID"
                    found[str(comp["UID"])] = (str(comp["STATUS"]), comp["DTSTART"].dt)
        return found


class GoogleBackend:
    def __init__(self, emulator, tmp_path) -> None:
        self.emulator, self.tmp_path = emulator, tmp_path

    def new_target(self) -> Target:
        self.emulator.reset()
        directory = self.tmp_path / f"g-{next(_names)}"
        directory.mkdir()
        return make_target(self.emulator, directory)

    def stored(self) -> dict[str, tuple[str, object]]:
        from datetime import datetime

        found: dict[str, tuple[str, object]] = {}
        for ev in self.emulator.events(deleted=True):
            private = (ev.get("extendedProperties") or {}).get("private") or {}
            if private.get("calsync") == "1":
                assert private["uid"] not in found, "duplicate UID"
                start = datetime.fromisoformat(ev["start"]["dateTime"].replace("Z", "+00:00"))
                found[private["uid"]] = ("CANCELLED" if ev["status"] == "cancelled" else "CONFIRMED", start)
        return found


@pytest.fixture(params=["radicale", "xandikos", "google"])
def backend(request, tmp_path_factory, monkeypatch):
    tmp_path = tmp_path_factory.mktemp("prop")
    if request.param == "google":
        return GoogleBackend(request.getfixturevalue("google_emulator_server"), tmp_path)
    server = request.getfixturevalue(f"{request.param}_server")
    server.proxy.reset()
    server.proxy.strip_etag = False
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password or "")
    return CalDAVBackend(server, tmp_path)


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories(), crashes=st.lists(st.integers(0, 6), min_size=5, max_size=5))
def test_random_histories_converge_on_servers(backend, history, crashes):
    target = backend.new_target()
    for step in range(len(history) + 1):
        followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
        with contextlib.suppress(Crash):
            sync_target(target, followups, provider=crashing(target, crashes[step % 5]))
        assert sync_target(target, followups).conflicts == []
        again = sync_target(target, followups)
        assert again.writes == 0 and again.conflicts == []
        items = backend.stored()
        for f in followups:
            if f.cancelled:
                assert f.uid not in items or items[f.uid][0] == "CANCELLED"
            else:
                assert items[f.uid] == ("CONFIRMED", f.due)
        assert set(items) <= {f.uid for f in followups}


# --- the same, with the CalDAV servers misbehaving at random ------------------------------------------------------

FAULT_ROUNDS = int(os.environ.get("CALSYNC_ROUNDS", "2"))  # deep: CALSYNC_ROUNDS=50


@pytest.fixture(params=["radicale", "xandikos"])
def faulty(request, tmp_path_factory, monkeypatch):
    server = request.getfixturevalue(f"{request.param}_server")
    server.proxy.reset()
    server.proxy.strip_etag = False
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password or "")
    yield CalDAVBackend(server, tmp_path_factory.mktemp("faulty"))
    server.proxy.faults = Faults()


@settings(max_examples=FAULT_ROUNDS, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories(), seed=st.integers(0, 2**32 - 1), refuse=st.lists(st.integers(0, 9), max_size=2))
def test_random_histories_converge_through_faults(faulty, history, seed, refuse):
    """Dropped answers, 429/503, a weak ETag on every PUT and refused items, at random: each sync ends (no
    target error), never duplicates, and once the server behaves the next syncs converge with no conflict."""
    target = faulty.new_target()
    rng = random.Random(seed)
    start = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    for step in range(len(history) + 1):
        followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
        uids = sorted(f.uid for f in followups)
        faulty.server.proxy.faults = Faults(
            refuse={uids[n % len(uids)].encode(): rng.choice([400, 403, 409]) for n in refuse},
            etag_form=rng.choice([None, "weak", "unquoted"]),
            chance=(rng, 0.2),
            budget=2,
        )
        day = start + timedelta(days=step)
        report = sync_target(target, followups, now=day)
        count("faults", "syncs")
        assert {f.uid for f in report.failed} <= {uids[n % len(uids)] for n in refuse}
        items = faulty.stored()  # no UID twice (checked inside), nothing but the plan
        assert set(items) <= {f.uid for f in followups}
        faulty.server.proxy.faults = Faults()
        assert sync_target(target, followups, now=day + timedelta(hours=1)).conflicts == []
        again = sync_target(target, followups, now=day + timedelta(hours=2))
        assert again.writes == 0 and again.conflicts == [] and again.failed == []
        items = faulty.stored()
        for f in followups:
            if f.cancelled:
                assert f.uid not in items or items[f.uid][0] == "CANCELLED"
            else:
                assert items[f.uid] == ("CONFIRMED", f.due)
